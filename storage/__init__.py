"""Persistence for watcher: the Store contract and its SQLAlchemy implementation."""

from __future__ import annotations

from storage.base import PollOutcome, Store, SyncReport
from storage.sql import SqlStore, open_store

__all__ = ["PollOutcome", "SqlStore", "Store", "SyncReport", "open_store"]
