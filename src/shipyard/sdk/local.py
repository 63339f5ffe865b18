"""Local mode: the services run in this process over the local home (SQLite + a folder)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.config import Settings
from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.datasets import DatasetInput, DatasetSummary, DatasetVersion
from shipyard.domain.pagination import Page
from shipyard.domain.principals import Principal
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import Experiment, Metric, MetricBatch, MetricHistory, Run, RunStatus
from shipyard.sdk.files import write_verified
from shipyard.services import Services, build_services
from shipyard.stores.artifacts import file_blocks

__all__ = ["LocalBackend"]


class LocalBackend:
    """A :class:`~shipyard.sdk.backend.Backend` over in-process services."""

    is_remote = False

    def __init__(self, settings: Settings, services: Services | None = None) -> None:
        self.services = services or build_services(settings)
        self.uri = settings.resolved_metadata_uri()
        self.who = Principal(settings.user)
        self._t = self.services.tracking
        self._a = self.services.artifacts
        self._d = self.services.datasets
        self._r = self.services.registry

    def create_experiment(self, name: str, description: str, tags: Mapping[str, str]) -> Experiment:
        return self._t.create_experiment(self.who, name, description=description, tags=tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._t.get_experiment(self.who, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment:
        return self._t.get_experiment_by_name(self.who, name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        return self._t.get_or_create_experiment(self.who, name)

    def list_experiments(self) -> list[Experiment]:
        return self._t.list_experiments(self.who)

    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        description: str,
    ) -> Run:
        return self._t.create_run(
            self.who,
            experiment_id,
            name=name,
            parent_run_id=parent_run_id,
            tags=tags,
            description=description,
        )

    def get_run(self, run_id: str) -> Run:
        return self._t.get_run(self.who, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Run:
        return self._t.update_run(
            self.who, run_id, status=status, end_time=end_time, name=name, description=description
        )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] | MetricBatch = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self._t.log_batch(self.who, run_id, metrics=metrics, params=params, tags=tags)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> Page[Run]:
        return self._t.search_runs(
            self.who,
            experiment_ids=experiment_ids,
            filter=filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    def metric_history(self, run_id: str, key: str) -> MetricHistory:
        return self._t.metric_history(self.who, run_id, key)

    def upload_artifact(self, run_id: str, path: str, source: Path) -> ArtifactEntry:
        return self._a.upload(self.who, run_id, path, file_blocks(source))

    def list_artifacts(self, run_id: str, prefix: str | None) -> list[ArtifactEntry]:
        return self._a.list(self.who, run_id, prefix)

    def download_artifact(self, run_id: str, path: str, dest: Path) -> ArtifactEntry:
        entry, chunks = self._a.read(self.who, run_id, path, verify=False)  # write_verified verifies
        return write_verified(dest, chunks, entry)

    def upload_blob(self, source: Path) -> tuple[str, int]:
        return self._d.put_blob(self.who, file_blocks(source))

    def download_blob(self, digest: str, dest: Path) -> None:
        chunks = self._d.read_blob(self.who, digest, verify=False)  # write_verified verifies
        write_verified(dest, chunks, ArtifactEntry(dest.name, digest, 0))

    def get_dataset_version(self, ref: str) -> DatasetVersion:
        return self._d.get_version(self.who, ref)

    def log_input(self, run_id: str, name: str, role: str, version: DatasetVersion) -> DatasetInput:
        return self._d.log_input(self.who, run_id, name, role, version)

    def run_inputs(self, run_id: str) -> list[DatasetInput]:
        return self._d.run_inputs(self.who, run_id)

    def list_datasets(self) -> list[DatasetSummary]:
        return self._d.list_datasets(self.who)

    def dataset_history(self, name: str) -> list[DatasetInput]:
        return self._d.history(self.who, name)

    def dataset_consumers(self, ref: str) -> tuple[DatasetVersion, list[DatasetInput]]:
        return self._d.consumers(self.who, ref)

    def create_model(self, name: str, description: str, tags: Mapping[str, str]) -> RegisteredModel:
        return self._r.create_model(self.who, name, description=description, tags=tags)

    def get_model(self, name: str) -> RegisteredModel:
        return self._r.get_model(self.who, name)

    def list_models(self) -> list[RegisteredModel]:
        return self._r.list_models(self.who)

    def update_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel:
        return self._r.update_model(self.who, name, description=description, tags=tags)

    def create_model_version(
        self, name: str, run_id: str, artifact_path: str, description: str, tags: Mapping[str, str]
    ) -> ModelVersion:
        return self._r.create_version(self.who, name, run_id, artifact_path, description=description, tags=tags)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return self._r.list_versions(self.who, name)

    def resolve_model(self, ref: str) -> ModelVersion:
        return self._r.resolve(self.who, ref)

    def update_model_version(
        self, name: str, version: int, description: str | None, tags: Mapping[str, str]
    ) -> ModelVersion:
        return self._r.update_version(self.who, name, version, description=description, tags=tags)

    def add_model_variant(
        self, name: str, version: int, variant: str, run_id: str, artifact_path: str, facts: Mapping[str, Any]
    ) -> ModelVersion:
        return self._r.add_variant(self.who, name, version, variant, run_id, artifact_path, facts)

    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        return self._r.set_alias(self.who, name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        self._r.delete_alias(self.who, name, alias)

    def run_model_versions(self, run_id: str) -> list[ModelVersion]:
        return self._r.versions_of_run(self.who, run_id)

    def close(self) -> None:
        self.services.close()
