"""Coverage report of one claim: a self-contained HTML page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

import asyncio
import functools
import heapq
import html
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from string import Template
from typing import Literal, Protocol

from watcher import __version__
from watcher.domain import (
    LEANINGS,
    OWNERSHIPS,
    Article,
    ArticleVersion,
    Claim,
    ClaimStatus,
    Event,
    Match,
    MatchRevision,
    Stance,
    as_utc,
)
from watcher.errors import NotFoundError
from watcher.revisions import CONTEXT_WORDS, Diff, changed, event_time, word_diff
from watcher.shifts import first_of_stories, outlet_key, outlet_names, segment_value
from watcher.text.display import counted, display_title, strip_bidi

logger = logging.getLogger(__name__)

STANCES = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)
STANCE_COLORS = {Stance.SUPPORTS: "#2f6db3", Stance.NEUTRAL: "#a9b1bc", Stance.DISPUTES: "#e0701f"}
LEANING_COLORS = {
    "left": "#1d4e9e",
    "lean-left": "#74a0dc",
    "center": "#8e7cc3",
    "lean-right": "#e58e8e",
    "right": "#b3282d",
    "unknown": "#c9ced6",
}
OWNERSHIP_COLORS = {"private": "#4e79a7", "public": "#59a14f", "state": "#d1495b", "unknown": "#c9ced6"}
# Tableau 10 without its grey, which stays for "other".
COUNTRY_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
OTHER_COLOR = "#c9ced6"
EVENT_LABELS = {
    "first_seen": "First seen",
    "coverage_spike": "Coverage spike",
    "new_segment": "New segment",
    "framing_shift": "Framing shift",
    "article_revised": "Article revised",
}

MIN_BUCKETS = 12  # a lone article still gets some time around it, not one bar across the page
MAX_OUTLETS = 12
MAX_ROWS = 2000  # the newest; beyond that a page gets slow to open and nobody scrolls that far
# The newest events charted and listed: each is drawn on every chart, and thousands made a page of tens of MB
# that took seconds to build (a claim whose articles are revised all day gathers an event per revision).
MAX_EVENTS = 200
# Nothing can load or run: the page is meant to be mailed around and opened from disk.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_SAFE_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+\Z", re.IGNORECASE)
SKEPTICISM_NOTE = (
    "Skepticism, 0–1: how much distancing and doubt surround the claim in an article (attribution, hedges, "
    "scare quotes, denials); 0 = stated plainly."
)
# A quote in a cue matches straight and curly quotes alike.
_QUOTES = {'"': '["“”„«»]', "'": "['‘’]"}
EVIDENCE_CHARS = 280

# Chart geometry, in SVG user units (the SVG scales to the page width). The space above the plot grows with
# the number of marker lanes the events need.
_W, _PLOT_H = 960, 200
_LEFT, _RIGHT, _BOTTOM = 44, 16, 40
_R = 8  # event marker radius
_LANE = 2 * _R + 4  # vertical distance between marker lanes
_GAP = 2 * _R + 3  # least horizontal distance between two markers in one lane
MAX_LANES = 4  # beyond that a crowded marker moves right rather than up, while the plot has room


class ReportSource(Protocol):
    """What a report reads from the store (``storage.sql.SqlStore`` provides it)."""

    async def get_claim(self, ref: str | int, *, include_deleted: bool = False) -> Claim: ...
    async def match_summaries_for_claim(self, claim_id: int) -> list[Match]: ...
    async def matches_by_id(self, ids: Sequence[int]) -> list[Match]: ...
    async def event_summaries_for_claim(self, claim_id: int) -> list[Event]: ...
    async def events_by_id(self, ids: Sequence[str]) -> list[Event]: ...
    async def revisions_for_claim(self, claim_id: int) -> list[MatchRevision]: ...


async def build_report(store: ReportSource, claim_ref: str | int) -> str:
    """The HTML report of a claim by id or name; raises NotFoundError for an unknown claim.

    Removed claims are still reported: their history stays in the database for exactly this.
    """
    claim = await store.get_claim(claim_ref, include_deleted=True)
    try:
        await store.get_claim(claim.id)
        removed = False
    except NotFoundError:
        removed = True  # found only among the removed claims
    # The figures read every match and event, but only what they count by; the rows and events shown in full
    # (text, cues, versions, summaries) are read by id: a claim of 100,000 matches loaded whole took seconds
    # and hundreds of MB for a page that shows 2,000 of them.
    matches = await store.match_summaries_for_claim(claim.id)
    events = await store.event_summaries_for_claim(claim.id)
    revisions = await store.revisions_for_claim(claim.id)
    logger.debug("report for claim %s: %d matches, %d events", claim.name, len(matches), len(events))
    # In worker threads: a claim with many matches takes seconds to render, and the daemon's event loop (its
    # polls, deliveries and /healthz) must not wait for a page.
    rows, shown = await asyncio.to_thread(_shown, matches, events)
    full_rows = {m.id: m for m in await store.matches_by_id([m.id for m in rows])}
    full_events = {e.id: e for e in await store.events_by_id([e.id for e in shown])}
    return await asyncio.to_thread(
        render_report,
        claim,
        matches,
        events,
        now=datetime.now(UTC),
        revisions=revisions,
        removed=removed,
        # A match or event deleted between the two reads (nothing deletes them today) would keep its summary.
        shown_rows=[full_rows.get(m.id, m) for m in rows],
        shown_events=[full_events.get(e.id, e) for e in shown],
    )


def _shown(matches: Sequence[Match], events: Sequence[Event]) -> tuple[list[Match], list[Event]]:
    """The table's rows and the events charted, as :func:`render_report` picks them."""
    return newest_matches(matches, MAX_ROWS), newest_events(events, MAX_EVENTS)


def render_report(
    claim: Claim,
    matches: Sequence[Match],
    events: Sequence[Event],
    *,
    now: datetime,
    revisions: Sequence[MatchRevision] = (),
    removed: bool = False,
    shown_rows: Sequence[Match] | None = None,
    shown_events: Sequence[Event] | None = None,
) -> str:
    """The report page as one HTML document; every feed-derived string is escaped, links are http(s) only.

    ``revisions`` are the claim's stored match revisions: an article whose stance a revision changed shows
    the stance it was published with beside the one it has now. ``removed``: the claim was removed, so its
    coverage ends where watcher stopped looking, not where the press did.

    ``shown_rows`` and ``shown_events``: the table's rows (``newest_matches(matches, MAX_ROWS)``) and the
    events charted (``newest_events(events, MAX_EVENTS)``) in full, in that order, where ``matches`` and
    ``events`` are summaries (``Store.match_summaries_for_claim``, ``Store.event_summaries_for_claim``);
    None: picked from ``matches`` and ``events``, which are then full records.
    """
    stories = group_stories(matches)
    names = outlet_names(matches)
    restanced = stance_changes(matches, revisions)
    ordered_events = sorted(events, key=_event_order)
    shown = list(shown_events) if shown_events is not None else ordered_events[-MAX_EVENTS:]
    buckets = choose_buckets([s.at for s in stories] + [event_time(e) for e in shown], now)
    return _PAGE.substitute(
        title=_e(f"{claim.name} — coverage report"),
        header=_header(claim, stories, removed=removed),
        figures=_figures(matches, stories, ordered_events, names),
        timeline=_timeline(
            stories, shown, buckets, restanced, claim=claim, older=len(ordered_events) - len(shown)
        ),
        outlets=_outlets(matches, names),
        table=_table(matches, {s.first.id for s in stories}, restanced, shown_rows),
        footer=_footer(now, buckets),
        css=_CSS,
        csp=CSP,
    )


# --- records -> numbers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dated:
    """When an article counts as published, and on what basis.

    ``basis`` is "published" (the feed's date), "clamped" (the feed's date was later than when watcher first
    saw the article, so first seen is used) or "undated" (no date in the feed: first seen).
    """

    at: datetime
    basis: Literal["published", "clamped", "undated"]
    feed_date: datetime | None = None


def publication_time(article: Article) -> Dated:
    """The article's publication time as the report uses it: ``published_at`` clamped to no later than
    ``first_seen_at``, else ``first_seen_at``."""
    seen = as_utc(article.first_seen_at)
    if article.published_at is None or article.published_at_basis == "first_seen":
        return Dated(seen, "undated")
    published = as_utc(article.published_at)
    if published > seen:
        return Dated(seen, "clamped", published)
    if article.published_at_basis == "clamped":  # stored clamped: the feed's own date is not kept
        return Dated(seen, "clamped")
    return Dated(published, "published", published)


@dataclass(frozen=True, slots=True)
class Story:
    """One story as matched: its copies count once, at the first published (``at`` and ``basis`` as
    :func:`publication_time` has them)."""

    first: Match
    at: datetime
    basis: Literal["published", "clamped", "undated"]


def group_stories(matches: Sequence[Match]) -> list[Story]:
    """Matches grouped by story, oldest publication first.

    A story is what shift detection counts as one (:func:`watcher.shifts.first_of_stories`), so that the report's
    counts agree with the numbers in the claim's events: the articles storage links (same ``story_id``), and
    every article with the same headline and claim sentences published within ``shifts.COPY_SPAN`` of the first (a
    wire story reprinted under another link and byline). Its first is the earliest published.
    """
    return [_story(m) for m in first_of_stories(matches)]


def _story(first: Match) -> Story:
    # Each story's publication time once: the header, buckets, charts and notes all read it.
    dated = publication_time(first.article)
    return Story(first, dated.at, dated.basis)


@dataclass(frozen=True, slots=True)
class Restance:
    """A match whose stance a revision of its article changed: ``was`` as first framed, until ``at``."""

    was: Stance
    at: datetime


def stance_changes(matches: Sequence[Match], revisions: Sequence[MatchRevision]) -> dict[int, Restance]:
    """By match id, the matches whose stance now is not the one they were first framed with.

    The charts and figures count each article with its stance now; this is what says which ones had
    another at first, and since when they have this one (the last revision that changed the stance).
    """
    by_match: dict[int, list[MatchRevision]] = {}
    for r in revisions:
        by_match.setdefault(r.match_id, []).append(r)
    out = {}
    for m in matches:
        if m.id not in by_match:  # most articles are never revised
            continue
        revised = sorted(by_match[m.id], key=lambda r: (as_utc(r.revised_at), r.id))
        first = _stance_of(revised[0].before) if revised else None
        if first is None or first == m.stance:
            continue
        changed_at = [
            r.revised_at
            for r in revised
            if (after := _stance_of(r.after)) is not None and after != _stance_of(r.before)
        ]
        out[m.id] = Restance(was=first, at=as_utc(changed_at[-1] if changed_at else revised[-1].revised_at))
    return out


def _stance_of(state: object) -> Stance | None:
    """The stance of a revision's ``before`` or ``after``; None where it did not match."""
    try:
        return Stance(state["stance"]) if isinstance(state, dict) and state.get("matched", True) else None
    except (KeyError, ValueError):
        return None


ADVERBS = {"hour": "hourly", "day": "daily", "week": "weekly"}  # a bucket's unit in the footer


@dataclass(frozen=True, slots=True)
class Buckets:
    """The timeline's time axis: ``count`` buckets of ``step`` from ``start`` (UTC)."""

    unit: str  # hour | day | week
    start: datetime
    step: timedelta
    count: int

    def index(self, t: datetime) -> int:
        return min(self.count - 1, max(0, int((as_utc(t) - self.start) / self.step)))

    def at(self, i: int) -> datetime:
        return self.start + i * self.step


def choose_buckets(times: Sequence[datetime], now: datetime) -> Buckets | None:
    """Hourly buckets for up to three days of coverage, daily up to half a year, weekly beyond."""
    if not times:
        return None
    first, last = min(times), max(times)
    span = last - first
    unit = "hour" if span <= timedelta(days=3) else "day" if span <= timedelta(days=183) else "week"
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[unit]
    start, end = _floor(first, unit), _floor(last, unit)
    count = int((end - start) / step) + 1
    if count < MIN_BUCKETS:
        # Pad forward up to now (never into the future), the rest backwards.
        ahead = max(0, min(MIN_BUCKETS - count, int((_floor(as_utc(now), unit) - end) / step)))
        start -= (MIN_BUCKETS - count - ahead) * step
        count = MIN_BUCKETS
    return Buckets(unit=unit, start=start, step=step, count=count)


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    color: str
    counts: tuple[int, ...]  # stories per bucket


@dataclass(frozen=True, slots=True)
class View:
    key: str  # stance | country | leaning | ownership
    label: str
    series: tuple[Series, ...]  # stacked bottom to top


def build_views(stories: Sequence[Story], buckets: Buckets) -> list[View]:
    """The timeline four ways: by stance, and by the outlet's country, leaning and ownership."""
    # Each story's bucket and segments once for all four views: a claim's report may chart 100,000 stories.
    slots = [buckets.index(s.at) for s in stories]
    articles = [s.first.article for s in stories]
    return [
        _view("stance", "Stance", [s.first.stance.value for s in stories], slots, buckets,
              [(s.value, s.value.capitalize(), STANCE_COLORS[s]) for s in STANCES]),
        _country_view(_each(_country, [a.country for a in articles]), slots, buckets),
        _view("leaning", "Leaning", _each(_leaning, [a.leaning for a in articles]), slots, buckets,
              [(k, k, LEANING_COLORS[k]) for k in LEANINGS]),
        _view("ownership", "Ownership", _each(_ownership, [a.ownership for a in articles]), slots, buckets,
              [(k, k, OWNERSHIP_COLORS[k]) for k in OWNERSHIPS]),
    ]  # fmt: skip


def _view(
    key: str,
    label: str,
    segments: Sequence[str],
    slots: Sequence[int],
    buckets: Buckets,
    keys: Sequence[tuple[str, str, str]],
) -> View:
    """``segments`` and ``slots``: each story's segment key and bucket index."""
    counts = {k: [0] * buckets.count for k, _, _ in keys}
    for (segment, slot), n in Counter(zip(segments, slots, strict=True)).items():
        counts[segment][slot] += n
    # Segments nobody covered would only clutter the legend.
    series = tuple(Series(k, lab, color, tuple(counts[k])) for k, lab, color in keys if any(counts[k]))
    return View(key, label, series)


def _country_view(countries: Sequence[str], slots: Sequence[int], buckets: Buckets) -> View:
    """``countries``: each story's country (:func:`_country`)."""
    ranked = [c for c, _ in Counter(countries).most_common()]
    # With one country more than colours, naming it beats an "other" of one.
    top = ranked if len(ranked) <= len(COUNTRY_PALETTE) + 1 else ranked[: len(COUNTRY_PALETTE)]
    palette = (*COUNTRY_PALETTE, OTHER_COLOR)
    keys = [(c, "unknown" if c == "ZZ" else c, palette[i]) for i, c in enumerate(top)]
    named = set(top)
    segments = [c if c in named else "other" for c in countries]
    return _view("country", "Country", segments, slots, buckets, [*keys, ("other", "other", OTHER_COLOR)])


def _country(value: str) -> str:
    # Compared as shift detection compares segments: " us" and "US" are one country, "unknown" none.
    return _segment(("country", value)) or "ZZ"


def _leaning(value: str) -> str:
    return _known("leaning", value, LEANINGS)


def _ownership(value: str) -> str:
    return _known("ownership", value, OWNERSHIPS)


def _known(dimension: str, value: str, allowed: Sequence[str]) -> str:
    normalised = _segment((dimension, value))
    return normalised if normalised is not None and normalised in allowed else "unknown"


def _each(key: Callable[[str], str], values: Sequence[str]) -> list[str]:
    """``key`` of each value, worked out once per distinct value: a claim's articles come from a few hundred
    feeds, so their outlets, countries, leanings and ownerships repeat."""
    of = {value: key(value) for value in set(values)}
    return [of[value] for value in values]


def _count_by(key: Callable[[str], str], values: Iterable[str]) -> Counter[str]:
    """``values`` counted by ``key``, worked out once per distinct value. Keys are in order of first occurrence,
    as counting ``key(value)`` for each value would have them (``most_common`` breaks ties by that order)."""
    counts: Counter[str] = Counter()
    for value, n in Counter(values).items():
        counts[key(value)] += n
    return counts


_outlet_key = functools.lru_cache(maxsize=4096)(outlet_key)


@functools.lru_cache(maxsize=4096)
def _segment(dimension_value: tuple[str, str]) -> str | None:
    # A claim's articles come from a few hundred feeds: each spelling is normalised once, not per article.
    return segment_value(*dimension_value)


def place_markers(xs: Sequence[float], right: float = _W - _RIGHT) -> list[tuple[float, int]]:
    """Where the event markers go, as (x, lane) for marker positions ``xs`` in ascending order.

    No two markers overlap: a marker takes the lowest lane where it clears the last marker by ``_GAP``; with
    ``MAX_LANES`` taken it moves right of the lane that frees first, and where that would leave the plot
    (``right``) it opens one more lane. Its stem still points at the true time.
    """
    lanes: list[float] = []
    placed = []
    for x in xs:
        free = next((i for i, last in enumerate(lanes) if x - last >= _GAP), None)
        if free is None and len(lanes) >= MAX_LANES:
            soonest = min(range(len(lanes)), key=lanes.__getitem__)
            if lanes[soonest] + _GAP <= right:
                free, x = soonest, lanes[soonest] + _GAP
        if free is None:
            lanes.append(x)
            free = len(lanes) - 1
        lanes[free] = x
        placed.append((x, free))
    return placed


# --- text rules -------------------------------------------------------------------------------------------


def highlight(sentence: str, spans: Iterable[str]) -> str:
    """The sentence as escaped HTML with each span in ``<mark>``: case-insensitive, whole words, any run of
    whitespace between words, straight or curly quotes alike. Overlapping or touching hits merge into one
    mark, so marks never nest; spans not in the sentence are ignored."""
    text = strip_bidi(sentence)
    hits = sorted(h for span in spans if (p := _span_pattern(span)) for h in _finds(p, text))
    merged: list[list[int]] = []
    for start, end in hits:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(f"{_e(text[pos:start])}<mark>{_e(text[start:end])}</mark>")
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def excerpt(sentence: str, spans: Iterable[str], limit: int = EVIDENCE_CHARS) -> str:
    """The sentence cut to about ``limit`` characters, keeping its first cue in view (bidi controls dropped)."""
    text = strip_bidi(sentence)
    if len(text) <= limit:
        return text
    hits = [h for span in spans if (p := _span_pattern(span)) for h in _finds(p, text)]
    start = max(0, min(hits)[0] - limit // 3) if hits else 0
    if start == 0:
        return text[: limit - 1].rstrip() + "…"
    if len(text) - start < limit:
        return "…" + text[len(text) - limit + 1 :].lstrip()
    return "…" + text[start : start + limit - 2].strip() + "…"


# A claim's cues repeat from row to row ("claimed", "reportedly"): each span becomes a pattern once.
@functools.lru_cache(maxsize=4096)
def _span_pattern(span: str) -> re.Pattern[str] | None:
    # Cues are tokens joined by spaces ("Moscow denied", "claims , without"): words need whitespace between
    # them, punctuation may sit right against a word.
    tokens = strip_bidi(span).split()
    if not tokens:
        return None
    parts = []
    for i, token in enumerate(tokens):
        if i:
            parts.append(r"\s+" if tokens[i - 1][-1].isalnum() and token[0].isalnum() else r"\s*")
        parts.append("".join(_QUOTES.get(ch) or re.escape(ch) for ch in token))
    head = r"(?<!\w)" if tokens[0][0].isalnum() else ""
    tail = r"(?!\w)" if tokens[-1][-1].isalnum() else ""
    return re.compile(head + "".join(parts) + tail, re.IGNORECASE)


def _finds(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start()]


# --- HTML sections ----------------------------------------------------------------------------------------


def _header(claim: Claim, stories: Sequence[Story], *, removed: bool) -> str:
    badge = ' <span class="badge paused">paused</span>' if claim.status is ClaimStatus.PAUSED else ""
    meta = []
    if claim.status is ClaimStatus.PAUSED:
        meta.append("paused: articles are not matched against it meanwhile")
    if removed:
        badge = ' <span class="badge removed">removed</span>'
        meta.append("removed: no longer tracked, so coverage since is missing")
    if claim.keywords:
        meta.append("Keywords: " + ", ".join(_e(k) for k in claim.keywords))
    if claim.created_at is not None:
        meta.append(f"tracked since {_fmt(claim.created_at, '%d %b %Y')}")
    if stories:
        first, last = (_fmt(s.at, "%d %b %Y %H:%M") for s in (stories[0], stories[-1]))
        meta.append(f'<span class="coverage">coverage {first} – {last} UTC, by publication time</span>')
    return (
        '<header class="top">'
        '<p class="kicker">Claim coverage report</p>'
        f"<h1>{_e(claim.name)}{badge}</h1>"
        f'<p class="claim-text">“{_e(claim.text)}”</p>'
        f'<p class="meta">{" · ".join(meta)}</p>'
        "</header>"
    )


def _figures(
    matches: Sequence[Match], stories: Sequence[Story], events: Sequence[Event], names: dict[str, str]
) -> str:
    """``names``: :func:`watcher.shifts.outlet_names` of ``matches``."""
    outlets = _count_by(_outlet_key, (m.article.outlet for m in matches))
    # ZZ (no country configured) is no country: it neither counts as one nor names one.
    countries = _count_by(_country, (m.article.country for m in matches))
    unplaced = countries.pop("ZZ", 0)
    stance = Counter(s.first.stance for s in stories)
    n = len(stories)
    copies = len(matches) - n
    disputing = f"{stance[Stance.DISPUTES] / n:.0%}" if n else "–"
    top_outlet = f"most: {_feed(names[outlets.most_common(1)[0][0]])}" if outlets else "none yet"
    top_countries = ", ".join(_e(c) for c, _ in countries.most_common(4)) if countries else "none yet"
    if unplaced:
        top_countries = (
            f"{top_countries} · {counted(unplaced, 'article', 'articles')} unknown"
            if countries
            else "unknown"
        )
    last_event = f"last: {_event_label(events[-1])}" if events else "none yet"
    wire = f"{counted(len(matches), 'article', 'articles')}, {counted(copies, 'wire copy', 'wire copies')}"
    cards = [
        ("stories", "Stories", str(n), wire),
        ("outlets", "Outlets", str(len(outlets)), top_outlet),
        ("countries", "Countries", str(len(countries)), top_countries),
        ("disputing", "Disputing", disputing, f"{stance[Stance.DISPUTES]} of {n} stories"),
        ("events", "Events", str(len(events)), last_event),
    ]
    items = "".join(
        f'<div class="figure" data-figure="{key}"><span class="label">{label}</span>'
        f'<span class="value">{value}</span><span class="sub">{sub}</span></div>'
        for key, label, value, sub in cards
    )
    return f'<section class="figures">{items}</section>{_stance_mix(stance, n)}'


def _stance_mix(stance: Counter[Stance], n: int) -> str:
    if not n:
        return ""
    parts = "".join(
        f'<span class="seg s-{s.value}" style="flex-grow:{stance[s]}" title="{s.value}: {stance[s]} of {n}">'
        "</span>"
        for s in STANCES
        if stance[s]
    )
    legend = " · ".join(
        f'<span class="key"><i class="dot s-{s.value}"></i>{s.value} {stance[s] / n:.0%}</span>'
        for s in STANCES
    )
    return f'<div class="mix"><div class="mixbar">{parts}</div><div class="mixlegend">{legend}</div></div>'


def _timeline(
    stories: Sequence[Story],
    events: Sequence[Event],
    buckets: Buckets | None,
    restanced: dict[int, Restance],
    *,
    claim: Claim,
    older: int,
) -> str:
    """The charts and the events list; ``events`` are the newest (see ``MAX_EVENTS``), ``older`` the others."""
    head = '<section class="card timeline"><h2>Coverage timeline</h2>'
    events_html = _events_list(events, _event_format(buckets), claim=claim, older=older)
    if buckets is None or not stories:
        empty = '<p class="empty">No coverage yet: no article has matched this claim.</p>'
        return f"{head}{empty}{events_html}</section>"
    views = build_views(stories, buckets)
    per = buckets.unit
    tabs = "".join(
        f'<input type="radio" name="view" id="view-{v.key}" value="{v.key}"{" checked" if i == 0 else ""}>'
        f'<label for="view-{v.key}">{v.label}</label>'
        for i, v in enumerate(views)
    )
    charts = "".join(
        f'<figure class="chart" id="chart-{v.key}" data-view="{v.key}">{_svg(v, buckets, events, per)}'
        f"{_legend(v, bool(events))}</figure>"
        for v in views
    )
    fallback = sum(s.basis != "published" for s in stories)
    undated = (
        f" Without a usable feed date, {fallback} of {len(stories)} sit at first seen." if fallback else ""
    )
    # An undated item of a feed's first poll is first seen when watcher imported the feed's archive: a bar
    # there is no burst of coverage, and shift detection leaves such items out of every window.
    archive = sum(s.first.article.backlog for s in stories)
    if archive:
        undated += (
            f" {archive} of them are undated items of a feed's first poll: archive of unknown age, charted when "
            "watcher imported it and left out of the events' counts."
        )
    # The events replay coverage as it was framed at each moment; the chart shows each story as framed now.
    # Where a revision changed that, say so: a framing_shift then sits at the revision, not at the bar.
    moved = sum(s.first.id in restanced for s in stories)
    revised = (
        f" {moved} of {len(stories)} changed stance in a revision: charted with their stance now."
        if moved
        else ""
    )
    dropped = sum(s.first.unmatched_at is not None for s in stories)
    gone = f" {dropped} of {len(stories)} no longer match the claim after a revision." if dropped else ""
    note = (
        f'<p class="note">Stories per {per} (UTC) by publication time; wire copies count once, at their first '
        f"publication.{undated}{revised}{gone}</p>"
    )
    views_html = f'<div class="views"><span class="viewlabel">Stack by</span>{tabs}{charts}</div>'
    return f"{head}{note}{views_html}{events_html}</section>"


def _svg(view: View, buckets: Buckets, events: Sequence[Event], per: str) -> str:
    totals = [sum(s.counts[i] for s in view.series) for i in range(buckets.count)]
    top, tick = _nice_axis(max(totals, default=0))
    slot = (_W - _LEFT - _RIGHT) / buckets.count
    xs = [_event_x(e, buckets, slot) for e in events]
    heads = place_markers([min(_W - _RIGHT - _R, max(_LEFT + _R, x)) for x in xs])
    lanes = 1 + max((lane for _, lane in heads), default=-1)
    plot_top = 14 + lanes * _LANE
    height = plot_top + _PLOT_H + _BOTTOM
    parts = [_y_axis(top, tick, plot_top)]
    for i in range(buckets.count):
        parts.append(_stack(view, buckets, i, top, slot, plot_top))
    parts.append(_x_axis(buckets, slot, plot_top + _PLOT_H))
    # Every stem first, then every head, so a stem never crosses a numbered circle.
    stems, markers = [], []
    for n, (e, x, (hx, lane)) in enumerate(zip(events, xs, heads, strict=True), 1):
        hy = plot_top - 6 - _R - lane * _LANE
        stems.append(_stem(e, x, hx, hy, plot_top))
        markers.append(_marker(n, e, x, hx, hy, _event_format(buckets)))
    parts += stems + markers
    label = f"Stories per {per} by {view.label.lower()}"
    return (
        f'<svg class="plot" viewBox="0 0 {_W} {height}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _stack(view: View, buckets: Buckets, i: int, top: int, slot: float, plot_top: float) -> str:
    bar_w = min(slot * 0.78, 48.0)
    x = _LEFT + i * slot + (slot - bar_w) / 2
    y = float(plot_top + _PLOT_H)
    total = sum(s.counts[i] for s in view.series)
    when = _bucket_label(buckets, i)
    out = []
    for s in view.series:
        n = s.counts[i]
        if not n:
            continue
        h = n / top * _PLOT_H
        y -= h
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{s.color}" data-key="{_e(s.key)}" data-bucket="{i}" data-count="{n}">'
            f"<title>{_e(when)}\n{_e(s.label)}: {n} of {total}</title></rect>"
        )
    return "".join(out)


def _y_axis(top: int, tick: int, plot_top: float) -> str:
    out = []
    for v in range(0, top + 1, tick):
        y = plot_top + _PLOT_H - v / top * _PLOT_H
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{v}</text>'
        )
    out.append(f'<text class="axis" x="4" y="{plot_top - 14}">stories</text>')
    return "".join(out)


def _x_axis(buckets: Buckets, slot: float, base: float) -> str:
    every = max(1, math.ceil(buckets.count / 10))
    out = [f'<line class="baseline" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{base}" y2="{base}"/>']
    prev = ""
    for i in range(0, buckets.count, every):
        t = buckets.at(i)
        x = _LEFT + (i + 0.5) * slot
        out.append(f'<line class="tickmark" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>')
        if buckets.unit == "hour":
            day = t.strftime("%d %b")
            second = f'<tspan x="{x:.1f}" dy="13">{day}</tspan>' if day != prev else ""
            prev = day
            text = f"{t:%H:%M}{second}"
        else:
            # The year under the first tick and under each tick in a new year: the axis may span several.
            year = f"{t:%Y}"
            second = f'<tspan x="{x:.1f}" dy="13">{year}</tspan>' if year != prev else ""
            prev = year
            text = f"{t:%d %b}{second}"
        out.append(f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">{text}</text>')
    return "".join(out)


def _event_x(event: Event, buckets: Buckets, slot: float) -> float:
    offset = (event_time(event) - buckets.start) / buckets.step
    return min(_W - _RIGHT, max(_LEFT, _LEFT + offset * slot))


def _stem(event: Event, x: float, hx: float, hy: float, plot_top: float) -> str:
    """The dashed line from a marker's head down to its time on the axis."""
    base = plot_top + _PLOT_H
    return (
        f'<polyline class="stem t-{_e(event.type.value)}" '
        f'points="{hx:.1f},{hy:.1f} {x:.1f},{plot_top:.1f} {x:.1f},{base:.1f}"/>'
    )


def _marker(n: int, event: Event, x: float, hx: float, hy: float, fmt: str) -> str:
    kind = event.type.value
    title = f"#{n} {EVENT_LABELS.get(kind, kind)} · {_fmt(event_time(event), fmt)} UTC\n{event.summary}"
    return (
        f'<g class="event t-{_e(kind)}" data-type="{_e(kind)}" data-event="{_e(event.id)}" data-x="{x:.1f}">'
        f"<title>{_e(title)}</title>"
        f'<circle cx="{hx:.1f}" cy="{hy:.1f}" r="{_R}"/>'
        f'<text x="{hx:.1f}" y="{hy + 3.5:.1f}" text-anchor="middle">{n}</text></g>'
    )


def _legend(view: View, with_events: bool) -> str:
    items = [
        f'<li><i class="sw" style="background:{s.color}"></i>{_e(s.label)} <b>{sum(s.counts)}</b></li>'
        for s in view.series
    ]
    if with_events:
        items.append('<li><i class="sw event-sw"></i>numbered event: see the list below</li>')
    return f'<ul class="legend">{"".join(items)}</ul>'


def _nice_axis(peak: int) -> tuple[int, int]:
    """The axis maximum and tick step: whole stories, about four gridlines."""
    if peak <= 4:
        return max(peak, 1), 1
    raw = peak / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return math.ceil(peak / step) * step, step


def _event_format(buckets: Buckets | None) -> str:
    """How an event's time reads: day and month, with the year too once the timeline spans two years, where
    "06 Nov" alone would name two days."""
    if buckets is not None and buckets.start.year != buckets.at(buckets.count - 1).year:
        return "%d %b %Y %H:%M"
    return "%d %b %H:%M"


def _events_list(events: Sequence[Event], fmt: str, *, claim: Claim, older: int) -> str:
    """The numbered list that keys the chart's markers: same numbers, same colours, right under the chart;
    ``older`` events not charted are counted in a note that says where to read them."""
    head = f'<div class="eventlist"><h3>Events <span class="count">{len(events) + older}</span></h3>'
    if older:
        total = len(events) + older
        head += (
            f'<p class="note">The newest {len(events)} are charted and listed; <code>watcher events list '
            f"--claim {_e(claim.id)} --limit {total}</code> shows all {total}.</p>"
        )
    if not events:
        return head + '<p class="empty">No events yet.</p></div>'
    items = "".join(
        f'<li class="t-{_e(e.type.value)}" id="event-{n}"><span class="num">{n}</span>'
        f'<time datetime="{_iso(event_time(e))}">{_fmt(event_time(e), fmt)}</time>'
        f'<span class="etype">{_event_label(e)}</span>{_BACKFILL if e.backfill else ""}'
        f'<span class="summary">{_feed(e.summary)}</span></li>'
        for n, e in enumerate(events, 1)
    )
    return f'{head}<ol class="events">{items}</ol></div>'


_BACKFILL = (
    '<span class="badge backfill" title="Found while importing older coverage (a new feed\'s first poll or '
    'a backfill): recorded, not delivered">backfill</span>'
)


def _outlets(matches: Sequence[Match], names: dict[str, str]) -> str:
    if not matches:
        return ""
    # One outlet however its feeds spell it ("BBC News", "bbc news "), named as its first article does.
    named = _each(lambda outlet: names[_outlet_key(outlet)], [m.article.outlet for m in matches])
    by_outlet: dict[str, list[Match]] = {}
    for m, name in zip(matches, named, strict=True):
        by_outlet.setdefault(name, []).append(m)
    ranked = sorted(by_outlet.items(), key=lambda kv: (-len(kv[1]), kv[0].casefold()))
    rows = "".join(_outlet_row(name, ms) for name, ms in ranked[:MAX_OUTLETS])
    more = len(ranked) - MAX_OUTLETS
    tail = f'<p class="note">and {more} more outlets in the table below.</p>' if more > 0 else ""
    return (
        '<section class="card"><h2>Who covers it, and how</h2>'
        f'<p class="note skepticism-note">{_e(SKEPTICISM_NOTE)}</p>'
        '<table class="outlets"><thead><tr><th class="outlet">Outlet</th><th>Country</th><th>Leaning</th>'
        '<th>Ownership</th><th class="num">Articles</th><th>Stance</th>'
        '<th class="num">Skepticism</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{tail}</section>"
    )


def _outlet_row(name: str, ms: Sequence[Match]) -> str:
    a = ms[0].article
    stance = Counter(m.stance for m in ms)
    bar = "".join(
        f'<span class="seg s-{s.value}" style="flex-grow:{stance[s]}"></span>' for s in STANCES if stance[s]
    )
    text = " · ".join(f"{stance[s]} {s.value}" for s in STANCES if stance[s])
    levels = [_clamp01(m.skepticism) for m in ms]
    mean = sum(levels) / len(levels)
    spread = f"mean of {len(levels)} articles, {min(levels):.2f}–{max(levels):.2f}"
    return (
        f'<tr class="outlet"><td class="outlet">{_feed(name)}</td><td>{_e(a.country)}</td>'
        f"<td>{_e(a.leaning)}</td><td>{_e(a.ownership)}</td>"
        f'<td class="num">{len(ms)}</td><td><div class="mixbar small">{bar}</div>'
        f'<span class="mixtext">{text}</span></td>'
        f'<td class="num skepticism" title="{spread}">{mean:.2f}{_meter(mean)}</td></tr>'
    )


def _table(
    matches: Sequence[Match],
    firsts: set[int],
    restanced: dict[int, Restance],
    shown: Sequence[Match] | None = None,
) -> str:
    """``shown``: the rows in full, newest first (see :func:`render_report`); None: picked from ``matches``."""
    head = f'<section class="card"><h2>Matched articles <span class="count">{len(matches)}</span></h2>'
    if not matches:
        return (
            f'{head}<p class="empty">No coverage yet: articles appear here once feeds carry it.</p></section>'
        )
    ordered = list(shown) if shown is not None else newest_matches(matches, MAX_ROWS)
    # The match score only tells an editor something when it tells articles apart: with one article, or all
    # scores equal at two decimals, the column would repeat one number on every row, so it becomes one line
    # of the note instead. Where scores differ it stays, small and muted: a qualifier, not a headline.
    scores = {f"{m.score:.2f}" for m in matches}
    show_score = len(scores) > 1
    cols = ["Published (UTC)", "Outlet", "Stance", "Skepticism", *(["Score"] if show_score else []),
            "Article", "Evidence and cues"]  # fmt: skip
    ths = "".join(f'<th class="{_column_class(c)}"{_column_title(c)}>{c}</th>' for c in cols)
    rows = "".join(
        _row(m, show_score, copy=m.id not in firsts, restance=restanced.get(m.id)) for m in ordered
    )
    more = len(matches) - MAX_ROWS
    notes = ["Newest first, by publication time; highlighted words carry the stance."]
    if not show_score:
        notes.append(f"Match score {scores.pop()} for every article.")
    # A revision that drops the claim does not undo the coverage the article was: it stays counted, as shift
    # detection counts it, and is marked so that nobody quotes it as saying so now.
    dropped = sum(m.unmatched_at is not None for m in matches)
    if dropped:
        notes.append(
            f"{dropped} of {len(matches)} no longer match the claim after a revision: marked, and counted as "
            "the coverage they were."
        )
    tail = f'<p class="note">and {more} older articles: <code>watcher matches list</code> shows them all.</p>'
    return (
        f'{head}<p class="note">{" ".join(notes)}</p>'
        f'<div class="scroll"><table class="matches"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{tail if more > 0 else ''}</section>"
    )


def newest_matches(matches: Sequence[Match], limit: int) -> list[Match]:
    """The ``limit`` newest matches by publication time, newest first: what the table shows, found without
    sorting every match of a claim (the same order as sorting them all, ties included)."""
    return heapq.nlargest(limit, matches, key=lambda m: (publication_time(m.article).at, m.article.id))


def newest_events(events: Sequence[Event], limit: int) -> list[Event]:
    """The ``limit`` (> 0) newest events by event time (ties by id), oldest first: what the timeline charts and
    lists."""
    return sorted(events, key=_event_order)[-limit:]


def _event_order(event: Event) -> tuple[datetime, str]:
    return event_time(event), event.id


def _column_class(column: str) -> str:
    classes = {"Published (UTC)": "when", "Skepticism": "num", "Score": "num score", "Article": "title"}
    return classes.get(column, column.split()[0].lower())


def _column_title(column: str) -> str:
    titles = {
        "Skepticism": SKEPTICISM_NOTE,
        "Score": "How closely the article matches the claim, 0–1",
        "Published (UTC)": "The feed's date, never later than when watcher first saw the article",
    }
    return f' title="{_e(titles[column])}"' if column in titles else ""


def _row(m: Match, show_score: bool, *, copy: bool, restance: Restance | None) -> str:
    a = m.article
    skepticism = _clamp01(m.skepticism)
    score = f'<td class="num score">{m.score:.2f}</td>' if show_score else ""
    return (
        f'<tr class="match" data-stance="{m.stance.value}">'
        f"{_published_cell(a)}"
        f'<td class="outlet">{_feed(a.outlet)}'
        f'<span class="segment">{_e(a.country)} · {_e(a.leaning)} · {_e(a.ownership)}</span></td>'
        f'<td><span class="pill s-{m.stance.value}">{m.stance.value}</span>{_was(restance)}{_unmatched(m)}</td>'
        f'<td class="num">{skepticism:.2f}{_meter(skepticism)}</td>'
        f"{score}{_title_cell(a, copy=copy)}{_evidence_cell(m)}</tr>"
    )


def _was(restance: Restance | None) -> str:
    """The stance an article was published with, where a revision changed it."""
    if restance is None:
        return ""
    when = _fmt(restance.at, "%d %b %Y %H:%M")
    return (
        f'<span class="dateflag restanced" title="First framed as {restance.was.value}; '
        f'{when} UTC a revision changed that">was {restance.was.value}</span>'
    )


def _unmatched(m: Match) -> str:
    """The flag of an article whose current version no longer matches the claim: its stance, evidence and
    cues are those of the version that matched."""
    if m.unmatched_at is None:
        return ""
    when = _fmt(m.unmatched_at, "%d %b %Y %H:%M")
    return (
        f'<span class="dateflag unmatched" title="Seen revised {when} UTC: the current version no longer '
        'matches the claim. Stance, evidence and cues are those of the version that did.">'
        "no longer matches</span>"
    )


def _published_cell(a: Article) -> str:
    dated = publication_time(a)
    flag = ""
    if dated.basis == "undated":
        flag = (
            '<span class="dateflag" title="The feed gave no date: this is when watcher first saw the article">'
            "no date: first seen</span>"
        )
    elif dated.basis == "clamped":
        when = f" {_fmt(dated.feed_date, '%d %b %Y %H:%M')} UTC" if dated.feed_date is not None else ""
        flag = (
            f'<span class="dateflag" title="The feed dated it{when}, '
            'later than watcher first saw it: shown at first seen">date clamped</span>'
        )
    return (
        f'<td class="when" data-basis="{dated.basis}"><time datetime="{_iso(dated.at)}">'
        f"{_fmt(dated.at, '%d %b %Y')}<br>{_fmt(dated.at, '%H:%M')}</time>{flag}</td>"
    )


def _title_cell(a: Article, *, copy: bool) -> str:
    """The article's headline, linked, and, when its feed revised it, each revision's changes.

    ``copy``: the article is a later copy of a story (see :func:`group_stories`), so the figures count it
    once; the badge says which rows those are."""
    title, untitled = display_title(a)
    label = f'<span class="untitled">(untitled)</span> {_feed(title)}' if untitled else _feed(title)
    badge = ' <span class="badge copy" title="A copy of an earlier article (same story)">copy</span>'
    return f'<td class="title">{_link(a.url, label)}{badge if copy else ""}{_versions(a.versions)}</td>'


def _versions(versions: Sequence[ArticleVersion]) -> str:
    """ "revised N×", unfolding to each version's headline and text changes (removed words struck out)."""
    if len(versions) < 2:
        return ""
    items = "".join(_version_item(before, after) for before, after in pairwise(versions))
    n = len(versions) - 1
    return (
        f'<details class="versions"><summary>revised {n}×</summary>'
        f'<ol class="versions">{items}</ol></details>'
    )


def _version_item(before: ArticleVersion, after: ArticleVersion) -> str:
    when = _fmt(after.seen_at, "%d %b %Y %H:%M")
    parts = [f'<span class="vhead">v{after.version} · seen {when} UTC</span>']
    title = word_diff(before.title, after.title)
    if changed(title):
        parts.append(f'<span class="vdiff">{_diff_html(title)}</span>')
    text = word_diff(before.text, after.text, context=CONTEXT_WORDS)
    if changed(text):
        parts.append(f'<span class="vdiff vtext">{_diff_html(text)}</span>')
    return f"<li>{''.join(parts)}</li>"


def _diff_html(ops: Diff) -> str:
    """A word diff as escaped HTML: removed words in ``<del>``, added ones in ``<ins>``."""
    out = []
    for op, words in ops:
        if op == "-":
            out.append(f"<del>{_e(words)}</del>")
        elif op == "+":
            out.append(f"<ins>{_e(words)}</ins>")
        else:
            out.append(_e(words or op))
    return f"<bdi>{' '.join(out)}</bdi>"


def _evidence_cell(m: Match) -> str:
    """The best evidence sentence, and the first other one that carries a cue, with the cues marked.

    A disputing article's evidence starts with the disputing sentence, and the sentence that states the
    claim comes next: both are shown."""
    spans = [c.text for c in m.cues]
    shown = list(m.evidence[:1])
    if m.stance == Stance.DISPUTES:
        shown += m.evidence[1:2]
    else:
        shown += [s for s in m.evidence[1:] if "<mark>" in highlight(s, spans)][:1]
    sentences = "".join(
        f'<p class="quote" title="{_e(s)}"><bdi>{highlight(excerpt(s, spans), spans)}</bdi></p>'
        for s in shown
    )
    cues = "".join(
        f'<span class="cue" title="{_e(c.kind.replace("_", " "))}">{_feed(c.text)}</span>' for c in m.cues
    )
    cues_html = f'<div class="cues">{cues}</div>' if cues else ""
    return f'<td class="evidence">{sentences}{cues_html}</td>'


def _footer(now: datetime, buckets: Buckets | None) -> str:
    per = f" · timeline in {ADVERBS[buckets.unit]} buckets" if buckets else ""
    return (
        f"<footer>Generated {_fmt(now, '%d %b %Y %H:%M')} UTC by watcher {_e(__version__)} · "
        f"times in UTC{per} · stance: supports = the article presents the claim as true, "
        "neutral = it reports or attributes it, disputes = it questions or contradicts it.</footer>"
    )


# --- helpers ----------------------------------------------------------------------------------------------


def _e(text: object) -> str:
    """Escaped for HTML text and attributes, bidi controls dropped."""
    return html.escape(strip_bidi(str(text)), quote=True)


def _feed(text: str) -> str:
    """A string from a feed (a title, an outlet): escaped and isolated, so right-to-left text stays put."""
    return f"<bdi>{_e(text)}</bdi>"


def _link(url: str, label: str) -> str:
    """``label`` (HTML) as a link only for http(s) URLs: a feed can carry javascript: or data: links."""
    if not _SAFE_URL.match(url or ""):
        return f'<span class="nolink">{label}</span>'
    return f'<a href="{_e(url)}" rel="noopener noreferrer nofollow" target="_blank">{label}</a>'


def _clamp01(value: float) -> float:
    return max(0.0, min(1.0, value))


def _meter(value: float) -> str:
    return f'<span class="meter"><i style="width:{value:.0%}"></i></span>'


def _event_label(event: Event) -> str:
    return _e(EVENT_LABELS.get(event.type.value, event.type.value))


def _floor(t: datetime, unit: str) -> datetime:
    t = as_utc(t)
    if unit == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if unit == "day" else day - timedelta(days=day.weekday())


def _fmt(t: datetime, fmt: str = "%d %b %H:%M") -> str:
    return as_utc(t).strftime(fmt)


def _iso(t: datetime) -> str:
    return as_utc(t).isoformat().replace("+00:00", "Z")


def _bucket_label(buckets: Buckets, i: int) -> str:
    t = buckets.at(i)
    if buckets.unit == "hour":
        return f"{t:%d %b %H:%M}–{t + buckets.step:%H:%M} UTC"
    if buckets.unit == "day":
        return f"{t:%a %d %b %Y}"
    return f"week of {t:%d %b %Y}"


# --- page -------------------------------------------------------------------------------------------------

# No scripts at all: the view switch is CSS (radio buttons), tooltips are SVG <title>s. The CSP makes that a
# guarantee: even a feed title that slipped past escaping could not run or load anything.
_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$header
$figures
$timeline
$outlets
$table
$footer
</main>
</body>
</html>
"""
)

_CSS = """
:root{--ink:#1b2430;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f4f6f8;--card:#fff;--accent:#e0701f;
--supports:#2f6db3;--neutral:#a9b1bc;--disputes:#e0701f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 40px;overflow-wrap:anywhere}
h1{font-size:28px;margin:2px 0 6px;letter-spacing:-.01em}
h2{font-size:16px;margin:0 0 12px}
h3{font-size:14px;margin:18px 0 8px}
.kicker{margin:0;color:var(--muted);text-transform:uppercase;font-size:12px;letter-spacing:.08em;font-weight:600}
.claim-text{font-size:18px;margin:0 0 6px;max-width:60em}
.meta{color:var(--muted);margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;
margin:0 0 18px}
.empty{color:var(--muted);font-style:italic;margin:4px 0}
.note{color:var(--muted);margin:-6px 0 10px;font-size:13px}
.count{color:var(--muted);font-weight:400}
.badge{display:inline-block;font-size:11px;font-weight:600;padding:1px 6px;border-radius:9px;
vertical-align:middle;background:#eef1f4;color:var(--muted)}
.badge.paused{background:#fff3e0;color:#a35400}
.figures{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:12px;margin:0 0 18px}
.figure{min-width:0;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.figure .label{display:block;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.figure .value{display:block;font-size:30px;font-weight:700;line-height:1.2}
.figure .sub{display:block;color:var(--muted);font-size:12px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
.figure[data-figure=disputing] .value{color:var(--accent)}
.mix{margin:-8px 0 18px}
.mixbar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#eef1f4}
.mixbar.small{height:8px;width:140px;display:inline-flex;vertical-align:middle;margin-right:8px}
.mixbar .seg{flex-basis:0}
.mixlegend{color:var(--muted);font-size:12px;margin-top:5px}
.mixtext{color:var(--muted);font-size:12px}
.s-supports{background:var(--supports)}.s-neutral{background:var(--neutral)}.s-disputes{background:var(--disputes)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:4px;vertical-align:baseline}
.views{position:relative}
.viewlabel{color:var(--muted);font-size:12px;margin-right:8px}
.views input{position:absolute;opacity:0;pointer-events:none}
.views label{display:inline-block;padding:4px 12px;border:1px solid var(--line);margin-right:-1px;
cursor:pointer;font-size:13px;background:#fafbfc;color:var(--ink)}
.views label:first-of-type{border-radius:6px 0 0 6px}
.views label:last-of-type{border-radius:0 6px 6px 0}
.views input:checked+label{background:var(--ink);border-color:var(--ink);color:#fff}
.views input:focus-visible+label{outline:2px solid var(--supports);outline-offset:1px}
.chart{display:none;margin:12px 0 0}
#view-stance:checked~#chart-stance,#view-country:checked~#chart-country,
#view-leaning:checked~#chart-leaning,#view-ownership:checked~#chart-ownership{display:block}
svg.plot{width:100%;height:auto;display:block}
svg .grid{stroke:#edf0f3}
svg .baseline{stroke:#9aa4b1}
svg .tickmark{stroke:#9aa4b1}
svg .tick,svg .axis{fill:var(--muted);font-size:11px}
svg .bar:hover{opacity:.8}
svg .stem{fill:none;stroke:#3c4654;stroke-dasharray:3 3}
svg .event circle{fill:#3c4654}
svg .event text{fill:#fff;font-size:10px;font-weight:700}
svg .stem.t-framing_shift{stroke:#c0392b}svg .event.t-framing_shift circle{fill:#c0392b}
svg .event.t-coverage_spike circle{fill:#7b4ea3}svg .stem.t-coverage_spike{stroke:#7b4ea3}
svg .event.t-new_segment circle{fill:#1f8a70}svg .stem.t-new_segment{stroke:#1f8a70}
svg .event.t-article_revised circle{fill:#b8860b}svg .stem.t-article_revised{stroke:#b8860b}
svg .event:hover circle{stroke:#fff;stroke-width:2}
.legend{list-style:none;padding:0;margin:8px 0 0 44px;display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px}
.legend b{font-weight:600;color:var(--muted)}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.event-sw{width:0;border-left:2px dashed #3c4654;border-radius:0;height:14px;margin:0 8px 0 4px}
.events{list-style:none;padding:0;margin:0}
.events li{display:grid;grid-template-columns:28px 100px 130px minmax(0,1fr);gap:10px;align-items:baseline;
padding:7px 0;border-top:1px solid var(--line)}
.events li:first-child{border-top:0}
.events .num{display:inline-block;width:20px;height:20px;border-radius:50%;background:#3c4654;color:#fff;
font-size:11px;font-weight:700;text-align:center;line-height:20px}
.events .t-framing_shift .num{background:#c0392b}.events .t-coverage_spike .num{background:#7b4ea3}
.events .t-new_segment .num{background:#1f8a70}.events .t-article_revised .num{background:#b8860b}
.events time{color:var(--muted);font-variant-numeric:tabular-nums}
.events .etype{font-weight:600}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);
padding:6px;white-space:nowrap}
td{padding:7px 6px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:hover{background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
.matches td{font-size:13px}
.matches .when{min-width:92px;white-space:nowrap}
.matches .outlet{min-width:110px}
.matches .title{min-width:180px;font-weight:600}
.matches .title a{color:#1a4f8b;text-decoration:none}
.matches .title a:hover{text-decoration:underline}
.matches .evidence{min-width:240px;color:#37414d}
.matches .score{color:var(--muted);font-size:12px}
.quote{margin:0 0 4px}
.quote mark{background:#ffe9a8;color:inherit;border-radius:2px;padding:0 1px}
.segment,.dateflag{display:block;color:var(--muted);font-size:11px;font-weight:400}
.dateflag{font-style:italic;white-space:normal}
.untitled{color:var(--muted);font-weight:400;font-style:italic}
details.versions{font-weight:400;font-size:12px;margin-top:4px}
details.versions summary{cursor:pointer;color:var(--muted)}
ol.versions{margin:4px 0 0;padding-left:18px}
ol.versions li{margin:0 0 4px}
.vhead{display:block;color:var(--muted)}
.vdiff{display:block;overflow-wrap:anywhere}
.vtext{color:#37414d}
.vdiff del{background:#fde2e1;color:#8a1c13}.vdiff ins{background:#dff3e4;color:#145a26;text-decoration:none}
.outlets td{white-space:nowrap}
.outlets td.outlet{white-space:normal;min-width:120px}
.outlets+.note{margin:8px 0 0}
.pill{white-space:nowrap;overflow-wrap:normal;
display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-size:12px;font-weight:600}
.pill.s-neutral{color:#1b2430}
.meter{display:block;height:4px;background:#eef1f4;border-radius:2px;margin-top:4px;min-width:40px}
.meter i{display:block;height:4px;background:#8d6e63;border-radius:2px}
.cue{display:inline-block;background:#f1f3f6;border:1px solid var(--line);border-radius:4px;padding:0 5px;
margin:0 4px 3px 0;font-size:12px}
footer{color:var(--muted);font-size:12px;margin-top:8px}
@media (max-width:800px){.figures{grid-template-columns:repeat(2,1fr)}
.events li{grid-template-columns:28px 1fr}.events .summary{grid-column:2}}
@media print{body{background:#fff}.card,.figure{border-color:#ccc}.views label,.viewlabel{display:none}
.chart{display:block!important}}
"""
