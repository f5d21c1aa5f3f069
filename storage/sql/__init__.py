"""The SQL implementation of the Store: one module per entity (feeds, articles, claims, outbox) behind SqlStore."""

from __future__ import annotations

from storage.sql.store import SqlStore, open_store

__all__ = ["SqlStore", "open_store"]
