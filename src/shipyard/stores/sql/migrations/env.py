"""Alembic environment: runs on the connection Shipyard hands over, or on the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from shipyard.stores.sql.schema import metadata

config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as new_conn:
            _migrate(new_conn)
        return
    _migrate(conn)


def _migrate(conn: sa.Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
