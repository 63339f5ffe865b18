"""What every group of SQL queries shares: the transaction's connection and dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shipyard.errors import NotFound

__all__ = ["Queries", "experiment_key", "experiment_keys"]


def experiment_key(experiment_id: str) -> int:
    """The database key of an experiment id; an id that cannot be one is an unknown experiment."""
    try:
        value = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"no experiment with id {experiment_id!r}", field="experiment_id") from None
    if not 0 <= value < 2**63:
        raise NotFound(f"no experiment with id {experiment_id!r}", field="experiment_id")
    return value


def experiment_keys(experiment_ids: Sequence[str]) -> list[int]:
    """The keys of the ids that can be experiments (the others match nothing)."""
    return [int(e) for e in experiment_ids if str(e).isdigit()]


class Queries:
    """Base of the query groups mixed into :class:`~shipyard.stores.sql.store.SqlTransaction`."""

    conn: sa.Connection
    dialect: str

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ON CONFLICT on both dialects."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
