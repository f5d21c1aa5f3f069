"""Exception hierarchy: every error watcher raises on purpose is a WatcherError."""

from __future__ import annotations


class WatcherError(Exception):
    """Something went wrong in watcher."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(WatcherError):
    """The configuration is not valid."""


class StorageError(WatcherError):
    """The database refused the operation."""


class NotFoundError(StorageError):
    """No such record."""


class ConflictError(StorageError):
    """A record with that name already exists."""


class NotifyError(WatcherError):
    """An alert could not be delivered."""


class MatchError(WatcherError):
    """The claim matcher could not be set up."""
