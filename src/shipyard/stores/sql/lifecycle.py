"""Changes to experiments and runs beyond logging: renames, tags removed, delete and restore
(mixed into :class:`~shipyard.stores.sql.store.SqlTransaction`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.domain.logged_models import LoggedModel, LoggedModelStatus
from shipyard.errors import AlreadyExists, NotFound
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import Queries, experiment_key, experiment_keys

__all__ = ["LifecycleQueries"]

_E = t.experiments.c
_L = t.logged_models.c


class LifecycleQueries(Queries):
    """Experiment edits and lifecycles, run lifecycles and tag removal, logged models."""

    # experiments ---------------------------------------------------------------------------------
    def update_experiment(self, experiment_id: str, **fields: Any) -> None:
        try:
            with self.conn.begin_nested():
                done = self.conn.execute(
                    t.experiments.update().where(_E.id == experiment_key(experiment_id)).values(**fields)
                )
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"an experiment named {fields.get('name')!r} exists already", field="name") from None
        if done.rowcount == 0:
            raise NotFound(f"no experiment with id {experiment_id!r}", field="experiment_id")

    def set_experiment_lifecycle(self, experiment_id: str, lifecycle: str) -> None:
        """Mark the experiment and every run in it ``lifecycle`` ('active' or 'deleted')."""
        key = experiment_key(experiment_id)
        self.update_experiment(experiment_id, lifecycle=lifecycle)
        self.conn.execute(t.runs.update().where(t.runs.c.experiment_id == key).values(lifecycle=lifecycle))

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        key = experiment_key(experiment_id)
        stmt = self._insert(t.experiment_tags)
        stmt = stmt.on_conflict_do_update(index_elements=["experiment_id", "key"], set_={"value": stmt.excluded.value})
        self.conn.execute(stmt, [{"experiment_id": key, "key": k, "value": v} for k, v in tags.items()])

    def delete_experiment_tag(self, experiment_id: str, key: str) -> bool:
        tt = t.experiment_tags.c
        done = self.conn.execute(
            t.experiment_tags.delete().where(tt.experiment_id == experiment_key(experiment_id), tt.key == key)
        )
        return bool(done.rowcount)

    # runs ----------------------------------------------------------------------------------------
    def run_lifecycle(self, run_id: str) -> str:
        row = self.conn.execute(sa.select(t.runs.c.lifecycle).where(t.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run with id {run_id!r}", field="run_id")
        return str(row[0])

    def set_run_lifecycle(self, run_id: str, lifecycle: str) -> None:
        done = self.conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(lifecycle=lifecycle))
        if done.rowcount == 0:
            raise NotFound(f"no run with id {run_id!r}", field="run_id")

    def delete_tag(self, run_id: str, key: str) -> bool:
        done = self.conn.execute(t.tags.delete().where(t.tags.c.run_id == run_id, t.tags.c.key == key))
        return bool(done.rowcount)

    # logged models -------------------------------------------------------------------------------
    def insert_logged_model(self, m: LoggedModel) -> None:
        self.conn.execute(
            t.logged_models.insert(),
            {
                "id": m.id,
                "experiment_id": experiment_key(m.experiment_id),
                "run_id": m.run_id,
                "name": m.name,
                "status": m.status.value,
                "model_type": m.model_type,
                "artifact_path": m.artifact_path,
                "tags": dict(m.tags),
                "params": dict(m.params),
                "lifecycle": m.lifecycle,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
            },
        )

    @staticmethod
    def _logged(r: Any) -> LoggedModel:
        return LoggedModel(
            id=r.id,
            experiment_id=str(r.experiment_id),
            run_id=r.run_id,
            name=r.name,
            status=LoggedModelStatus(r.status),
            artifact_path=r.artifact_path,
            model_type=r.model_type,
            tags=dict(r.tags or {}),
            params=dict(r.params or {}),
            lifecycle=r.lifecycle,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        row = self.conn.execute(sa.select(t.logged_models).where(_L.id == model_id)).first()
        if row is None:
            raise NotFound(f"no logged model with id {model_id!r}", field="model_id")
        return self._logged(row)

    def update_logged_model(self, model_id: str, **fields: Any) -> None:
        done = self.conn.execute(t.logged_models.update().where(_L.id == model_id).values(**fields))
        if done.rowcount == 0:
            raise NotFound(f"no logged model with id {model_id!r}", field="model_id")

    def list_logged_models(
        self, experiment_ids: list[str], run_id: str | None = None, *, offset: int = 0, limit: int = 1000
    ) -> list[LoggedModel]:
        q = sa.select(t.logged_models).where(_L.lifecycle == "active")
        if experiment_ids:
            q = q.where(_L.experiment_id.in_(experiment_keys(experiment_ids)))
        if run_id is not None:
            q = q.where(_L.run_id == run_id)
        q = q.order_by(_L.created_at.desc(), _L.id).offset(offset).limit(limit)
        return [self._logged(r) for r in self.conn.execute(q)]
