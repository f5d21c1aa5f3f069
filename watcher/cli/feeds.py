"""``watcher feeds``: list feeds with their polling state, check them now, import OPML."""

from __future__ import annotations

import asyncio
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click

from watcher.cli.common import Context, emit_json, iso, json_option, pass_ctx, run_async, with_store
from watcher.domain import LEANINGS, OWNERSHIPS, Feed, FeedSpec, utcnow
from watcher.errors import ConfigError


def feed_json(f: Feed) -> dict[str, Any]:
    return {
        "id": f.id,
        "url": f.url,
        "outlet": f.outlet,
        "country": f.country,
        "language": f.language,
        "leaning": f.leaning,
        "ownership": f.ownership,
        "interval_s": f.interval_s,
        "enabled": f.enabled,
        "last_polled_at": iso(f.last_polled_at),
        "next_poll_at": iso(f.next_poll_at),
        "last_status": f.last_status,
        "last_new_items": f.last_new_items,
        "error_count": f.error_count,
        "last_error": f.last_error,
        "last_warning": f.last_warning,
    }


@click.group()
def feeds() -> None:
    """Feeds: list their state, check them, import OPML."""


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
    if not found:
        click.echo("no feeds")
    for f in found:
        state = (
            f"ERR x{f.error_count}: {f.last_error}"
            if f.error_count
            else (f"HTTP {f.last_status}" if f.last_status else "never polled")
        )
        click.echo(f"{f.id:>5}  {f.outlet[:24]:<24} {f.url[:60]:<60} {state}")


@feeds.command("check")
@click.argument("url", required=False)
@json_option
@pass_ctx
@run_async
async def feeds_check(ctx: Context, url: str | None, as_json: bool) -> None:
    """Fetch a feed (or every enabled feed) now and report status, items and errors. Stores nothing.

    Exit status 1 if any feed fails.

    Example: watcher feeds check https://example.org/rss
    """
    from watcher.ingest.fetch import fetch_feed
    from watcher.ingest.http import make_session
    from watcher.ingest.parse import parse_entries

    targets: list[Feed]
    if url:
        targets = [_scratch_feed(url)]
    else:
        targets = await with_store(ctx, lambda s: s.list_feeds())
    http = ctx.settings.http
    sem = asyncio.Semaphore(http.limit)

    async def check_one(session: Any, feed: Feed) -> dict[str, Any]:
        async with sem:
            result = await fetch_feed(session, feed, http, now=utcnow(), force_full=True)
        out: dict[str, Any] = {
            "url": feed.url,
            "status": result.status,
            "ms": result.elapsed_ms,
            "error": result.error,
        }
        if result.new_url:
            out["moved_to"] = result.new_url
        if result.body is not None and not result.error:
            parsed = await asyncio.to_thread(
                parse_entries, result.body, result.final_url or feed.url, content_type=result.content_type
            )
            out.update(
                title=parsed.title, items=len(parsed.articles), warnings=parsed.warnings, ttl_s=parsed.ttl_s
            )
            if not parsed.articles and parsed.warnings and not parsed.title:
                out["error"] = "not a feed: " + "; ".join(parsed.warnings)
        return out

    from tqdm import tqdm

    # Progress on stderr for long checks (stdout stays one JSON document with --json).
    with tqdm(
        total=len(targets), unit="feed", desc="checking", file=sys.stderr, disable=len(targets) < 10 or None
    ) as bar:

        async def checked(session: Any, feed: Feed) -> dict[str, Any]:
            result = await check_one(session, feed)
            bar.update(1)
            return result

        async with make_session(http) as session:
            results = await asyncio.gather(*(checked(session, f) for f in targets))
    if as_json:
        emit_json(results)
    else:
        for r in results:
            verdict = f"ERROR {r['error']}" if r["error"] else f"ok, {r.get('items', 0)} items"
            warn = f" (warnings: {'; '.join(r['warnings'])})" if r.get("warnings") else ""
            click.echo(f"{r['url']}: HTTP {r['status']} in {r['ms']} ms: {verdict}{warn}")
    if any(r["error"] for r in results):
        raise click.exceptions.Exit(1)


def _scratch_feed(url: str) -> Feed:
    return Feed(
        id=0,
        url=url,
        outlet="",
        country="ZZ",
        language="und",
        leaning="unknown",
        ownership="unknown",
        interval_s=900,
    )


def read_opml(path: Path, defaults: dict[str, Any]) -> list[FeedSpec]:
    """Feed specs from an OPML file (every outline with an xmlUrl, nested folders included)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise ConfigError(f"{path}:{line}: not valid OPML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    specs: dict[str, FeedSpec] = {}
    for outline in root.iter("outline"):
        xml_url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not xml_url.startswith(("http://", "https://")):
            continue
        outlet = (outline.get("title") or outline.get("text") or "").strip()
        specs.setdefault(xml_url, FeedSpec(url=xml_url, outlet=outlet or _host(xml_url), **defaults))
    return list(specs.values())


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


@feeds.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--country", default="ZZ", help="ISO 3166 code for the imported feeds.")
@click.option("--language", default="und", help="ISO 639-1 code for the imported feeds.")
@click.option(
    "--leaning",
    type=click.Choice(LEANINGS),
    default="unknown",
)
@click.option("--ownership", type=click.Choice(OWNERSHIPS), default="unknown")
@click.option("--interval", default="15m", show_default=True, help="Poll interval (e.g. 10m, 1h).")
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
    interval: str,
    as_json: bool,
) -> None:
    """Add the feeds of an OPML subscription list (existing URLs are updated, none removed).

    Example: watcher feeds import-opml subscriptions.opml --country GB --language en
    """
    from watcher.config import parse_duration

    try:
        interval_s = round(parse_duration(interval))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    defaults = {
        "country": country.upper(),
        "language": language.lower(),
        "leaning": leaning,
        "ownership": ownership,
        "interval_s": interval_s,
    }
    specs = read_opml(file, defaults)
    report = await with_store(ctx, lambda s: s.sync_feeds(specs, source="opml", now=utcnow()))
    if as_json:
        emit_json({"file": str(file), "feeds": len(specs), "added": report.added, "updated": report.updated})
    else:
        click.echo(f"{file}: {len(specs)} feeds, {report.added} added, {report.updated} updated")
