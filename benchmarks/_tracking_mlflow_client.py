"""The MLflow-client mode of ``benchmarks/tracking.py``: one MLflow client, two servers.

The same driver (``_mlflow_driver.py``, figures ``client-*``), run by MLflow's own venv, does the same
seeded workload once against a fresh ``mlflow server`` and once against a fresh Shipyard hub
(``shipyard server`` through its MLflow-compatible REST API at ``/api/2.0/mlflow``), so the only
difference between the two columns is the server. ``--calibrate`` puts a second fresh ``mlflow
server`` in the Shipyard column instead: the ratios then show the harness's noise (about 1).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.markup import escape
from rich.table import Table

import _workload as w
import shipyard
import tracking as t
from shipyard.testing import HubProcess

FIGURES = ("ingest", "search", "history")
TARGET = 5.0  # the bar: Shipyard at least 5x MLflow on these figures
SIDES = ("shipyard", "mlflow")
# Fail fast on an error answer (MLflow's client otherwise retries 5xx with backoff for minutes);
# a healthy server never triggers a retry, so timings are unaffected.
DRIVER_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


@contextmanager
def shipyard_side(python: Path, tmp: Path, calibrate: bool) -> Iterator[tuple[str, str]]:
    """A fresh hub (SQLite + local folder, its defaults), or a second mlflow server to calibrate."""
    if calibrate:
        (tmp / "calibration").mkdir()
        with t.mlflow_server(python, tmp / "calibration") as url:
            yield url, "a second `mlflow server` (--calibrate)"
        return
    hub = HubProcess(tmp / "shipyard-home")
    with hub:
        yield hub.url, "`shipyard server` (1 worker, defaults: SQLite + local folder)"
    if "Traceback" in hub.log():
        t.console.print("[yellow]the hub logged tracebacks; its log's tail:[/yellow]")
        t.console.print(hub.log()[-4000:], markup=False, highlight=False)


def run_figures(figures: list[str], sizes: w.ClientSizes, python: Path, tmp: Path, calibrate: bool) -> dict:
    results: dict = {}
    with t.mlflow_server(python, tmp) as mlflow_url, shipyard_side(python, tmp, calibrate) as (hub_url, hub_desc):
        results["servers"] = {"mlflow": mlflow_url, "shipyard": hub_url, "shipyard_side": hub_desc}
        for figure in figures:
            t.console.rule(f"mlflow-client: {figure}")
            results[figure] = {}
            for side, url in (("mlflow", mlflow_url), ("shipyard", hub_url)):
                cfg = {"tracking_uri": url, "client_sizes": sizes.to_dict(), "work_dir": str(tmp)}
                t0 = time.perf_counter()
                t.console.print(f"  {side} ({url}) …")
                res = t.run_driver(python, f"client-{figure}", cfg, env=DRIVER_ENV)
                results[figure][side] = res
                status = f"[red]failed: {escape(res['error'][:300])}[/red]" if "error" in res else "done"
                t.console.print(f"  {side} {status} in {time.perf_counter() - t0:.1f} s")
    return results


# The table ---------------------------------------------------------------------------------------
def ratio_cell(factor: float) -> str:
    """The ratio, marked against the issue's bar."""
    return f"{t.better(factor)} {'✓' if factor >= TARGET else '✗'}"


def check_cell(pair: dict, key: str | None = None) -> str:
    """Both sides returned what the seeded workload says (and, with ``key``, the same digest)."""
    ok = all(pair[s].get("check_ok") for s in SIDES)
    same = key is None or pair["shipyard"].get(key) == pair["mlflow"].get(key)
    return "both correct ✓" if ok and same else "MISMATCH ✗"


def raw_row(label: str, sy: float, ml: float) -> t.Row:
    return (label, t.fmt_s(sy), t.fmt_s(ml), t.better(ml / sy))


def figure_rows(figure: str, pair: dict, sizes: w.ClientSizes) -> list[t.Row]:
    sy, ml = pair["shipyard"], pair["mlflow"]
    if figure == "ingest":
        label = f"1. log_batch, {sizes.ingest_runs} runs {t.X} {sizes.ingest_points:,} pts ({w.MLFLOW_BATCH:,}/call)"
        rate = sy["points_per_s"] / ml["points_per_s"]
        med = "median_run_points_per_s"
        ratio = t.better(sy[med] / ml[med])
        return [
            (label, t.fmt_rate(sy["points_per_s"]), t.fmt_rate(ml["points_per_s"]), ratio_cell(rate)),
            ("1. the same, median run (context)", t.fmt_rate(sy[med]), t.fmt_rate(ml[med]), ratio),
            ("1. every point stored (history of m0)", str(sy["check_ok"]), str(ml["check_ok"]), check_cell(pair)),
        ]
    if figure == "search":
        what = f"2. search {sizes.search_runs:,} runs"
        return [
            (f"{what}: setup (not compared)", t.fmt_s(sy["setup_seconds"]), t.fmt_s(ml["setup_seconds"]), "—"),
            *(
                (
                    f"{what}: {label}, p50 of {sizes.search_repeats}",
                    t.fmt_s(sy[key]),
                    t.fmt_s(ml[key]),
                    ratio_cell(ml[key] / sy[key]),
                )
                for key, label in (("first_page_p50", "first page"), ("all_pages_p50", f"all {sy['pages']} pages"))
            ),
            raw_row(f"{what}: first page, raw HTTP p50 (context)", sy["raw_first_page_p50"], ml["raw_first_page_p50"]),
            (f"{what}: returned", f"{sy['count']:,}", f"{ml['count']:,}", check_cell(pair, "order_digest")),
        ]
    what = f"3. history {sizes.history_steps:,} pts"
    return [
        (f"{what}: setup (not compared)", t.fmt_s(sy["setup_seconds"]), t.fmt_s(ml["setup_seconds"]), "—"),
        (
            f"{what}: get_metric_history p50 of {sizes.history_repeats}",
            t.fmt_s(sy["p50"]),
            t.fmt_s(ml["p50"]),
            ratio_cell(ml["p50"] / sy["p50"]),
        ),
        raw_row(f"{what}: raw HTTP p50 (context)", sy["raw_p50"], ml["raw_p50"]),
        (f"{what}: returned", f"{sy['count']:,}", f"{ml['count']:,}", check_cell(pair, "digest")),
    ]


def table_rows(results: dict, figures: list[str], sizes: w.ClientSizes) -> list[t.Row]:
    rows: list[t.Row] = []
    for figure in figures:
        pair = results[figure]
        failed = [s for s in SIDES if "error" in pair[s]]
        if failed:
            sy, ml = ("failed" if s in failed else "ok" for s in SIDES)
            label = f"{FIGURES.index(figure) + 1}. {figure}: {' and '.join(failed)} failed (errors below)"
            rows.append((label, sy, ml, "—"))
            continue
        rows += figure_rows(figure, pair, sizes)
    return rows


NOTES = f"""\
Both columns: the same MLflow client (MlflowClient, one process per figure, MLflow's venv) against
a fresh server; the only difference is the server. ✓/✗: at least {TARGET:.0f}{t.X} (the issue's bar).
1. points/s of MlflowClient.log_batch, {w.MLFLOW_BATCH:,} metrics per call (MLflow's limit), batches
   built before timing; create_run untimed; afterwards the history of one key is checked. Median
   run: the rate of the median run (less sensitive to a stall on this shared machine).
2. search_runs, filter `{w.SEARCH_FILTER}` order by {w.SEARCH_ORDER[0]},
   max_results={w.CLIENT_PAGE_SIZE}; "first page" = one call, "all pages" = page tokens followed to the
   end; setup = create_run + log_batch per run on a few client threads (untimed); the returned
   names and order are checked against the seeded workload computed locally.
3. get_metric_history (the client pages through the server's answers) of one metric logged at
   every step; values checked against the workload.
raw HTTP: the same REST requests sent with `requests`, bodies not parsed: the server's and the
   wire's share; the rest of the client figure is the MLflow client's own work, the same on both
   sides, which bounds the ratio the client can see."""


def render(rows: list[t.Row], meta: dict) -> None:
    table = Table(title="MLflow client against Shipyard hub vs mlflow server (ratio > 1: Shipyard is better)")
    table.add_column("figure")
    table.add_column("Shipyard hub", justify="right")
    table.add_column("mlflow server", justify="right")
    table.add_column("Shipyard vs MLflow", justify="right")
    for row in rows:
        table.add_row(*row)
    t.console.print(table)
    for figure, side, error in meta["errors"]:
        t.console.print(f"{figure} on {side}: {error}", style="red", markup=False, highlight=False)
    t.console.print(NOTES, markup=False, highlight=False)
    for key in ("machine", "servers", "command"):
        t.console.print(f"{key}: {meta[key]}" if key == "command" else meta[key], markup=False)


def main(args: argparse.Namespace, figures: list[str]) -> None:
    sizes = w.CLIENT_QUICK if args.quick else w.CLIENT_FULL
    python = t.mlflow_python()
    with t.scratch_dir() as tmp:
        started = time.perf_counter()
        results = run_figures(figures, sizes, python, tmp, args.calibrate)
    driver = next(side for f in figures for side in results[f].values())
    meta = {
        "mode": "mlflow-client",
        "machine": t.machine_line(driver),
        "servers": (
            "servers: both on 127.0.0.1, fresh, SQLite + local folder; Shipyard column: "
            f"{results['servers']['shipyard_side']}; MLflow column: `mlflow server --workers 1` "
            "(uvicorn, access log off). Client: MlflowClient on both."
        ),
        "command": t.command_line(),
        "client_sizes": sizes.to_dict(),
        "wall_seconds": time.perf_counter() - started,
        "versions": {"shipyard": shipyard.__version__, "mlflow": driver["mlflow_version"]},
        "errors": [(f, s, results[f][s]["error"]) for f in figures for s in SIDES if "error" in results[f][s]],
    }
    rows = table_rows(results, figures, sizes)
    render(rows, meta)
    if args.json:
        table = [dict(zip(("figure", "shipyard", "mlflow", "ratio"), row, strict=True)) for row in rows]
        args.json.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=2))
        t.console.print(f"results written to {args.json}")
