"""What every CLI command shares: context, async runner, error-to-exit-code mapping."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import click

from watcher.config import (
    INT64_MAX,
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_NAME,
    Settings,
    claim_name_problem,
    keyword_problem,
    load,
)
from watcher.errors import ConfigError, ConflictError, NotFoundError, WatcherError

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

    async def store(self, *, create: bool = False) -> Store:
        """The store, migrated. Only ``run``, ``poll-once`` and ``sync`` write feeds.yaml into it.

        :param create: whether a missing SQLite file may be created (commands that add or migrate); without
            it a missing file is an error, so that a mistyped path does not yield an empty database.
        """
        from storage.engine import sqlite_open_problem
        from storage.sql import open_store
        from watcher.text.display import display_path

        url = self.settings.database_url
        missing = None if create else missing_sqlite_file(url)
        if missing is not None:
            raise ConfigError(
                f"no database at {display_path(missing)}: check --database / WATCHER_DATABASE_URL, "
                "or create it with: watcher db upgrade"
            )
        # Found before SQLite tries: a path that cannot work is bad configuration (exit 2), named in one line.
        problem = sqlite_open_problem(url)
        if problem is not None:
            raise ConfigError(problem)
        try:
            return await open_store(url, upgrade=True)
        except Exception as exc:
            raise _open_problem(url, exc) from None

    async def pipeline(self, store: Store) -> Pipeline:
        from watcher.pipeline import Pipeline

        pipeline = await Pipeline.open(self.settings, store)
        try:
            # Workers on other hosts lease feeds and deliveries with the database's time: so does a command.
            await pipeline.use_database_clock()
        except BaseException:
            await pipeline.close()
            raise
        return pipeline


def _open_problem(url: str, exc: Exception) -> Exception:
    """What to raise when the store of ``url`` could not be opened: for a SQLite file SQLite could not open,
    a one-line error naming the file and why (a bad path is bad configuration); else ``exc`` itself."""
    from storage.engine import database_problem, sqlite_file, sqlite_open_problem
    from watcher.text.display import display_path

    cannot_open = "unable to open database file" in str(exc) or (
        database_problem(exc) == "cannot open the database file"
    )
    file = sqlite_file(url)
    if not cannot_open or file is None:
        return exc
    problem = sqlite_open_problem(url)
    if problem is not None:
        return ConfigError(problem)
    return WatcherError(
        f"cannot use the SQLite database {display_path(file)}: SQLite could not open it (check the path and its "
        "permissions)"
    )


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL when it does not exist; None when it does, or for other databases,
    in-memory ones, URLs that are not valid and names that cannot be looked up (opening them reports those)."""
    from sqlalchemy.engine import make_url

    from storage.engine import normalise_url

    try:
        parsed = make_url(normalise_url(url))
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if parsed.query.get("uri") == "true":  # a file: URI, e.g. file:/path/x.db?mode=ro
        parts = urlsplit(database)
        if dict(parse_qsl(parts.query)).get("mode") == "memory" or parsed.query.get("mode") == "memory":
            return None
        database = unquote(parts.path) if parts.scheme == "file" else database
        if not database or database == ":memory:":
            return None
    path = Path(database)
    try:
        return None if path.exists() else path
    except OSError:  # a name too long to look up: sqlite_open_problem says so, naming it shortened
        return None


pass_ctx = click.make_pass_decorator(Context)


def run_async(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command; map watcher errors to exit codes (2 = bad config/usage, 1 = failure)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(func(*args, **kwargs))
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except (NotFoundError, ConflictError) as exc:
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
            raise _fail(f"the database{_database_named(args)} is unusable: {problem}", EXIT_FAILURE) from None

    return wrapper


def _database_named(args: tuple[Any, ...]) -> str:
    """`` URL`` naming the command's database without credentials, when its settings were loaded; else ""."""
    from storage.engine import display_database

    ctx = next((a for a in args if isinstance(a, Context)), None)
    if ctx is None or ctx._settings is None:
        return ""
    return f" {display_database(ctx._settings.database_url)}"


def _fail(message: str, code: int) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(code)


async def with_store(ctx: Context, func: Callable[[Store], Awaitable[T]], *, create: bool = False) -> T:
    """Run ``func`` on the store, then close it; ``create``: see :meth:`Context.store`."""
    store = await ctx.store(create=create)
    try:
        return await func(store)
    finally:
        await store.close()


async def with_pipeline(ctx: Context, func: Callable[[Pipeline], Awaitable[T]], *, create: bool = False) -> T:
    """Run ``func`` on a pipeline over the store, then close both; ``create``: see :meth:`Context.store`."""
    store = await ctx.store(create=create)
    try:
        pipeline = await ctx.pipeline(store)
        try:
            return await func(pipeline)
        finally:
            await pipeline.close()
    finally:
        await store.close()


class Threshold(click.FloatRange):
    """A match threshold: a finite number from 0 to 1 (click's FloatRange alone lets NaN through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Text(click.types.StringParamType):
    """A string from the command line that is text. Bytes that are not UTF-8 (a Latin-1 terminal, a pasted file)
    reach Python as lone surrogates, which no database, JSON document or terminal takes: a usage error naming the
    option, never a traceback. The value is not shown: it may hold a credential."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(value, param, ctx)
        bad = next((c for c in text if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            # Python keeps an undecodable byte b as the code point U+DC00 + b.
            shown = f"byte 0x{ord(bad) - 0xDC00:02x}" if "\udc80" <= bad <= "\udcff" else f"U+{ord(bad):04X}"
            self.fail(f"not UTF-8 text ({shown}): check the encoding of the terminal or script", param, ctx)
        return text


TEXT = Text()


def check_text_params(command: click.Command) -> None:
    """Give every plain string parameter of ``command`` and its subcommands the :class:`Text` type, a CLAIM the
    :class:`ClaimRef` type (paths, files and choices keep theirs: a file name may be any bytes)."""
    for param in command.params:
        if type(param.type) is click.types.StringParamType:
            param.type = CLAIM if param.name == "claim" else TEXT
    for sub in getattr(command, "commands", {}).values():
        check_text_params(sub)


class Since(click.DateTime):
    """A point in time from the command line, as ISO 8601 writes one: ``2025-11-01``, ``2025-11-01T10:00``,
    ``2025-11-01 10:00:00``, with ``Z`` or an offset such as ``+02:00``; without one it is UTC. Read as UTC."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text) if len(text) <= 64 else None  # no date and time is longer
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(
                f"{text[:40]!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in UTC or with an "
                "offset such as Z or +02:00",
                param,
                ctx,
            )
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first day Python counts
            self.fail(f"{text!r} falls outside the years 1 to 9999 once read as UTC", param, ctx)


class ClaimRef(Text):
    """A claim's id or name from the command line. A name longer than any stored one names no claim: said here,
    without echoing a value of any length back in the error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(value, param, ctx)
        if len(text) > MAX_STORED_NAME and not text.isdigit():
            self.fail(
                f"no claim has a name of {len(text)} characters (names are at most {MAX_NAME}); give its id or "
                "name (see `watcher claims list`)",
                param,
                ctx,
            )
        return text


MAX_STORED_NAME = 200  # the width of the claims.name column: older databases may hold names up to it
SINCE = Since()
CLAIM = ClaimRef()
THRESHOLD = Threshold(0, 1)
ID = click.IntRange(1, INT64_MAX)  # a row id: above int64 is a usage error, not an overflow
LIMIT = click.IntRange(1, INT64_MAX)


def claim_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Validate a claim name given on the command line as feeds.yaml names are validated."""
    if value is not None:
        problem = claim_name_problem(value)
        if problem:
            raise click.BadParameter(problem)
    return value


def keywords_option(value: tuple[str, ...], text: str, language: str | None) -> tuple[str, ...]:
    """Key terms of a claim with this text and language, stripped and checked as feeds.yaml checks them (an
    empty one, or one of stopwords only, is refused rather than dropped); a bad one is a usage error."""
    found = tuple(k.strip() for k in value)
    if len(found) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD for k in found):
        raise click.BadParameter(
            f"at most {MAX_KEYWORDS} key terms of at most {MAX_KEYWORD} characters", param_hint="--keyword"
        )
    for keyword in found:
        problem = keyword_problem(keyword, text, language)
        if problem:
            raise click.BadParameter(problem, param_hint="--keyword")
    return found


def http_url(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A URL to fetch given on the command line, checked as feeds.yaml checks a feed's (http or https, no spaces,
    not too long): anything else is a usage error naming the option, not a failed fetch."""
    from watcher.config import feed_problem

    problem = None if value is None else feed_problem(value)
    if problem:
        # An argument is named as `feeds add` names its URL, not as click's optional "[URL]".
        hint = None if isinstance(param, click.Option) else "URL"
        raise click.BadParameter(problem.removeprefix("url: "), param=param, param_hint=hint)
    return value


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document to stdout.")(func)
