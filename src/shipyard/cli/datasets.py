"""shipyard datasets ... and shipyard lineage RUN."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.tree import Tree

from shipyard.cli.common import JsonOpt, TrackingOpt, client_for, command
from shipyard.cli.output import console, describe_version, fmt_time, print_json, sparkline

app = typer.Typer(
    help="Datasets: versions by content digest, their profiles and the runs that used them.", no_args_is_help=True
)
_HEX = re.compile(r"^[0-9a-f]{6,64}$")


@app.command("list")
@command
def list_datasets(tracking_uri: TrackingOpt = None, json: JsonOpt = False) -> None:
    """List dataset names with their number of versions and runs.

    Example: shipyard datasets list
    """
    from shipyard.schemas import dataset_summary_to_wire

    found = client_for(tracking_uri).list_datasets()
    if json:
        print_json({"datasets": [dataset_summary_to_wire(s) for s in found]})
        return
    if not found:
        console.print('No datasets yet. Log one from a run: run.log_dataset(df, name="churn", role="train")')
        return
    table = Table(title=f"Datasets ({len(found)})")
    for col in ("name", "versions", "runs", "latest version", "last logged"):
        table.add_column(col, no_wrap=col != "name", justify="right" if col in ("versions", "runs") else "left")
    for s in found:
        table.add_row(s.name, str(s.versions), str(s.runs), s.latest_digest[:12], fmt_time(s.last_logged_at))
    console.print(table)
    console.print("Details: shipyard datasets show NAME")


@app.command("show")
@command
def show_dataset(
    ref: Annotated[str, typer.Argument(help="A dataset name, or a version's digest (or its first 6+ characters).")],
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Which version's profile to show (digest prefix).")
    ] = None,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a dataset's versions and the profile of one (the latest by default), or one version
    and the runs that used it.

    Example: shipyard datasets show iris  |  shipyard datasets show 78535db8
    """
    from shipyard.domain.datasets import version_numbers
    from shipyard.errors import NotFound
    from shipyard.schemas import dataset_input_to_wire, dataset_version_to_wire

    client = client_for(tracking_uri)
    try:
        history = client.get_dataset_history(ref)
    except NotFound:
        if not _HEX.match(ref):
            raise
        history = []
    if not history:  # a version by digest
        found, runs = client.get_dataset_runs(ref)
        if json:
            print_json({"dataset": dataset_version_to_wire(found), "runs": [dataset_input_to_wire(i) for i in runs]})
            return
        _print_version(found)
        _print_runs(runs)
        return
    numbers = version_numbers(history)
    versions = {i.digest: i.version for i in history}
    chosen = history[-1].digest
    if version is not None:
        matches = [d for d in versions if d.startswith(version)]
        if len(matches) != 1:
            raise typer.BadParameter(f"{version!r} names {len(matches)} versions of {ref!r}", param_hint="--version")
        chosen = matches[0]
    if json:
        print_json({"name": ref, "inputs": [dataset_input_to_wire(i) for i in history]})
        return
    table = Table(title=f"{ref}: {len(numbers)} version(s)")
    for col in ("version", "digest", "shape", "first logged", "runs"):
        table.add_column(col, no_wrap=True)
    for digest, n in numbers.items():
        uses = [i for i in history if i.digest == digest]
        mark = " *" if digest == chosen else ""
        table.add_row(
            f"v{n}{mark}",
            digest[:12],
            describe_version(digest, versions[digest]).split("  ", 1)[-1],
            fmt_time(uses[0].logged_at),
            str(len({i.run_id for i in uses})),
        )
    console.print(table)
    chosen_version = versions[chosen]
    if chosen_version is not None:
        _print_version(chosen_version)
    _print_runs([i for i in history if i.digest == chosen])


def _print_version(v: Any) -> None:
    console.print(
        f"[bold]sha256:{v.digest}[/bold]\n{v.kind.value} · {v.format} · "
        f"{describe_version(v.digest, v).split('  ', 2)[-1]} · from {v.source or '-'} · "
        f"first logged {fmt_time(v.created_at)} by {v.created_by or '-'}"
    )
    columns = [c for c in v.profile if c != "_table"]
    if "_table" in v.profile:
        console.print(", ".join(f"{k}: {val}" for k, val in v.profile["_table"].items()))
    if not columns:
        return
    table = Table(title="Profile", title_justify="left")
    for col in ("column", "type", "missing", "min", "mean", "max", "distinct", "distribution / top values"):
        table.add_column(
            col,
            overflow="fold",
            justify="right" if col in ("missing", "distinct") else "left",
            no_wrap=col.startswith("distribution"),
        )
    for name in columns:
        p = v.profile[name]
        missing = p.get("missing", 0.0) + p.get("nan", 0.0)
        if "histogram" in p:
            counts = p["histogram"]["counts"]
            shape = sparkline([sum(counts[i : i + 2]) for i in range(0, len(counts), 2)])
        elif "top" in p:
            shape = ", ".join(f"{t['value']} ({t['count']})" for t in p["top"][:4])
        else:
            shape = ""
        table.add_row(
            name,
            p.get("type", ""),
            f"{missing:.1%}",
            _num(p.get("min")),
            _num(p.get("mean")),
            _num(p.get("max")),
            str(p.get("distinct", "")),
            shape,
        )
    console.print(table)


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _print_runs(inputs: list[Any]) -> None:
    if not inputs:
        return
    table = Table(title="Used by", title_justify="left")
    for col in ("run id", "as", "logged"):
        table.add_column(col, no_wrap=True)
    for i in inputs:
        table.add_row(i.run_id, f"{i.name} ({i.role})", fmt_time(i.logged_at))
    console.print(table)


@command
def lineage(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Where a run came from and what it made: its datasets (and the other runs that used them),
    the model versions registered from it, its code commit and manifest, its parent and the runs
    it reproduces.

    Example: shipyard lineage 3f2a...
    """
    from shipyard.schemas import dataset_input_to_wire

    client = client_for(tracking_uri)
    run = client.get_run(run_id)
    inputs = client.get_run_datasets(run_id)
    shared = {i.digest: [u for u in client.get_dataset_runs(i.digest)[1] if u.run_id != run_id] for i in inputs}
    tags = run.tags
    versions = client.get_run_model_versions(run_id)
    links = {
        "parent": run.parent_run_id,
        "reproduces": tags.get("shipyard.reproduces"),
        "reproduced_by": tags.get("shipyard.reproduced_by"),
        "commit": tags.get("shipyard.git.commit"),
        "manifest_sha256": tags.get("shipyard.manifest.sha256"),
    }
    if json:
        print_json(
            {
                "run": run_id,
                "datasets": [
                    dataset_input_to_wire(i) | {"also_used_by": sorted({u.run_id for u in shared[i.digest]})}
                    for i in inputs
                ],
                "model_versions": [v.ref for v in versions],
                **links,
            }
        )
        return
    tree = Tree(f"[bold]run {run.name}[/bold] {run.id} ({run.status.value})")
    data = tree.add("[bold]datasets[/bold]" if inputs else "[dim]no datasets logged[/dim]")
    for i in inputs:
        node = data.add(f"{i.name} ({i.role})  {describe_version(i.digest, i.version)}")
        others = sorted({u.run_id for u in shared[i.digest]})
        if others:
            node.add(f"[dim]also used by {len(others)} run(s): {', '.join(o[:8] for o in others[:5])}[/dim]")
    if versions:
        out = tree.add("[bold]model versions[/bold]")
        for v in versions:
            out.add(f"{v.ref}  {v.flavor}  aliases: {', '.join(v.aliases) or '-'}")
    code = tree.add("[bold]code[/bold]")
    code.add(f"commit {links['commit'] or '-'}")
    code.add(f"manifest sha256:{(links['manifest_sha256'] or '-')[:12]}  (shipyard runs manifest {run.id[:8]}...)")
    for label in ("parent", "reproduces", "reproduced_by"):
        if links[label]:
            tree.add(f"{label.replace('_', ' ')} {links[label]}")
    console.print(tree)
    if inputs:
        console.print(f"Profiles: shipyard datasets show {inputs[0].name}")
