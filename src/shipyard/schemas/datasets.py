"""Dataset wire models: versions, run inputs, summaries."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shipyard.domain.datasets import DatasetInput, DatasetKind, DatasetSummary, DatasetVersion
from shipyard.schemas.tracking import _In

__all__ = [
    "DatasetVersionIn",
    "LogDatasetIn",
    "dataset_input_from_wire",
    "dataset_input_to_wire",
    "dataset_summary_from_wire",
    "dataset_summary_to_wire",
    "dataset_version_from_wire",
    "dataset_version_to_wire",
]


class ColumnIn(_In):
    name: str
    type: str


class DatasetVersionIn(_In):
    """A dataset version's facts, computed by the client where the data is; its bytes must already
    be stored (``POST /api/v1/blobs``)."""

    digest: str = Field(description="sha256 of the content (logical content for tables).")
    kind: DatasetKind
    format: str = Field(description="How the blob is encoded: parquet, csv, npy, folder, ...")
    rows: int | None = None
    size: int = Field(description="Bytes of the stored content.")
    schema_: list[ColumnIn] = Field(default_factory=list, alias="schema")
    profile: dict[str, Any] = Field(default_factory=dict, description="Per-column statistics.")
    blob: str = Field(description="sha256 of the stored bytes.")
    source: str = ""


class LogDatasetIn(_In):
    name: str = Field(description="The dataset's name, e.g. 'churn'.")
    role: str = Field(default="train", description="train, validation, test, reference or other.")
    dataset: DatasetVersionIn


def dataset_version_to_wire(v: DatasetVersion) -> dict[str, Any]:
    return {
        "digest": v.digest,
        "kind": v.kind.value,
        "format": v.format,
        "rows": v.rows,
        "size": v.size,
        "schema": [dict(c) for c in v.schema],
        "profile": dict(v.profile),
        "blob": v.blob,
        "source": v.source,
        "created_at": v.created_at,
        "created_by": v.created_by,
    }


def dataset_version_from_wire(d: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        digest=d["digest"],
        kind=DatasetKind(d["kind"]),
        format=d["format"],
        rows=d.get("rows"),
        size=d["size"],
        schema=tuple({"name": c["name"], "type": c["type"]} for c in d.get("schema", ())),
        profile=d.get("profile") or {},
        blob=d["blob"],
        source=d.get("source", ""),
        created_at=d.get("created_at", 0),
        created_by=d.get("created_by", ""),
    )


def dataset_input_to_wire(i: DatasetInput) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": i.run_id,
        "name": i.name,
        "role": i.role,
        "digest": i.digest,
        "logged_at": i.logged_at,
    }
    if i.version is not None:
        out["dataset"] = dataset_version_to_wire(i.version)
    return out


def dataset_input_from_wire(d: dict[str, Any]) -> DatasetInput:
    version = dataset_version_from_wire(d["dataset"]) if d.get("dataset") else None
    return DatasetInput(d["run_id"], d["name"], d["role"], d["digest"], d["logged_at"], version)


def dataset_summary_to_wire(s: DatasetSummary) -> dict[str, Any]:
    return {
        "name": s.name,
        "versions": s.versions,
        "runs": s.runs,
        "latest_digest": s.latest_digest,
        "last_logged_at": s.last_logged_at,
    }


def dataset_summary_from_wire(d: dict[str, Any]) -> DatasetSummary:
    return DatasetSummary(d["name"], d["versions"], d["runs"], d["latest_digest"], d["last_logged_at"])
