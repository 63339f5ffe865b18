"""shipyard monitors ...: create, list, run and show monitors; alert rules; labels."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.common import JsonOpt, TrackingOpt, client_for, command
from shipyard.cli.output import console, fmt_time, print_json

app = typer.Typer(help="Monitoring: drift, data quality and live performance of served models.", no_args_is_help=True)


@app.command("create")
@command
def create(
    name: Annotated[str, typer.Argument(help="A unique name for the monitor.")],
    model: Annotated[str, typer.Option("--model", "-m", help="The registered model whose traffic it watches.")],
    version: Annotated[str | None, typer.Option(help="Only this version (default: all).")] = None,
    window: Annotated[str, typer.Option(help="'all', 'hour', 'day' or 'last:N' (the newest N rows).")] = "day",
    features: Annotated[str | None, typer.Option(help="Comma-separated columns (default: all).")] = None,
    every: Annotated[int | None, typer.Option("--every", help="Run in the hub every N seconds.")] = None,
    reference: Annotated[str | None, typer.Option(help="Reference dataset digest (default: training data).")] = None,
    task: Annotated[str | None, typer.Option(help="'classification' or 'regression' (default: inferred).")] = None,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a monitor of a model's inference log against its training data.

    Example: shipyard monitors create churn-daily --model churn --window day --every 3600
    """
    from shipyard.schemas import monitor_to_wire

    m = client_for(tracking_uri).monitors.create(
        name, model=model, version=version, window=window, every_seconds=every, reference=reference,
        label_task=task, features=tuple(f.strip() for f in features.split(",")) if features else None,
    )  # fmt: skip
    if json:
        print_json(monitor_to_wire(m))
        return
    console.print(f"Created monitor [bold]{m.name}[/bold] of {m.model} (window {m.window}).")
    console.print(f"Run it now: shipyard monitors run {m.name}")


@app.command("list")
@command
def list_monitors(tracking_uri: TrackingOpt = None, json: JsonOpt = False) -> None:
    """List monitors with their latest result.

    Example: shipyard monitors list
    """
    from shipyard.schemas import monitor_to_wire

    client = client_for(tracking_uri)
    found = client.monitors.list()
    if json:
        print_json({"monitors": [monitor_to_wire(m) for m in found]})
        return
    if not found:
        console.print("No monitors yet. Create one: shipyard monitors create NAME --model MODEL")
        return
    table = Table(title=f"Monitors ({len(found)})")
    for col in ("name", "model", "window", "schedule", "last run", "rows", "drifted"):
        table.add_column(col)
    for m in found:
        last = client.monitors.results(m.id, limit=1)
        r = last[0] if last else None
        table.add_row(
            m.name, m.model + (f" v{m.version}" if m.version else ""), m.window,
            f"every {m.every_seconds} s" if m.every_seconds else "on demand",
            fmt_time(r.computed_at) if r else "never", str(r.rows) if r else "-",
            (", ".join(r.drifted) or "none") if r else "-",
        )  # fmt: skip
    console.print(table)


def _print_result(body: dict[str, Any], report: Path | None) -> None:
    features = body.get("features") or []
    table = Table(title="Features (drifted first)")
    for col in ("feature", "role", "test", "statistic", "p-value", "threshold", "drift", "missing"):
        table.add_column(col, justify="right" if col in ("statistic", "p-value", "threshold", "missing") else "left")
    for f in sorted(features, key=lambda f: not f.get("drift")):
        t = (f.get("tests") or [{}])[0]
        p = t.get("p_value")
        table.add_row(
            f["name"], f.get("role", "input"), t.get("method", "-"), f"{t.get('statistic', 0):.4g}",
            "-" if p is None else f"{p:.3g}", f"{t.get('threshold', 0):.3g}",
            "[red]DRIFT[/red]" if f.get("drift") else "[green]ok[/green]",
            f"{(f.get('quality') or {}).get('missing_share', 0):.1%}",
        )  # fmt: skip
    console.print(table)
    perf = body.get("performance")
    if isinstance(perf, dict):
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in (perf.get("metrics") or {}).items() if v is not None)
        console.print(f"Performance over {perf.get('labelled_rows')} labelled rows: {metrics}")
        latest = perf.get("latest") or {}
        if latest:
            lm = ", ".join(f"{k} {v:.4g}" for k, v in latest.get("metrics", {}).items() if v is not None)
            console.print(f"  latest slice ({latest.get('rows')} rows): {lm}")
    for alert in body.get("alerts") or []:
        console.print(f"[yellow]alert[/yellow] {alert.get('message')}")
    if report is not None:
        console.print(f"Report written to {report}")


@app.command("run")
@command
def run(
    name: Annotated[str, typer.Argument(help="The monitor's name or id.")],
    report: Annotated[Path | None, typer.Option(help="Also write the HTML report here.")] = None,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run a monitor now (for cron and CI): stores the result, fires its alerts.

    Example: shipyard monitors run churn-daily --report drift.html
    """
    client = client_for(tracking_uri)
    with console.status(f"Computing {name} ..."):
        result = client.monitors.run(name)
        body = client.monitors.result(result.id)
    if report is not None:
        report.write_text(client.monitors.report(result.id), encoding="utf-8")
    if json:
        print_json(body)
        return
    console.print(f"Result {result.id}: {result.rows} rows, {len(result.drifted)} of {result.features} drifted")
    _print_result(body, report)


@app.command("show")
@command
def show(
    name: Annotated[str, typer.Argument(help="The monitor's name or id.")],
    result: Annotated[str | None, typer.Option(help="A result id (default: the latest).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write that result's HTML report here.")] = None,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a monitor's results over time and the latest (or a chosen) one in detail.

    Example: shipyard monitors show churn-daily --report latest.html
    """
    client = client_for(tracking_uri)
    history = client.monitors.results(name, limit=20)
    if not history:
        console.print(f"{name} has not run yet: shipyard monitors run {name}")
        return
    chosen = result or history[0].id
    body = client.monitors.result(chosen)
    if report is not None:
        report.write_text(client.monitors.report(chosen), encoding="utf-8")
    if json:
        print_json(body)
        return
    table = Table(title=f"{name}: results")
    for col in ("result", "computed", "rows", "drifted", "metrics"):
        table.add_column(col)
    for r in history:
        metrics = ", ".join(f"{k} {v:.3g}" for k, v in r.metrics.items())
        table.add_row(r.id[:12], fmt_time(r.computed_at), str(r.rows), ", ".join(r.drifted) or "none", metrics)
    console.print(table)
    _print_result(body, report)


@app.command("alert")
@command
def alert(
    name: Annotated[str, typer.Argument(help="The monitor's name or id.")],
    kind: Annotated[str, typer.Option(help="'drift', 'metric_below', 'metric_above' or 'quality'.")] = "drift",
    threshold: Annotated[float, typer.Option(help="Share of features (drift, quality) or the metric's bound.")] = 0.0,
    metric: Annotated[
        str | None, typer.Option(help="accuracy, f1, precision, recall, roc_auc, rmse, mae, r2 ...")
    ] = None,
    webhook: Annotated[str | None, typer.Option(help="POST a Slack-compatible JSON body here.")] = None,
    command_: Annotated[str | None, typer.Option("--command", help="Run this (the result JSON on stdin).")] = None,
    cooldown: Annotated[int, typer.Option(help="Seconds of quiet after the rule fires.")] = 3600,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Add an alert rule to a monitor.

    Example: shipyard monitors alert churn-daily --kind metric_below --metric accuracy --threshold 0.8 \\
    --webhook https://hooks.slack.com/services/...
    """
    import shlex

    rule = client_for(tracking_uri).monitors.add_alert_rule(
        name, kind, threshold=threshold, metric=metric, webhook=webhook,
        command=tuple(shlex.split(command_)) if command_ else (), cooldown_seconds=cooldown,
    )  # fmt: skip
    console.print(f"Alert rule {rule.id[:12]} ({rule.kind}) added to {name}.")


@app.command("labels")
@command
def labels(
    model: Annotated[str, typer.Argument(help="The registered model the labels are for.")],
    file: Annotated[Path, typer.Argument(help="A CSV with columns request_id, value and optionally row.")],
    tracking_uri: TrackingOpt = None,
) -> None:
    """Post delayed ground truth (true outcomes by request id) from a CSV file.

    Example: shipyard monitors labels churn outcomes.csv
    """
    with file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"request_id", "value"} <= set(rows[0]):
        raise typer.BadParameter("the CSV needs the columns request_id and value (and optionally row)")

    def value(raw: str) -> float | str:
        try:
            return float(raw)
        except ValueError:
            return raw

    items = [(r["request_id"], int(r.get("row") or 0), value(r["value"])) for r in rows]
    count = client_for(tracking_uri).monitors.log_labels(model, items)
    console.print(f"Stored {count} labels for {model}.")
