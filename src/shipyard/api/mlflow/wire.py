"""Shipyard's domain objects as MLflow's JSON entities (and the few conversions back).

Shipyard has one name per concept; MLflow's names and shapes live only here. Artifact URIs are
``mlflow-artifacts:/EXPERIMENT/RUN/artifacts/PATH``, which MLflow clients resolve through the hub's
proxied artifact API (:mod:`shipyard.api.mlflow.artifacts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from shipyard.api.mlflow.protocol import MlflowError
from shipyard.domain.datasets import DatasetInput, DatasetKind
from shipyard.domain.logged_models import LoggedModel, LoggedModelStatus
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import Experiment, Metric, MetricHistory, Run

__all__ = [
    "DATASET_CONTEXT_TAG",
    "PARENT_TAG",
    "RUN_NAME_TAG",
    "STAGE_TAG",
    "USER_TAG",
    "dataset_input",
    "experiment",
    "experiment_uri",
    "history",
    "kv",
    "logged_model",
    "logged_model_id",
    "logged_model_status",
    "model_version",
    "number",
    "registered_model",
    "run",
    "run_artifact_uri",
]

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"
STAGE_TAG = "mlflow.stage"  # a version's legacy stage (None, Staging, Production, Archived), kept as a tag
DATASET_CONTEXT_TAG = "mlflow.data.context"
SCHEME = "mlflow-artifacts:/"

_LOGGED_STATUS = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
_TYPES = {"float64": "double", "float32": "float", "int64": "long", "int32": "integer", "bool": "boolean"}


def number(value: float) -> float | str:
    """A float as protobuf JSON writes it: non-finite values are the strings MLflow parses."""
    if math.isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def kv(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def experiment_uri(experiment_id: str) -> str:
    return f"{SCHEME}{experiment_id}"


def run_artifact_uri(experiment_id: str, run_id: str, path: str = "") -> str:
    base = f"{SCHEME}{experiment_id}/{run_id}/artifacts"
    return f"{base}/{path.strip('/')}" if path.strip("/") else base


def experiment(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.id,
        "name": e.name,
        "artifact_location": experiment_uri(e.id),
        "lifecycle_stage": e.lifecycle,
        "creation_time": e.created_at,
        "last_update_time": e.created_at,
        "tags": kv(e.tags),
    }


def _metric(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": number(m.value), "timestamp": m.timestamp, "step": m.step}


def run_info(r: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": r.experiment_id,
        "user_id": r.created_by,
        "status": r.status.value,
        "start_time": r.start_time,
        "artifact_uri": run_artifact_uri(r.experiment_id, r.id),
        "lifecycle_stage": r.lifecycle,
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    return info


def run(r: Run, inputs: Iterable[dict[str, Any]] = (), outputs: Iterable[LoggedModel] = ()) -> dict[str, Any]:
    """A run with MLflow's system tags filled in from Shipyard's own fields when the client that
    logged it did not set them (a run logged by Shipyard's SDK reads the same in MLflow)."""
    tags = dict(r.tags)
    tags.setdefault(RUN_NAME_TAG, r.name)
    if r.created_by:
        tags.setdefault(USER_TAG, r.created_by)
    if r.parent_run_id:
        tags.setdefault(PARENT_TAG, r.parent_run_id)
    return {
        "info": run_info(r),
        "data": {
            "metrics": [_metric(m) for m in r.metrics.values()],
            "params": kv(r.params),
            "tags": kv(tags),
        },
        "inputs": {"dataset_inputs": list(inputs)},
        "outputs": {"model_outputs": [{"model_id": m.id, "step": 0} for m in outputs]},
    }


def history(h: MetricHistory, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    key = h.key
    values = [number(v) for v in h.values[start:stop]]
    return [
        {"key": key, "value": v, "timestamp": t, "step": s}
        for v, t, s in zip(values, h.timestamps[start:stop], h.steps[start:stop], strict=True)
    ]


def dataset_input(inp: DatasetInput, described: Mapping[str, Any] | None) -> dict[str, Any]:
    """One of a run's datasets. ``described`` is the MLflow client's own description when MLflow
    logged it (a Shipyard "reference" version); otherwise one is made from Shipyard's facts."""
    context = {"key": DATASET_CONTEXT_TAG, "value": _CONTEXTS.get(inp.role, inp.role)}
    if described is not None:
        dataset = {k: described.get(k, "") for k in ("name", "digest", "source_type", "source", "schema", "profile")}
        extra = described.get("input_tags") or {}
        context["value"] = str(described.get("context") or context["value"])
        return {"tags": [context, *kv(extra)], "dataset": dataset}
    v = inp.version
    schema = ""
    profile = ""
    source = ""
    if v is not None:
        cols = [{"type": _TYPES.get(c["type"], "string"), "name": c["name"], "required": True} for c in v.schema]
        schema = _json({"mlflow_colspec": cols}) if cols else ""
        profile = _json({"num_rows": v.rows, "num_elements": (v.rows or 0) * max(len(cols), 1)}) if v.rows else ""
        source = _json({"uri": v.source or f"shipyard:dataset/{v.digest}", "kind": str(v.kind)})
    dataset = {
        "name": inp.name,
        "digest": inp.digest[:12],
        "source_type": "shipyard" if v is None or v.kind is not DatasetKind.REFERENCE else "reference",
        "source": source,
        "schema": schema,
        "profile": profile,
    }
    return {"tags": [context], "dataset": dataset}


_CONTEXTS = {
    "train": "training",
    "validation": "validation",
    "test": "test",
    "reference": "reference",
    "other": "other",
}
ROLES = {"training": "train", "train": "train", "validation": "validation", "eval": "validation", "test": "test"}


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def logged_model_status(name: str) -> LoggedModelStatus:
    for status, wire in _LOGGED_STATUS.items():
        if wire == name:
            return status
    raise MlflowError(f"Invalid value {name!r} for parameter 'status'.")


def logged_model(m: LoggedModel) -> dict[str, Any]:
    return {
        "info": {
            "model_id": m.id,
            "experiment_id": m.experiment_id,
            "name": m.name,
            "creation_timestamp_ms": m.created_at,
            "last_updated_timestamp_ms": m.updated_at,
            "artifact_uri": run_artifact_uri(m.experiment_id, m.run_id, m.artifact_path),
            "status": _LOGGED_STATUS[m.status],
            "model_type": m.model_type,
            "source_run_id": m.run_id,
            "tags": kv(m.tags),
        },
        "data": {"params": kv(m.params), "metrics": []},
    }


def model_version(v: ModelVersion, experiment_id: str) -> dict[str, Any]:
    tags = {k: val for k, val in v.tags.items() if k != STAGE_TAG}
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.created_at,
        "last_updated_timestamp": v.created_at,
        "user_id": v.created_by,
        "current_stage": v.tags.get(STAGE_TAG, "None"),
        "description": v.description,
        "source": run_artifact_uri(experiment_id, v.run_id, v.artifact_path),
        "run_id": v.run_id,
        "status": "READY",
        "tags": kv(tags),
        "aliases": list(v.aliases),
    }
    model_id = logged_model_id(v.artifact_path)
    if model_id is not None:
        out["model_id"] = model_id
        out["source"] = f"models:/{model_id}"
    return out


def logged_model_id(artifact_path: str) -> str | None:
    """The logged model whose files are at ``artifact_path`` (``models/MODEL_ID``), if any."""
    head, _, rest = artifact_path.partition("/")
    return rest if head == "models" and rest.startswith("m-") and "/" not in rest else None


def registered_model(m: RegisteredModel, latest: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.created_at,
        "last_updated_timestamp": m.updated_at,
        "user_id": m.created_by,
        "description": m.description,
        "latest_versions": list(latest),
        "tags": kv(m.tags),
        "aliases": [{"alias": a, "version": str(n)} for a, n in m.aliases.items()],
    }
