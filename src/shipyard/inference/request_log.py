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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.stores.artifacts import ArtifactStore

__all__ = ["RequestLog"]

log = logging.getLogger("shipyard.serve")


@dataclass
class _Group:
    """Requests of one model version with the same shape of input and output, kept as lists so
    that recording one is a few appends and writing them is whole-array work (no Python loop per
    request while holding the GIL, which would stall the event loop's thread)."""

    model: str
    version: str
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    at_ms: list[int] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def _shape(value: Any) -> Any:
    if type(value) is dict:
        return tuple(value)
    shape = getattr(value, "shape", None)
    return shape[1:] if shape is not None else type(value)


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


def _stack(values: list[Any]) -> Any:
    """Requests of one shape as one: tensors concatenated along rows, columns concatenated by name."""
    if isinstance(values[0], dict):
        return {k: np.concatenate([np.asarray(v[k]) for v in values]) for k in values[0]}
    return np.concatenate([np.asarray(v) for v in values])


def _warm_up_writer() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"s": pa.array(np.array(["x"], dtype=object), pa.string()), "x": np.zeros(1)})
    pq.write_table(table, pa.BufferOutputStream(), compression="zstd")


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
        self._groups: dict[tuple[str, str, Any, Any], _Group] = {}
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        _warm_up_writer()  # pyarrow imports pandas on first use: pay that now, not in the middle of serving

        self._thread = threading.Thread(target=self._run, name="shipyard-request-log", daemon=True)
        self._thread.start()

    def record(
        self, model: str, version: str, request_id: str | None, latency: float, inputs: Any, outputs: Any, rows: int
    ) -> None:
        """Queue one request for the log (a few appends; never raises, never blocks on I/O)."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        key = (model, version, _shape(inputs), _shape(outputs))
        with self._lock:
            if self._rows + rows > self.max_rows:
                self.dropped_rows += rows
                return
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(model, version)
            group.inputs.append(inputs)
            group.outputs.append(outputs)
            group.request_ids.append(request_id or "")
            group.at_ms.append(int(time.time() * 1000))
            group.latency_ms.append(latency * 1000)
            group.rows.append(rows)
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
            groups, self._groups = list(self._groups.values()), {}
            self._rows = 0
        for group in groups:
            try:
                self._write(group)
            except Exception as exc:  # a store failure loses these observations, never a request
                self.dropped_rows += sum(group.rows)
                log.warning("inference log: could not write %d records of %s v%s: %s", len(group.rows),
                            group.model, group.version, exc)  # fmt: skip

    def _write(self, group: _Group) -> None:
        import pyarrow as pa

        cols = _input_columns(_stack(group.inputs))
        if cols is None:
            return
        cols.update(_output_columns(_stack(group.outputs)))
        sizes = np.asarray(group.rows, dtype=np.int64)
        total = int(sizes.sum())
        at_ms = np.repeat(np.asarray(group.at_ms, dtype=np.int64), sizes)
        columns: dict[str, Any] = {
            "_request_id": pa.array(np.repeat(np.asarray(group.request_ids, dtype=object), sizes), pa.string()),
            "_row": (np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)).astype(np.int32),
            "_at_ms": at_ms,
            "_latency_ms": np.repeat(np.asarray(group.latency_ms, dtype=np.float64), sizes),
        }
        for name, values in cols.items():
            columns[name] = values.astype(str) if values.dtype.kind == "O" else values
        table = pa.table(columns)
        days = at_ms // 86_400_000
        for day in np.unique(days):  # almost always one
            part = table if len(np.unique(days)) == 1 else table.filter(pa.array(days == day))
            date = dt.datetime.fromtimestamp(int(day) * 86_400, tz=dt.UTC).strftime("%Y-%m-%d")
            self._put(group.model, group.version, date, part)

    def _put(self, model: str, version: str, date: str, table: Any) -> None:
        import pyarrow.parquet as pq

        key = f"model={model}/version={version}/date={date}/{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
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
