"""The one metadata store: SQLAlchemy 2 over SQLite and PostgreSQL, migrated by Alembic."""

from shipyard.stores.sql.store import SqlMetadataStore

__all__ = ["SqlMetadataStore"]
