"""``watcher feeds``: list feeds with their polling state, check them now, import OPML."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher.cli.common import Context, http_url, json_option, pass_ctx, run_async, with_store
from watcher.cli.render import (
    emit_json,
    emit_lines,
    feed_check_json,
    feed_check_line,
    feed_json,
    feed_line,
    plain,
)
from watcher.domain import LEANINGS, OWNERSHIPS, FeedSpec, utcnow

if TYPE_CHECKING:
    from storage.base import Store, SyncReport


@click.group()
def feeds() -> None:
    """Feeds: list their state, check them, add them, import OPML."""


@feeds.command("list")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled feeds.")
@click.option("--failing", is_flag=True, help="Only feeds whose last poll failed.")
@json_option
@pass_ctx
@run_async
async def feeds_list(ctx: Context, include_disabled: bool, failing: bool, as_json: bool) -> None:
    """List feeds with last status, error count and last error.

    Example: watcher feeds list --failing
    """

    found = await with_store(ctx, lambda s: s.list_feeds(include_disabled=include_disabled))
    if failing:
        found = [f for f in found if f.error_count]
    if as_json:
        emit_json([feed_json(f) for f in found])
        return
    emit_lines([feed_line(f) for f in found], empty="no feeds")


@feeds.command("check")
@click.argument("url", required=False, callback=http_url)
@json_option
@pass_ctx
@run_async
async def feeds_check(ctx: Context, url: str | None, as_json: bool) -> None:
    """Fetch a feed (or every enabled feed) now and report status, items and errors. Stores nothing.

    A URL that is a web page rather than a feed is checked through the feed the page links to
    (``<link rel="alternate">``) or one at a usual path (/feed, /rss.xml, ...).
    Exit status 1 if any feed fails.

    Example: watcher feeds check https://example.org/rss
    """
    from tqdm import tqdm

    from watcher.pipeline import check_feeds, feeds_to_check, find_feed_now

    if url is not None:
        results = [await find_feed_now(ctx.settings.http, FeedSpec(url=url, outlet=""))]
    else:
        # A dry run of feeds.yaml before the first `run` is this command's use: it may create the database.
        targets = await with_store(ctx, lambda s: feeds_to_check(s, ctx.settings.feeds), create=True)
        # Progress on stderr for long checks (stdout stays one JSON document with --json).
        with tqdm(
            total=len(targets),
            unit="feed",
            desc="checking",
            file=sys.stderr,
            disable=len(targets) < 10 or None,
        ) as bar:
            results = await check_feeds(ctx.settings.http, targets, on_checked=lambda _: bar.update(1))
    if as_json:
        emit_json([feed_check_json(c) for c in results])
    else:
        emit_lines([feed_check_line(c) for c in results])
    if any(c.error for c in results):
        raise click.exceptions.Exit(1)


_UNKNOWN = FeedSpec(url="", outlet="")  # the metadata of a feed nobody described


def _feed_language(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A feed's language as feeds.yaml reads it: the language of a well-formed BCP 47 tag ("pt-BR" is "pt")."""
    from watcher.config import LANGUAGE_FORM, language_subtag

    code = language_subtag(value)
    if code is None:
        raise click.BadParameter(f"{value[:40]!r} is not {LANGUAGE_FORM}")
    return code


def _feed_country(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A feed's country as feeds.yaml reads it: an assigned ISO 3166 alpha-2 code, upper-cased, an alias read as
    its country (UK is GB)."""
    from watcher.config import country_code, country_problem

    problem = country_problem(value)
    code = country_code(value)
    if problem is not None or code is None:
        raise click.BadParameter(f"{value[:40]!r} is not {problem}")
    return code


def _feed_interval(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """A feed's poll interval in seconds, as feeds.yaml reads it."""
    from watcher.config import feed_interval

    try:
        return feed_interval(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_interval_option = click.option(
    "--interval",
    default="15m",
    show_default=True,
    callback=_feed_interval,
    help="Poll interval (e.g. 10m, 1h).",
)


def _feed_outlet(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """An outlet name as feeds.yaml takes it: at most MAX_OUTLET characters, no control characters."""
    from watcher.config import MAX_OUTLET, control_character_problem

    problem = control_character_problem(value)
    if problem is None and len(value) > MAX_OUTLET:
        problem = f"must be at most {MAX_OUTLET} characters"
    if problem:
        raise click.BadParameter(problem)
    return value


@feeds.command("add")
@click.argument("url")
@click.option("--outlet", default="", callback=_feed_outlet, help="Outlet name [default: the feed's title].")
@click.option(
    "--country", default=_UNKNOWN.country, callback=_feed_country, help="ISO 3166 alpha-2 code (ZZ: unknown)."
)
@click.option(
    "--language",
    default=_UNKNOWN.language,
    callback=_feed_language,
    help="ISO 639-1 code [default: detected per article].",
)
@click.option("--leaning", type=click.Choice(LEANINGS), default=_UNKNOWN.leaning)
@click.option("--ownership", type=click.Choice(OWNERSHIPS), default=_UNKNOWN.ownership)
@_interval_option
@click.option(
    "--full-text",
    type=click.Choice(["never", "auto", "always"]),
    default=_UNKNOWN.full_text,
    show_default=True,
    help="When to fetch an item's page for its full text.",
)
@json_option
@pass_ctx
@run_async
async def feeds_add(
    ctx: Context,
    url: str,
    outlet: str,
    country: str,
    language: str,
    leaning: str,
    ownership: str,
    interval: int,
    full_text: str,
    as_json: bool,
) -> None:
    """Add a feed by its URL or a page that links it; it is checked first and stored only if it works.

    Feeds added here live in the database beside those of feeds.yaml; a config sync never disables them.
    Exit status 1 if no working feed is found.

    Example: watcher feeds add https://example.org/ --country GB --language en
    """
    from watcher.config import feed_problem, feed_url
    from watcher.pipeline import add_feed

    # The checks feeds.yaml and OPML import make (scheme, length, spaces, control characters), before any fetch.
    problem = feed_problem(url, outlet or None)
    if problem:
        raise click.BadParameter(problem.removeprefix("url: "), param_hint="URL")
    spec = FeedSpec(
        url=feed_url(url),  # as feeds.yaml and OPML import store it: stripped, scheme lower-cased
        outlet=outlet.strip(),
        country=country,
        language=language.lower(),
        leaning=leaning,
        ownership=ownership,
        interval_s=interval,
        full_text=full_text,
    )
    checked = await with_store(ctx, lambda s: add_feed(s, ctx.settings.http, spec), create=True)
    if as_json:
        emit_json(feed_check_json(checked))
    elif checked.error:
        click.echo(plain(feed_check_line(checked)))
    else:
        click.echo(plain(f"added {feed_check_line(checked)}"))
    if checked.error:
        raise click.exceptions.Exit(1)


# Feeds an OPML import stores per transaction: a list of 200,000 held the database's write lock for minutes, and any
# other writer (a running daemon) gave up waiting.
IMPORT_BATCH = 5_000


async def import_feeds(
    store: Store,
    specs: Sequence[FeedSpec],
    *,
    batch: int = IMPORT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Store ``specs`` as OPML feeds, ``batch`` to a transaction; ``progress`` hears how many are stored after each
    batch of a list longer than one."""
    from storage.base import SyncReport

    added = updated = 0
    now = utcnow()
    for start in range(0, len(specs), batch):
        report = await store.sync_feeds(specs[start : start + batch], source="opml", now=now)
        added += report.added
        updated += report.updated
        if progress is not None and len(specs) > batch:
            progress(min(start + batch, len(specs)))
    return SyncReport(added=added, updated=updated, disabled=0)


@feeds.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--country",
    default=_UNKNOWN.country,
    callback=_feed_country,
    help="ISO 3166 alpha-2 code for the imported feeds (ZZ: unknown).",
)
@click.option(
    "--language",
    default=_UNKNOWN.language,
    callback=_feed_language,
    help="ISO 639-1 code for the imported feeds.",
)
@click.option(
    "--leaning",
    type=click.Choice(LEANINGS),
    default=_UNKNOWN.leaning,
)
@click.option("--ownership", type=click.Choice(OWNERSHIPS), default=_UNKNOWN.ownership)
@_interval_option
@json_option
@pass_ctx
@run_async
async def feeds_import_opml(
    ctx: Context,
    file: Path,
    country: str,
    language: str,
    leaning: str,
    ownership: str,
    interval: int,
    as_json: bool,
) -> None:
    """Add the feeds of an OPML subscription list (existing URLs are updated, none removed).

    Example: watcher feeds import-opml subscriptions.opml --country GB --language en
    """
    from watcher.ingest.opml import read_opml

    specs = read_opml(
        file,
        country=country,
        language=language.lower(),
        leaning=leaning,
        ownership=ownership,
        interval_s=interval,
    )
    report = await with_store(
        ctx,
        lambda s: import_feeds(
            s, specs, progress=lambda n: click.echo(f"{file}: {n:,} of {len(specs):,} feeds stored", err=True)
        ),
        create=True,
    )
    if as_json:
        emit_json({"file": str(file), "feeds": len(specs), "added": report.added, "updated": report.updated})
    else:
        click.echo(f"{file}: {len(specs)} feeds, {report.added} added, {report.updated} updated")
