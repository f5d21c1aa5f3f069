"""``watcher claims``: add, list, show, edit, pause, resume, remove, test and backfill claims."""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from watcher.cli.common import (
    LIMIT,
    SINCE,
    THRESHOLD,
    Context,
    claim_name,
    http_url,
    json_option,
    keywords_option,
    pass_ctx,
    run_async,
    with_pipeline,
    with_store,
)
from watcher.cli.render import (
    backfill_json,
    backfill_line,
    claim_json,
    claim_line,
    claim_summary_json,
    dry_run_item_line,
    dry_run_json,
    dry_run_lines,
    emit_json,
    emit_lines,
    summary_lines,
)
from watcher.config import LANGUAGE_FORM, claim_name_problem, claim_text_problem, language_subtag
from watcher.domain import Claim, ClaimStatus, same_name, utcnow
from watcher.errors import ConflictError, WatcherError
from watcher.text.display import display_path

if TYPE_CHECKING:
    from storage.base import Store
    from watcher.pipeline import BackfillProgress


# Cyrillic (Russian and Ukrainian) and Greek letters in Latin ones, for names derived from a claim's text.
_TRANSLITERATION = str.maketrans(
    {
        **dict(zip("абвгґдезийклмнопрстуфыэіъь", "abvggdeziyklmnoprstufyei\0\0", strict=True)),
        **{"ё": "yo", "є": "ye", "ж": "zh", "ї": "yi", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh"},
        **{"щ": "shch", "ю": "yu", "я": "ya"},
        **dict(zip("αβγδεζηικλμνξοπρσςτυφω", "avgdeziiklmnxoprsstyfo", strict=True)),
        **{"θ": "th", "χ": "ch", "ψ": "ps"},
    }
)
MAX_ADD_ATTEMPTS = 20  # derived names tried before giving up: name-2, name-3, ...


def slugify(text: str, max_words: int = 6) -> str:
    """A claim name from its text: the first words, lowercased, in Latin letters and joined by '-' (never all
    digits). A text with no word in Latin, Cyrillic or Greek letters gets ``claim-`` and a short hash of it."""
    # Before NFKD, which splits й and ї; after it again, for accented Greek letters (ά is α and an accent).
    latin = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATION)).translate(
        _TRANSLITERATION
    )
    words = re.findall(r"[a-z0-9]+", "".join(c for c in latin if not unicodedata.combining(c) and c != "\0"))
    name = "-".join(words[:max_words])[:60].strip("-")
    if not name:
        return f"claim-{hashlib.sha256(text.strip().encode()).hexdigest()[:8]}"
    return f"claim-{name}" if claim_name_problem(name) else name


def _text(text: str, param_hint: str = "TEXT") -> str:
    problem = claim_text_problem(text.strip())
    if problem:
        raise click.BadParameter(problem, param_hint=param_hint)
    return text.strip()


def _read_text(file: BinaryIO) -> str:
    """An article text file as UTF-8 (a byte-order mark dropped); a clear error naming the file otherwise."""
    raw = file.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        name = getattr(file, "name", "-")
        raise click.BadParameter(
            f"{'standard input' if name in ('-', '<stdin>') else name} is not UTF-8 text: byte "
            f"0x{raw[error.start]:02x} at offset {error.start} (convert it first, e.g. iconv -f latin1 -t utf-8)",
            param_hint="--file",
        ) from None


def _language_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from watcher.text.language import normalize_language

    if value is None:
        return None
    code = normalize_language(language_subtag(value))
    if code is None:
        raise click.BadParameter(f"{value[:40]!r} is not {LANGUAGE_FORM}")
    return code


@click.group()
def claims() -> None:
    """Tracked claims: add, list, edit, pause, test and backfill."""


@claims.command("add")
@click.argument("text")
@click.option(
    "--name", callback=claim_name, help="Short unique name, compared ignoring case [default: from the text]."
)
@click.option("--keyword", "keywords", multiple=True, help="Key term the article must mention (repeatable).")
@click.option("--threshold", type=THRESHOLD, help="Match score threshold [default: the matcher's].")
@click.option("--paused", is_flag=True, help="Add it paused.")
@click.option(
    "--language", callback=_language_option, help="ISO 639-1 code [default: detected from the text]."
)
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
    language: str | None,
    as_json: bool,
) -> None:
    """Track a new claim.

    Example: watcher claims add "NATO has surpassed Russia in ammunition production" --name nato-ammo
    """
    text = _text(text)
    claim = Claim(
        id=0,
        name=name or slugify(text),
        text=text,
        keywords=keywords_option(keywords, text, language),
        threshold=threshold,
        status=ClaimStatus.PAUSED if paused else ClaimStatus.ACTIVE,
        language=language,
    )

    async def add(store: Store) -> Claim:
        if name:
            return await store.add_claim(claim, now=utcnow())
        # A derived name may be taken by a claim that starts alike: try name-2, name-3, ...
        for attempt in range(1, MAX_ADD_ATTEMPTS + 1):
            suffix = f"-{attempt}" if attempt > 1 else ""
            try:
                return await store.add_claim(replace(claim, name=claim.name[:60] + suffix), now=utcnow())
            except ConflictError:
                if attempt == MAX_ADD_ATTEMPTS:
                    raise ConflictError(
                        f"a claim named {claim.name!r} already exists, and {MAX_ADD_ATTEMPTS - 1} more like it: "
                        "give one with --name"
                    ) from None
        raise AssertionError("unreachable")

    stored = await with_store(ctx, add, create=True)
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
    emit_lines([claim_line(c) for c in found], empty="no claims; add one with: watcher claims add TEXT")


@claims.command("show")
@click.argument("claim")
@json_option
@pass_ctx
@run_async
async def claims_show(ctx: Context, claim: str, as_json: bool) -> None:
    """Show one claim (by id or name) with its match and event counts.

    Example: watcher claims show nato-ammo
    """

    default = ctx.settings.matching.threshold

    async def go(store: Store) -> dict[str, Any]:
        c = await store.get_claim(claim)
        found = claim_summary_json(c, await store.matches_for_claim(c.id), await store.events_for_claim(c.id))
        return {**found, "effective_threshold": c.threshold if c.threshold is not None else default}

    data = await with_store(ctx, go)
    if as_json:
        emit_json(data)
    else:
        emit_lines(summary_lines(data))


@claims.command("edit")
@click.argument("claim")
@click.option("--text", help="New claim text.")
@click.option("--name", callback=claim_name, help="New name.")
@click.option("--keyword", "keywords", multiple=True, help="Replace the key terms (repeatable).")
@click.option("--clear-keywords", is_flag=True, help="Remove all key terms.")
@click.option("--threshold", type=THRESHOLD, help="New match threshold.")
@click.option("--default-threshold", is_flag=True, help="Go back to the matcher's default threshold.")
@click.option("--language", callback=_language_option, help="Set the claim's ISO 639-1 language code.")
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
    language: str | None,
    as_json: bool,
) -> None:
    """Change a claim's text, name, key terms, threshold or language.

    Example: watcher claims edit nato-ammo --threshold 0.6 --keyword ammunition
    """

    if threshold is not None and default_threshold:
        raise click.UsageError("give --threshold or --default-threshold, not both")
    if keywords and clear_keywords:
        raise click.UsageError("give --keyword or --clear-keywords, not both")

    before: list[str] = []  # the name it had

    async def go(store: Store) -> Claim:
        c = await store.get_claim(claim)
        before.append(c.name)
        changes: dict[str, Any] = {}
        if text is not None:
            changes["text"] = _text(text, "--text")
        if name:
            changes["name"] = name
        if threshold is not None or default_threshold:
            changes["threshold"] = threshold
        if language:
            changes["language"] = language
        if keywords or clear_keywords:
            changes["keywords"] = keywords_option(
                keywords, changes.get("text", c.text), changes.get("language", c.language)
            )
        if not changes:
            raise click.UsageError("nothing to change: give --text, --name, --keyword, or --threshold")
        return await store.update_claim(replace(c, **changes), now=utcnow())

    updated = await with_store(ctx, go)
    if as_json:
        emit_json(claim_json(updated))
    else:
        click.echo(f"updated claim {updated.id} {updated.name!r}")
    _note_if_declared(ctx, before[0], updated.name)


def _set_status(status: ClaimStatus) -> Callable[..., None]:
    @click.argument("claim")
    @json_option
    @pass_ctx
    @run_async
    async def command(ctx: Context, claim: str, as_json: bool) -> None:
        async def go(store: Store) -> Claim:
            c = await store.get_claim(claim)
            return await store.update_claim(replace(c, status=status), now=utcnow())

        updated = await with_store(ctx, go)
        if as_json:
            emit_json(claim_json(updated))
        else:
            click.echo(f"claim {updated.id} {updated.name!r} is {updated.status.value}")
        _note_if_declared(ctx, updated.name)

    return command


def _note_if_declared(ctx: Context, name: str, renamed: str | None = None) -> None:
    """Say so on stderr when the claim just changed (``name``: the name it had) is declared in feeds.yaml: the
    next sync (``run``, ``poll-once``, ``sync``) writes the file's text, key terms, threshold, language and status
    back, and tracks a claim renamed here (to ``renamed``) under the file's name again, as a new claim."""
    if not any(same_name(spec.name, name) for spec in ctx.settings.claims):
        return
    where = display_path(ctx.settings.config_path) if ctx.settings.config_path else "the configuration"
    if renamed is not None and not same_name(renamed, name):
        then = f"tracks {name!r} again, as a new claim beside {renamed!r}"
    else:
        then = "sets it back to what the file says"
    click.echo(
        f"note: claim {name!r} is declared in {where}: the next sync (run, poll-once, sync) {then}; "
        "change it there to keep the change",
        err=True,
    )


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

    async def go(store: Store) -> Claim:
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
    "--file", "file", type=click.File("rb"), help="File with the article text, UTF-8 ('-' = stdin)."
)
@click.option("--url", "url", callback=http_url, help="Fetch this page and try its main text.")
@click.option("--feed", "feed", callback=http_url, help="Fetch this feed and try each of its items.")
@click.option("--title", default="", help="Headline to score with the text; alone: a title-only item.")
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
    feed: str | None,
    title: str,
    lexical_only: bool,
    as_json: bool,
) -> None:
    """Dry run: how would this text match and frame the claim? Nothing is stored.

    --url reads a page's main text as the daemon extracts it (a feed URL is refused: use --feed);
    --feed scores each item of a feed, one line each; --title alone tries a title-only item (a headline
    with no text, as many feed items are).

    Example: watcher claims test nato-ammo --text "NATO now makes more shells than Russia, Rutte claimed."
    """
    sources = [s for s in (text, file, url, feed) if s is not None]
    if not sources and title.strip():
        text = ""  # a title-only item
    elif len(sources) != 1:
        raise click.UsageError("give exactly one of --text, --file, --url or --feed, or --title alone")
    if feed:
        runs = await with_pipeline(
            ctx, lambda p: p.dry_run_feed(claim, feed, lexical_only=lexical_only), create=True
        )
        if as_json:
            emit_json([{"title": item.title, "url": item.url, **dry_run_json(run)} for item, run in runs])
        else:
            emit_lines(
                [dry_run_item_line(item.title, run) for item, run in runs], empty="the feed has no items"
            )
        return
    body = None if url else (text if text is not None else _read_text(file))
    if body is not None and not body.strip() and not title.strip():
        # An empty text (--text "", an empty file or stdin) would score as a text that matches nothing.
        raise click.BadParameter(
            "the article text is empty (give --title alone to try a headline)",
            param_hint="--text" if text is not None else "--file",
        )
    run = await with_pipeline(
        ctx,
        lambda p: p.dry_run(claim, title=title, text=body, url=url, lexical_only=lexical_only),
        create=True,  # a dry run of a claim of feeds.yaml before the first `run`
    )
    if as_json:
        emit_json(dry_run_json(run))
    else:
        emit_lines(dry_run_lines(run))


@claims.command("backfill")
@click.argument("claim")
@click.option(
    "--since",
    type=SINCE,
    metavar="DATE",
    help="Only articles first seen since this date or time (ISO 8601; UTC unless it gives an offset).",
)
@click.option("--batch", type=LIMIT, default=500, show_default=True, help="Articles per batch.")
@json_option
@pass_ctx
@run_async
async def claims_backfill(
    ctx: Context, claim: str, since: datetime | None, batch: int, as_json: bool
) -> None:
    """Match stored articles against one claim (for a claim added after the articles came in).

    Shows progress on stderr. Matches already stored are kept; the daemon then detects shifts on them.

    Example: watcher claims backfill nato-ammo --since 2025-11-01
    """
    from tqdm import tqdm

    start = since
    bars: list[tqdm[Any]] = []

    def show(state: BackfillProgress) -> None:
        if not bars:
            desc = f"backfill {state.claim.name}"
            bars.append(tqdm(total=state.total, unit="article", desc=desc, file=sys.stderr, disable=None))
        bars[0].update(state.scanned - bars[0].n)
        bars[0].set_postfix(matches=state.new_matches)

    try:
        done = await with_pipeline(ctx, lambda p: p.backfill(claim, start, batch=batch, progress=show))
    finally:
        for bar in bars:
            bar.close()
    if as_json:
        emit_json(backfill_json(done, start))
    else:
        click.echo(backfill_line(done))
