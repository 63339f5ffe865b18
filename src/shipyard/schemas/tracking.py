"""Tracking wire models: experiments, runs, metrics, artifacts.

JSON has no NaN or infinity, so metric values that are not finite travel as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the spelling JavaScript and MLflow use); every other
value is a JSON number. Timestamps are integer milliseconds since the epoch.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.pagination import Page
from shipyard.domain.tracking import Experiment, Metric, MetricBatch, MetricHistory, Run, RunStatus
from shipyard.errors import InvalidArgument

__all__ = [
    "API_PREFIX",
    "ArtifactOut",
    "CreateExperimentIn",
    "CreateRunIn",
    "ErrorBody",
    "ExperimentOut",
    "LogBatchIn",
    "MetricHistoryOut",
    "MetricPointIn",
    "RunOut",
    "RunPageOut",
    "SearchRunsIn",
    "UpdateRunIn",
    "artifact_from_wire",
    "artifact_to_wire",
    "decode_float",
    "encode_float",
    "experiment_from_wire",
    "experiment_to_wire",
    "history_from_wire",
    "history_to_wire",
    "metric_columns_from_wire",
    "metric_columns_to_wire",
    "metrics_from_wire",
    "run_from_wire",
    "run_page_to_wire",
    "run_to_wire",
]

API_PREFIX = "/api/v1"
_NONFINITE_OUT = {math.inf: "Infinity", -math.inf: "-Infinity"}
_NONFINITE_IN = {
    "nan": math.nan,
    "infinity": math.inf,
    "inf": math.inf,
    "+infinity": math.inf,
    "+inf": math.inf,
    "-infinity": -math.inf,
    "-inf": -math.inf,
}
Number = float | str
_POINT_KEYS = frozenset({"key", "value", "step", "timestamp"})


# ------------------------------------------------------------------------------- float encoding
def encode_float(v: float) -> float | str:
    """A float for JSON: itself when finite, else ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    if v != v:
        return "NaN"
    return _NONFINITE_OUT.get(v, v)


def decode_float(v: object) -> object:
    """The inverse of :func:`encode_float`; anything else is returned unchanged for validation."""
    if v.__class__ is str:
        found = _NONFINITE_IN.get(v.lower())
        if found is not None:
            return found
    return v


# ------------------------------------------------------------------------------- request models
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class CreateExperimentIn(_In):
    name: str = Field(description="Unique experiment name.", min_length=1, max_length=250)
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class CreateRunIn(_In):
    experiment_id: str | None = Field(default=None, description="Experiment id; or give experiment_name.")
    experiment_name: str | None = Field(default=None, description="Experiment name, created if it does not exist.")
    name: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    start_time: int | None = Field(default=None, description="Milliseconds since the epoch; default now.")
    description: str = ""


class UpdateRunIn(_In):
    status: RunStatus | None = None
    end_time: int | None = None
    name: str | None = None
    description: str | None = None


class MetricPointIn(_In):
    key: str
    value: Number = Field(description='A number, or "NaN", "Infinity", "-Infinity".')
    step: int = 0
    timestamp: int | None = Field(default=None, description="Milliseconds since the epoch; default now.")


class MetricColumnsIn(_In):
    """Many points as parallel arrays (the compact form the SDK sends)."""

    keys: list[str]
    values: list[Number]
    steps: list[int] | None = Field(default=None, description="Default: all 0.")
    timestamps: list[int] | None = Field(default=None, description="Default: all now.")


class LogBatchIn(_In):
    """Metrics, params and tags for one run, stored in one transaction (all or nothing). Points
    may come as a list of objects (``metrics``), as columns (``metric_columns``), or both."""

    metrics: list[MetricPointIn] = Field(default_factory=list)
    metric_columns: MetricColumnsIn | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class SearchRunsIn(_In):
    experiment_ids: list[str] = Field(default_factory=list, description="Empty means every experiment.")
    filter: str | None = Field(
        default=None, description='e.g. metrics.auc > 0.9 and params.model = "rf" and status = "FINISHED"'
    )
    order_by: list[str] = Field(default_factory=list, description='e.g. ["metrics.auc DESC"]')
    max_results: int = Field(default=100, ge=1, le=50_000)
    page_token: str | None = None


# ------------------------------------------------------------------------------ response models
class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class MetricOut(BaseModel):
    key: str
    value: Number
    step: int
    timestamp: int


class ExperimentOut(BaseModel):
    id: str
    name: str
    description: str
    tags: dict[str, str]
    created_at: int
    lifecycle: str


class RunOut(BaseModel):
    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    description: str
    created_by: str
    params: dict[str, str]
    metrics: dict[str, MetricOut]
    tags: dict[str, str]


class RunPageOut(BaseModel):
    runs: list[RunOut]
    next_page_token: str | None


class MetricHistoryOut(BaseModel):
    key: str
    steps: list[int]
    values: list[Number]
    timestamps: list[int]


class ArtifactOut(BaseModel):
    path: str
    digest: str
    size: int
    created_at: int


# ---------------------------------------------------------------------- domain <-> wire (dicts)
def experiment_to_wire(e: Experiment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "description": e.description,
        "tags": dict(e.tags),
        "created_at": e.created_at,
        "lifecycle": e.lifecycle,
    }


def experiment_from_wire(d: dict[str, Any]) -> Experiment:
    return Experiment(d["id"], d["name"], d.get("description", ""), d.get("tags", {}), d["created_at"], d["lifecycle"])


def _metric_to_wire(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": encode_float(m.value), "step": m.step, "timestamp": m.timestamp}


def run_to_wire(r: Run) -> dict[str, Any]:
    return {
        "id": r.id,
        "experiment_id": r.experiment_id,
        "name": r.name,
        "status": r.status.value,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "parent_run_id": r.parent_run_id,
        "description": r.description,
        "created_by": r.created_by,
        "params": dict(r.params),
        "metrics": {k: _metric_to_wire(m) for k, m in r.metrics.items()},
        "tags": dict(r.tags),
    }


def run_from_wire(d: dict[str, Any]) -> Run:
    return Run(
        id=d["id"],
        experiment_id=d["experiment_id"],
        name=d["name"],
        status=RunStatus(d["status"]),
        start_time=d["start_time"],
        end_time=d.get("end_time"),
        parent_run_id=d.get("parent_run_id"),
        description=d.get("description", ""),
        created_by=d.get("created_by", ""),
        params=d.get("params", {}),
        metrics={
            k: Metric(m["key"], float(decode_float(m["value"])), step=m["step"], timestamp=m["timestamp"])  # type: ignore[arg-type]
            for k, m in d.get("metrics", {}).items()
        },
        tags=d.get("tags", {}),
    )


def run_page_to_wire(page: Page[Run]) -> dict[str, Any]:
    return {"runs": [run_to_wire(r) for r in page.items], "next_page_token": page.next_page_token}


def history_to_wire(h: MetricHistory) -> dict[str, Any]:
    values = h.values
    if not all(map(math.isfinite, values)):
        values = [encode_float(v) for v in values]  # type: ignore[misc]
    return {"key": h.key, "steps": h.steps, "values": values, "timestamps": h.timestamps}


def history_from_wire(d: dict[str, Any]) -> MetricHistory:
    values = d["values"]
    if any(v.__class__ is str for v in values):
        values = [float(decode_float(v)) for v in values]  # type: ignore[arg-type]
    return MetricHistory(d["key"], d["steps"], values, d["timestamps"])


def artifact_to_wire(a: ArtifactEntry) -> dict[str, Any]:
    return {"path": a.path, "digest": a.digest, "size": a.size, "created_at": a.created_at}


def artifact_from_wire(d: dict[str, Any]) -> ArtifactEntry:
    return ArtifactEntry(d["path"], d["digest"], d["size"], d["created_at"])


def metric_columns_to_wire(batch: MetricBatch) -> dict[str, Any]:
    values = batch.values
    if not all(map(math.isfinite, values)):
        values = [encode_float(v) for v in values]  # type: ignore[misc]
    return {"keys": batch.keys, "values": values, "steps": batch.steps, "timestamps": batch.timestamps}


def metric_columns_from_wire(obj: object, default_timestamp: int) -> MetricBatch:
    """A :class:`MetricBatch` from the columnar wire form; shapes are checked here, values by the service."""
    if obj.__class__ is not dict:
        raise InvalidArgument("metric_columns must be an object of arrays", field="metric_columns")
    cols: dict[str, Any] = obj
    unknown = set(cols) - {"keys", "values", "steps", "timestamps"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidArgument(f"unknown field {name!r}", field=f"metric_columns.{name}")
    keys, values = cols.get("keys"), cols.get("values")
    for name, col in (("keys", keys), ("values", values)):
        if col.__class__ is not list:
            raise InvalidArgument(f"metric_columns.{name} must be an array", field=f"metric_columns.{name}")
    n = len(keys)  # type: ignore[arg-type]
    steps = cols.get("steps")
    stamps = cols.get("timestamps")
    steps = [0] * n if steps is None else steps
    stamps = [default_timestamp] * n if stamps is None else stamps
    for name, col in (("values", values), ("steps", steps), ("timestamps", stamps)):
        if col.__class__ is not list or len(col) != n:
            raise InvalidArgument(
                f"metric_columns.{name} must be an array as long as keys ({n})",
                field=f"metric_columns.{name}",
            )
    if any(v.__class__ is str for v in values):  # type: ignore[union-attr]
        values = [decode_float(v) for v in values]  # type: ignore[union-attr]
    return MetricBatch(keys, values, steps, stamps)  # type: ignore[arg-type]


def metrics_from_wire(items: object, default_timestamp: int) -> MetricBatch:
    """Metric points from a decoded JSON list of objects, straight into columns, without a
    per-point model (the service validates values; this only checks the shape and decodes
    non-finite spellings)."""
    if not isinstance(items, list):
        raise InvalidArgument("metrics must be a list of {key, value, step, timestamp}", field="metrics")
    out = MetricBatch([], [], [], [])
    for i, p in enumerate(items):
        if p.__class__ is not dict:
            raise InvalidArgument("a metric point must be an object", field=f"metrics[{i}]")
        try:
            key = p["key"]
            value = p["value"]
        except KeyError as exc:
            raise InvalidArgument(
                f"a metric point needs {exc.args[0]!r}", field=f"metrics[{i}].{exc.args[0]}"
            ) from None
        if not p.keys() <= _POINT_KEYS:
            extra = sorted(set(p) - _POINT_KEYS)[0]
            raise InvalidArgument(f"unknown field {extra!r} in a metric point", field=f"metrics[{i}].{extra}")
        if value.__class__ is str:
            value = decode_float(value)
        ts = p.get("timestamp")
        out.keys.append(key)
        out.values.append(value)
        out.steps.append(p.get("step", 0))
        out.timestamps.append(default_timestamp if ts is None else ts)
    return out
