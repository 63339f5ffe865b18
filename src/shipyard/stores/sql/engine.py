"""Engines for SQLite and PostgreSQL, with the settings that make each durable and fast, and
schema migration through Alembic."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shipyard.errors import InvalidArgument, MissingDependency, Unavailable

__all__ = ["WalCheckpointer", "create_engine", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine(url: str, *, sqlite_synchronous: str = "NORMAL") -> sa.Engine:
    """An engine for ``url``. SQLite runs in WAL mode with explicit ``BEGIN IMMEDIATE`` for writes
    (so concurrent writers queue on the busy timeout instead of failing on a lock upgrade)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidArgument(f"not a database URL: {url!r}", field="metadata_uri") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, sqlite_synchronous)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        except ModuleNotFoundError as exc:
            raise MissingDependency("psycopg", "postgres") from exc
    raise InvalidArgument(
        f"unsupported database {backend!r}; use sqlite:///path or postgresql+psycopg://...",
        field="metadata_uri",
    )


def _sqlite_engine(url: sa.URL, synchronous: str) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA case_sensitive_like=ON")  # LIKE means the same as on PostgreSQL
        # Checkpoints run on a background thread (WalCheckpointer); the foreground only steps in
        # if the WAL grows past ~80 MB, and a reset WAL is truncated back to 64 MB.
        cur.execute("PRAGMA wal_autocheckpoint=20000")
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("shipyard_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class WalCheckpointer:
    """Moves SQLite's WAL checkpoints off the request path: a daemon thread checkpoints every
    ``interval`` seconds on its own connection (SQLite releases the GIL while it works). A crash
    loses nothing: SQLite replays the WAL when the database is next opened."""

    def __init__(self, engine: sa.Engine, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipyard-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with self._engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except sa.exc.SQLAlchemyError:  # busy or closing; the next round retries
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    """The newest migration this version of Shipyard knows."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise Unavailable(f"cannot reach the metadata database: {exc.orig}") from exc


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
