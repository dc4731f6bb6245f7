"""The dispatch store: SQLite or PostgreSQL through one async data layer, with migrations."""

from dispatch.store.migrations import MIGRATIONS, Migration, migrate
from dispatch.store.sql import SqlStore, Tx, normalise_url

__all__ = ["MIGRATIONS", "Migration", "SqlStore", "Tx", "migrate", "normalise_url"]
