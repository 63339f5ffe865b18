"""MLflow's side of ``benchmarks/tracking.py``; runs inside MLflow's own virtual environment.

Usage: ``python _mlflow_driver.py FIGURE CONFIG_JSON``. Prints its results as one JSON line on
stdout (progress goes to stderr). FIGURE is one of: latency, batch, search, history, artifacts
(the default mode, against ``mlflow server``), or client-ingest, client-search, client-history
(the MLflow-client mode: the same calls against any server that speaks MLflow's REST API, named by
``tracking_uri``; an error is reported in the JSON line as ``{"error": ...}``, not raised).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.store.tracking import GET_METRIC_HISTORY_MAX_RESULTS

import _workload as w


def _run(client: MlflowClient, experiment: str, name: str | None = None) -> tuple[str, str]:
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    return exp_id, client.create_run(exp_id, run_name=name).info.run_id


def latency(client: MlflowClient, sizes: w.Sizes, cfg: dict) -> dict:
    _, run_id = _run(client, "bench-latency")
    for i in range(sizes.warmup):
        client.log_metric(run_id, "warmup", float(i), step=i)
    samples = []
    for i in range(sizes.latency_calls):
        t0 = time.perf_counter_ns()
        client.log_metric(run_id, "latency", float(i), step=i)
        samples.append(time.perf_counter_ns() - t0)
    return {"client": w.latency_summary(samples)}


def batch(client: MlflowClient, sizes: w.Sizes, cfg: dict) -> dict:
    _, run_id = _run(client, "bench-batch")
    keys, values, steps = w.batch_columns(sizes.batch_points)
    ts = int(time.time() * 1000)
    points = [Metric(k, v, ts, s) for k, v, s in zip(keys, values, steps, strict=True)]
    chunks = [points[i : i + w.MLFLOW_BATCH] for i in range(0, len(points), w.MLFLOW_BATCH)]
    client.log_batch(run_id, metrics=[Metric("warmup", 0.0, ts, 0)])
    t0 = time.perf_counter()
    for chunk in chunks:
        client.log_batch(run_id, metrics=chunk)
    seconds = time.perf_counter() - t0
    return {"points": len(points), "seconds": seconds, "points_per_s": len(points) / seconds}


def search(client: MlflowClient, sizes: w.Sizes, cfg: dict) -> dict:
    exp_id = client.create_experiment("bench-search")
    ts = int(time.time() * 1000)
    t0 = time.perf_counter()
    for i, row in enumerate(w.search_dataset(sizes.search_runs)):
        run_id = client.create_run(exp_id, run_name=row["name"]).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("auc", row["auc"], ts, 0), Metric("loss", row["loss"], ts, 0)],
            params=[Param("model", row["model"])],
            tags=[RunTag("team", row["team"])],
        )
        if (i + 1) % 500 == 0:
            print(f"  mlflow: {i + 1}/{sizes.search_runs} runs created", file=sys.stderr, flush=True)
    setup = time.perf_counter() - t0
    w.settle()
    times, names = [], []
    for _ in range(w.READ_REPEATS):
        t0 = time.perf_counter()
        names, token = [], None
        while True:
            page = client.search_runs(
                [exp_id],
                filter_string=w.SEARCH_FILTER,
                order_by=w.SEARCH_ORDER,
                max_results=w.PAGE_SIZE,
                page_token=token,
            )
            names.extend(r.info.run_name for r in page)
            token = page.token
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


def history(client: MlflowClient, sizes: w.Sizes, cfg: dict) -> dict:
    _, run_id = _run(client, "bench-history")
    ts = int(time.time() * 1000)
    points = [Metric("loss", v, ts, i) for i, v in enumerate(w.history_values(sizes.history_steps))]
    t0 = time.perf_counter()
    for i in range(0, len(points), w.MLFLOW_BATCH):
        client.log_batch(run_id, metrics=points[i : i + w.MLFLOW_BATCH])
    setup = time.perf_counter() - t0
    w.settle()
    times, count = [], 0
    for _ in range(w.READ_REPEATS):
        t0 = time.perf_counter()
        count = len(client.get_metric_history(run_id, "loss"))
        times.append(time.perf_counter() - t0)
    return {"setup_seconds": setup, "seconds": statistics.median(times), "times": times, "count": count}


def artifacts(client: MlflowClient, sizes: w.Sizes, cfg: dict) -> dict:
    _, run_id = _run(client, "bench-artifacts")
    src = Path(cfg["artifact_file"])
    dest = Path(cfg["download_dir"]) / "mlflow"
    dest.mkdir(parents=True, exist_ok=True)
    return w.artifact_rounds(
        lambda folder: client.log_artifact(run_id, str(src), artifact_path=folder),
        lambda folder: Path(client.download_artifacts(run_id, f"{folder}/{src.name}", dst_path=str(dest))),
        src,
    )


FIGURES = {"latency": latency, "batch": batch, "search": search, "history": history, "artifacts": artifacts}


# The MLflow-client mode: the same calls against any MLflow-compatible server --------------------
def _experiment(client: MlflowClient, prefix: str) -> str:
    """A new experiment with a unique name (the server may be reused across runs of the driver)."""
    return client.create_experiment(f"{prefix}-{uuid.uuid4().hex[:8]}")


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _raw_p50(call: Callable[[], object], repeats: int) -> float:
    """p50 of ``call``: the same REST requests as the client's, sent with ``requests`` and not parsed
    (server + wire only: separates the server's share from the MLflow client's own parsing)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _raw_json(session: requests.Session, method: str, url: str, **kwargs: object) -> bytes:
    response = session.request(method, url, **kwargs)
    response.raise_for_status()
    return response.content


def client_ingest(client: MlflowClient, sizes: w.ClientSizes, cfg: dict) -> dict:
    """log_batch of ``ingest_points`` per run into ``ingest_runs`` runs, MLFLOW_BATCH per call."""
    exp_id = _experiment(client, "client-ingest")
    keys, values, steps = w.batch_columns(sizes.ingest_points)
    ts = int(time.time() * 1000)
    points = [Metric(k, v, ts, s) for k, v, s in zip(keys, values, steps, strict=True)]
    chunks = [points[i : i + w.MLFLOW_BATCH] for i in range(0, len(points), w.MLFLOW_BATCH)]
    run_ids = [client.create_run(exp_id, run_name=f"ingest-{i:03d}").info.run_id for i in range(sizes.ingest_runs)]
    client.log_batch(run_ids[0], metrics=[Metric("warmup", 0.0, ts, 0)])
    run_seconds = []
    for run_id in run_ids:
        t0 = time.perf_counter()
        for chunk in chunks:
            client.log_batch(run_id, metrics=chunk)
        run_seconds.append(time.perf_counter() - t0)
    total, seconds = len(points) * len(run_ids), sum(run_seconds)
    stored = client.get_metric_history(run_ids[-1], "m0")  # untimed check: every point arrived
    return {
        "runs": len(run_ids),
        "points": total,
        "calls": len(chunks) * len(run_ids),
        "seconds": seconds,
        "points_per_s": total / seconds,
        "median_run_points_per_s": len(points) / statistics.median(run_seconds),
        "run_seconds": run_seconds,
        "check_ok": len(stored) == keys.count("m0"),
    }


def _populate_search(client: MlflowClient, exp_id: str, rows: list[dict], threads: int) -> float:
    """Create the searched runs (create_run + one log_batch each) on a few threads; untimed setup."""
    ts = int(time.time() * 1000)

    def create(row: dict) -> None:
        run_id = client.create_run(exp_id, run_name=row["name"]).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("auc", row["auc"], ts, 0), Metric("loss", row["loss"], ts, 0)],
            params=[Param("model", row["model"])],
            tags=[RunTag("team", row["team"])],
        )

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for i, _ in enumerate(pool.map(create, rows)):
            if (i + 1) % 500 == 0:
                _progress(f"{i + 1:,}/{len(rows):,} runs created ({time.perf_counter() - t0:.0f} s)")
    return time.perf_counter() - t0


def expected_search(rows: list[dict]) -> list[str]:
    """The run names SEARCH_FILTER and SEARCH_ORDER select, computed locally (the ground truth)."""
    hits = [r for r in rows if r["auc"] > 0.5 and r["model"] == "rf"]
    return [r["name"] for r in sorted(hits, key=lambda r: r["auc"], reverse=True)]


def client_search(client: MlflowClient, sizes: w.ClientSizes, cfg: dict) -> dict:
    """search_runs with SEARCH_FILTER and SEARCH_ORDER, CLIENT_PAGE_SIZE per call, every page."""
    exp_id = _experiment(client, "client-search")
    rows = w.search_dataset(sizes.search_runs)
    setup = _populate_search(client, exp_id, rows, sizes.populate_threads)
    w.settle()
    first, every, names, pages = [], [], [], 0
    for _ in range(sizes.search_repeats):
        t0 = time.perf_counter()
        names, token, pages = [], None, 0
        while pages == 0 or token:
            page = client.search_runs(
                [exp_id],
                filter_string=w.SEARCH_FILTER,
                order_by=w.SEARCH_ORDER,
                max_results=w.CLIENT_PAGE_SIZE,
                page_token=token,
            )
            if pages == 0:
                first.append(time.perf_counter() - t0)
            pages += 1
            names.extend(r.info.run_name for r in page)
            token = page.token
        every.append(time.perf_counter() - t0)
    body = {
        "experiment_ids": [exp_id],
        "filter": w.SEARCH_FILTER,
        "order_by": w.SEARCH_ORDER,
        "max_results": w.CLIENT_PAGE_SIZE,
    }
    with requests.Session() as http:
        url = f"{cfg['tracking_uri']}/api/2.0/mlflow/runs/search"
        raw = _raw_p50(lambda: _raw_json(http, "POST", url, json=body), sizes.search_repeats)
    return {
        "runs": len(rows),
        "setup_seconds": setup,
        "first_page_p50": statistics.median(first),
        "all_pages_p50": statistics.median(every),
        "raw_first_page_p50": raw,
        "first_page_times": first,
        "all_pages_times": every,
        "pages": pages,
        "count": len(names),
        "order_digest": w.names_digest(names),
        "check_ok": names == expected_search(rows),
    }


def client_history(client: MlflowClient, sizes: w.ClientSizes, cfg: dict) -> dict:
    """get_metric_history of one metric logged at every one of ``history_steps`` steps."""
    run_id = client.create_run(_experiment(client, "client-history"), run_name="history").info.run_id
    values, ts = w.history_values(sizes.history_steps), int(time.time() * 1000)
    points = [Metric("loss", v, ts, i) for i, v in enumerate(values)]
    t0 = time.perf_counter()
    for i in range(0, len(points), w.MLFLOW_BATCH):
        client.log_batch(run_id, metrics=points[i : i + w.MLFLOW_BATCH])
    setup = time.perf_counter() - t0
    w.settle()
    times, got = [], []
    for _ in range(sizes.history_repeats):
        t0 = time.perf_counter()
        got = client.get_metric_history(run_id, "loss")
        times.append(time.perf_counter() - t0)
    digest = w.points_digest([(m.step, m.value) for m in got])
    with requests.Session() as http:
        raw = _raw_p50(lambda: _raw_history(http, cfg["tracking_uri"], run_id), sizes.history_repeats)
    return {
        "steps": len(values),
        "setup_seconds": setup,
        "p50": statistics.median(times),
        "times": times,
        "raw_p50": raw,
        "count": len(got),
        "digest": digest,
        "check_ok": digest == w.points_digest(list(enumerate(values))),
    }


NEXT_PAGE_TOKEN = re.compile(rb'"next_page_token"\s*:\s*"([^"]*)"')  # found without parsing the body


def _raw_history(http: requests.Session, tracking_uri: str, run_id: str) -> None:
    """GET metrics/get-history page by page, as MlflowClient.get_metric_history asks for it."""
    params = {"run_id": run_id, "metric_key": "loss", "max_results": GET_METRIC_HISTORY_MAX_RESULTS}
    url = f"{tracking_uri}/api/2.0/mlflow/metrics/get-history"
    while True:
        found = NEXT_PAGE_TOKEN.search(_raw_json(http, "GET", url, params=params))
        if not found or not found[1]:
            return
        params["page_token"] = found[1].decode()


CLIENT_FIGURES: dict[str, Callable[[MlflowClient, w.ClientSizes, dict], dict]] = {
    "client-ingest": client_ingest,
    "client-search": client_search,
    "client-history": client_history,
}


def run_client_figure(client: MlflowClient, figure: str, cfg: dict) -> dict:
    """One MLflow-client figure; a failure (e.g. an endpoint the server lacks) becomes the result."""
    try:
        return CLIENT_FIGURES[figure](client, w.ClientSizes(**cfg["client_sizes"]), cfg)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return {"error": f"{type(exc).__name__}: {exc}"[:4000]}


def main() -> None:
    figure, cfg = sys.argv[1], json.loads(sys.argv[2])
    client = MlflowClient(cfg["tracking_uri"])
    if figure in CLIENT_FIGURES:
        result = run_client_figure(client, figure, cfg)
    else:
        result = FIGURES[figure](client, w.Sizes(**cfg["sizes"]), cfg)
    result["mlflow_version"] = mlflow.__version__
    result["python"] = sys.version.split()[0]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
