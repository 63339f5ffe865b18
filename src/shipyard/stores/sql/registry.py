"""The model registry in SQL (mixed into :class:`~shipyard.stores.sql.store.SqlTransaction`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.errors import AlreadyExists, NotFound
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import Queries

__all__ = ["RegistryQueries"]

_M = t.registered_models.c
_V = t.model_versions.c
_A = t.model_aliases.c


class RegistryQueries(Queries):
    """Registered models, versions, tags and aliases."""

    # models --------------------------------------------------------------------------------------
    def insert_model(self, model: RegisteredModel) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    t.registered_models.insert().values(
                        name=model.name,
                        description=model.description,
                        created_at=model.created_at,
                        updated_at=model.created_at,
                        created_by=model.created_by,
                    )
                )
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"a model named {model.name!r} exists already", field="name") from None
        if model.tags:
            self.set_model_tags(model.name, model.tags)

    def _model_rows(self, where: sa.ColumnElement[bool] | None) -> list[RegisteredModel]:
        q = sa.select(t.registered_models).order_by(_M.name)
        if where is not None:
            q = q.where(where)
        rows = self.conn.execute(q).all()
        names = [r.name for r in rows]
        tags: dict[str, dict[str, str]] = {n: {} for n in names}
        aliases: dict[str, dict[str, int]] = {n: {} for n in names}
        if names:
            for r in self.conn.execute(sa.select(t.model_tags).where(t.model_tags.c.name.in_(names))):
                tags[r.name][r.key] = r.value
            for r in self.conn.execute(sa.select(t.model_aliases).where(_A.name.in_(names))):
                aliases[r.name][r.alias] = r.version
        return [
            RegisteredModel(
                name=r.name,
                description=r.description,
                tags=tags[r.name],
                aliases=aliases[r.name],
                latest_version=r.latest_version or None,
                created_at=r.created_at,
                updated_at=r.updated_at,
                created_by=r.created_by,
            )
            for r in rows
        ]

    def get_model(self, name: str) -> RegisteredModel:
        found = self._model_rows(_M.name == name)
        if not found:
            raise NotFound(f"no model named {name!r}", field="name")
        return found[0]

    def list_models(self) -> list[RegisteredModel]:
        return self._model_rows(None)

    def update_model(self, name: str, *, description: str, updated_at: int) -> None:
        result = self.conn.execute(
            t.registered_models.update().where(_M.name == name).values(description=description, updated_at=updated_at)
        )
        if not result.rowcount:
            raise NotFound(f"no model named {name!r}", field="name")

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        stmt = self._insert(t.model_tags)
        stmt = stmt.on_conflict_do_update(index_elements=["name", "key"], set_={"value": stmt.excluded.value})
        self.conn.execute(stmt, [{"name": name, "key": k, "value": v} for k, v in tags.items()])

    # versions ------------------------------------------------------------------------------------
    def next_version(self, name: str, updated_at: int) -> int:
        """Take the model's next version number (one UPDATE: concurrent callers get distinct ones)."""
        row = self.conn.execute(
            t.registered_models.update()
            .where(_M.name == name)
            .values(latest_version=_M.latest_version + 1, updated_at=updated_at)
            .returning(_M.latest_version)
        ).first()
        if row is None:
            raise NotFound(f"no model named {name!r}", field="name")
        return int(row[0])

    def insert_version(self, v: ModelVersion) -> None:
        self.conn.execute(
            t.model_versions.insert().values(
                name=v.name,
                version=v.version,
                run_id=v.run_id,
                artifact_path=v.artifact_path,
                bundle_digest=v.bundle_digest,
                flavor=v.flavor,
                signature=dict(v.signature),
                description=v.description,
                variants={k: dict(val) for k, val in v.variants.items()},
                created_at=v.created_at,
                created_by=v.created_by,
            )
        )
        if v.tags:
            self.set_version_tags(v.name, v.version, v.tags)

    def _version_rows(self, where: sa.ColumnElement[bool]) -> list[ModelVersion]:
        rows = self.conn.execute(sa.select(t.model_versions).where(where).order_by(_V.name, _V.version)).all()
        if not rows:
            return []
        keys = {(r.name, r.version) for r in rows}
        names = sorted({r.name for r in rows})
        tags: dict[tuple[str, int], dict[str, str]] = {k: {} for k in keys}
        aliases: dict[tuple[str, int], list[str]] = {k: [] for k in keys}
        vt = t.model_version_tags.c
        for r in self.conn.execute(sa.select(t.model_version_tags).where(vt.name.in_(names))):
            if (r.name, r.version) in tags:
                tags[(r.name, r.version)][r.key] = r.value
        for r in self.conn.execute(sa.select(t.model_aliases).where(_A.name.in_(names)).order_by(_A.alias)):
            if (r.name, r.version) in aliases:
                aliases[(r.name, r.version)].append(r.alias)
        return [
            ModelVersion(
                name=r.name,
                version=r.version,
                run_id=r.run_id,
                artifact_path=r.artifact_path,
                bundle_digest=r.bundle_digest,
                flavor=r.flavor,
                signature=dict(r.signature),
                description=r.description,
                tags=tags[(r.name, r.version)],
                aliases=tuple(aliases[(r.name, r.version)]),
                variants=dict(r.variants),
                created_at=r.created_at,
                created_by=r.created_by,
            )
            for r in rows
        ]

    def get_version(self, name: str, version: int) -> ModelVersion:
        found = self._version_rows(sa.and_(_V.name == name, _V.version == version))
        if not found:
            self.get_model(name)
            raise NotFound(f"model {name!r} has no version {version}", field="version")
        return found[0]

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self._version_rows(_V.name == name)

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        return self._version_rows(_V.run_id == run_id)

    def update_version(
        self, name: str, version: int, *, description: str | None = None, variants: Mapping[str, Any] | None = None
    ) -> None:
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if variants is not None:
            values["variants"] = {k: dict(v) for k, v in variants.items()}
        if values:
            self.conn.execute(t.model_versions.update().where(_V.name == name, _V.version == version).values(**values))

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        stmt = self._insert(t.model_version_tags)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name", "version", "key"], set_={"value": stmt.excluded.value}
        )
        self.conn.execute(stmt, [{"name": name, "version": version, "key": k, "value": v} for k, v in tags.items()])

    # aliases -------------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, updated_at: int) -> int | None:
        """Point ``alias`` at ``version`` in one statement; returns the version it pointed at before."""
        before = self.alias_version(name, alias)
        stmt = self._insert(t.model_aliases)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name", "alias"],
            set_={"version": stmt.excluded.version, "updated_at": stmt.excluded.updated_at},
        )
        self.conn.execute(stmt, {"name": name, "alias": alias, "version": version, "updated_at": updated_at})
        return before

    def delete_alias(self, name: str, alias: str) -> int | None:
        before = self.alias_version(name, alias)
        self.conn.execute(t.model_aliases.delete().where(_A.name == name, _A.alias == alias))
        return before

    def alias_version(self, name: str, alias: str) -> int | None:
        row = self.conn.execute(sa.select(_A.version).where(_A.name == name, _A.alias == alias)).first()
        return None if row is None else int(row[0])

    # removal and renames ---------------------------------------------------------------------------
    def delete_model_tag(self, name: str, key: str) -> bool:
        c = t.model_tags.c
        return bool(self.conn.execute(t.model_tags.delete().where(c.name == name, c.key == key)).rowcount)

    def delete_version_tag(self, name: str, version: int, key: str) -> bool:
        c = t.model_version_tags.c
        stmt = t.model_version_tags.delete().where(c.name == name, c.version == version, c.key == key)
        return bool(self.conn.execute(stmt).rowcount)

    def delete_version(self, name: str, version: int) -> None:
        """Remove one version with its tags and the aliases that point at it."""
        self.conn.execute(t.model_aliases.delete().where(_A.name == name, _A.version == version))
        vt = t.model_version_tags.c
        self.conn.execute(t.model_version_tags.delete().where(vt.name == name, vt.version == version))
        done = self.conn.execute(t.model_versions.delete().where(_V.name == name, _V.version == version))
        if not done.rowcount:
            raise NotFound(f"model {name!r} has no version {version}", field="version")

    def delete_model(self, name: str) -> None:
        """Remove a model with every version, tag and alias."""
        self.conn.execute(t.model_aliases.delete().where(_A.name == name))
        self.conn.execute(t.model_version_tags.delete().where(t.model_version_tags.c.name == name))
        self.conn.execute(t.model_versions.delete().where(_V.name == name))
        self.conn.execute(t.model_tags.delete().where(t.model_tags.c.name == name))
        if not self.conn.execute(t.registered_models.delete().where(_M.name == name)).rowcount:
            raise NotFound(f"no model named {name!r}", field="name")

    def rename_model(self, name: str, new_name: str, updated_at: int) -> None:
        """Give a model a new name, moving its versions, tags and aliases with it. The name is
        every table's key, so rows are copied under the new name, then the old ones removed."""
        old = self.conn.execute(sa.select(t.registered_models).where(_M.name == name)).first()
        if old is None:
            raise NotFound(f"no model named {name!r}", field="name")
        row = {**old._asdict(), "name": new_name, "updated_at": updated_at}
        try:
            with self.conn.begin_nested():
                self.conn.execute(t.registered_models.insert().values(**row))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"a model named {new_name!r} exists already", field="new_name") from None
        for table in (t.model_tags, t.model_versions):
            cols = [c for c in table.c if c.name != "name"]
            select = sa.select(sa.literal(new_name), *cols).where(table.c.name == name)
            self.conn.execute(table.insert().from_select(["name", *[c.name for c in cols]], select))
        for table in (t.model_version_tags, t.model_aliases):
            self.conn.execute(table.update().where(table.c.name == name).values(name=new_name))
        self.conn.execute(t.model_versions.delete().where(_V.name == name))
        self.conn.execute(t.model_tags.delete().where(t.model_tags.c.name == name))
        self.conn.execute(t.registered_models.delete().where(_M.name == name))
