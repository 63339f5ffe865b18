"""The monitor engine: reads a window of the inference log (Parquet bytes), compares it with the
reference per feature (:mod:`shipyard.analysis.drift`), joins delayed labels for performance
(:mod:`shipyard.analysis.performance`) and renders the report (:mod:`shipyard.analysis.report`).

Memory stays bounded by the batches, not the window: features stream through per-column
accumulators; only the request ids, rows, times and predictions of the window are kept whole,
for the label join.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shipyard.analysis import drift
from shipyard.analysis.performance import performance
from shipyard.analysis.report import render_report
from shipyard.domain.monitoring import Label, Monitor

__all__ = ["MonitorEngine"]

_KEEP = ("_request_id", "_row", "_at_ms")
DATASET_DRIFT_SHARE = 0.5


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, NumPy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Window:
    """The log rows of one window, streamed once: batches of the monitored columns go to the
    drift accumulators; the label-join columns are kept."""

    def __init__(self, files: Iterable[bytes], start_ms: int | None, end_ms: int, last_n: int | None) -> None:
        self.files, self.start_ms, self.end_ms, self.last_n = files, start_ms, end_ms, last_n
        self.rows = 0
        self.columns: set[str] = set()
        self.kept: list[pa.Table] = []
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def batches(self, wanted: Sequence[str]) -> Iterator[pa.RecordBatch]:
        for raw in self.files:
            if self.last_n is not None and self.rows >= self.last_n:
                return
            table = pq.read_table(io.BytesIO(raw))
            self.columns |= set(table.column_names)
            at = table.column("_at_ms")
            mask = pc.less_equal(at, self.end_ms)
            if self.start_ms is not None:
                mask = pc.and_(mask, pc.greater_equal(at, self.start_ms))
            table = table.filter(mask)
            if self.last_n is not None:  # files come newest first: take the newest rows of this one
                need = self.last_n - self.rows
                if table.num_rows > need:
                    order = pc.sort_indices(table, sort_keys=[("_at_ms", "descending")])
                    table = table.take(order.slice(0, need))
            if not table.num_rows:
                continue
            self.rows += table.num_rows
            lo, hi = (v.as_py() for v in pc.min_max(table.column("_at_ms")).values())
            self.first_ms = lo if self.first_ms is None else min(lo, self.first_ms)
            self.last_ms = hi if self.last_ms is None else max(hi, self.last_ms)
            keep = [c for c in table.column_names if c in _KEEP or c.startswith("prediction")]
            self.kept.append(table.select(keep))
            present = [c for c in wanted if c in table.column_names]
            yield from table.select(present).to_batches()


class MonitorEngine:
    """Implements :class:`shipyard.services.monitoring.MonitorEngine`."""

    def evaluate(
        self,
        monitor: Monitor,
        reference: bytes,
        log_files: Iterable[bytes],
        labels: Callable[[Sequence[str]], list[Label]],
        *,
        start_ms: int | None,
        end_ms: int,
        last_n: int | None,
    ) -> dict[str, Any]:
        ref_table = pq.read_table(io.BytesIO(reference))
        window = _Window(log_files, start_ms, end_ms, last_n)
        features = list(monitor.features) or list(ref_table.column_names)
        sketches = drift.reference_sketches(ref_table.select([c for c in features if c in ref_table.column_names]))
        # streamed once: batches go through one accumulator per feature
        results = drift.compare_tables(
            sketches,
            window.batches(features),
            tests=dict(monitor.tests),
            thresholds=dict(monitor.thresholds),
        )
        seen = window.columns
        inputs = [r for r in results if r["name"] in seen]
        # a reference column the model does not take is its target, when there is exactly one
        target = [c for c in ref_table.column_names if c not in features and not c.startswith("_")]
        body: dict[str, Any] = {
            "window": {
                "start_ms": window.first_ms if window.first_ms is not None else (start_ms or 0),
                "end_ms": window.last_ms if window.last_ms is not None else end_ms,
                "rows": window.rows,
                "reference_rows": ref_table.num_rows,
            },
            "features": inputs,
            "quality": {
                "missing_columns": [c for c in features if c not in seen],
                "extra_columns": sorted(c for c in seen if not c.startswith(("_", "prediction")) and c not in features),
            },
        }
        kept = pa.concat_tables(window.kept) if window.kept else None
        if kept is not None and len(target) == 1 and "prediction" in kept.column_names:
            body["features"].append(self._prediction_drift(ref_table.column(target[0]), kept.column("prediction")))
        body["performance"] = self._performance(monitor, kept, labels)
        drifted = [f for f in body["features"] if f.get("drift")]
        n = len(body["features"])
        body["summary"] = {
            "features": n,
            "drifted": len(drifted),
            "share": len(drifted) / n if n else 0.0,
            "dataset_drift": bool(n) and len(drifted) / n >= DATASET_DRIFT_SHARE,
        }
        cleaned: dict[str, Any] = _clean(body)
        return cleaned

    @staticmethod
    def _prediction_drift(target: pa.ChunkedArray, predicted: pa.ChunkedArray) -> dict[str, Any]:
        """Prediction drift: the predictions of the window against the training target."""
        sketch = drift.reference_sketches(pa.table({"prediction": target}))
        (result,) = drift.compare_tables(sketch, pa.table({"prediction": predicted}).to_batches())
        result["role"] = "prediction"
        return result

    @staticmethod
    def _performance(
        monitor: Monitor, kept: pa.Table | None, labels: Callable[[Sequence[str]], list[Label]]
    ) -> dict[str, Any] | None:
        if kept is None or not kept.num_rows:
            return None
        proba = sorted((c for c in kept.column_names if c.startswith("prediction_") and c[11:].isdigit()),
                       key=lambda c: int(c[11:]))  # fmt: skip
        if "prediction" not in kept.column_names and not proba:
            return None
        ids = kept.column("_request_id").to_pylist()
        found = labels(ids)
        if not found:
            return None
        numeric = all(isinstance(x.value, int | float) for x in found)
        values: Any = [x.value for x in found]
        label_table = pa.table(
            {
                "_request_id": [x.request_id for x in found],
                "_row": pa.array([x.row for x in found], pa.int32()),
                "_label": pa.array(values, pa.float64() if numeric else pa.string()),
            }
        )
        outputs = ["prediction"] if "prediction" in kept.column_names else proba
        joined = kept.select(["_request_id", "_row", "_at_ms", *outputs]).join(
            label_table, keys=["_request_id", "_row"], join_type="inner"
        )
        if not joined.num_rows:
            return None
        y_true = joined.column("_label").to_numpy(zero_copy_only=False)
        scores = None
        if outputs == proba:  # class scores (predict_proba-like): the label is the best class's index
            matrix = np.column_stack([joined.column(c).to_numpy(zero_copy_only=False) for c in proba])
            y_pred = matrix.argmax(axis=1)
            scores = matrix[:, 1] if len(proba) == 2 else None
        else:
            y_pred = joined.column("prediction").to_numpy(zero_copy_only=False)
        if numeric and y_pred.dtype.kind in "biu" and monitor.label_task != "regression":
            y_true = y_true.astype(y_pred.dtype)
        at = joined.column("_at_ms").to_numpy()
        return performance(y_true, y_pred, at, task=monitor.label_task, scores=scores)

    def report(self, body: Mapping[str, Any]) -> str:
        return render_report(body)

    def dumps(self, body: Mapping[str, Any]) -> bytes:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)

    def loads(self, raw: bytes) -> dict[str, Any]:
        parsed = orjson.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
