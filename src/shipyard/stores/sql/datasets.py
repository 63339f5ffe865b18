"""Dataset versions and run inputs in SQL (mixed into :class:`~shipyard.stores.sql.store.SqlTransaction`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipyard.domain.datasets import DatasetInput, DatasetKind, DatasetVersion
from shipyard.errors import NotFound
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import Queries

__all__ = ["DatasetQueries"]

_V = t.dataset_versions.c
_I = t.run_inputs.c


def _version(row: Any) -> DatasetVersion:
    return DatasetVersion(
        digest=row.digest,
        kind=DatasetKind(row.kind),
        format=row.format,
        rows=row.rows,
        size=row.size,
        schema=tuple(row.schema),
        profile=dict(row.profile),
        blob=row.blob,
        source=row.source,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class DatasetQueries(Queries):
    """Dataset versions and run inputs."""

    def insert_dataset_version(self, v: DatasetVersion) -> bool:
        """Store ``v`` unless its digest is known (same content, same facts); True if it was new."""
        stmt = self._insert(t.dataset_versions).on_conflict_do_nothing(index_elements=["digest"])
        result = self.conn.execute(
            stmt,
            {
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
            },
        )
        return bool(result.rowcount)

    def get_dataset_version(self, digest: str) -> DatasetVersion:
        row = self.conn.execute(sa.select(t.dataset_versions).where(_V.digest == digest)).first()
        if row is None:
            raise NotFound(f"no dataset version {digest}", field="digest")
        return _version(row)

    def find_dataset_versions(self, prefix: str, limit: int = 2) -> list[DatasetVersion]:
        """Versions whose digest starts with ``prefix`` (a range scan on the primary key)."""
        upper = prefix + "g"  # every hex digest with this prefix sorts below prefix + 'g'
        q = sa.select(t.dataset_versions).where(_V.digest >= prefix, _V.digest < upper).order_by(_V.digest)
        return [_version(r) for r in self.conn.execute(q.limit(limit))]

    def put_run_input(self, inp: DatasetInput) -> None:
        stmt = self._insert(t.run_inputs)
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "name", "role"],
            set_={"digest": stmt.excluded.digest, "logged_at": stmt.excluded.logged_at},
        )
        self.conn.execute(
            stmt,
            {
                "run_id": inp.run_id,
                "name": inp.name,
                "role": inp.role,
                "digest": inp.digest,
                "logged_at": inp.logged_at,
            },
        )

    def list_inputs(
        self,
        *,
        run_id: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        with_versions: bool = False,
        limit: int = 100_000,
    ) -> list[DatasetInput]:
        """Run inputs matching every given criterion, oldest first."""
        if with_versions:
            q = sa.select(t.run_inputs, *[c.label(f"v_{c.name}") for c in t.dataset_versions.c]).join(
                t.dataset_versions, _V.digest == _I.digest
            )
        else:
            q = sa.select(t.run_inputs)
        if run_id is not None:
            q = q.where(_I.run_id == run_id)
        if name is not None:
            q = q.where(_I.name == name)
        if digest is not None:
            q = q.where(_I.digest == digest)
        q = q.order_by(_I.logged_at, _I.run_id, _I.name, _I.role).limit(limit)
        out = []
        for r in self.conn.execute(q):
            version = None
            if with_versions:
                m = r._mapping
                version = _version(_Prefixed(m))
            out.append(DatasetInput(r.run_id, r.name, r.role, r.digest, r.logged_at, version))
        return out


class _Prefixed:
    """Attribute access to the ``v_*`` columns of a joined row."""

    def __init__(self, mapping: Any) -> None:
        self._m = mapping

    def __getattr__(self, name: str) -> Any:
        return self._m[f"v_{name}"]
