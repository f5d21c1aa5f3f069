"""Slack Block Kit rendering of events and digests, escaped for Slack and kept within its limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from watcher.domain import Claim, Event, EventType, Match, Stance
from watcher.notify.payload import EventBundle, iso_z, report_url, top_matches
from watcher.text.display import display_title, strip_bidi

logger = logging.getLogger(__name__)

# Slack's own limits.
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_FALLBACK_CHARS = 3000
# Our budgets, chosen so that no composed section can reach MAX_SECTION_CHARS.
MAX_ARTICLES = 10
MAX_DIGEST_EVENTS = 20
MAX_DIGEST_LINKS = 3
MAX_TITLE_CHARS = 300
MAX_FIELD_CHARS = 80
MAX_URL_CHARS = 1000
MAX_QUOTE_CHARS = 600
MAX_CLAIM_CHARS = 1500
MAX_DETAILS = 6
ELLIPSIS = "…"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters, and drop bidi controls.

    With ``<`` escaped, text from a feed cannot form ``<!channel>`` or a ``<http://x|link>`` of its own;
    without bidi overrides it cannot make "report\u202efdp.exe" read as "reportexe.pdf".
    """
    return strip_bidi(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_clipped(text: str, limit: int) -> str:
    """Escape ``text`` and cut it so the escaped result is at most ``limit`` characters, ending in "…".

    Cutting before escaping would overshoot (one ``&`` becomes five characters), and cutting after could
    split an entity such as ``&amp;`` in two, so the budget is counted per escaped character.
    """
    text = " ".join(strip_bidi(text).split())  # newlines would break block quotes and list lines
    full = escape(text)
    if len(full) <= limit:
        return full
    out: list[str] = []
    used = 0
    budget = limit - len(ELLIPSIS)
    for char in text:
        piece = _ESCAPES.get(char, char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + ELLIPSIS


def link(url: str, label: str, *, label_limit: int = MAX_TITLE_CHARS) -> str:
    """A mrkdwn link ``<url|label>``; just the escaped label when the URL is not plain http(s) or too long."""
    text = escape_clipped(label or url, label_limit)
    if not url.lower().startswith(("http://", "https://")):
        return text
    # "|" would end the URL early and "<"/">" would end the link; neither may come from a feed unescaped.
    safe_url = escape("".join(url.split())).replace("|", "%7C")
    # Measured escaped: each "&" grows to "&amp;", and a section cut inside a link breaks the message.
    if len(safe_url) > MAX_URL_CHARS:
        return text
    return f"<{safe_url}|{text}>"


def render_slack(
    event: Event, claim: Claim, matches: Sequence[Match], *, report: str | None = None
) -> dict[str, Any]:
    """The Slack incoming-webhook body for one event: Block Kit blocks plus a plain-text fallback.

    What changed (the summary), the claim, the evidence quoted with its outlet and stance, the articles,
    and a link to the claim's report page when ``report`` is given.
    """
    blocks: list[Block] = [
        _header(event.summary),
        _section(f"*Claim* {escape_clipped(claim.name, MAX_FIELD_CHARS)}\n>{_claim_text(claim)}"),
    ]
    if event.type is EventType.ARTICLE_REVISED:
        blocks.append(_section(_revision(event.details)))
    quote = _evidence_quote(matches)
    if quote is not None:
        blocks.append(_section(quote))
    blocks.append({"type": "divider"})
    # The same choice as a webhook's (the most relevant, in their order), cut shorter for a message.
    blocks.extend(_section(_article_line(m)) for m in top_matches(matches, MAX_ARTICLES))
    if len(matches) > MAX_ARTICLES:
        blocks.append(_context(f"{ELLIPSIS} and {len(matches) - MAX_ARTICLES} more articles"))
    if report is not None:
        blocks.append(_section(link(report, "Open the claim's report")))
    blocks.append(_context(_event_context(event)))
    return _message(f"{event.summary} (claim: {claim.name})", blocks)


def render_slack_digest(
    bundles: Sequence[EventBundle], *, created_at: datetime, public_url: str | None = None
) -> dict[str, Any]:
    """One Slack message for several events (a destination with ``digest_minutes``); with the daemon's
    ``public_url`` each event's claim name links to the claim's report."""
    claims = {b.claim.id for b in bundles}
    title = f"{len(bundles)} events on {len(claims)} claims"
    blocks: list[Block] = [_header(title)]
    blocks.extend(
        _section(_digest_entry(b, report_url(public_url, b.claim))) for b in bundles[:MAX_DIGEST_EVENTS]
    )
    if len(bundles) > MAX_DIGEST_EVENTS:
        blocks.append(_context(f"{ELLIPSIS} and {len(bundles) - MAX_DIGEST_EVENTS} more events"))
    blocks.append(_context(f"digest · {iso_z(created_at)}"))
    summaries = "; ".join(b.event.summary for b in bundles[:MAX_DIGEST_EVENTS])
    return _message(f"{title}: {summaries}", blocks)


def _message(fallback: str, blocks: list[Block]) -> dict[str, Any]:
    # The builders above stay well under the block limit; the slice is a last line of defence.
    return {
        "text": escape_clipped(fallback, MAX_FALLBACK_CHARS),
        "blocks": blocks[:MAX_BLOCKS],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": escape_clipped(text, MAX_HEADER_CHARS) or "-", "emoji": True},
    }


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS] or "-"}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS] or "-"}]}


def _claim_text(claim: Claim) -> str:
    return escape_clipped(claim.text, MAX_CLAIM_CHARS)


def _evidence_quote(matches: Sequence[Match]) -> str | None:
    """The first match's evidence, quoted with its outlet and stance. A disputing article's evidence
    starts with the disputing sentence; the sentence that states the claim follows it, quoted beside it."""
    for match in matches:
        if match.evidence:
            quote = escape_clipped(match.evidence[0], MAX_QUOTE_CHARS)
            lines = [f">“{quote}”", f"— {_outlet(match)} · *{match.stance}*"]
            if match.stance == Stance.DISPUTES and len(match.evidence) > 1:
                stated = escape_clipped(match.evidence[1], MAX_QUOTE_CHARS)
                lines.insert(1, f">“{stated}”")
            return "\n".join(lines)
    return None


def _revision(details: Mapping[str, Any]) -> str:
    """What an article_revised changed: the stance before → after, and the headline and text diffs, cut
    short (removed words struck through, added ones in bold)."""
    before, after = details.get("before") or {}, details.get("after") or {}
    diff = details.get("diff") or {}
    if after.get("matched") is False:
        stance = f"*Stance* {before.get('stance')} → no longer matches the claim"
    elif before.get("stance") != after.get("stance"):
        stance = f"*Stance* {before.get('stance')} → *{after.get('stance')}*"
    else:
        stance = f"*Stance* {after.get('stance')} (unchanged)"
    lines = [escape_clipped(stance, MAX_FIELD_CHARS * 2)]
    for label, key in (("Headline", "title"), ("Text", "text")):
        ops = diff.get(key) or []
        if any(op in ("-", "+") for op, _ in ops):
            lines.append(f"*{label}* {_diff(ops, MAX_QUOTE_CHARS)}")
    lines.append(f"version {details.get('previous_version')} → {details.get('version')}")
    return "\n".join(lines)


def _diff(ops: Sequence[Sequence[str]], limit: int) -> str:
    """A word diff in mrkdwn: removed words ~struck~, added ones *bold*, escaped, within ``limit``."""
    out: list[str] = []
    used = 0
    for op, words in ops:
        text = " ".join(strip_bidi(words).replace("~", "").replace("*", "").split())
        if op == "…" or not text:
            piece = ELLIPSIS
        else:
            piece = escape(text)
            piece = f"~{piece}~" if op == "-" else f"*{piece}*" if op == "+" else piece
        if used + len(piece) + 1 > limit:
            out.append(ELLIPSIS)
            break
        out.append(piece)
        used += len(piece) + 1
    return " ".join(out)


def _outlet(match: Match) -> str:
    article = match.article
    outlet = escape_clipped(article.outlet, MAX_FIELD_CHARS)
    meta = ", ".join(
        escape_clipped(v, MAX_FIELD_CHARS) for v in (article.country, article.leaning, article.ownership)
    )
    return f"{outlet} ({meta})"


def _title_link(match: Match) -> str:
    """The article's linked title; an untitled one shows its first words, marked "(untitled)"."""
    title, untitled = display_title(match.article)
    if untitled:
        return f"_(untitled)_ {link(match.article.url, title)}"
    return link(match.article.url, title)


def _article_line(match: Match) -> str:
    title = _title_link(match)
    return f"*{title}*\n{_outlet(match)} · *{match.stance}* · score {match.score:.2f}"


def _event_context(event: Event) -> str:
    parts = [str(event.type), iso_z(event.created_at) or "", event.id]
    parts.extend(_detail_items(event.details))
    return escape_clipped(" · ".join(p for p in parts if p), MAX_SECTION_CHARS)


def _detail_items(details: Mapping[str, Any]) -> list[str]:
    # Only scalar numbers and words fit a context line; nested structures stay in the webhook body.
    items = [
        f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in details.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    return [i[:MAX_FIELD_CHARS] for i in items[:MAX_DETAILS]]


def _digest_entry(bundle: EventBundle, report: str | None = None) -> str:
    event = bundle.event
    name = bundle.claim.name
    claim = (
        escape_clipped(name, MAX_FIELD_CHARS)
        if report is None
        else link(report, name, label_limit=MAX_FIELD_CHARS)
    )
    head = f"*{escape_clipped(event.summary, MAX_TITLE_CHARS)}*\n{claim} · {event.type} · {iso_z(event.created_at)}"
    # Three long links can outgrow a section: stop at the one that would not fit, and count it as "more".
    budget = MAX_SECTION_CHARS - len(head) - len(f"\n{ELLIPSIS} and {len(bundle.matches)} more")
    lines: list[str] = []
    for m in top_matches(bundle.matches, MAX_DIGEST_LINKS):
        line = f"• {_title_link(m)} — {_outlet(m)}"
        budget -= len(line) + 1
        if budget < 0:
            break
        lines.append(line)
    if len(bundle.matches) > len(lines):
        lines.append(f"{ELLIPSIS} and {len(bundle.matches) - len(lines)} more")
    return "\n".join([head, *lines])
