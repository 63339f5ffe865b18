"""Remote mode: the SDK talks to a hub over HTTP (``/api/v1``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import urllib3

from shipyard.config import Settings
from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.datasets import DatasetInput, DatasetSummary, DatasetVersion
from shipyard.domain.pagination import Page
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import Experiment, Metric, MetricBatch, MetricHistory, Run, RunStatus
from shipyard.errors import AlreadyExists, Unavailable
from shipyard.schemas import (
    API_PREFIX,
    artifact_from_wire,
    dataset_input_from_wire,
    dataset_summary_from_wire,
    dataset_version_from_wire,
    dataset_version_to_wire,
    experiment_from_wire,
    history_from_wire,
    metric_columns_to_wire,
    model_from_wire,
    model_version_from_wire,
    run_from_wire,
)
from shipyard.sdk.transfer import BulkTransfer, raise_for_status

__all__ = ["RemoteBackend"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class RemoteBackend:
    """A :class:`~shipyard.sdk.backend.Backend` over a hub's REST API.

    API calls go through a urllib3 connection pool (thread-safe, keep-alive, stale connections
    dropped before reuse; measured ~20% less latency per call than httpx here). Connection
    failures are retried; a POST whose answer is lost is not, so nothing is applied twice
    silently. Artifact bodies use :class:`~shipyard.sdk.transfer.BulkTransfer`.
    """

    is_remote = True

    def __init__(self, settings: Settings, *, timeout: float = 60.0) -> None:
        uri = (settings.tracking_uri or "").rstrip("/")
        self.uri = uri
        self._prefix = urlsplit(uri).path.rstrip("/") + API_PREFIX
        headers = {"x-shipyard-user": settings.user, "user-agent": "shipyard-sdk"}
        self._headers = {**headers, "content-type": "application/json"}
        retries = urllib3.Retry(
            total=3, connect=3, read=2, status=0, redirect=0, allowed_methods=_IDEMPOTENT, raise_on_status=False
        )
        self._pool = urllib3.connection_from_url(
            uri, maxsize=8, block=False, timeout=urllib3.Timeout(connect=10.0, read=timeout), retries=retries
        )
        self._bulk = BulkTransfer(uri + API_PREFIX, headers, timeout)

    # transport ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> bytes:
        url = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        body = orjson.dumps(json) if json is not None else None
        try:
            resp = self._pool.request(method, url, body=body, headers=self._headers)
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(f"cannot reach the hub at {self.uri}: {exc}; is `shipyard server` running?") from exc
        raise_for_status(resp.status, resp.data)
        data: bytes = resp.data
        return data

    def _json(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        return orjson.loads(self._request(method, path, json=json, params=params))

    # experiments -------------------------------------------------------------------------------
    def create_experiment(self, name: str, description: str, tags: Mapping[str, str]) -> Experiment:
        body = {"name": name, "description": description, "tags": dict(tags)}
        return experiment_from_wire(self._json("POST", "/experiments", json=body))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return experiment_from_wire(self._json("GET", f"/experiments/{quote(experiment_id, safe='')}"))

    def get_experiment_by_name(self, name: str) -> Experiment:
        return experiment_from_wire(self._json("GET", "/experiments", params={"name": name})["experiments"][0])

    def get_or_create_experiment(self, name: str) -> Experiment:
        try:
            return self.get_experiment_by_name(name)
        except LookupError:
            try:
                return self.create_experiment(name, "", {})
            except AlreadyExists:
                return self.get_experiment_by_name(name)

    def list_experiments(self) -> list[Experiment]:
        return [experiment_from_wire(e) for e in self._json("GET", "/experiments")["experiments"]]

    # runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        *,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        description: str,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "parent_run_id": parent_run_id,
            "tags": dict(tags),
            "description": description,
        }
        return run_from_wire(self._json("POST", "/runs", json=body))

    def get_run(self, run_id: str) -> Run:
        return run_from_wire(self._json("GET", f"/runs/{quote(run_id, safe='')}"))

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Run:
        body = {
            "status": status.value if status else None,
            "end_time": end_time,
            "name": name,
            "description": description,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return run_from_wire(self._json("PATCH", f"/runs/{quote(run_id, safe='')}", json=body))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] | MetricBatch = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        if metrics:
            batch = metrics if isinstance(metrics, MetricBatch) else MetricBatch.of(metrics)
            body["metric_columns"] = metric_columns_to_wire(batch)
        if params:
            body["params"] = dict(params)
        if tags:
            body["tags"] = dict(tags)
        self._request("POST", f"/runs/{quote(run_id, safe='')}/log", json=body)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None,
        order_by: Sequence[str],
        max_results: int,
        page_token: str | None,
    ) -> Page[Run]:
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter,
            "order_by": list(order_by),
            "max_results": max_results,
            "page_token": page_token,
        }
        data = self._json("POST", "/runs/search", json=body)
        return Page([run_from_wire(r) for r in data["runs"]], data["next_page_token"])

    def metric_history(self, run_id: str, key: str) -> MetricHistory:
        return history_from_wire(
            self._json("GET", f"/runs/{quote(run_id, safe='')}/metric-history", params={"key": key})
        )

    # artifacts ---------------------------------------------------------------------------------
    def _artifact_url(self, run_id: str, path: str) -> str:
        return f"/runs/{quote(run_id, safe='')}/artifacts/{quote(path, safe='/')}"

    def upload_artifact(self, run_id: str, path: str, source: Path) -> ArtifactEntry:
        return artifact_from_wire(self._bulk.upload(self._artifact_url(run_id, path), source))

    def list_artifacts(self, run_id: str, prefix: str | None) -> list[ArtifactEntry]:
        params = {"prefix": prefix} if prefix else None
        data = self._json("GET", f"/runs/{quote(run_id, safe='')}/artifacts", params=params)
        return [artifact_from_wire(a) for a in data["artifacts"]]

    def download_artifact(self, run_id: str, path: str, dest: Path) -> ArtifactEntry:
        return self._bulk.download(self._artifact_url(run_id, path), dest, path)

    # datasets ----------------------------------------------------------------------------------
    def upload_blob(self, source: Path) -> tuple[str, int]:
        found = self._bulk.upload("/blobs", source, method="POST")
        return found["digest"], found["size"]

    def download_blob(self, digest: str, dest: Path) -> None:
        self._bulk.download(f"/blobs/{quote(digest, safe='')}", dest, dest.name)

    def get_dataset_version(self, ref: str) -> DatasetVersion:
        found = self._json("GET", f"/dataset-versions/{quote(ref, safe='')}")
        return dataset_version_from_wire(found["dataset"])

    def log_input(self, run_id: str, name: str, role: str, version: DatasetVersion) -> DatasetInput:
        wire = dataset_version_to_wire(version)
        del wire["created_at"], wire["created_by"]  # the hub stamps these
        body = {"name": name, "role": role, "dataset": wire}
        return dataset_input_from_wire(self._json("POST", f"/runs/{quote(run_id, safe='')}/datasets", json=body))

    def run_inputs(self, run_id: str) -> list[DatasetInput]:
        found = self._json("GET", f"/runs/{quote(run_id, safe='')}/datasets")
        return [dataset_input_from_wire(d) for d in found["datasets"]]

    def list_datasets(self) -> list[DatasetSummary]:
        return [dataset_summary_from_wire(d) for d in self._json("GET", "/datasets")["datasets"]]

    def dataset_history(self, name: str) -> list[DatasetInput]:
        found = self._json("GET", f"/datasets/{quote(name, safe='/')}")
        return [dataset_input_from_wire(d) for d in found["inputs"]]

    def dataset_consumers(self, ref: str) -> tuple[DatasetVersion, list[DatasetInput]]:
        found = self._json("GET", f"/dataset-versions/{quote(ref, safe='')}")
        return dataset_version_from_wire(found["dataset"]), [dataset_input_from_wire(d) for d in found["runs"]]

    # registry ----------------------------------------------------------------------------------
    def create_model(self, name: str, description: str, tags: Mapping[str, str]) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": dict(tags)}
        return model_from_wire(self._json("POST", "/models", json=body))

    def get_model(self, name: str) -> RegisteredModel:
        return model_from_wire(self._json("GET", f"/models/{quote(name, safe='')}"))

    def list_models(self) -> list[RegisteredModel]:
        return [model_from_wire(m) for m in self._json("GET", "/models")["models"]]

    def update_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel:
        body = {"description": description, "tags": dict(tags)}
        return model_from_wire(self._json("PATCH", f"/models/{quote(name, safe='')}", json=body))

    def create_model_version(
        self, name: str, run_id: str, artifact_path: str, description: str, tags: Mapping[str, str]
    ) -> ModelVersion:
        body = {"run_id": run_id, "artifact_path": artifact_path, "description": description, "tags": dict(tags)}
        return model_version_from_wire(self._json("POST", f"/models/{quote(name, safe='')}/versions", json=body))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        found = self._json("GET", f"/models/{quote(name, safe='')}/versions")
        return [model_version_from_wire(v) for v in found["versions"]]

    def resolve_model(self, ref: str) -> ModelVersion:
        return model_version_from_wire(self._json("GET", "/model-versions/resolve", params={"ref": ref}))

    def update_model_version(
        self, name: str, version: int, description: str | None, tags: Mapping[str, str]
    ) -> ModelVersion:
        body = {"description": description, "tags": dict(tags)}
        path = f"/models/{quote(name, safe='')}/versions/{version}"
        return model_version_from_wire(self._json("PATCH", path, json=body))

    def add_model_variant(
        self, name: str, version: int, variant: str, run_id: str, artifact_path: str, facts: Mapping[str, Any]
    ) -> ModelVersion:
        path = f"/models/{quote(name, safe='')}/versions/{version}/variants/{quote(variant, safe='')}"
        body = {"run_id": run_id, "artifact_path": artifact_path, "facts": dict(facts)}
        return model_version_from_wire(self._json("PUT", path, json=body))

    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        path = f"/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}"
        return model_version_from_wire(self._json("PUT", path, json={"version": version}))

    def delete_model_alias(self, name: str, alias: str) -> None:
        self._request("DELETE", f"/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}")

    def run_model_versions(self, run_id: str) -> list[ModelVersion]:
        found = self._json("GET", f"/runs/{quote(run_id, safe='')}/model-versions")
        return [model_version_from_wire(v) for v in found["versions"]]

    def close(self) -> None:
        self._pool.close()
