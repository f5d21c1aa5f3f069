"""What every CLI command shares: context, async runner, error-to-exit-code mapping."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click

from watcher.config import Settings, load
from watcher.domain import utcnow
from watcher.errors import ConfigError, NotFoundError, WatcherError

T = TypeVar("T")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

if TYPE_CHECKING:
    from storage.base import Store
    from watcher.pipeline import Pipeline


class Context:
    """What every command gets: how to load settings and open the store and the pipeline."""

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

    async def store(self, *, sync: bool = True) -> Store:
        """The store, migrated; with ``sync``, the feeds and claims of feeds.yaml are synced into it first.

        Commands that read or change what feeds.yaml declares sync (idempotent), so that a claim or feed
        named in the file is there to address; commands that store nothing do not.
        """
        from storage.sql import open_store

        store = await open_store(self.settings.database_url, upgrade=True)
        if not sync:
            return store
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

    async def pipeline(self, store: Store) -> Pipeline:
        from watcher.pipeline import Pipeline

        return await Pipeline.open(self.settings, store)


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
        except Exception as exc:
            from storage.engine import database_problem

            problem = database_problem(exc)
            if problem is None:
                raise
            raise _fail(f"the database is unusable: {problem}", EXIT_FAILURE) from None

    return wrapper


def _fail(message: str, code: int) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(code)


async def with_store(ctx: Context, func: Callable[[Store], Awaitable[T]], *, sync: bool = True) -> T:
    """Run ``func`` on the store (see :meth:`Context.store` for ``sync``), then close it."""
    store = await ctx.store(sync=sync)
    try:
        return await func(store)
    finally:
        await store.close()


async def with_pipeline(ctx: Context, func: Callable[[Pipeline], Awaitable[T]], *, sync: bool = True) -> T:
    """Run ``func`` on a pipeline over the store (see :meth:`Context.store` for ``sync``), then close both."""
    store = await ctx.store(sync=sync)
    try:
        pipeline = await ctx.pipeline(store)
        try:
            return await func(pipeline)
        finally:
            await pipeline.close()
    finally:
        await store.close()


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document to stdout.")(func)
