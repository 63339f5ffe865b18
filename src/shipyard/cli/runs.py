"""shipyard runs ..."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.common import JsonOpt, TrackingOpt, client_for, command, experiment_ids
from shipyard.cli.output import (
    STATUS_STYLE,
    console,
    describe_version,
    fmt_duration,
    fmt_time,
    fmt_value,
    print_json,
)

app = typer.Typer(help="Runs: list, inspect and compare.", no_args_is_help=True)


@app.command("list")
@command
def list_runs(
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="Experiment name or id (repeatable). Default: all."),
    ] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", "-f", help='e.g. metrics.auc > 0.9 and params.model = "rf"')
    ] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help='e.g. "metrics.auc DESC" (repeatable)')
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="How many runs.")] = 50,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """List runs, newest first, with their key metrics.

    Example: shipyard runs list -e churn -f "metrics.auc > 0.9" -o "metrics.auc DESC"
    """
    from shipyard.schemas import run_to_wire

    client = client_for(tracking_uri)
    page = client.search_runs(
        experiment_ids=experiment_ids(client, experiment), filter=filter, order_by=order_by, max_results=max_results
    )
    if json:
        print_json({"runs": [run_to_wire(r) for r in page.items], "next_page_token": page.next_page_token})
        return
    if not page.items:
        console.print("No runs match. Try without --filter, or list experiments: shipyard experiments list")
        return
    metric_keys = sorted({k for r in page.items for k in r.metrics})[:6]
    table = Table(title=f"Runs ({len(page.items)}{'+' if page.next_page_token else ''})")
    table.add_column("run id", no_wrap=True, min_width=32)
    table.add_column("name", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", no_wrap=True)
    for key in metric_keys:
        table.add_column(key, justify="right", no_wrap=True)
    for r in page.items:
        style = STATUS_STYLE.get(r.status.value, "")
        table.add_row(
            r.id,
            r.name,
            f"[{style}]{r.status.value}[/{style}]",
            fmt_time(r.start_time),
            fmt_duration(r.start_time, r.end_time),
            *(fmt_value(r.metrics[k].value) if k in r.metrics else "" for k in metric_keys),
        )
    console.print(table)
    if page.next_page_token:
        console.print(f"More runs exist; raise --max (now {max_results}) or narrow with --filter.")


@app.command("show")
@command
def show_run(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one run: attributes, params, latest metrics, tags and artifacts.

    Example: shipyard runs show 3f2a...
    """
    from shipyard.schemas import artifact_to_wire, dataset_input_to_wire, run_to_wire

    client = client_for(tracking_uri)
    run = client.get_run(run_id)
    artifacts = client.list_artifacts(run_id)
    datasets = client.get_run_datasets(run_id)
    if json:
        print_json(
            {
                "run": run_to_wire(run),
                "artifacts": [artifact_to_wire(a) for a in artifacts],
                "datasets": [dataset_input_to_wire(d) for d in datasets],
            }
        )
        return
    style = STATUS_STYLE.get(run.status.value, "")
    console.print(f"[bold]{run.name}[/bold]  {run.id}  [{style}]{run.status.value}[/{style}]")
    console.print(
        f"experiment {run.experiment_id} · by {run.created_by or '-'} · started {fmt_time(run.start_time)} · "
        f"duration {fmt_duration(run.start_time, run.end_time)}"
        + (f" · parent {run.parent_run_id}" if run.parent_run_id else "")
    )
    for title, rows in (
        ("Params", sorted(run.params.items())),
        (
            "Metrics (latest)",
            sorted((k, f"{fmt_value(m.value)}  (step {m.step})") for k, m in run.metrics.items()),
        ),
        ("Tags", sorted(run.tags.items())),
        ("Datasets", [(f"{d.name} ({d.role})", describe_version(d.digest, d.version)) for d in datasets]),
        ("Artifacts", [(a.path, f"{a.size:,} B  sha256:{a.digest[:12]}") for a in artifacts]),
    ):
        if rows:
            table = Table(title=title, show_header=False, title_justify="left")
            table.add_column("key", style="bold")
            table.add_column("value")
            for k, v in rows:
                table.add_row(k, v)
            console.print(table)


@app.command("compare")
@command
def compare_runs(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    all_keys: Annotated[bool, typer.Option("--all", help="Show equal values too, not only differences.")] = False,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Compare runs side by side: params and latest metrics (differences highlighted).

    Example: shipyard runs compare 3f2a... 9bc1...
    """
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids", param_hint="RUN_IDS")
    client = client_for(tracking_uri)
    runs = [client.get_run(r) for r in run_ids]
    rows: list[tuple[str, list[str]]] = []
    for key in sorted({k for r in runs for k in r.params}):
        rows.append((f"params.{key}", [r.params.get(key, "") for r in runs]))
    for key in sorted({k for r in runs for k in r.metrics}):
        rows.append((f"metrics.{key}", [fmt_value(r.metrics[key].value) if key in r.metrics else "" for r in runs]))
    if json:
        print_json({"runs": run_ids, "rows": {k: v for k, v in rows}})
        return
    table = Table(title="Run comparison")
    table.add_column("key", style="bold")
    for r in runs:
        table.add_column(f"{r.name}\n{r.id[:8]}")
    shown = 0
    for key, values in rows:
        differs = len(set(values)) > 1
        if differs or all_keys:
            table.add_row(key, *(f"[yellow]{v}[/yellow]" if differs else v for v in values))
            shown += 1
    console.print(table)
    if not shown:
        console.print("The runs have identical params and metrics (use --all to list them).")


@app.command("manifest")
@command
def show_manifest(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Print a run's manifest: code, command, environment, packages, machine and seeds.

    The digest covers only the reproducible part; host fields and times are kept apart.

    Example: shipyard runs manifest 3f2a... --json > manifest.json
    """
    from shipyard.sdk.manifests import load_manifest

    doc = load_manifest(client_for(tracking_uri), run_id)
    if json:
        print_json(doc)
        return
    rep, host = doc["reproducible"], doc["host"]
    console.print(f"[bold]manifest[/bold] sha256:{doc['digest']}  (schema {doc['schema']})")
    git = rep.get("git", {})
    if git.get("commit"):
        dirty = " [yellow](dirty: diff stored)[/yellow]" if git.get("dirty") else ""
        branch = host.get("git", {}).get("branch", "?")
        console.print(f"code      {git['commit'][:12]} on {branch} {git.get('remote') or ''}{dirty}")
    cmd = rep.get("command", {})
    console.print(f"command   {cmd.get('entry_point', '')} {' '.join(cmd.get('args', []))}")
    py = rep.get("python", {})
    packages = rep.get("packages", {})
    console.print(
        f"python    {py.get('implementation', '')} {py.get('version', '')}, "
        f"{len(packages.get('distributions', []))} distributions, lock files: "
        f"{', '.join(packages.get('lock_files', {})) or 'none'}"
    )
    seeds = rep.get("seeds", {}).get("seeds")
    console.print(f"seeds     {seeds or 'not recorded (call shipyard.seed_everything(n))'}")
    plat = host.get("platform", {})
    console.print(
        f"machine   {plat.get('hostname', '')}: {plat.get('os', '')} {plat.get('release', '')}, "
        f"{plat.get('cpu_model', '?')} x{plat.get('cpu_count', '?')}, GPUs: {len(host.get('gpu', {}).get('gpus', []))}"
    )
    table = Table(title="collectors", title_justify="left")
    table.add_column("collector")
    table.add_column("status")
    table.add_column("detail")
    for name, info in sorted(doc["collectors"].items()):
        ok = info["status"] == "ok"
        detail = f"{info.get('seconds', 0) * 1000:.0f} ms" if ok else info.get("error", "")
        table.add_row(name, "[green]ok[/green]" if ok else "[red]failed[/red]", detail)
    console.print(table)


@app.command("diff")
@command
def diff_runs_command(
    run_a: Annotated[str, typer.Argument(help="First run id.")],
    run_b: Annotated[str, typer.Argument(help="Second run id.")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """What differs between two runs: params, metrics, datasets, code, dependencies, environment, seeds, hardware.

    Example: shipyard runs diff 3f2a... 9bc1...
    """
    from shipyard.domain.run_diff import diff_runs
    from shipyard.errors import NotFound
    from shipyard.sdk.manifests import load_manifest

    client = client_for(tracking_uri)
    runs = [client.get_run(r) for r in (run_a, run_b)]
    manifests: list[dict[str, Any] | None] = []
    for r in runs:
        try:
            manifests.append(load_manifest(client, r.id))
        except NotFound:
            manifests.append(None)
    inputs = (client.get_run_datasets(runs[0].id), client.get_run_datasets(runs[1].id))
    result = diff_runs(runs[0], runs[1], manifests[0], manifests[1], inputs)
    if json:
        print_json(
            {
                "a": result.a,
                "b": result.b,
                "same": result.same,
                "sections": {
                    name: None if changes is None else [{"key": c.key, "a": c.a, "b": c.b} for c in changes]
                    for name, changes in result.sections.items()
                },
            }
        )
        return
    names = [f"{r.name} {r.id[:8]}" for r in runs]
    for section, changes in result.sections.items():
        if changes is None:
            console.print(f"[bold]{section}[/bold]: [dim]not comparable (a run has no manifest)[/dim]")
        elif not changes:
            console.print(f"[bold]{section}[/bold]: [green]same[/green]")
        else:
            table = Table(title=section, title_justify="left")
            table.add_column("key", style="bold", overflow="fold")
            table.add_column(names[0], overflow="fold")
            table.add_column(names[1], overflow="fold")
            for c in changes:
                table.add_row(c.key, _show(c.a), _show(c.b))
            console.print(table)


def _show(value: object) -> str:
    if value is None:
        return "[dim]—[/dim]"
    if isinstance(value, float):
        return fmt_value(value)
    if isinstance(value, dict) and "digest" in value:  # a dataset version
        facts = [f"{value['digest'][:12]}"] + [
            f"{value[k]:,} {k}" for k in ("rows", "columns") if value.get(k) is not None
        ]
        return ", ".join(facts)
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
