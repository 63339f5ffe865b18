"""The example logged by ``shipyard quickstart``: a small logistic regression trained by gradient
descent on generated data (logged as a versioned dataset), in plain Python."""

from __future__ import annotations

import json
import math
import random
import tempfile
from pathlib import Path
from typing import Any

from shipyard.sdk.client import Client
from shipyard.sdk.fluent import start_run

__all__ = ["log_example_runs"]


def _data(seed: int, n: int = 400) -> list[tuple[float, float, int]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.random() < 0.5
        center = 1.0 if label else -1.0
        rows.append((rng.gauss(center, 1.0), rng.gauss(center * 0.5, 1.0), int(label)))
    return rows


def _train(rows: list[tuple[float, float, int]], lr: float, epochs: int) -> list[tuple[float, float, float]]:
    w0 = w1 = b = 0.0
    history = []
    for _ in range(epochs):
        g0 = g1 = gb = loss = 0.0
        for x0, x1, y in rows:
            p = 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + b)))
            g0, g1, gb = g0 + (p - y) * x0, g1 + (p - y) * x1, gb + (p - y)
            loss -= math.log(max(p if y else 1 - p, 1e-12))
        n = len(rows)
        w0, w1, b = w0 - lr * g0 / n, w1 - lr * g1 / n, b - lr * gb / n
        acc = sum((w0 * x0 + w1 * x1 + b > 0) == bool(y) for x0, x1, y in rows) / n
        history.append((loss / n, acc, w0))
    return history


def _arrow(columns: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    return pa.table(columns)


def log_example_runs(client: Client, experiment: str = "quickstart") -> list[str]:
    """Log three runs (one learning rate each) and return their ids."""
    rows = _data(seed=7)
    table: dict[str, list[Any]] = {name: [r[i] for r in rows] for i, name in enumerate(("x0", "x1", "label"))}
    ids = []
    for lr in (0.05, 0.2, 1.0):
        with start_run(experiment, name=f"logreg-lr{lr}", tags={"example": "quickstart"}, client=client) as run:
            run.log_params({"model": "logistic_regression", "lr": lr, "epochs": 30, "seed": 7})
            run.log_dataset(_arrow(table), name="two-blobs", role="train")  # one version, used by three runs
            history = _train(rows, lr, epochs=30)
            for step, (loss, acc, _) in enumerate(history):
                run.log_metrics({"loss": loss, "accuracy": acc}, step=step)
            with tempfile.TemporaryDirectory() as tmp:
                summary = Path(tmp) / "summary.json"
                summary.write_text(
                    json.dumps({"lr": lr, "final_loss": history[-1][0], "final_accuracy": history[-1][1]})
                )
                run.log_artifact(summary)
            ids.append(run.id)
    return ids
