"""The metadata store port: what services need from a database, in one transaction at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.datasets import DatasetInput, DatasetVersion
from shipyard.domain.filters import Expr, OrderBy
from shipyard.domain.principals import AuditEvent
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import Experiment, MetricBatch, MetricHistory, Run, RunStatus
from shipyard.uri import SchemeRegistry

__all__ = ["MetadataStore", "RunSearch", "Transaction", "metadata_store_registry", "open_metadata_store"]


@dataclass(frozen=True, slots=True)
class RunSearch:
    """A run query: experiments, a parsed filter, ordering and a window."""

    experiment_ids: Sequence[str]
    filter: Expr | None
    order_by: Sequence[OrderBy]
    offset: int
    limit: int


class Transaction(Protocol):
    """One database transaction; every method runs inside it. Commits when the block exits
    without an exception, rolls back otherwise."""

    def append_audit(self, event: AuditEvent) -> None: ...

    def insert_experiment(self, name: str, description: str, tags: Mapping[str, str], created_at: int) -> str: ...

    def get_experiment(self, experiment_id: str) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def list_experiments(self) -> list[Experiment]: ...

    def insert_run(self, run: Run) -> None: ...

    def get_run(self, run_id: str, *, with_data: bool = True) -> Run: ...

    def update_run(self, run_id: str, **fields: Any) -> None: ...

    def run_status(self, run_id: str) -> RunStatus: ...

    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None: ...

    def upsert_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def insert_metrics(self, run_id: str, metrics: MetricBatch) -> None: ...

    def metric_history(self, run_id: str, key: str) -> MetricHistory: ...

    def search_runs(self, query: RunSearch) -> tuple[list[Run], bool]: ...

    def put_artifact(self, run_id: str, entry: ArtifactEntry) -> None: ...

    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry: ...

    def list_artifacts(self, run_id: str, prefix: str | None) -> list[ArtifactEntry]: ...

    def audit_events(self, target_type: str | None, target_id: str | None, limit: int) -> list[AuditEvent]: ...

    def insert_dataset_version(self, v: DatasetVersion) -> bool: ...

    def get_dataset_version(self, digest: str) -> DatasetVersion: ...

    def find_dataset_versions(self, prefix: str, limit: int = 2) -> list[DatasetVersion]: ...

    def put_run_input(self, inp: DatasetInput) -> None: ...

    def list_inputs(
        self,
        *,
        run_id: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        with_versions: bool = False,
        limit: int = 100_000,
    ) -> list[DatasetInput]: ...

    def insert_model(self, model: RegisteredModel) -> None: ...

    def get_model(self, name: str) -> RegisteredModel: ...

    def list_models(self) -> list[RegisteredModel]: ...

    def update_model(self, name: str, *, description: str, updated_at: int) -> None: ...

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None: ...

    def next_version(self, name: str, updated_at: int) -> int: ...

    def insert_version(self, v: ModelVersion) -> None: ...

    def get_version(self, name: str, version: int) -> ModelVersion: ...

    def list_versions(self, name: str) -> list[ModelVersion]: ...

    def versions_of_run(self, run_id: str) -> list[ModelVersion]: ...

    def update_version(
        self, name: str, version: int, *, description: str | None = None, variants: Mapping[str, Any] | None = None
    ) -> None: ...

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None: ...

    def set_alias(self, name: str, alias: str, version: int, updated_at: int) -> int | None: ...

    def delete_alias(self, name: str, alias: str) -> int | None: ...

    def alias_version(self, name: str, alias: str) -> int | None: ...


class MetadataStore(Protocol):
    """A database of experiments, runs and their data."""

    url: str

    def transaction(self, *, write: bool) -> AbstractContextManager[Transaction]: ...

    def close(self) -> None: ...


metadata_store_registry = SchemeRegistry(
    "metadata store",
    "shipyard.metadata_stores",
    {
        "sqlite": "shipyard.stores.sql:SqlMetadataStore",
        "postgresql": "shipyard.stores.sql:SqlMetadataStore",
        "postgresql+psycopg": "shipyard.stores.sql:SqlMetadataStore",
    },
)


def open_metadata_store(url: str, **options: Any) -> MetadataStore:
    """Build the metadata store for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``)."""
    factory = metadata_store_registry.resolve(url)
    store: MetadataStore = factory(url, **options)
    return store
