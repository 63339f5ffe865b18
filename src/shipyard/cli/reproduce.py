"""shipyard reproduce"""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli.common import TrackingOpt, client_for, command
from shipyard.cli.output import console, fmt_value

DIFFERS_EXIT = 3


@command
def reproduce(
    run_id: Annotated[str, typer.Argument(help="The run to reproduce.")],
    rtol: Annotated[float, typer.Option("--rtol", min=0.0, help="Relative tolerance per metric.")] = 1e-9,
    atol: Annotated[float, typer.Option("--atol", min=0.0, help="Absolute tolerance per metric.")] = 0.0,
    reuse_env: Annotated[
        bool,
        typer.Option(
            "--reuse-env", help="Use this Python environment instead of a fresh venv with the recorded versions."
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Re-run a run from its manifest and check that its metrics come out the same.

    Checks out the recorded commit into a scratch worktree, applies the recorded patch, builds an
    environment with the recorded versions (or --reuse-env), re-runs the recorded command and
    compares every metric and the content digest of every dataset the run logged. Exit code: 0
    reproduced, 3 differs (1 or 2 on errors).

    Example: shipyard reproduce 3f2a... --rtol 1e-6 --reuse-env
    """
    from shipyard.sdk.reproduce import make_plan
    from shipyard.sdk.reproduce import reproduce as run_reproduction

    client = client_for(tracking_uri)
    plan = make_plan(client, run_id, reuse_env=reuse_env)
    console.print(f"[bold]plan[/bold] to reproduce run {run_id}:")
    for i, step in enumerate(plan.steps, 1):
        console.print(f"  {i}. {step}")
    if dry_run:
        return
    result = run_reproduction(client, plan, rtol=rtol, atol=atol)
    table = Table(title=f"run {run_id[:8]} → re-run {result.new[:8]}  (rtol {rtol:g}, atol {atol:g})")
    for col in ("metric", "original", "re-run", "relative diff", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    for v in result.verdicts:
        rel = "" if v.rel_diff is None else ("inf" if math.isinf(v.rel_diff) else f"{v.rel_diff:.3g}")
        table.add_row(
            v.key,
            "missing" if v.original is None else fmt_value(v.original),
            "missing" if v.new is None else fmt_value(v.new),
            rel,
            "[green]reproduced[/green]" if v.reproduced else "[red]differs[/red]",
        )
    console.print(table)
    if result.datasets:
        data = Table(title="datasets (content digests)")
        for col in ("dataset", "original", "re-run", "verdict"):
            data.add_column(col)
        for d in result.datasets:
            data.add_row(
                d.key,
                (d.original or "missing")[:12],
                (d.new or "missing")[:12],
                "[green]same data[/green]" if d.reproduced else "[red]differs[/red]",
            )
        console.print(data)
    if result.reproduced:
        console.print(f"[green bold]reproduced[/green bold]: run {result.new} matches run {run_id}.")
        return
    moved = ", ".join(result.moved)
    console.print(f"[red bold]differs[/red bold]: {moved}. Compare the two: shipyard runs diff {run_id} {result.new}")
    raise typer.Exit(DIFFERS_EXIT)
