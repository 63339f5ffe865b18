"""The inference log: a sampled record of requests and responses, for monitoring.

Requests hand their (already decoded) inputs and outputs to :meth:`RequestLog.record`, which only
appends to an in-memory buffer: it never blocks a request on I/O and never raises into one. A
background thread turns the buffer into Parquet files (one row per predicted row: the input
columns, the prediction, the request id, model version, time and latency) and stores them under
``model=NAME/version=V/date=YYYY-MM-DD/`` in a folder or bucket (Hive partitioning, which pyarrow,
DuckDB and Spark read as columns). The buffer is bounded: past ``max_rows`` waiting rows, new
records are dropped and counted, so a slow store costs observations, not memory or latency.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.stores.artifacts import ArtifactStore

__all__ = ["RequestLog"]

log = logging.getLogger("shipyard.serve")


@dataclass
class _Record:
    model: str
    version: str
    request_id: str
    at_ms: int
    latency_ms: float
    inputs: Any
    outputs: Any
    rows: int


def _input_columns(inputs: Any) -> dict[str, np.ndarray] | None:
    if isinstance(inputs, dict):
        return {str(k): np.asarray(v) for k, v in inputs.items()}
    arr = np.asarray(inputs)
    if arr.ndim == 1:
        return {"input": arr}
    if arr.ndim == 2:
        return {f"input_{i}": arr[:, i] for i in range(arr.shape[1])}
    return None  # higher-rank tensors are not logged column-wise


def _output_columns(outputs: Any) -> dict[str, np.ndarray]:
    if isinstance(outputs, dict):
        items = {f"prediction_{k}": np.asarray(v) for k, v in outputs.items()}
    else:
        items = {"prediction": np.asarray(outputs)}
    flat: dict[str, np.ndarray] = {}
    for name, arr in items.items():
        if arr.ndim == 2:
            flat.update({f"{name}_{i}": arr[:, i] for i in range(arr.shape[1])})
        elif arr.ndim == 1:
            flat[name] = arr
    return flat


def _shape_key(value: Any) -> Any:
    if isinstance(value, dict):
        return ("columns", *((k, np.asarray(v).dtype.kind) for k, v in value.items()))
    arr = np.asarray(value)
    return ("tensor", arr.shape[1:], arr.dtype.kind)


def _kind(inputs: Any, outputs: Any) -> Any:
    return _shape_key(inputs), _shape_key(outputs)


def _stack(values: list[Any]) -> Any:
    """Records of one kind as one: tensors concatenated along rows, columns concatenated by name."""
    if isinstance(values[0], dict):
        return {k: np.concatenate([np.asarray(v[k]) for v in values]) for k in values[0]}
    return np.concatenate([np.asarray(v) for v in values])


class RequestLog:
    """See the module docstring. ``store`` is an artifact store (folder or bucket) that owns the
    files; ``sample`` is the share of requests recorded (0..1)."""

    def __init__(
        self,
        store: ArtifactStore,
        *,
        sample: float = 1.0,
        max_rows: int = 200_000,
        flush_rows: int = 20_000,
        flush_interval: float = 10.0,
    ) -> None:
        self.store = store
        self.sample = sample
        self.max_rows = max_rows
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.dropped_rows = 0
        self.written_rows = 0
        self.files = 0
        self._buffer: deque[_Record] = deque()
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        import pyarrow.parquet  # noqa: F401 - imported now (it pulls in pandas): not in the middle of serving

        self._thread = threading.Thread(target=self._run, name="shipyard-request-log", daemon=True)
        self._thread.start()

    def record(
        self, model: str, version: str, request_id: str | None, latency: float, inputs: Any, outputs: Any, rows: int
    ) -> None:
        """Queue one request for the log (cheap; never raises, never blocks on I/O)."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        with self._lock:
            if self._rows + rows > self.max_rows:
                self.dropped_rows += rows
                return
            self._buffer.append(
                _Record(model, version, request_id or uuid.uuid4().hex, int(time.time() * 1000), latency * 1000,
                        inputs, outputs, rows)
            )  # fmt: skip
            self._rows += rows
            full = self._rows >= self.flush_rows
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write everything buffered now (called by the background thread, and on close)."""
        with self._lock:
            records, self._buffer = list(self._buffer), deque()
            self._rows = 0
        if not records:
            return
        groups: dict[tuple[str, str, str], list[_Record]] = {}
        for r in records:
            day = dt.datetime.fromtimestamp(r.at_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
            groups.setdefault((r.model, r.version, day), []).append(r)
        for (model, version, day), group in groups.items():
            try:
                self._write(model, version, day, group)
            except Exception as exc:  # a store failure loses these observations, never a request
                self.dropped_rows += sum(r.rows for r in group)
                log.warning("inference log: could not write %d records for %s v%s: %s", len(group), model, version, exc)

    def _write(self, model: str, version: str, day: str, group: list[_Record]) -> None:
        """One Parquet file for a group. Records with the same shape of input are concatenated as
        whole arrays first and split into columns once: per-request work here would hold the GIL
        long enough to stall requests."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        kinds: dict[Any, list[_Record]] = {}
        for r in group:
            kinds.setdefault(_kind(r.inputs, r.outputs), []).append(r)
        tables = []
        for items in kinds.values():
            cols = _input_columns(_stack([r.inputs for r in items]))
            if cols is None:
                continue
            cols.update(_output_columns(_stack([r.outputs for r in items])))
            sizes = np.fromiter((r.rows for r in items), dtype=np.int64, count=len(items))
            columns: dict[str, Any] = {
                "_request_id": pa.array(np.repeat(np.array([r.request_id for r in items], dtype=object), sizes)),
                "_row": np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]),
                "_at_ms": np.repeat(np.array([r.at_ms for r in items], dtype=np.int64), sizes),
                "_latency_ms": np.repeat(np.array([r.latency_ms for r in items], dtype=np.float64), sizes),
            }
            for name, values in cols.items():
                columns[name] = values.astype(str) if values.dtype.kind == "O" else values
            tables.append(pa.table(columns))
        if not tables:
            return
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
        key = f"model={model}/version={version}/date={day}/{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
        staging = self.store.staging_dir()
        staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".parquet", dir=staging)
        os.close(fd)
        pq.write_table(table, name, compression="zstd")
        self.store.put_file(key, Path(name))  # the store takes the file over
        self.written_rows += table.num_rows
        self.files += 1

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
