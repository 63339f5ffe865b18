"""Logged models: a model's files saved by a run, before any registered version points at them.

Every logged model belongs to a run, so lineage always reaches code, data and environment: a
model logged with no active run gets a run of its own, named after it, which finishes when the
model does.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence

from shipyard.domain.logged_models import LoggedModel, LoggedModelStatus
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.tracking import Run, RunStatus, check_name, check_params, check_tags, now_ms
from shipyard.errors import InvalidArgument
from shipyard.stores.metadata import MetadataStore

__all__ = ["HOLDER_TAG", "LoggedModelService"]

HOLDER_TAG = "shipyard.logged_model"  # on a run made to hold a model logged outside any run
MAX_RESULTS = 1000


class LoggedModelService:
    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def create(
        self,
        who: Principal,
        experiment_id: str,
        name: str,
        *,
        run_id: str | None = None,
        model_type: str = "",
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> LoggedModel:
        check_name(name, "name")
        model_id = f"m-{uuid.uuid4().hex}"
        at = now_ms()
        model = LoggedModel(
            id=model_id,
            experiment_id=experiment_id,
            run_id=run_id or uuid.uuid4().hex,
            name=name,
            status=LoggedModelStatus.PENDING,
            artifact_path=f"models/{model_id}",
            model_type=model_type[:250],
            tags=check_tags(tags or {}),
            params=check_params(params or {}),
            created_at=at,
            updated_at=at,
        )
        with self.store.transaction(write=True) as tx:
            tx.get_experiment(experiment_id)
            if run_id is None:
                holder = Run(model.run_id, experiment_id, name, RunStatus.RUNNING, at, created_by=who.name)
                tx.insert_run(dataclasses.replace(holder, tags={HOLDER_TAG: model_id}))
            elif tx.get_run(run_id, with_data=False).experiment_id != experiment_id:
                raise InvalidArgument(f"run {run_id} is not in experiment {experiment_id}", field="source_run_id")
            tx.insert_logged_model(model)
            details = {"name": name, "run_id": model.run_id, "model_id": model_id}
            tx.append_audit(AuditEvent(who.name, "logged_model.create", "run", model.run_id, details))
            return tx.get_logged_model(model_id)

    def get(self, who: Principal, model_id: str) -> LoggedModel:
        with self.store.transaction(write=False) as tx:
            return tx.get_logged_model(model_id)

    def finalize(self, who: Principal, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        with self.store.transaction(write=True) as tx:
            model = tx.get_logged_model(model_id)
            tx.update_logged_model(model_id, status=status.value, updated_at=now_ms())
            run = tx.get_run(model.run_id, with_data=True)
            if run.tags.get(HOLDER_TAG) == model_id and not run.status.is_terminal:
                done = RunStatus.FINISHED if status is LoggedModelStatus.READY else RunStatus.FAILED
                tx.update_run(run.id, status=done, end_time=now_ms())
            details = {"model_id": model_id, "status": status.value}
            tx.append_audit(AuditEvent(who.name, "logged_model.finalize", "run", model.run_id, details))
            return tx.get_logged_model(model_id)

    def set_tags(self, who: Principal, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
        return self._merge(who, model_id, "tags", check_tags(tags))

    def log_params(self, who: Principal, model_id: str, params: Mapping[str, object]) -> LoggedModel:
        return self._merge(who, model_id, "params", check_params(params))

    def delete_tag(self, who: Principal, model_id: str, key: str) -> LoggedModel:
        with self.store.transaction(write=True) as tx:
            model = tx.get_logged_model(model_id)
            tags = {k: v for k, v in model.tags.items() if k != key}
            tx.update_logged_model(model_id, tags=tags, updated_at=now_ms())
            return tx.get_logged_model(model_id)

    def _merge(self, who: Principal, model_id: str, column: str, items: dict[str, str]) -> LoggedModel:
        with self.store.transaction(write=True) as tx:
            model = tx.get_logged_model(model_id)
            merged = {**getattr(model, column), **items}
            tx.update_logged_model(model_id, **{column: merged, "updated_at": now_ms()})
            details = {"model_id": model_id, column: sorted(items)}
            tx.append_audit(AuditEvent(who.name, "logged_model.update", "run", model.run_id, details))
            return tx.get_logged_model(model_id)

    def delete(self, who: Principal, model_id: str) -> None:
        with self.store.transaction(write=True) as tx:
            model = tx.get_logged_model(model_id)
            tx.update_logged_model(model_id, lifecycle="deleted", updated_at=now_ms())
            tx.append_audit(AuditEvent(who.name, "logged_model.delete", "run", model.run_id, {"model_id": model_id}))

    def search(
        self,
        who: Principal,
        experiment_ids: Sequence[str],
        *,
        run_id: str | None = None,
        offset: int = 0,
        max_results: int = 100,
    ) -> list[LoggedModel]:
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidArgument(f"max_results must be between 1 and {MAX_RESULTS}", field="max_results")
        with self.store.transaction(write=False) as tx:
            return tx.list_logged_models(list(experiment_ids), run_id, offset=offset, limit=max_results)
