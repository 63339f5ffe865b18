"""What every group of SQL queries shares: the transaction's connection and dialect."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["Queries"]


class Queries:
    """Base of the query groups mixed into :class:`~shipyard.stores.sql.store.SqlTransaction`."""

    conn: sa.Connection
    dialect: str

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ON CONFLICT on both dialects."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
