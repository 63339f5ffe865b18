"""The ``shipyard`` command: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from shipyard.cli import datasets, db, deploy, experiments, models, monitors, reproduce, runs, serve, server

app = typer.Typer(
    name="shipyard",
    help="Shipyard: track, reproduce, register, serve and monitor ML models.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("server")(server.server)
app.command("quickstart")(server.quickstart)
app.command("reproduce")(reproduce.reproduce)
app.command("lineage")(datasets.lineage)
app.command("serve")(serve.serve)
app.command("deploy")(deploy.deploy)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(monitors.app, name="monitors")
app.add_typer(db.app, name="db")


def main() -> None:
    app()
