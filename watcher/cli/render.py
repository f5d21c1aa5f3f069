"""What the CLI prints: the JSON documents of ``--json`` (a contract, see DESIGN.md) and the text lines."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from watcher.domain import Claim, Delivery, Feed, Match
from watcher.ingest.urls import display_url
from watcher.text.display import one_line

if TYPE_CHECKING:
    from watcher.pipeline import BackfillProgress, CycleReport, DryRun, FeedCheck


# Feeds, OPML files and receivers supply much of what is printed. On a terminal their control characters
# (escape sequences, carriage returns, line ends), bidi controls and line separators could rewrite or fake
# output (text lines go through text.display.one_line). In JSON, a lone surrogate written raw could not be
# encoded as UTF-8 at all.
# json.dumps(ensure_ascii=False) already escapes C0 controls; these it would print as they are.
_JSON_RAW = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def emit_json(data: Any) -> None:
    """Print one JSON document to stdout; characters a terminal would act on are written as ``\\uXXXX``."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    click.echo(_JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def emit_lines(lines: Sequence[str], empty: str | None = None) -> None:
    """Print text lines (see :func:`plain`), or ``empty`` when there are none."""
    if not lines and empty is not None:
        click.echo(empty)
    for line in lines:
        click.echo(plain(line))


def plain(text: str) -> str:
    """``text`` safe to print as one line: each run of control characters becomes a space."""
    return one_line(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- claims -------------------------------------------------------------------------------------------------


def claim_json(c: Claim, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "text": c.text,
        "keywords": list(c.keywords),
        "threshold": c.threshold,
        "status": c.status.value,
        "language": c.language,
        "created_at": iso(c.created_at),
        **(extra or {}),
    }


def claim_line(c: Claim) -> str:
    return f"{c.id:>4}  {c.status.value:<7} {c.name:<24} {c.text}"


def claim_summary_json(c: Claim, matches: Sequence[Match], events: Sequence[Any]) -> dict[str, Any]:
    """``claims show``: the claim with its match, story, outlet, stance and event counts."""
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


def summary_lines(data: dict[str, Any]) -> list[str]:
    """``claims show`` as text: one ``key: value`` line each; the threshold is the one the claim is held to."""
    shown = {k: v for k, v in data.items() if k != "effective_threshold"}
    if "effective_threshold" in data:
        own = data["threshold"] is not None
        shown["threshold"] = f"{data['effective_threshold']:.2f}" + ("" if own else " (the default)")
    return [f"{key:>10}: {_summary_value(value)}" for key, value in shown.items()]


def _summary_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def dry_run_json(run: DryRun) -> dict[str, Any]:
    score, framing = run.score, run.framing
    return {
        "claim": {"id": run.claim.id, "name": run.claim.name},
        "score": round(score.score, 4),
        "threshold": run.threshold,
        "matched": score.matched,
        "lexical": round(score.lexical, 4),
        "semantic": None if score.semantic is None else round(score.semantic, 4),
        "one_part": score.one_part,
        "stance": framing.stance.value,
        "skepticism": round(framing.skepticism, 3),
        "cues": [{"kind": c.kind, "text": c.text} for c in framing.cues],
        "evidence": list(score.evidence),
    }


def dry_run_item_line(title: str, run: DryRun) -> str:
    """One feed item of ``claims test --feed``: score, verdict, stance, headline."""
    verdict = "MATCH" if run.score.matched else "-"
    return f"{run.score.score:.3f} {verdict:<5} {run.framing.stance.value:<9} {title}"


def dry_run_lines(run: DryRun) -> list[str]:
    r = dry_run_json(run)
    return [
        f"claim:      {run.claim.name}: {run.claim.text}",
        f"score:      {r['score']:.3f} (threshold {r['threshold']:.2f}) -> "
        f"{'MATCH' if r['matched'] else 'no match'}",
        f"lexical:    {r['lexical']:.3f}   semantic: {r['semantic']}",
        *(
            [
                "note:       the text holds words of one of the claim's two parts only (the name, say, and not what "
                "is said of it): its words do not match it"
                + ("; the semantic score alone decides" if r["semantic"] is not None else "")
            ]
            if r["one_part"]
            else []
        ),
        f"stance:     {r['stance']}   skepticism: {r['skepticism']:.2f}",
        *(f"cue:        {cue['kind']}: {cue['text']}" for cue in r["cues"]),
        *(f"evidence:   {sentence}" for sentence in r["evidence"]),
    ]


def backfill_json(done: BackfillProgress, since: datetime | None) -> dict[str, Any]:
    return {
        "claim": {"id": done.claim.id, "name": done.claim.name},
        "articles": done.scanned,
        "new_matches": done.new_matches,
        "since": iso(since),
    }


def backfill_line(done: BackfillProgress) -> str:
    return f"backfill {done.claim.name}: {done.scanned} articles scanned, {done.new_matches} new matches"


# --- feeds --------------------------------------------------------------------------------------------------


def feed_json(f: Feed) -> dict[str, Any]:
    return {
        "id": f.id,
        "url": display_url(f.url),
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


def feed_line(f: Feed) -> str:
    state = (
        f"ERR x{f.error_count}: {f.last_error}"
        if f.error_count
        else (f"HTTP {f.last_status}" if f.last_status else "never polled")
    )
    return f"{f.id:>5}  {f.outlet[:24]:<24} {display_url(f.url)[:60]:<60} {state}"


def feed_check_json(c: FeedCheck) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": display_url(c.feed.url),
        "status": c.result.status,
        "ms": c.result.elapsed_ms,
        "error": c.error,
    }
    if c.result.new_url:
        out["moved_to"] = display_url(c.result.new_url)
    if c.found_from:
        out["found_from"] = c.found_from
    if c.parsed is not None:
        out.update(
            title=c.parsed.title,
            items=len(c.parsed.articles),
            warnings=c.parsed.warnings,
            ttl_s=c.parsed.ttl_s,
        )
    return out


def feed_check_line(c: FeedCheck) -> str:
    items = len(c.parsed.articles) if c.parsed is not None else 0
    verdict = f"ERROR {c.error}" if c.error else f"ok, {items} items"
    warnings = c.parsed.warnings if c.parsed is not None else []
    warn = f" (warnings: {'; '.join(warnings)})" if warnings else ""
    found = f" (the feed of {c.found_from})" if c.found_from else ""
    return f"{display_url(c.feed.url)}{found}: HTTP {c.result.status} in {c.result.elapsed_ms} ms: {verdict}{warn}"


# --- matches, events, deliveries, cycles --------------------------------------------------------------------


def match_line(m: Match) -> str:
    """One line of ``matches list``; a revised article's title ends with ``(revised N×)``."""
    a = m.article
    revised = f" (revised {a.version - 1}×)" if a.version > 1 else ""
    return (
        f"{m.id:>5}  {m.claim_name:<20} {m.score:.2f} {m.stance.value:<9} {a.outlet[:20]:<20} {a.title[:70]}"
        f"{revised}"
    )


def event_line(e: dict[str, Any]) -> str:
    """One line of ``events list``, from the event's webhook body."""
    backlog = " (backfill, not delivered)" if e.get("backfill") else ""
    return f"{e['created_at']}  {e['type']:<15} {e['claim']['name']:<20} {e['summary']}{backlog}"


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "destination": d.destination,
        "status": d.status.value,
        "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "delivered_at": iso(d.delivered_at),
    }


def delivery_line(d: Delivery) -> str:
    err = f"  last error: {d.last_error}" if d.last_error else ""
    return f"{d.id:>5}  {d.status.value:<9} {d.destination:<16} {d.event_id}  attempts {d.attempts}{err}"


def cycle_line(report: CycleReport) -> str:
    return (
        f"{report.feeds_polled} feeds polled ({report.feeds_failed} failed, {report.not_modified} not modified), "
        f"{report.new_articles} new articles, {report.matches} matches, {report.events} events, "
        f"{report.delivered} alerts delivered in {report.elapsed_s:.1f}s"
    )
