"""How the SDK reaches Shipyard: in-process services (local mode) or a hub over HTTP (remote mode).
Both return domain objects and raise the same :mod:`shipyard.errors` classes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.datasets import DatasetInput, DatasetSummary, DatasetVersion
from shipyard.domain.pagination import Page
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import Experiment, Metric, MetricBatch, MetricHistory, Run, RunStatus

__all__ = ["Backend"]


class Backend(Protocol):
    """What the SDK needs from Shipyard; every method acts as the client's principal."""

    uri: str
    is_remote: bool

    def create_experiment(self, name: str, description: str, tags: Mapping[str, str]) -> Experiment: ...

    def get_experiment(self, experiment_id: str) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment: ...

    def get_or_create_experiment(self, name: str) -> Experiment: ...

    def list_experiments(self) -> list[Experiment]: ...

    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        description: str,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Run: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] | MetricBatch = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None: ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> Page[Run]: ...

    def metric_history(self, run_id: str, key: str) -> MetricHistory: ...

    def upload_artifact(self, run_id: str, path: str, source: Path) -> ArtifactEntry: ...

    def list_artifacts(self, run_id: str, prefix: str | None) -> list[ArtifactEntry]: ...

    def download_artifact(self, run_id: str, path: str, dest: Path) -> ArtifactEntry: ...

    def upload_blob(self, source: Path) -> tuple[str, int]:
        """Store a file's bytes content-addressed, reading it once; ``(sha256, size)``."""
        ...

    def download_blob(self, digest: str, dest: Path) -> None: ...

    def get_dataset_version(self, ref: str) -> DatasetVersion: ...

    def log_input(self, run_id: str, name: str, role: str, version: DatasetVersion) -> DatasetInput: ...

    def run_inputs(self, run_id: str) -> list[DatasetInput]: ...

    def list_datasets(self) -> list[DatasetSummary]: ...

    def dataset_history(self, name: str) -> list[DatasetInput]: ...

    def dataset_consumers(self, ref: str) -> tuple[DatasetVersion, list[DatasetInput]]: ...

    def create_model(self, name: str, description: str, tags: Mapping[str, str]) -> RegisteredModel: ...

    def get_model(self, name: str) -> RegisteredModel: ...

    def list_models(self) -> list[RegisteredModel]: ...

    def update_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel: ...

    def create_model_version(
        self, name: str, run_id: str, artifact_path: str, description: str, tags: Mapping[str, str]
    ) -> ModelVersion: ...

    def list_model_versions(self, name: str) -> list[ModelVersion]: ...

    def resolve_model(self, ref: str) -> ModelVersion: ...

    def update_model_version(
        self, name: str, version: int, description: str | None, tags: Mapping[str, str]
    ) -> ModelVersion: ...

    def add_model_variant(
        self, name: str, version: int, variant: str, run_id: str, artifact_path: str, facts: Mapping[str, Any]
    ) -> ModelVersion: ...

    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion: ...

    def delete_model_alias(self, name: str, alias: str) -> None: ...

    def run_model_versions(self, run_id: str) -> list[ModelVersion]: ...

    def close(self) -> None: ...
