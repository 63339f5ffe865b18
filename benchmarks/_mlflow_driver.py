"""MLflow's side of ``benchmarks/tracking.py``; runs inside MLflow's own virtual environment.

Usage: ``python _mlflow_driver.py FIGURE CONFIG_JSON``. Prints its results as one JSON line on
stdout (progress goes to stderr). FIGURE is one of: latency, batch, search, history, artifacts.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

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


def main() -> None:
    figure, cfg = sys.argv[1], json.loads(sys.argv[2])
    client = MlflowClient(cfg["tracking_uri"])
    result = FIGURES[figure](client, w.Sizes(**cfg["sizes"]), cfg)
    result["mlflow_version"] = mlflow.__version__
    result["python"] = sys.version.split()[0]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
