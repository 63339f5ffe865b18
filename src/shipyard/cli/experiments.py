"""shipyard experiments ..."""

from __future__ import annotations

import typer
from rich.table import Table

from shipyard.cli.common import JsonOpt, TrackingOpt, client_for, command
from shipyard.cli.output import console, fmt_time, print_json

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)


@app.command("list")
@command
def list_experiments(tracking_uri: TrackingOpt = None, json: JsonOpt = False) -> None:
    """List experiments.

    Example: shipyard experiments list --json
    """
    from shipyard.schemas import experiment_to_wire

    client = client_for(tracking_uri)
    exps = client.list_experiments()
    if json:
        print_json([experiment_to_wire(e) for e in exps])
        return
    if not exps:
        console.print("No experiments yet. Log a run: [bold]shipyard quickstart[/bold] or shipyard.start_run(...)")
        return
    table = Table(title="Experiments")
    for col in ("id", "name", "created", "description"):
        table.add_column(col)
    for e in exps:
        table.add_row(e.id, e.name, fmt_time(e.created_at), e.description)
    console.print(table)
