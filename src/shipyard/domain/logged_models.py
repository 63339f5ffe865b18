"""Logged models: a model a run saved, known before (and apart from) any registered version.

MLflow 3 clients create one per ``log_model`` call and register versions from it; Shipyard keeps
them as rows whose files are artifacts of their run under ``artifact_path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["LoggedModel", "LoggedModelStatus"]


class LoggedModelStatus(StrEnum):
    PENDING = "PENDING"  # created; its files are being uploaded
    READY = "READY"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """Model ``id`` named ``name``, saved by run ``run_id`` under ``artifact_path`` of its artifacts."""

    id: str
    experiment_id: str
    run_id: str
    name: str
    status: LoggedModelStatus
    artifact_path: str
    model_type: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    lifecycle: str = "active"
    created_at: int = 0
    updated_at: int = 0
