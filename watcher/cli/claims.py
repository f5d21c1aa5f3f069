"""``watcher claims``: add, list, show, edit, pause, resume, remove, test and backfill claims."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from typing import TYPE_CHECKING, Any

import click

from watcher.cli.common import Context, emit_json, iso, json_option, pass_ctx, run_async, with_store
from watcher.domain import Claim, ClaimStatus, utcnow
from watcher.errors import WatcherError

if TYPE_CHECKING:
    from storage.sql import SqlStore


def claim_json(c: Claim, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "text": c.text,
        "keywords": list(c.keywords),
        "threshold": c.threshold,
        "status": c.status.value,
        "created_at": iso(c.created_at),
        **(extra or {}),
    }


def slugify(text: str, max_words: int = 6) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:max_words]) or "claim"


@click.group()
def claims() -> None:
    """Tracked claims: add, list, edit, pause, test and backfill."""


@claims.command("add")
@click.argument("text")
@click.option("--name", help="Short unique name [default: from the text].")
@click.option("--keyword", "keywords", multiple=True, help="Key term the article must mention (repeatable).")
@click.option(
    "--threshold", type=click.FloatRange(0, 1), help="Match score threshold [default: the matcher's]."
)
@click.option("--paused", is_flag=True, help="Add it paused.")
@json_option
@pass_ctx
@run_async
async def claims_add(
    ctx: Context,
    text: str,
    name: str | None,
    keywords: tuple[str, ...],
    threshold: float | None,
    paused: bool,
    as_json: bool,
) -> None:
    """Track a new claim.

    Example: watcher claims add "NATO has surpassed Russia in ammunition production" --name nato-ammo
    """
    if len(text.strip()) < 3:
        raise click.BadParameter("the claim text is too short", param_hint="TEXT")
    claim = Claim(
        id=0,
        name=name or slugify(text),
        text=text.strip(),
        keywords=tuple(k.strip() for k in keywords if k.strip()),
        threshold=threshold,
        status=ClaimStatus.PAUSED if paused else ClaimStatus.ACTIVE,
    )
    stored = await with_store(ctx, lambda s: s.add_claim(claim, now=utcnow()))
    if as_json:
        emit_json(claim_json(stored))
    else:
        click.echo(f"added claim {stored.id} {stored.name!r}")


@claims.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in ClaimStatus]), help="Only claims with this status."
)
@json_option
@pass_ctx
@run_async
async def claims_list(ctx: Context, status: str | None, as_json: bool) -> None:
    """List tracked claims.

    Example: watcher claims list --json
    """
    found = await with_store(ctx, lambda s: s.list_claims(status=ClaimStatus(status) if status else None))
    if as_json:
        emit_json([claim_json(c) for c in found])
        return
    if not found:
        click.echo("no claims; add one with: watcher claims add TEXT")
    for c in found:
        click.echo(f"{c.id:>4}  {c.status.value:<7} {c.name:<24} {c.text}")


@claims.command("show")
@click.argument("claim")
@json_option
@pass_ctx
@run_async
async def claims_show(ctx: Context, claim: str, as_json: bool) -> None:
    """Show one claim (by id or name) with its match and event counts.

    Example: watcher claims show nato-ammo
    """

    async def go(store: SqlStore) -> dict[str, Any]:
        c = await store.get_claim(claim)
        matches = await store.matches_for_claim(c.id)
        events = await store.events_for_claim(c.id)
        stances: dict[str, int] = {}
        for m in matches:
            stances[m.stance.value] = stances.get(m.stance.value, 0) + 1
        return claim_json(
            c,
            {
                "matches": len(matches),
                "stories": len({m.article.story_id for m in matches}),
                "outlets": sorted({m.article.outlet for m in matches}),
                "stances": stances,
                "events": len(events),
                "last_event": events[-1].summary if events else None,
            },
        )

    data = await with_store(ctx, go)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>10}: {', '.join(value) if isinstance(value, list) else value}")


@claims.command("edit")
@click.argument("claim")
@click.option("--text", help="New claim text.")
@click.option("--name", help="New name.")
@click.option("--keyword", "keywords", multiple=True, help="Replace the key terms (repeatable).")
@click.option("--clear-keywords", is_flag=True, help="Remove all key terms.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="New match threshold.")
@click.option("--default-threshold", is_flag=True, help="Go back to the matcher's default threshold.")
@json_option
@pass_ctx
@run_async
async def claims_edit(
    ctx: Context,
    claim: str,
    text: str | None,
    name: str | None,
    keywords: tuple[str, ...],
    clear_keywords: bool,
    threshold: float | None,
    default_threshold: bool,
    as_json: bool,
) -> None:
    """Change a claim's text, name, key terms or threshold.

    Example: watcher claims edit nato-ammo --threshold 0.6 --keyword ammunition
    """

    async def go(store: SqlStore) -> Claim:
        c = await store.get_claim(claim)
        changes: dict[str, Any] = {}
        if text:
            changes["text"] = text.strip()
        if name:
            changes["name"] = name
        if keywords or clear_keywords:
            changes["keywords"] = tuple(keywords)
        if threshold is not None or default_threshold:
            changes["threshold"] = threshold
        if not changes:
            raise click.UsageError("nothing to change: give --text, --name, --keyword, or --threshold")
        return await store.update_claim(replace(c, **changes), now=utcnow())

    updated = await with_store(ctx, go)
    if as_json:
        emit_json(claim_json(updated))
    else:
        click.echo(f"updated claim {updated.id} {updated.name!r}")


def _set_status(status: ClaimStatus) -> Callable[..., None]:
    @click.argument("claim")
    @json_option
    @pass_ctx
    @run_async
    async def command(ctx: Context, claim: str, as_json: bool) -> None:
        async def go(store: SqlStore) -> Claim:
            c = await store.get_claim(claim)
            return await store.update_claim(replace(c, status=status), now=utcnow())

        updated = await with_store(ctx, go)
        if as_json:
            emit_json(claim_json(updated))
        else:
            click.echo(f"claim {updated.id} {updated.name!r} is {updated.status.value}")

    return command


claims.command(
    "pause",
    help="Stop matching new articles against a claim (history is kept).\n\nExample: watcher claims pause nato-ammo",
)(_set_status(ClaimStatus.PAUSED))
claims.command("resume", help="Resume matching a paused claim.\n\nExample: watcher claims resume nato-ammo")(
    _set_status(ClaimStatus.ACTIVE)
)


@claims.command("remove")
@click.argument("claim")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_ctx
@run_async
async def claims_remove(ctx: Context, claim: str, yes: bool, as_json: bool) -> None:
    """Stop tracking a claim and hide it (its matches and events stay in the database).

    Example: watcher claims remove nato-ammo --yes
    """

    async def go(store: SqlStore) -> Claim:
        c = await store.get_claim(claim)
        if not yes and sys.stdin.isatty() and not click.confirm(f"remove claim {c.name!r}?"):
            raise WatcherError("not removed")
        await store.remove_claim(c.id, now=utcnow())
        return c

    removed = await with_store(ctx, go)
    if as_json:
        emit_json(claim_json(removed, {"removed": True}))
    else:
        click.echo(f"removed claim {removed.id} {removed.name!r}")


@claims.command("test")
@click.argument("claim")
@click.option("--text", "text", help="Article text to try.")
@click.option(
    "--file", "file", type=click.File("r", encoding="utf-8"), help="File with the article text ('-' = stdin)."
)
@click.option("--url", "url", help="Fetch this page and try its text.")
@click.option("--title", default="", help="Headline to score with the text.")
@click.option("--lexical-only", is_flag=True, help="Skip the semantic stage even if it is installed.")
@json_option
@pass_ctx
@run_async
async def claims_test(
    ctx: Context,
    claim: str,
    text: str | None,
    file: Any,
    url: str | None,
    title: str,
    lexical_only: bool,
    as_json: bool,
) -> None:
    """Dry run: how would this text match and frame the claim? Nothing is stored.

    Example: watcher claims test nato-ammo --text "NATO now makes more shells than Russia, Rutte claimed."
    """
    sources = [s for s in (text, file, url) if s]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of --text, --file or --url")

    async def load(store: SqlStore) -> tuple[Claim, list[Any]]:
        from watcher.pipeline import WARM_UP_ARTICLES

        return await store.get_claim(claim), await store.recent_articles(WARM_UP_ARTICLES)

    c, recent = await with_store(ctx, load)
    if url:
        title, body = await _fetch_page(ctx, url, title)
    else:
        body = text if text is not None else file.read()
    result = await _dry_run(ctx, c, title, body, lexical_only, recent)
    if as_json:
        emit_json(result)
        return
    click.echo(f"claim:      {c.name}: {c.text}")
    click.echo(
        f"score:      {result['score']:.3f} (threshold {result['threshold']:.2f}) -> "
        f"{'MATCH' if result['matched'] else 'no match'}"
    )
    click.echo(f"lexical:    {result['lexical']:.3f}   semantic: {result['semantic']}")
    click.echo(f"stance:     {result['stance']}   skepticism: {result['skepticism']:.2f}")
    for cue in result["cues"]:
        click.echo(f"cue:        {cue['kind']}: {cue['text']}")
    for sentence in result["evidence"]:
        click.echo(f"evidence:   {sentence}")


async def _fetch_page(ctx: Context, url: str, title: str) -> tuple[str, str]:
    import aiohttp

    from watcher.ingest.http import make_session
    from watcher.ingest.parse import html_to_text

    async with make_session(ctx.settings.http) as session:
        try:
            async with session.get(url) as resp:
                if resp.status != 200:
                    raise WatcherError(f"{url}: HTTP {resp.status}")
                raw = await resp.content.read(ctx.settings.http.max_body_bytes)
                html = raw.decode(resp.charset or "utf-8", errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WatcherError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
    if not title:
        m = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
        title = html_to_text(m.group(1)) if m else ""
    return title, html_to_text(html)


async def _dry_run(
    ctx: Context, claim: Claim, title: str, body: str, lexical_only: bool, recent: list[Any]
) -> dict[str, Any]:
    import asyncio

    from watcher.framing import frame
    from watcher.match import Matcher, load_embedder

    settings = replace(ctx.settings.matching, model=None) if lexical_only else ctx.settings.matching
    embedder = await asyncio.to_thread(load_embedder, settings.model)
    matcher = Matcher([replace(claim, status=ClaimStatus.ACTIVE)], settings, embedder)
    await asyncio.to_thread(matcher.observe, recent)  # score against the vocabulary the daemon has seen
    article = _scratch_article(title, body)
    score = await asyncio.to_thread(matcher.score, claim, article)
    framing = frame(claim.text, title, body, score.evidence)
    return {
        "claim": {"id": claim.id, "name": claim.name},
        "score": round(score.score, 4),
        "threshold": claim.threshold if claim.threshold is not None else settings.threshold,
        "matched": score.matched,
        "lexical": round(score.lexical, 4),
        "semantic": None if score.semantic is None else round(score.semantic, 4),
        "stance": framing.stance.value,
        "skepticism": round(framing.skepticism, 3),
        "cues": [{"kind": c.kind, "text": c.text} for c in framing.cues],
        "evidence": list(score.evidence),
    }


def _scratch_article(title: str, text: str) -> Any:
    from watcher.domain import Article

    now = utcnow()
    return Article(
        id=0,
        feed_id=0,
        story_id=0,
        url="",
        canonical_url="",
        title=title,
        text=text,
        content_hash="",
        published_at=None,
        first_seen_at=now,
        language="und",
        outlet="",
        country="ZZ",
        leaning="unknown",
        ownership="unknown",
    )


@claims.command("backfill")
@click.argument("claim")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only articles first seen since (UTC).",
)
@click.option("--batch", default=500, show_default=True, help="Articles per batch.")
@json_option
@pass_ctx
@run_async
async def claims_backfill(ctx: Context, claim: str, since: Any, batch: int, as_json: bool) -> None:
    """Match stored articles against one claim (for a claim added after the articles came in).

    Shows progress on stderr. Matches already stored are kept; the daemon then detects shifts on them.

    Example: watcher claims backfill nato-ammo --since 2025-11-01
    """
    from tqdm import tqdm

    from watcher.pipeline import Pipeline, match_and_frame

    start = since.replace(tzinfo=UTC) if since else None
    store = await ctx.store()
    pipeline = await Pipeline.open(ctx.settings, store)
    scanned = stored = 0
    try:
        c = await store.get_claim(claim)
        total = await store.count_articles_since(start)
        active = [replace(c, status=ClaimStatus.ACTIVE)]
        matcher = (await pipeline.matcher()).with_claims(active)
        after = 0
        with tqdm(
            total=total, unit="article", desc=f"backfill {c.name}", file=sys.stderr, disable=None
        ) as bar:
            while articles := await store.articles_since(start, after_id=after, limit=batch):
                import asyncio

                results = await asyncio.to_thread(match_and_frame, matcher, active, articles)
                stored += await store.save_matches([], results, utcnow())
                scanned += len(articles)
                after = articles[-1].id
                bar.update(len(articles))
                bar.set_postfix(matches=stored)
    finally:
        await pipeline.close()
        await store.close()
    if as_json:
        emit_json(
            {
                "claim": {"id": c.id, "name": c.name},
                "articles": scanned,
                "new_matches": stored,
                "since": iso(start),
            }
        )
    else:
        click.echo(f"backfill {c.name}: {scanned} articles scanned, {stored} new matches")
