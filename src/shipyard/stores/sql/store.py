"""The SQL metadata store: one implementation for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.principals import AuditEvent
from shipyard.domain.tracking import (
    Experiment,
    Metric,
    MetricBatch,
    MetricHistory,
    Run,
    RunStatus,
    now_ms,
)
from shipyard.errors import AlreadyExists, Conflict, NotFound, Unavailable
from shipyard.stores.metadata import RunSearch
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import experiment_key
from shipyard.stores.sql.datasets import DatasetQueries
from shipyard.stores.sql.engine import (
    WalCheckpointer,
    create_engine,
    current_revision,
    head_revision,
    upgrade,
)
from shipyard.stores.sql.lifecycle import LifecycleQueries
from shipyard.stores.sql.monitoring import MonitoringQueries
from shipyard.stores.sql.registry import RegistryQueries
from shipyard.stores.sql.search import build_search

__all__ = ["SqlMetadataStore", "SqlTransaction"]


class SqlMetadataStore:
    """Experiments, runs and their data in SQLite or PostgreSQL.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``).
        auto_migrate: create the schema on an empty database. A database at an older revision is
            never migrated implicitly: the error says to run ``shipyard db upgrade``.
    """

    def __init__(self, url: str, *, auto_migrate: bool = True, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = url
        self.engine = create_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._check_schema(auto_migrate)
        is_file_db = self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        self._checkpointer = WalCheckpointer(self.engine) if is_file_db else None

    def _check_schema(self, auto_migrate: bool) -> None:
        current = current_revision(self.engine)
        head = head_revision()
        if current == head:
            return
        if current is None and auto_migrate:
            upgrade(self.engine)
            return
        raise Unavailable(
            f"the metadata database is at schema revision {current or 'none'}, this Shipyard needs {head}; "
            "run: shipyard db upgrade"
        )

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SqlTransaction]:
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(shipyard_write=write)
                with conn.begin():
                    yield SqlTransaction(conn)
        except sa.exc.OperationalError as exc:
            raise Unavailable(f"metadata database error: {exc.orig}") from exc

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


def _nan_to_null(v: float) -> float | None:
    return None if math.isnan(v) else v


def _null_to_nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


@dataclass(frozen=True)
class _HotSql:
    """Statements on the logging hot path, as plain SQL valid on SQLite and PostgreSQL: building and
    compiling SQLAlchemy constructs per call costs more than executing them."""

    placeholder: str
    insert_metric: str
    upsert_latest: str
    insert_audit: str
    run_status: str


@functools.cache
def _hot_statements(paramstyle: str) -> _HotSql:
    mark = "?" if paramstyle == "qmark" else "%s"

    def ph(n: int) -> str:
        return ", ".join([mark] * n)

    return _HotSql(
        placeholder=mark,
        insert_metric=f'INSERT INTO metrics (run_id, key, step, "timestamp", value) VALUES ({ph(5)})',
        upsert_latest=(
            f'INSERT INTO latest_metrics (run_id, key, step, "timestamp", value) VALUES ({ph(5)}) '
            "ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, "
            '"timestamp" = excluded."timestamp", '
            "value = excluded.value WHERE excluded.step > latest_metrics.step OR "
            '(excluded.step = latest_metrics.step AND excluded."timestamp" >= latest_metrics."timestamp")'
        ),
        insert_audit=(f"INSERT INTO audit (at, principal, action, target_type, target_id, details) VALUES ({ph(6)})"),
        run_status=f"SELECT status FROM runs WHERE id = {ph(1)} AND lifecycle = 'active'",
    )


class SqlTransaction(DatasetQueries, RegistryQueries, LifecycleQueries, MonitoringQueries):
    """All reads and writes of one transaction (see :class:`~shipyard.stores.metadata.Transaction`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.sql = _hot_statements(conn.dialect.paramstyle)
        self._raw: Any = None

    def _cursor(self) -> Any:
        """The DB-API cursor of this transaction's connection, for the hot statements (same
        connection, same transaction; no SQLAlchemy statement machinery per call)."""
        if self._raw is None:
            self._raw = self.conn.connection.cursor()
        return self._raw

    # audit -------------------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> None:
        self._cursor().execute(
            self.sql.insert_audit,
            (
                event.at_ms or now_ms(),
                event.principal,
                event.action,
                event.target_type,
                event.target_id,
                json.dumps(event.details, separators=(",", ":"), sort_keys=True),
            ),
        )

    def audit_events(self, target_type: str | None, target_id: str | None, limit: int) -> list[AuditEvent]:
        q = sa.select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
        if target_type:
            q = q.where(t.audit.c.target_type == target_type)
        if target_id:
            q = q.where(t.audit.c.target_id == target_id)
        return [
            AuditEvent(r.principal, r.action, r.target_type, r.target_id, dict(r.details), r.at)
            for r in self.conn.execute(q)
        ]

    # experiments -------------------------------------------------------------------------------
    def insert_experiment(self, name: str, description: str, tags: Mapping[str, str], created_at: int) -> str:
        try:  # the unique name decides, under a savepoint: no read-then-write race
            with self.conn.begin_nested():
                result = self.conn.execute(
                    t.experiments.insert().values(name=name, description=description, created_at=created_at)
                )
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"an experiment named {name!r} exists already", field="name") from None
        pk = result.inserted_primary_key
        if pk is None:
            raise RuntimeError("insert returned no primary key")
        exp_id = int(pk[0])
        if tags:
            self.conn.execute(
                t.experiment_tags.insert(),
                [{"experiment_id": exp_id, "key": k, "value": v} for k, v in tags.items()],
            )
        return str(exp_id)

    def _experiments(self, where: sa.ColumnElement[bool] | None) -> list[Experiment]:
        q = sa.select(t.experiments).order_by(t.experiments.c.id)
        if where is not None:
            q = q.where(where)
        rows = self.conn.execute(q).all()
        if not rows:
            return []
        tag_rows = self.conn.execute(
            sa.select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_([r.id for r in rows]))
        ).all()
        tags: dict[int, dict[str, str]] = {}
        for tr in tag_rows:
            tags.setdefault(tr.experiment_id, {})[tr.key] = tr.value
        return [
            Experiment(str(r.id), r.name, r.description, tags.get(r.id, {}), r.created_at, r.lifecycle) for r in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        found = self._experiments(t.experiments.c.id == experiment_key(experiment_id))
        if not found:
            raise NotFound(f"no experiment with id {experiment_id!r}", field="experiment_id")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._experiments(t.experiments.c.name == name)
        return found[0] if found else None

    def list_experiments(self) -> list[Experiment]:
        return self._experiments(None)

    # runs --------------------------------------------------------------------------------------
    def insert_run(self, run: Run) -> None:
        self.conn.execute(
            t.runs.insert(),
            {
                "id": run.id,
                "experiment_id": experiment_key(run.experiment_id),
                "name": run.name,
                "status": run.status.value,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "parent_run_id": run.parent_run_id,
                "description": run.description,
                "created_by": run.created_by,
            },
        )
        if run.tags:
            self.upsert_tags(run.id, run.tags)
        if run.params:
            self.insert_params(run.id, run.params)

    def run_status(self, run_id: str) -> RunStatus:
        cur = self._cursor()
        cur.execute(self.sql.run_status, (run_id,))
        row = cur.fetchone()
        status = row[0] if row else None
        if status is None:
            if self.run_lifecycle(run_id) == "deleted":  # NotFound if there is no such run at all
                raise Conflict(f"run {run_id} is deleted; restore it before changing it", field="run_id")
            raise NotFound(f"no run with id {run_id!r}", field="run_id")
        return RunStatus(status)

    def get_run(self, run_id: str, *, with_data: bool = True) -> Run:
        row = self.conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run with id {run_id!r}", field="run_id")
        return self._runs_from_rows([row], with_data)[0]

    def update_run(self, run_id: str, **fields: Any) -> None:
        values = {k: (v.value if isinstance(v, RunStatus) else v) for k, v in fields.items()}
        result = self.conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**values))
        if result.rowcount == 0:
            raise NotFound(f"no run with id {run_id!r}", field="run_id")

    def _runs_from_rows(self, rows: Sequence[sa.Row[Any]], with_data: bool) -> list[Run]:
        ids = [r.id for r in rows]
        params: dict[str, dict[str, str]] = {}
        tags: dict[str, dict[str, str]] = {}
        metrics: dict[str, dict[str, Metric]] = {}
        if with_data and ids:
            cur = self._cursor()  # raw cursor: thousands of small rows, no per-row SQLAlchemy work
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                marks = ", ".join([self.sql.placeholder] * len(chunk))
                cur.execute(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", chunk)
                for run_id, key, value in cur.fetchall():
                    params.setdefault(run_id, {})[key] = value
                cur.execute(f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})", chunk)
                for run_id, key, value in cur.fetchall():
                    tags.setdefault(run_id, {})[key] = value
                cur.execute(
                    f'SELECT run_id, key, value, step, "timestamp" FROM latest_metrics WHERE run_id IN ({marks})', chunk
                )
                for run_id, key, value, step, ts in cur.fetchall():
                    metrics.setdefault(run_id, {})[key] = Metric(key, _null_to_nan(value), step=step, timestamp=ts)
        return [
            Run(
                id=r.id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                status=RunStatus(r.status),
                start_time=r.start_time,
                end_time=r.end_time,
                parent_run_id=r.parent_run_id,
                description=r.description,
                created_by=r.created_by,
                lifecycle=r.lifecycle,
                params=params.get(r.id, {}),
                metrics=metrics.get(r.id, {}),
                tags=tags.get(r.id, {}),
            )
            for r in rows
        ]

    def search_runs(self, query: RunSearch) -> tuple[list[Run], bool]:
        stmt = build_search(query, self.dialect).limit(query.limit + 1).offset(query.offset)
        rows = self.conn.execute(stmt).all()
        has_more = len(rows) > query.limit
        return self._runs_from_rows(rows[: query.limit], True), has_more

    # params and tags ---------------------------------------------------------------------------
    def insert_params(self, run_id: str, params: Mapping[str, str]) -> None:
        existing = dict(
            self.conn.execute(
                sa.select(t.params.c.key, t.params.c.value).where(
                    t.params.c.run_id == run_id, t.params.c.key.in_(list(params))
                )
            ).all()
        )
        for key, value in params.items():
            if key in existing and existing[key] != value:
                raise Conflict(
                    f"param {key!r} of run {run_id} is {existing[key]!r} already; params are immutable "
                    f"(tried {value!r}). Log a new run, or use a metric or tag for changing values.",
                    field=f"params.{key}",
                )
        new = [{"run_id": run_id, "key": k, "value": v} for k, v in params.items() if k not in existing]
        if not new:
            return
        stmt = self._insert(t.params).on_conflict_do_nothing(index_elements=["run_id", "key"])
        self.conn.execute(stmt, new)
        # a concurrent writer may have inserted a different value between our read and write
        stored = dict(
            self.conn.execute(
                sa.select(t.params.c.key, t.params.c.value).where(
                    t.params.c.run_id == run_id, t.params.c.key.in_([p["key"] for p in new])
                )
            ).all()
        )
        for p in new:
            if stored.get(p["key"]) != p["value"]:
                raise Conflict(f"param {p['key']!r} of run {run_id} was set concurrently", field=f"params.{p['key']}")

    def upsert_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        stmt = self._insert(t.tags)
        stmt = stmt.on_conflict_do_update(index_elements=["run_id", "key"], set_={"value": stmt.excluded.value})
        self.conn.execute(stmt, [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])

    # metrics -----------------------------------------------------------------------------------
    def insert_metrics(self, run_id: str, metrics: MetricBatch) -> None:
        if not metrics:
            return
        values: Iterable[float | None] = metrics.values
        if any(v != v for v in metrics.values):  # NaN is stored as NULL
            values = [None if v != v else v for v in metrics.values]
        cur = self._cursor()
        # a list, not a generator: sqlite3's executemany is markedly slower over an iterator
        rows = list(zip(itertools.repeat(run_id), metrics.keys, metrics.steps, metrics.timestamps, values))
        cur.executemany(self.sql.insert_metric, rows)
        cur.executemany(
            self.sql.upsert_latest,
            [(run_id, m.key, m.step, m.timestamp, _nan_to_null(m.value)) for m in metrics.latest().values()],
        )

    def metric_history(self, run_id: str, key: str, offset: int = 0, limit: int | None = None) -> MetricHistory:
        m = t.metrics.c
        query = sa.select(m.step, m.value, m.timestamp).where(m.run_id == run_id, m.key == key)
        query = query.order_by(m.step, m.timestamp, m.id).offset(offset or None).limit(limit)
        rows = self.conn.execute(query).all()
        if not rows:
            self.run_status(run_id)  # NotFound for an unknown run; else an empty history
        steps, values, stamps = (list(col) for col in zip(*rows, strict=True)) if rows else ([], [], [])
        return MetricHistory(key, steps, [_null_to_nan(v) for v in values], stamps)

    # artifacts ---------------------------------------------------------------------------------
    def put_artifact(self, run_id: str, entry: ArtifactEntry) -> None:
        stmt = self._insert(t.artifacts)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "path"],
            set_={"digest": ex.digest, "size": ex.size, "created_at": ex.created_at},
        )
        self.conn.execute(
            stmt,
            {
                "run_id": run_id,
                "path": entry.path,
                "digest": entry.digest,
                "size": entry.size,
                "created_at": entry.created_at,
            },
        )

    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        row = self.conn.execute(
            sa.select(t.artifacts).where(t.artifacts.c.run_id == run_id, t.artifacts.c.path == path)
        ).first()
        if row is None:
            self.run_status(run_id)
            raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")
        return ArtifactEntry(row.path, row.digest, row.size, row.created_at)

    def list_artifacts(self, run_id: str, prefix: str | None) -> list[ArtifactEntry]:
        a = t.artifacts.c
        q = sa.select(t.artifacts).where(a.run_id == run_id).order_by(a.path)
        if prefix:
            folder = prefix.rstrip("/") + "/"
            q = q.where(sa.func.substr(a.path, 1, len(folder)) == folder)
        rows = self.conn.execute(q).all()
        if not rows:
            self.run_status(run_id)
        return [ArtifactEntry(r.path, r.digest, r.size, r.created_at) for r in rows]
