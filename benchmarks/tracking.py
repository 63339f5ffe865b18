"""Shipyard vs MLflow tracking, side by side, on this machine, in one run.

Each side runs its own real server on 127.0.0.1 and is driven through its own Python client:
Shipyard's in this process, MLflow's in a driver (``_mlflow_driver.py``) executed by MLflow's own
virtual environment (created at ``.bench/mlflow-venv`` on first use; override the location with
``SHIPYARD_BENCH_MLFLOW_VENV``). Both do the same seeded workload (``_workload.py``).

``--mode mlflow-client`` (``_tracking_mlflow_client.py``) instead runs one MLflow client script (the
same driver, in MLflow's venv) against a fresh ``mlflow server`` and against a fresh Shipyard hub's
MLflow-compatible API, side by side: ``log_batch`` ingestion (points/s), ``search_runs`` over 5,000
runs with a filter and order_by (p50 of the first page of 100 and of every page) and
``get_metric_history`` of a 100,000-step metric (p50). ``--calibrate`` puts a second ``mlflow
server`` in Shipyard's column to show the harness's noise (ratios about 1).

Usage::

    .venv/bin/python benchmarks/tracking.py                # full run (several minutes)
    .venv/bin/python benchmarks/tracking.py --quick        # smaller, ~2-3 minutes
    .venv/bin/python benchmarks/tracking.py --json out.json --figures latency,search
    .venv/bin/python benchmarks/tracking.py --mode mlflow-client           # ~8 minutes; --quick ~3
    .venv/bin/python benchmarks/tracking.py --mode mlflow-client --quick --figures ingest,history

Ratios read "Shipyard vs MLflow": above 1 means Shipyard is better (faster / higher throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

import _workload as w
import shipyard
from shipyard.domain.tracking import Metric, MetricBatch, now_ms
from shipyard.testing import HubProcess, free_port, wait_http

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRIVER = HERE / "_mlflow_driver.py"
MLFLOW_VERSION = "3.17.2"
VENV_ENV = "SHIPYARD_BENCH_MLFLOW_VENV"
X = "\N{MULTIPLICATION SIGN}"
Row = tuple[str, str, str, str]
console = Console()
if not console.is_terminal:
    console.width = 120  # a file or a pipe: keep the table on one line per row


# MLflow: its own venv, its own server, its own client process -----------------------------------
def mlflow_python() -> Path:
    """The python of MLflow's venv, created (or repaired) with mlflow==MLFLOW_VERSION if needed."""
    venv = Path(os.environ.get(VENV_ENV) or ROOT / ".bench" / "mlflow-venv")
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if found == MLFLOW_VERSION:
            return python
    console.print(f"[bold]Setting up MLflow {MLFLOW_VERSION} in {venv}[/bold] (one time; takes a minute)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}"], check=True)
    return python


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server we started in its own session, with every worker it spawned."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def mlflow_server(python: Path, tmp: Path) -> Iterator[str]:
    """``mlflow server`` over SQLite with proxied artifacts, one worker, no access log."""
    port = free_port()
    cmd = [
        str(python.parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp}/mlflow.db",
        "--artifacts-destination",
        str(tmp / "mlartifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--uvicorn-opts",
        "--no-access-log",
    ]
    log_path = tmp / "mlflow-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/health", timeout=180, proc=proc)
        except (RuntimeError, TimeoutError):
            console.print(log_path.read_text(errors="replace")[-3000:])
            raise
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop_group(proc)


def run_driver(
    python: Path,
    figure: str,
    cfg: dict,
    *,
    driver: Path = DRIVER,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict:
    """Run one figure in an MLflow driver (this benchmark's by default); its result is the last
    line it prints. ``cwd`` defaults to ``cfg["work_dir"]``; ``env`` adds environment variables."""
    env = {**os.environ, "GIT_PYTHON_REFRESH": "quiet", "PYTHONUNBUFFERED": "1", **(env or {})}
    out = subprocess.run(
        [str(python), str(driver), figure, json.dumps(cfg)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=cwd or cfg["work_dir"],
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# Shipyard: in this process, against its hub ------------------------------------------------------
def _latency_loop(log: Callable[[int], None], calls: int) -> list[int]:
    samples = []
    for i in range(calls):
        t0 = time.perf_counter_ns()
        log(i)
        samples.append(time.perf_counter_ns() - t0)
    return samples


def sy_latency(client: shipyard.Client, sizes: w.Sizes, cfg: dict) -> dict:
    with shipyard.start_run("bench-latency-fluent", client=client) as run:
        for i in range(sizes.warmup):
            run.log_metric("warmup", float(i), step=i)
        run.flush()
        samples = _latency_loop(lambda i: run.log_metric("latency", float(i), step=i), sizes.latency_calls)
        t0 = time.perf_counter()
        run.flush()
        flush = time.perf_counter() - t0
    run_id = client.create_run("bench-latency").id
    for i in range(sizes.warmup):
        client.log_metric(run_id, "warmup", float(i), step=i)
    calls = sizes.latency_calls
    acked = _latency_loop(lambda i: client.log_metric(run_id, "latency", float(i), step=i), calls)
    client.end_run(run_id)
    return {"fluent": {**w.latency_summary(samples), "flush": flush}, "client": w.latency_summary(acked)}


def sy_batch(client: shipyard.Client, sizes: w.Sizes, cfg: dict) -> dict:
    keys, values, steps = w.batch_columns(sizes.batch_points)
    ts, n, step = now_ms(), sizes.batch_points, w.SHIPYARD_BATCH
    cut = [slice(i, i + step) for i in range(0, n, step)]
    chunks = [MetricBatch(keys[c], values[c], steps[c], [ts] * len(keys[c])) for c in cut]
    run_id = client.create_run("bench-batch").id
    client.log_batch(run_id, [Metric("warmup", 0.0, step=0, timestamp=ts)])
    t0 = time.perf_counter()
    for chunk in chunks:
        client.log_batch(run_id, chunk)
    seconds = time.perf_counter() - t0
    client.end_run(run_id)
    with shipyard.start_run("bench-batch-fluent", client=client) as run:
        t0 = time.perf_counter()
        for k, v, s in zip(keys, values, steps, strict=True):
            run.log_metric(k, v, step=s)
        run.flush()
        fluent = time.perf_counter() - t0
    return {
        "points": n,
        "seconds": seconds,
        "points_per_s": n / seconds,
        "fluent_seconds": fluent,
        "fluent_points_per_s": n / fluent,
    }


def sy_search(client: shipyard.Client, sizes: w.Sizes, cfg: dict) -> dict:
    exp_id = client.create_experiment("bench-search").id
    ts = now_ms()
    t0 = time.perf_counter()
    for i, row in enumerate(w.search_dataset(sizes.search_runs)):
        run_id = client.create_run(experiment_id=exp_id, name=row["name"]).id
        metrics = MetricBatch(["auc", "loss"], [row["auc"], row["loss"]], [0, 0], [ts, ts])
        client.log_batch(run_id, metrics, params={"model": row["model"]}, tags={"team": row["team"]})
        if (i + 1) % 500 == 0:
            console.print(f"  shipyard: {i + 1}/{sizes.search_runs} runs created")
    setup = time.perf_counter() - t0
    w.settle()
    times, names = [], []
    for _ in range(w.READ_REPEATS):
        t0 = time.perf_counter()
        names, token = [], None
        while True:
            page = client.search_runs(
                experiment_ids=[exp_id],
                filter=w.SEARCH_FILTER,
                order_by=w.SEARCH_ORDER,
                max_results=w.PAGE_SIZE,
                page_token=token,
            )
            names.extend(r.name for r in page.items)
            token = page.next_page_token
            if not token:
                break
        times.append(time.perf_counter() - t0)
    return {
        "setup_seconds": setup,
        "seconds": statistics.median(times),
        "times": times,
        "count": len(names),
        "order_digest": w.names_digest(names),
    }


def sy_history(client: shipyard.Client, sizes: w.Sizes, cfg: dict) -> dict:
    run_id = client.create_run("bench-history").id
    values, ts, step = w.history_values(sizes.history_steps), now_ms(), w.SHIPYARD_BATCH
    t0 = time.perf_counter()
    for i in range(0, len(values), step):
        part = values[i : i + step]
        client.log_batch(
            run_id, MetricBatch(["loss"] * len(part), part, list(range(i, i + len(part))), [ts] * len(part))
        )
    setup = time.perf_counter() - t0
    w.settle()
    times, count = [], 0
    for _ in range(w.READ_REPEATS):
        t0 = time.perf_counter()
        count = len(client.get_metric_history(run_id, "loss"))
        times.append(time.perf_counter() - t0)
    return {"setup_seconds": setup, "seconds": statistics.median(times), "times": times, "count": count}


def sy_artifacts(client: shipyard.Client, sizes: w.Sizes, cfg: dict) -> dict:
    run_id = client.create_run("bench-artifacts").id
    src = Path(cfg["artifact_file"])
    dest = Path(cfg["download_dir"]) / "shipyard"
    dest.mkdir(parents=True, exist_ok=True)
    return w.artifact_rounds(
        lambda folder: client.log_artifact(run_id, src, f"{folder}/{src.name}"),
        lambda folder: client.download_artifact(run_id, f"{folder}/{src.name}", dest),
        src,
    )


SHIPYARD = {
    "latency": sy_latency,
    "batch": sy_batch,
    "search": sy_search,
    "history": sy_history,
    "artifacts": sy_artifacts,
}


# The table ---------------------------------------------------------------------------------------
def fmt_s(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_rate(r: float) -> str:
    return f"{r:,.0f} pts/s"


def better(factor: float) -> str:
    """Phrase a Shipyard-vs-MLflow factor (>1: Shipyard better)."""
    if factor >= 1:
        return f"{factor:,.0f}{X} faster" if factor >= 100 else f"{factor:.1f}{X} faster"
    return f"{1 / factor:.1f}{X} slower"


def latency_rows(r: dict) -> list[Row]:
    sy, ml = r["shipyard"], r["mlflow"]["client"]
    rows = []
    for label, side in (("fluent, buffered", sy["fluent"]), ("client, acked", sy["client"])):
        for q in ("p50", "p99"):
            row = (f"1. log_metric {q} ({label})", fmt_s(side[q]), fmt_s(ml[q]), better(ml[q] / side[q]))
            rows.append(row)
        if "flush" in side:
            rows.append((f"1. then flush() of {side['calls']:,} points", fmt_s(side["flush"]), "—", "—"))
    return rows


def batch_rows(r: dict) -> list[Row]:
    sy, ml = r["shipyard"], r["mlflow"]
    rate = sy["points_per_s"] / ml["points_per_s"]
    return [
        (
            f"2. log_batch, {sy['points']:,} pts",
            fmt_rate(sy["points_per_s"]),
            fmt_rate(ml["points_per_s"]),
            better(rate),
        ),
        ("2. fluent log_metric + flush()", fmt_rate(sy["fluent_points_per_s"]), "—", "—"),
    ]


def read_rows(r: dict, what: str, ordered: bool) -> list[Row]:
    sy, ml = r["shipyard"], r["mlflow"]
    same = sy["count"] == ml["count"] and (not ordered or sy["order_digest"] == ml["order_digest"])
    check = ("same runs & order ✓" if ordered else "same count ✓") if same else "MISMATCH ✗"
    return [
        (f"{what}: setup (not compared)", fmt_s(sy["setup_seconds"]), fmt_s(ml["setup_seconds"]), "—"),
        (
            f"{what}: median of {w.READ_REPEATS}",
            fmt_s(sy["seconds"]),
            fmt_s(ml["seconds"]),
            better(ml["seconds"] / sy["seconds"]),
        ),
        (f"{what}: returned", f"{sy['count']:,}", f"{ml['count']:,}", check),
    ]


def artifact_rows(r: dict, copy: float, mb: int, streamed: float, digest: float) -> list[Row]:
    sy, ml = r["shipyard"], r["mlflow"]
    rows = [
        (f"5. plain copy, {mb} MB (baseline)", fmt_s(copy), fmt_s(copy), "—"),
        (f"5. streamed copy / one sha256, {mb} MB (context)", f"{fmt_s(streamed)} / {fmt_s(digest)}", "", "—"),
    ]
    for op in ("upload", "download"):
        s, m = sy[f"{op}_seconds"], ml[f"{op}_seconds"]
        rows.append(
            (
                f"5. artifact {op}, {mb} MB",
                f"{fmt_s(s)} ({s / copy:.1f}{X} copy)",
                f"{fmt_s(m)} ({m / copy:.1f}{X} copy)",
                better(m / s),
            )
        )
    if not (sy["size_ok"] and ml["size_ok"]):
        rows.append(("5. downloaded size check", str(sy["size_ok"]), str(ml["size_ok"]), "MISMATCH ✗"))
    return rows


def table_rows(results: dict, sizes: w.Sizes) -> list[Row]:
    rows: list[Row] = []
    if "latency" in results:
        rows += latency_rows(results["latency"])
    if "batch" in results:
        rows += batch_rows(results["batch"])
    if "search" in results:
        rows += read_rows(results["search"], f"3. search {sizes.search_runs:,} runs", ordered=True)
    if "history" in results:
        rows += read_rows(results["history"], f"4. history {sizes.history_steps:,} pts", ordered=False)
    if "artifacts" in results:
        rows += artifact_rows(
            results["artifacts"],
            results["plain_copy_seconds"],
            sizes.artifact_mb,
            results["streamed_copy_seconds"],
            results["sha256_seconds"],
        )
    return rows


NOTES = f"""\
1. one log_metric call, {{calls:,}} calls after a warm-up. MLflow: MlflowClient.log_metric (synchronous),
   the same MLflow figure on both rows. Shipyard "fluent": run.log_metric inside start_run (queued, sent
   by a background thread; the flush row is the time to store them all). "client": Client.log_metric,
   one acknowledged round trip.
2. points/s; Shipyard Client.log_batch with MetricBatch of {w.SHIPYARD_BATCH:,} points per call, MLflow
   log_batch with its maximum of {w.MLFLOW_BATCH:,} metrics per call; batches built before timing.
3. filter `{w.SEARCH_FILTER}` order by {w.SEARCH_ORDER[0]}, every page of {w.PAGE_SIZE:,}
   (page tokens followed); setup = create_run + log_batch per run; the run order is compared.
4. one metric logged at every step (setup in batches), then get_metric_history of the whole series.
5. one random file; Shipyard log_artifact/download_artifact (digest-verified), MLflow
   log_artifact/download_artifacts proxied by the server; baseline = shutil.copyfile (median of 3)."""


def render(rows: list[Row], meta: dict) -> None:
    table = Table(title="Shipyard vs MLflow: tracking (ratio > 1 means Shipyard is better)")
    table.add_column("figure")
    table.add_column("Shipyard", justify="right")
    table.add_column("MLflow", justify="right")
    table.add_column("ratio", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(NOTES.format(calls=meta["sizes"]["latency_calls"]), markup=False, highlight=False)
    console.print(meta["machine"], markup=False)
    console.print(meta["servers"], markup=False)
    console.print(f"command: {meta['command']}", markup=False)


# Main --------------------------------------------------------------------------------------------
MODES = ("native", "mlflow-client")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="native",
        help="native: each side through its own client (default); mlflow-client: one MLflow client, both servers",
    )
    parser.add_argument("--quick", action="store_true", help="smaller workload (~2-3 minutes)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--figures",
        help=f"comma-separated subset to run; native: {','.join(SHIPYARD)} (default all); "
        "mlflow-client: ingest,search,history (default all)",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="mlflow-client mode: a second mlflow server in Shipyard's column (ratios show the noise)",
    )
    return parser.parse_args(argv)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder for the servers' data, removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def machine_line(ml: dict) -> str:
    """This machine and both Pythons; ``ml`` is any result of the MLflow driver."""
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}; "
        f"Python {platform.python_version()} (Shipyard {shipyard.__version__}), "
        f"Python {ml['python']} (MLflow {ml['mlflow_version']})"
    )


def command_line() -> str:
    return shlex.join(sys.orig_argv)


def select_figures(args: argparse.Namespace, known: tuple[str, ...]) -> list[str]:
    figures = [f.strip() for f in (args.figures or ",".join(known)).split(",") if f.strip()]
    unknown = set(figures) - set(known)
    if unknown:
        raise SystemExit(f"unknown figures {sorted(unknown)} for --mode {args.mode}; choose from {list(known)}")
    return figures


def run_figures(figures: list[str], sizes: w.Sizes, python: Path, tmp: Path) -> dict:
    results: dict = {}
    with mlflow_server(python, tmp) as mlflow_url, HubProcess(tmp / "shipyard-home") as hub:
        client = shipyard.Client(hub.url)
        cfg = {
            "tracking_uri": mlflow_url,
            "sizes": sizes.to_dict(),
            "work_dir": str(tmp),
            "download_dir": str(tmp / "downloads"),
        }
        if "artifacts" in figures:
            console.print(f"writing a {sizes.artifact_mb} MB random file …")
            cfg["artifact_file"] = str(w.write_random_file(tmp / "artifact.bin", sizes.artifact_mb))
            results["plain_copy_seconds"] = w.plain_copy_seconds(Path(cfg["artifact_file"]), tmp)
            results["streamed_copy_seconds"] = w.streamed_copy_seconds(Path(cfg["artifact_file"]), tmp)
            results["sha256_seconds"] = w.sha256_seconds(Path(cfg["artifact_file"]))
        for figure in figures:
            console.rule(figure)
            t0 = time.perf_counter()
            results[figure] = {"shipyard": SHIPYARD[figure](client, sizes, cfg)}
            console.print(f"  shipyard done in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            results[figure]["mlflow"] = run_driver(python, figure, cfg)
            console.print(f"  mlflow done in {time.perf_counter() - t0:.1f} s")
        client.close()
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.mode == "mlflow-client":
        import _tracking_mlflow_client as client_mode  # imports this module: keep it out of the top

        client_mode.main(args, select_figures(args, client_mode.FIGURES))
        return
    if args.calibrate:
        raise SystemExit("--calibrate belongs to --mode mlflow-client")
    figures = select_figures(args, tuple(SHIPYARD))
    sizes = w.QUICK if args.quick else w.FULL
    python = mlflow_python()
    started = time.perf_counter()
    with scratch_dir() as tmp:
        results = run_figures(figures, sizes, python, tmp)
    ml = next(iter(v["mlflow"] for v in results.values() if isinstance(v, dict)))
    meta = {
        "machine": machine_line(ml),
        "servers": (
            "servers: both on 127.0.0.1, SQLite + local folder; MLflow `mlflow server --workers 1` "
            "(uvicorn, access log off, artifacts proxied via mlflow-artifacts); Shipyard "
            "`shipyard server` (1 worker). Clients: MlflowClient / shipyard.Client."
        ),
        "command": command_line(),
        "sizes": sizes.to_dict(),
        "wall_seconds": time.perf_counter() - started,
        "versions": {"shipyard": shipyard.__version__, "mlflow": ml["mlflow_version"]},
    }
    rows = table_rows(results, sizes)
    render(rows, meta)
    if args.json:
        table = [dict(zip(("figure", "shipyard", "mlflow", "ratio"), row, strict=True)) for row in rows]
        args.json.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=2))
        console.print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
