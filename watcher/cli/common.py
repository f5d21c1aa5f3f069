"""What every CLI command shares: context, async runner, error-to-exit-code mapping, JSON output."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from watcher.config import Settings, load
from watcher.domain import utcnow
from watcher.errors import ConfigError, NotFoundError, WatcherError

T = TypeVar("T")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

if TYPE_CHECKING:
    from storage.base import Store


class Context:
    """What every command gets: how to load settings and open the store."""

    def __init__(self, config: str | None, database: str | None, verbose: int, log_format: str) -> None:
        self.config = config
        self.database = database
        self.verbose = verbose
        self.log_format = log_format
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load(self.config, database_url=self.database)
        return self._settings

    async def store(self) -> Store:
        """The store, migrated, with the feeds and claims of feeds.yaml synced (idempotent)."""
        from storage.sql import open_store

        store = await open_store(self.settings.database_url, upgrade=True)
        try:
            now = utcnow()
            if self.settings.feeds:
                await store.sync_feeds(self.settings.feeds, source="config", now=now)
            if self.settings.claims:
                await store.sync_claims(self.settings.claims, now=now)
        except BaseException:
            await store.close()
            raise
        return store


pass_ctx = click.make_pass_decorator(Context)


def run_async(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command; map watcher errors to exit codes (2 = bad config/usage, 1 = failure)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except NotFoundError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except WatcherError as exc:
            raise _fail(str(exc), EXIT_FAILURE) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_FAILURE) from None

    return wrapper


def _fail(message: str, code: int) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(code)


async def with_store(ctx: Context, func: Callable[[Store], Awaitable[T]]) -> T:
    store = await ctx.store()
    try:
        return await func(store)
    finally:
        await store.close()


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document to stdout.")(func)
