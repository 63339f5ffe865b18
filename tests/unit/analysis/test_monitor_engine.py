"""The monitor engine on Parquet bytes, as the service hands them over: windows by time and by
row count, schema checks, prediction drift against the training target, and performance from
class scores (ROC AUC, log loss) joined by request id and row."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.analysis.monitor_engine import MonitorEngine
from shipyard.domain.monitoring import Label, Monitor


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _log(n: int, start_ms: int, shift: float, seed: int, request: str) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    p1 = 1 / (1 + np.exp(-x))
    return pa.table({
        "_request_id": [request] * n,
        "_row": pa.array(np.arange(n), pa.int32()),
        "_at_ms": np.arange(start_ms, start_ms + n, dtype=np.int64),
        "_latency_ms": np.ones(n),
        "x": x,
        "extra": np.zeros(n),
        "prediction_0": 1 - p1,
        "prediction_1": p1,
    })  # fmt: skip


@pytest.fixture
def reference() -> bytes:
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, 2000)
    return _parquet(pa.table({"x": x, "z": rng.normal(size=2000), "y": (x > 0).astype(np.int64)}))


def test_windows_schema_and_scores(reference: bytes) -> None:
    files = [_parquet(_log(500, 1_000, 0.0, 1, "old")), _parquet(_log(500, 5_000, 2.0, 2, "new"))]
    rng = np.random.default_rng(3)
    truth = {("old", i): int(rng.random() < 0.5) for i in range(500)} | {("new", i): 1 for i in range(500)}

    def labels(ids: list[str]) -> list[Label]:
        wanted = set(ids)
        return [Label("m", r, i, v) for (r, i), v in truth.items() if r in wanted and i % 2 == 0]

    engine = MonitorEngine()
    monitor = Monitor(id="1", name="m", model="m", window="all", features=("x", "z"))  # the signature's inputs
    body = engine.evaluate(monitor, reference, iter(files), labels, start_ms=None, end_ms=10_000, last_n=None)
    assert body["window"] == {"start_ms": 1_000, "end_ms": 5_499, "rows": 1000, "reference_rows": 2000}
    drifted = {f["name"] for f in body["features"] if f["drift"]}
    assert "x" in drifted
    assert body["quality"]["missing_columns"] == ["z"] and body["quality"]["extra_columns"] == ["extra"]
    perf = body["performance"]
    assert perf["labelled_rows"] == 500 and {"roc_auc", "log_loss"} <= set(perf["metrics"])
    assert engine.loads(engine.dumps(body)) == body  # JSON-safe, no NaN

    # by time: only the second file's rows; by count: the newest 100 rows (files come newest first)
    late = engine.evaluate(monitor, reference, iter(files), labels, start_ms=5_000, end_ms=10_000, last_n=None)
    assert late["window"]["rows"] == 500 and late["window"]["start_ms"] == 5_000
    newest = engine.evaluate(monitor, reference, iter(files[::-1]), labels, start_ms=None, end_ms=10_000, last_n=100)
    assert newest["window"]["rows"] == 100 and newest["window"]["start_ms"] == 5_400
    empty = engine.evaluate(monitor, reference, iter([]), labels, start_ms=None, end_ms=10_000, last_n=None)
    assert empty["window"]["rows"] == 0 and empty["performance"] is None
    assert "<!DOCTYPE html>" in engine.report(body)
