"""Coverage and framing shift detection: a claim's matches and past events in, new event drafts out."""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from watcher.domain import (
    Claim,
    ClaimPause,
    Event,
    EventDraft,
    EventType,
    Match,
    MatchRevision,
    Stance,
    as_utc,
)
from watcher.revisions import event_time
from watcher.text.display import counted

logger = logging.getLogger(__name__)

SEGMENT_DIMENSIONS = ("country", "language", "leaning", "ownership")
# Placeholder values the feed config uses when it does not know; they say nothing about who covers a claim.
UNKNOWN_SEGMENT_VALUES = frozenset({"", "unknown", "zz", "und"})

# Reasons a framing_shift is raised for; the first two are once-only facts about a claim.
FIRST_DISPUTES = "first_disputes"
FIRST_SKEPTICAL = "first_skeptical"
STANCE_MIX = "stance_mix"

_TYPE_ORDER = {event_type: index for index, event_type in enumerate(EventType)}
# Slack for float noise, so that a share moving by exactly the minimum (0.6 - 0.35) still counts.
_EPSILON = 1e-9
_MIX_STANCES = (Stance.DISPUTES, Stance.SUPPORTS)
# Decimal places of the stance shares a stance-mix shift announces (0.6667 for two thirds).
SHARE_DIGITS = 4
FIRST_SEEN_KEY = "first_seen"
# A spike is the press taking a claim up: one outlet's run of items (a live blog filed as separate items, a
# series) is that outlet's coverage, however many, not a surge.
SPIKE_MIN_OUTLETS = 2
# The first news of a claim whose first_seen was backfill (see _Replay._first_fresh).
FIRST_FRESH_KEY = "first_seen:fresh"
_WORD = re.compile(r"\w+")
# Copies of one item (a syndicated wire story, an item published again) appear within this of the first.
COPY_SPAN = timedelta(hours=12)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftSettings:
    """Thresholds for :func:`detect_shifts`; field names double as the keys of ``shifts:`` in feeds.yaml.

    Durations are in seconds (``_s``). A cooldown of 0 turns it off. Invalid values raise
    :class:`ShiftSettingError` (a ``ValueError``) naming the field.
    """

    # coverage_spike: distinct stories in the last spike_window_s against the claim's own rate over the
    # spike_baseline_s before that window. The rate is averaged over the claim's observed history (from when
    # it was tracked or first covered, less the spans it was paused: Claim.pauses), but over no less than
    # spike_min_baseline_s, and is never taken below spike_floor_per_hour (the prior that keeps a young claim
    # from spiking on its first handful of stories).
    spike_window_s: int = 3600
    spike_baseline_s: int = 86400
    spike_min_baseline_s: int = 21600
    spike_floor_per_hour: float = 1.0
    spike_min_stories: int = 5
    spike_min_ratio: float = 3.0
    # framing_shift: a story at or above this skepticism counts as markedly skeptical, whatever its stance.
    skeptical_threshold: float = 0.6
    # framing_shift (stance mix): the share of a stance in the last framing_window_s against the
    # framing_baseline_s before it; both windows need framing_min_stories, and the share must move by at
    # least framing_min_change with a two-proportion z of at least framing_min_z (0 skips the test).
    framing_window_s: int = 21600
    framing_baseline_s: int = 604800
    framing_min_stories: int = 5
    framing_min_change: float = 0.25
    framing_min_z: float = 1.96
    # Cooldowns per (claim, type), measured between the events' trigger times.
    coverage_spike_cooldown_s: int = 21600
    framing_shift_cooldown_s: int = 21600
    new_segment_cooldown_s: int = 0
    # article_revised, per story: a revision seen within this of the story's last announced one is held and
    # folded into its next announcement; a changed stance is announced at once, and so is unmatched or
    # rematched, each the first time in a cooldown.
    article_revised_cooldown_s: int = 21600
    # A coverage_spike or stance-mix framing_shift that triggered longer than this before `now` (say, found
    # by a backfill) is not raised: it is no longer news. Once-only events are always raised. 0 = no limit.
    stale_after_s: int = 86400
    # An event whose trigger (the publication time of the story that made it) is older than this before
    # `now` is backlog, not news (a new feed's first poll, `claims backfill`, a backdated item): it is
    # recorded with backfill=True and never delivered. 0 = every event is delivered.
    fresh_window_s: int = 86400

    def __post_init__(self) -> None:
        _validate(self)

    def cooldown_s(self, event_type: EventType | str) -> int:
        """Cooldown in seconds for one event type; first_seen has none (it is raised once anyway)."""
        value = getattr(self, f"{event_type}_cooldown_s", 0)
        return int(value)


_POSITIVE = frozenset(
    {
        "spike_window_s",
        "spike_baseline_s",
        "spike_floor_per_hour",
        "spike_min_stories",
        "framing_window_s",
        "framing_baseline_s",
        "framing_min_stories",
    }
)
_FRACTIONS = frozenset({"skeptical_threshold", "framing_min_change"})
# The longest window, cooldown or age a ``_s`` setting may name (config.MAX_DURATION_S), and the most stories a
# count may ask for: beyond them a value is a typo (1.0e+15), not a setting.
MAX_SECONDS = 365 * 86400
MAX_COUNT = 1_000_000


class ShiftSettingError(ValueError):
    """A ShiftSettings value out of its range: ``field`` names it, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"shifts.{field} {problem}")
        self.field = field
        self.problem = problem


def _validate(settings: ShiftSettings) -> None:
    """Raise ShiftSettingError naming the first field that is not a number in its allowed range."""
    for spec in fields(settings):
        value = getattr(settings, spec.name)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ShiftSettingError(spec.name, f"must be a number, got {value!r}")
        if spec.name in _POSITIVE and value <= 0:
            raise ShiftSettingError(spec.name, f"must be > 0, got {value!r}")
        if value < 0:
            raise ShiftSettingError(spec.name, f"must be >= 0, got {value!r}")
        if spec.name in _FRACTIONS and value > 1:
            raise ShiftSettingError(spec.name, f"must be between 0 and 1, got {value!r}")
        if spec.name.endswith("_s") and value > MAX_SECONDS:
            raise ShiftSettingError(spec.name, f"must be at most {MAX_SECONDS} (365 days), got {value!r}")
        if spec.type == "int" and value != int(value):
            raise ShiftSettingError(spec.name, f"must be a whole number, got {value!r}")
        if spec.type == "int" and value > MAX_COUNT and not spec.name.endswith("_s"):
            raise ShiftSettingError(spec.name, f"must be at most {MAX_COUNT}, got {value!r}")
    if settings.spike_min_baseline_s > settings.spike_baseline_s:
        raise ShiftSettingError(
            "spike_min_baseline_s",
            "must not exceed shifts.spike_baseline_s, "
            f"got {settings.spike_min_baseline_s!r} > {settings.spike_baseline_s!r}",
        )


DEFAULT_SETTINGS = ShiftSettings()


def detect_shifts(
    claim: Claim,
    matches: Sequence[Match],
    previous: Sequence[Event],
    *,
    now: datetime,
    settings: ShiftSettings = DEFAULT_SETTINGS,
    revisions: Sequence[MatchRevision] = (),
) -> list[EventDraft]:
    """Return the events the claim's coverage up to ``now`` calls for that ``previous`` does not hold.

    Pure and deterministic. ``matches`` are all of the claim's matches in any order; wire copies and
    repeats fold into one story each (the earliest published match of an ``article.story_id``, or of the
    same headline and claim sentences: see :func:`_stories`), and stories first seen after ``now`` are
    ignored. Time is publication time (``Article.published``: the feed's date, never later than first
    seen), so a backdated item lands in the windows of its date. ``previous`` are the claim's stored
    events. No returned draft has a ``dedupe_key`` found in ``previous``, so calling again with the drafts
    stored returns nothing new. Drafts are sorted by trigger time, then type.

    Every rule is replayed at each story's publication time, and that trigger time (``details["trigger_at"]``)
    is what cooldowns compare, so the events raised do not depend on how often this runs or how late;
    ``now`` only bounds the replay, ages out stale windowed events, marks drafts triggered more than
    ``fresh_window_s`` before it as ``backfill`` and becomes ``created_at``.

    ``revisions`` are the claim's stored match revisions: a revised story counts with the stance and
    skepticism it was published with, and with each new one from when its revision was seen (so a
    correction raises its framing_shift then). Stories of a feed's undated backlog (``Article.backlog``)
    have no place in coverage or stance-mix windows, and what they alone raise is ``backfill``.
    """
    now = as_utc(now)
    stories, restances = _as_published(_stories(claim, matches, now), revisions, now)
    ledger = _Ledger.from_events(claim.id, previous)
    fired = _Replay(claim, stories, ledger, settings, now, restances).run()
    fired.sort(key=lambda candidate: (candidate.at, _TYPE_ORDER[candidate.type], candidate.key))
    drafts = [candidate.draft(claim.id, now, settings.fresh_window_s) for candidate in fired]
    if drafts:
        logger.debug("claim %s: %d new events from %d stories", claim.id, len(drafts), len(stories))
    return drafts


# --- stories and time -------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _seen(match: Match) -> datetime:
    """A story's time on the timeline: its publication time, clamped to first seen."""
    return match.article.published


def _story_order(match: Match) -> tuple[datetime, bool, int, int]:
    # At one instant, dated coverage comes before undated backlog: it is what first_seen and segments describe.
    article = match.article
    return (article.published, article.backlog, article.id, match.id)


def _stories(claim: Claim, matches: Sequence[Match], now: datetime) -> list[Match]:
    """One match per story (the earliest published), first seen by ``now``, in publication order.

    A story is an ``article.story_id`` (storage links copies by URL or content), and also every match with
    the same headline and the same sentences on the claim (:func:`copy_key`) published within
    :data:`COPY_SPAN` of the first: a wire story syndicated with a different byline or link, or one
    outlet publishing the same item again under a new address, is one story, not a burst of coverage, a
    new segment or a stance-mix swing per copy. Copies come within hours; the same headline and background
    sentence a day later (a daily live blog) is a new piece.
    """
    live = []
    for match in matches:
        if match.claim_id != claim.id:
            logger.debug("ignoring match %s of claim %s (expected %s)", match.id, match.claim_id, claim.id)
            continue
        if as_utc(match.article.first_seen_at) <= now:
            live.append(match)
    return first_of_stories(live)


def first_of_stories(matches: Sequence[Match]) -> list[Match]:
    """The first match of each story among ``matches``, in publication order: an ``article.story_id``, and
    every match with the same :func:`copy_key` published within COPY_SPAN of the first of them. What
    detection counts as one story, and the report too."""
    # It runs over every match of a claim at each detection and report: each order key is worked out once.
    orders = [_story_order(match) for match in matches]
    positions = sorted(range(len(orders)), key=orders.__getitem__)
    ordered = [matches[index] for index in positions]
    times = [orders[index][0] for index in positions]
    # Union by story id and by copy key; the earliest match of a group comes first, so it is the root. A
    # group's root is its earliest position whatever order the links are made in, and a key met once links
    # nothing, so only the links between two positions are made.
    root = list(range(len(ordered)))

    def find(position: int) -> int:
        while root[position] != position:
            root[position] = root[root[position]]
            position = root[position]
        return position

    def link(other: int, position: int) -> None:
        a, b = find(other), find(position)
        if a != b:
            root[max(a, b)] = min(a, b)

    first_of_story: dict[int, int] = {}
    for position, match in enumerate(ordered):
        other = first_of_story.setdefault(match.article.story_id, position)
        if other != position:
            link(other, position)
    first_of_copy: dict[tuple[str, tuple[str, ...]], int] = {}
    for position, key in _copy_keys(ordered):
        other = first_of_copy.setdefault(key, position)
        if times[position] - times[other] > COPY_SPAN:
            first_of_copy[key] = position  # too late to be a copy of that one: a new piece
        elif other != position:
            link(other, position)
    return [match for position, match in enumerate(ordered) if root[position] == position]


def _copy_keys(matches: Sequence[Match]) -> Iterator[tuple[int, tuple[str, tuple[str, ...]]]]:
    """(position, copy key less its tag) of each match in ``matches`` whose headline another one shares, in
    order: a key met once links nothing, and most headlines are met once, so their evidence is never read."""
    words: dict[str, str] = {}  # by text as given: copies tend to share it
    titles = []
    for match in matches:
        text = match.article.title
        title = words.get(text)
        if title is None:
            title = words[text] = _words(text)
        titles.append(title)
    counts = Counter(titles)
    for position, title in enumerate(titles):
        if not title or counts[title] < 2:
            continue
        evidence = []
        for sentence in matches[position].evidence:
            said = words.get(sentence)
            if said is None:
                said = words[sentence] = _words(sentence)
            evidence.append(said)
        if any(evidence):
            yield position, (title, tuple(evidence))


def copy_key(match: Match) -> tuple[str, str, tuple[str, ...]] | None:
    """What makes two matches copies of one story: the same headline and the same evidence sentences,
    compared word for word (case and punctuation aside); None when either is empty."""
    title = _words(match.article.title)
    evidence = tuple(_words(sentence) for sentence in match.evidence)
    if not title or not any(evidence):
        return None
    return ("copy", title, evidence)


def _words(text: str) -> str:
    """``text``'s words, case-folded, one space apart: what :func:`copy_key` compares."""
    return " ".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class _Restance:
    """A revision, seen at ``at``, that changed the stance or skepticism of the timeline's story ``index``."""

    at: datetime
    index: int
    story: Match  # the story as framed from then on


def _framing_state(state: dict[str, Any]) -> tuple[Stance, float] | None:
    """(stance, skepticism) of a revision's ``before`` or ``after``; None when it does not match."""
    try:
        return Stance(state["stance"]), float(state["skepticism"])
    except (KeyError, TypeError, ValueError):
        return None


def _as_published(
    stories: list[Match], revisions: Sequence[MatchRevision], now: datetime
) -> tuple[list[Match], list[_Restance]]:
    """The stories as framed when published, and each later change of framing from when it was seen.

    A match stands as its newest revision left it; a revision seen after ``now`` (stamped by a clock ahead)
    is not on the timeline yet, so the match is framed as it was before it until then.
    """
    by_match: dict[int, list[MatchRevision]] = {}
    for revision in revisions:
        by_match.setdefault(revision.match_id, []).append(revision)
    published, restances = [], []
    for index, story in enumerate(stories):
        if story.id not in by_match:  # most stories never change
            published.append(story)
            continue
        revised = sorted(by_match[story.id], key=lambda r: (as_utc(r.revised_at), r.id))
        seen = [revision for revision in revised if as_utc(revision.revised_at) <= now]
        ahead = len(seen) < len(revised)
        first = _framing_state(revised[0].before) if revised else None
        steps: list[tuple[datetime, tuple[Stance, float]]] = []
        state = first
        for revision in seen:
            after = _framing_state(revision.after)  # None: no longer matches, its last framing stays
            if after is not None and after != state:
                steps.append((max(as_utc(revision.revised_at), _seen(story)), after))
                state = after
        if first is None or not (steps or ahead):
            published.append(story)
            continue
        published.append(replace(story, stance=first[0], skepticism=first[1]))
        for number, (at, (stance, skepticism)) in enumerate(steps, 1):
            # The last step is the match as it stands (with its cues), unless a revision ahead reframed it.
            last = number == len(steps) and not ahead
            now_framed = story if last else replace(story, stance=stance, skepticism=skepticism)
            restances.append(_Restance(at=at, index=index, story=now_framed))
    restances.sort(key=lambda change: (change.at, change.index))
    return published, restances


class _Timeline:
    """Stories in publication order with per-stance prefix counts, so any window is counted in O(log n).

    Windows count dated coverage only: a story of a feed's undated backlog has no known time to count at.
    """

    def __init__(self, stories: list[Match]) -> None:
        self.stories = stories
        self.times = [_seen(story) for story in stories]
        self.live: list[int] = [0]
        self.prefix: dict[Stance, list[int]] = {stance: [0] for stance in Stance}
        self._recount(0)

    def _recount(self, start: int) -> None:
        del self.live[start + 1 :]
        for counts in self.prefix.values():
            del counts[start + 1 :]
        for story in self.stories[start:]:
            live = not story.article.backlog
            self.live.append(self.live[-1] + live)
            for stance, counts in self.prefix.items():
                counts.append(counts[-1] + (live and story.stance == stance))

    def restance(self, index: int, story: Match) -> None:
        """Story ``index`` is framed as ``story`` from now on (a revision changed its stance)."""
        was = self.stories[index]
        self.stories[index] = story
        if was.article.backlog != story.article.backlog:
            self._recount(index)  # never from a revision (one article), but the counts stay right
        elif was.stance != story.stance and not story.article.backlog:
            # Only the two stances' counts after it move, by one: a slice each, not a recount of the rest of
            # the timeline per revision.
            old, new = self.prefix[was.stance], self.prefix[story.stance]
            old[index + 1 :] = [count - 1 for count in old[index + 1 :]]
            new[index + 1 :] = [count + 1 for count in new[index + 1 :]]

    def position(self, t: datetime) -> int:
        """Where ``t`` bounds a window: windows are half-open, (start, end], so a story at a window's end
        belongs to it. Rules that count several windows sharing a bound look each bound up once."""
        return bisect_right(self.times, t)

    def _bounds(self, start: datetime, end: datetime) -> tuple[int, int]:
        return self.position(start), self.position(end)

    def count(self, start: datetime, end: datetime) -> int:
        return self.count_at(*self._bounds(start, end))

    def count_at(self, low: int, high: int) -> int:
        """:meth:`count` of the window between two :meth:`position` s."""
        return max(self.live[high] - self.live[low], 0)

    def stance_count(self, stance: Stance, start: datetime, end: datetime) -> int:
        return self.stance_count_at(stance, *self._bounds(start, end))

    def stance_count_at(self, stance: Stance, low: int, high: int) -> int:
        """:meth:`stance_count` of the window between two :meth:`position` s."""
        counts = self.prefix[stance]
        return max(counts[high] - counts[low], 0)

    def between(self, start: datetime, end: datetime) -> list[Match]:
        low, high = self._bounds(start, end)
        return [story for story in self.stories[low:high] if not story.article.backlog]


def _paused_spans(pauses: Sequence[ClaimPause], now: datetime) -> list[tuple[datetime, datetime]]:
    """The spans a claim was paused (``Claim.pauses``), merged and in time order; one not resumed lasts until
    ``now``."""
    spans = sorted((as_utc(p.paused_at), as_utc(p.resumed_at) if p.resumed_at else now) for p in pauses)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap_s(spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """Seconds of ``start``..``end`` that ``spans`` (disjoint) cover."""
    covered = (min(span_end, end) - max(span_start, start) for span_start, span_end in spans)
    return sum(max(part.total_seconds(), 0.0) for part in covered)


# --- what has been raised ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Candidate:
    """An event a rule asks for at one trigger time, before cooldown and dedupe decide its fate."""

    type: EventType
    key: str
    at: datetime
    summary: str
    details: dict[str, Any]
    match_ids: tuple[int, ...]
    reasons: tuple[str, ...] = ()
    windowed: bool = False  # describes a window of time rather than a once-only fact
    backlog: bool = False  # raised by a feed's undated backlog alone

    def draft(self, claim_id: int, now: datetime, fresh_window_s: int = 0) -> EventDraft:
        old = (now - self.at).total_seconds() > fresh_window_s
        backfill = fresh_window_s > 0 and (self.backlog or old)
        return EventDraft(
            type=self.type,
            claim_id=claim_id,
            dedupe_key=self.key,
            summary=self.summary,
            details={"trigger_at": _iso(self.at), **self.details},
            match_ids=self.match_ids,
            created_at=now,
            backfill=backfill,
        )


@dataclass(slots=True)
class _Ledger:
    """Events raised so far: the stored ones plus those this replay fires (emitted or aged out)."""

    keys: set[str] = field(default_factory=set)
    fired_at: dict[str, list[datetime]] = field(default_factory=dict)  # by type, in time order
    covered: set[str] = field(default_factory=set)  # once-only framing facts already announced
    first_seen: dict[str, Any] | None = None  # details of the stored first_seen event
    first_seen_matches: tuple[int, ...] = ()  # the match the stored first_seen is about
    # (trigger time, stance shares of its window) of each stance-mix shift raised, stored or replayed, in
    # time order (those of one time in the order raised).
    mixes: list[tuple[datetime, dict[str, float]]] = field(default_factory=list)

    @classmethod
    def from_events(cls, claim_id: int, events: Sequence[Event]) -> _Ledger:
        ledger = cls()
        for event in sorted(events, key=lambda e: (as_utc(e.created_at), e.dedupe_key)):
            if event.claim_id != claim_id:
                continue
            ledger.keys.add(event.dedupe_key)
            if event.type == EventType.NEW_SEGMENT:
                # An event keyed by a spelling of its segment that segment_value now folds ("Straße" and
                # "strasse") announced the same segment: it is not announced again.
                ledger.keys.add(_segment_key(event.dedupe_key))
            insort(ledger.fired_at.setdefault(str(event.type), []), event_time(event))
            if event.type == EventType.FRAMING_SHIFT:
                ledger.covered.update(_framing_reasons(event))
                ledger.add_mix(event_time(event), event.details)
            if event.dedupe_key == FIRST_SEEN_KEY:  # not first_seen:fresh, a later story's
                ledger.first_seen, ledger.first_seen_matches = event.details, event.match_ids
        return ledger

    def in_cooldown(self, event_type: EventType, at: datetime, cooldown_s: int) -> bool:
        # Symmetric on purpose: an event stored with a later trigger (after a backfill, say) blocks an
        # earlier one just the same, so no two events of a type are ever closer than the cooldown.
        if cooldown_s <= 0:
            return False
        fired = self.fired_at.get(str(event_type))
        if not fired:
            return False
        # The nearest trigger on either side is the closest of all: a busy claim asks at every story. A gap
        # under a whole number of seconds as a timedelta is one under it in total_seconds(): no float rounding.
        cooldown = _span(cooldown_s)
        after = bisect_left(fired, at)
        if after < len(fired) and fired[after] - at < cooldown:
            return True
        return after > 0 and at - fired[after - 1] < cooldown

    def record(self, candidate: _Candidate) -> None:
        self.keys.add(candidate.key)
        insort(self.fired_at.setdefault(str(candidate.type), []), candidate.at)
        self.covered.update(candidate.reasons)
        if candidate.type == EventType.FRAMING_SHIFT:
            self.add_mix(candidate.at, candidate.details)

    def add_mix(self, at: datetime, details: object) -> None:
        """Note the stance shares a framing_shift's details announce, if it is a stance-mix shift."""
        mix = details.get(STANCE_MIX) if isinstance(details, dict) else None
        shares = mix.get("shares_after") if isinstance(mix, dict) else None
        if isinstance(shares, dict):
            known = {str(k): float(v) for k, v in shares.items() if isinstance(v, int | float)}
            insort(self.mixes, (at, known), key=_mix_time)

    def announced_mix(self, at: datetime, horizon_s: int) -> dict[str, float] | None:
        """The stance shares of the last stance-mix shift triggered before ``at`` and within ``horizon_s``."""
        if not self.mixes:
            return None
        before = bisect_left(self.mixes, at, key=_mix_time)
        if before == 0:
            return None
        last = self.mixes[before - 1][0]
        if not 0 < (at - last).total_seconds() <= horizon_s:
            return None
        # Of several at that instant, the first raised.
        return self.mixes[bisect_left(self.mixes, last, key=_mix_time)][1]


@functools.lru_cache(maxsize=64)
def _span(seconds: int) -> timedelta:
    """``timedelta(seconds=seconds)``, built once per cooldown rather than at each story a rule asks at."""
    return timedelta(seconds=seconds)


def _mix_time(mix: tuple[datetime, dict[str, float]]) -> datetime:
    return mix[0]


def _segment_key(key: str) -> str:
    """A new_segment dedupe key (``new_segment:dimension:value``) with its value normalised as today."""
    _, dimension, raw = [*key.split(":", 2), "", ""][:3]
    value = segment_value(dimension, raw)
    return f"new_segment:{dimension}:{value}" if value is not None else key


def _framing_reasons(event: Event) -> set[str]:
    reasons = {event.dedupe_key.rsplit(":", 1)[-1]}
    listed = event.details.get("reasons") if isinstance(event.details, dict) else None
    if isinstance(listed, list):
        reasons.update(reason for reason in listed if isinstance(reason, str))
    return reasons & {FIRST_DISPUTES, FIRST_SKEPTICAL}


# --- describing stories -----------------------------------------------------------------------------------


def _folded(text: str) -> str:
    """``text`` Unicode NFKC-normalised, case-folded, with every run of whitespace one space, none at the ends."""
    return unicodedata.normalize("NFKC", " ".join(unicodedata.normalize("NFKC", text).split()).casefold())


def outlet_key(name: str) -> str:
    """What tells outlets apart: case, runs of whitespace and Unicode compatibility forms (full-width
    letters, no-break spaces) aside, so "BBC News", "bbc news " and "BBC  News" are one outlet."""
    return _folded(name)


def outlet_names(matches: Iterable[Match]) -> dict[str, str]:
    """By :func:`outlet_key`, the outlet's name as its earliest published match spells it."""
    keys: dict[str, str] = {}  # by name: a claim has a few hundred outlets and many thousand matches
    first: dict[str, tuple[tuple[datetime, bool, int, int], str]] = {}
    for match in matches:
        name = match.article.outlet
        key = keys.get(name)
        if key is None:
            key = keys[name] = outlet_key(name)
        known = first.get(key)
        if known is None:
            first[key] = (_story_order(match), name)
            continue
        # Only a match published no later than the earliest so far can come first: the order of the rest
        # need not be built.
        if match.article.published <= known[0][0]:
            order = _story_order(match)
            if order < known[0]:
                first[key] = (order, name)
    return {key: name for key, (_, name) in first.items()}


def segment_value(dimension: str, raw: object) -> str | None:
    """Normalised segment value (NFKC, whitespace collapsed; countries upper case, the rest case-folded), or
    None for a placeholder that says nothing ("unknown", "ZZ", "und")."""
    if not isinstance(raw, str):
        return None
    value = _folded(raw)
    if value in UNKNOWN_SEGMENT_VALUES:
        return None
    return value.upper() if dimension == "country" else value


def _segments(match: Match) -> tuple[tuple[str, str], ...]:
    article = match.article
    return _segments_of(article.country, article.language, article.leaning, article.ownership)


@functools.lru_cache(maxsize=4096)
def _segments_of(*raw: object) -> tuple[tuple[str, str], ...]:
    # A claim's stories come from a few hundred feeds: each one's segments are worked out once, not per story.
    found = []
    for dimension, value in zip(SEGMENT_DIMENSIONS, raw, strict=True):
        normalised = segment_value(dimension, value)
        if normalised is not None:
            found.append((dimension, normalised))
    return tuple(found)


def _outlet(match: Match) -> str:
    """The outlet with whichever of its country and ownership are known, e.g. ``RT (RU, state)``."""
    article = match.article
    country = segment_value("country", article.country)
    ownership = segment_value("ownership", article.ownership)
    known = [value for value in (country, ownership) if value is not None]
    return f"{article.outlet} ({', '.join(known)})" if known else article.outlet


def _cue_phrase(match: Match) -> str:
    if not match.cues:
        return ""
    quoted = ", ".join(f'"{cue.text}"' for cue in match.cues[:3])
    return f" (cues: {quoted})"


def _story_details(match: Match) -> dict[str, Any]:
    article = match.article
    return {
        "match_id": match.id,
        "article_id": article.id,
        "story_id": article.story_id,
        "outlet": article.outlet,
        "url": article.url,
        "title": article.title,
        "published_at": _iso(article.published),
        "published_at_basis": article.published_at_basis,
        "first_seen_at": _iso(article.first_seen_at),
        "segments": {dimension: getattr(article, dimension) for dimension in SEGMENT_DIMENSIONS},
        "stance": str(match.stance),
        "skepticism": round(float(match.skepticism), 4),
        "cues": [{"kind": cue.kind, "text": cue.text} for cue in match.cues],
    }


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _two_proportion_z(hits_a: int, total_a: int, hits_b: int, total_b: int) -> float:
    """z statistic of share b minus share a under the pooled null hypothesis; 0 when it is undefined."""
    pooled = (hits_a + hits_b) / (total_a + total_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / total_a + 1 / total_b))
    return 0.0 if spread == 0 else (hits_b / total_b - hits_a / total_a) / spread


_STANCE_VERBS = {
    "supports": "presents the claim as fact",
    "neutral": "reports the claim",
    "disputes": "disputes the claim",
}
_SEGMENT_PHRASES = {
    "country": "First coverage from {value}",
    "language": "First coverage in language '{value}'",
    "leaning": "First coverage from a {value} outlet",
    "ownership": "First coverage from {value} media",
}


def _first_seen_of(
    story: Match, at: datetime, key: str, what: str, *, backlog: bool = False, earlier: bool = False
) -> _Candidate:
    """A first_seen about ``story``: "First coverage: Outlet (country, ownership) reports the claim"; with
    ``earlier``, one that says the claim's earlier coverage is in the archive."""
    verb = _STANCE_VERBS.get(str(story.stance), "covers the claim")
    details = _story_details(story)
    return _Candidate(
        type=EventType.FIRST_SEEN,
        key=key,
        at=at,
        summary=f"{what}: {_outlet(story)} {verb}"
        + (" (earlier coverage is in the archive)" if earlier else ""),
        details=details | {"earlier_coverage": True} if earlier else details,
        match_ids=(story.id,),
        backlog=backlog,
    )


# --- the replay -------------------------------------------------------------------------------------------


class _Replay:
    """Walks the stories in publication order and fires each rule the moment its condition holds."""

    def __init__(
        self,
        claim: Claim,
        stories: list[Match],
        ledger: _Ledger,
        settings: ShiftSettings,
        now: datetime,
        restances: Sequence[_Restance] = (),
    ) -> None:
        self.timeline = _Timeline(stories)
        self.restances = restances
        self.ledger = ledger
        self.settings = settings
        self.now = now
        # The baseline rate of a claim counts from when it was tracked or covered, whichever came first, and
        # not over the spans it was paused: it matched nothing then, which says nothing of the press.
        starts = [*self.timeline.times[:1], *([as_utc(claim.created_at)] if claim.created_at else [])]
        self.coverage_start = min(starts) if starts else now
        self.paused = _paused_spans(claim.pauses, now)
        self.tracked_at = as_utc(claim.created_at) if claim.created_at else None
        self.first_seen_was_old: tuple[int, bool] | None = None  # see _first_was_old_news
        self.initial_segments: set[tuple[str, str]] = set()
        self.pending_segments: dict[str, tuple[str, str, Match]] = {}
        # Segments met so far: pending until raised, then in the ledger, so met again they change nothing.
        self.segments_met: set[tuple[str, str]] = set()
        # The story behind each once-only framing fact, and whether it is backlog (a revision is news).
        self.first_disputes: tuple[Match, bool] | None = None
        self.first_skeptical: tuple[Match, bool] | None = None
        self.emitted: list[_Candidate] = []
        # outlet_key of each outlet name met, and by key the name of the outlet's first story on the timeline
        self.outlet_keys: dict[str, str] = {}
        self.outlet_names: dict[str, str] = {}
        # What the rules look up at every story, worked out once per replay.
        self.cooldowns = {str(event_type): settings.cooldown_s(event_type) for event_type in EventType}
        self.spike_window = timedelta(seconds=settings.spike_window_s)
        self.spike_baseline = timedelta(seconds=settings.spike_baseline_s)
        self.framing_window = timedelta(seconds=settings.framing_window_s)
        self.framing_baseline = timedelta(seconds=settings.framing_baseline_s)

    def run(self) -> list[_Candidate]:
        stories, times = self.timeline.stories, self.timeline.times
        if not stories:
            return []
        self._take_initial(stories[0])
        changes = list(self.restances)
        done = 0  # restances applied
        for index, story in enumerate(stories):
            # A revision seen before this story was published changes the framing at its own instant.
            while done < len(changes) and changes[done].at < times[index]:
                done = self._restance_at(changes, done, evaluate=True)
            self._absorb(story)
            # Stories published at the same instant arrive together: evaluate once, after the last.
            if index + 1 < len(stories) and times[index + 1] == times[index]:
                continue
            while done < len(changes) and changes[done].at == times[index]:
                done = self._restance_at(changes, done, evaluate=False)
            for candidate in self._candidates(times[index]):
                self._offer(candidate)
        while done < len(changes):
            done = self._restance_at(changes, done, evaluate=True)
        return self.emitted

    def _restance_at(self, changes: list[_Restance], done: int, *, evaluate: bool) -> int:
        """Apply the framing changes seen at ``changes[done].at``; with ``evaluate``, offer a framing_shift
        then (a revision is no new coverage: nothing else is raised at its instant). Returns how many are
        applied."""
        at = changes[done].at
        while done < len(changes) and changes[done].at == at:
            change = changes[done]
            self.timeline.restance(change.index, change.story)
            self._absorb_framing(change.story, backlog=False)
            done += 1
        framing = self._framing_shift(at) if evaluate else None
        if framing is not None:
            self._offer(framing)
        return done

    def _take_initial(self, first: Match) -> None:
        """Segments and framing of the first coverage belong to first_seen, never to later events."""
        stored = self.ledger.first_seen
        info = stored if stored is not None and isinstance(stored.get("segments"), dict) else None
        info = info or _story_details(first)
        for dimension, raw in info["segments"].items():
            value = segment_value(dimension, raw) if dimension in SEGMENT_DIMENSIONS else None
            if value is not None:
                self.initial_segments.add((dimension, value))
        if info.get("stance") == Stance.DISPUTES:
            self.ledger.covered.add(FIRST_DISPUTES)
        skepticism = info.get("skepticism")
        if isinstance(skepticism, int | float) and skepticism >= self.settings.skeptical_threshold:
            self.ledger.covered.add(FIRST_SKEPTICAL)

    def _outlet_key(self, story: Match) -> str:
        name = story.article.outlet
        key = self.outlet_keys.get(name)
        if key is None:
            key = self.outlet_keys[name] = outlet_key(name)
        return key

    def _absorb(self, story: Match) -> None:
        self.outlet_names.setdefault(self._outlet_key(story), story.article.outlet)
        for dimension, value in _segments(story):
            if (dimension, value) in self.segments_met:
                continue
            self.segments_met.add((dimension, value))
            key = f"new_segment:{dimension}:{value}"
            if (dimension, value) not in self.initial_segments and key not in self.pending_segments:
                self.pending_segments[key] = (dimension, value, story)
        self._absorb_framing(story, backlog=story.article.backlog)

    def _absorb_framing(self, story: Match, *, backlog: bool) -> None:
        if self.first_disputes is None and story.stance == Stance.DISPUTES:
            self.first_disputes = (story, backlog)
        if self.first_skeptical is None and story.skepticism >= self.settings.skeptical_threshold:
            self.first_skeptical = (story, backlog)

    def _candidates(self, at: datetime) -> Iterator[_Candidate]:
        if FIRST_SEEN_KEY not in self.ledger.keys:
            yield self._first_seen(at)
        elif FIRST_FRESH_KEY not in self.ledger.keys:
            fresh = self._first_fresh(at)
            if fresh is not None:
                yield fresh
        spike = self._coverage_spike(at)
        if spike is not None:
            yield spike
        yield from self._new_segments(at)
        framing = self._framing_shift(at)
        if framing is not None:
            yield framing

    def _cooling(self, event_type: EventType, at: datetime) -> bool:
        return self.ledger.in_cooldown(event_type, at, self.cooldowns[event_type])

    def _offer(self, candidate: _Candidate) -> None:
        if candidate.key in self.ledger.keys:
            return
        if self._cooling(candidate.type, candidate.at):
            return  # once-only facts stay pending and are offered again at the next story
        self.ledger.record(candidate)
        # A stale windowed event still counts for cooldowns (so replays agree), it is only not raised.
        stale_s = self.settings.stale_after_s
        if candidate.windowed and stale_s > 0 and (self.now - candidate.at).total_seconds() > stale_s:
            return
        self.emitted.append(candidate)

    # --- first_seen and new_segment ---

    def _first_seen(self, at: datetime) -> _Candidate:
        first = self.timeline.stories[0]
        return _first_seen_of(first, at, FIRST_SEEN_KEY, "First coverage", backlog=first.article.backlog)

    def _first_was_old_news(self) -> tuple[int, bool]:
        """The match first_seen is about (the stored event's, or this replay's first story), and whether it
        was old news (:meth:`_old_news`); worked out once per replay."""
        if self.first_seen_was_old is None:
            stored = self.ledger.first_seen_matches
            found = [story for story in self.timeline.stories if story.id in stored] if stored else []
            first = found[0] if found else self.timeline.stories[0]
            self.first_seen_was_old = (first.id, self._old_news(first))
        return self.first_seen_was_old

    def _old_news(self, story: Match) -> bool:
        """Whether a story was old news when it reached the claim, by what the data says (not by when
        detection runs, so that a replay raises what running after every story did): a feed's undated
        backlog, an item first seen more than ``fresh_window_s`` after its publication (an archive, a
        backdated item), or one published that long before the claim was tracked (``claims backfill``).
        A first_seen about such a story is backfill, delivered nowhere."""
        window = self.settings.fresh_window_s
        if window <= 0:
            return False
        published = _seen(story)
        late = (as_utc(story.article.first_seen_at) - published).total_seconds() > window
        before = self.tracked_at is not None and (self.tracked_at - published).total_seconds() > window
        return story.article.backlog or late or before

    def _first_fresh(self, at: datetime) -> _Candidate | None:
        """The first news of a claim whose first coverage was old news (:meth:`_old_news`): first_seen was
        backfill, so the newsroom has not heard of the claim, and a fresh pickup is what it must hear. A
        first_seen of its own key, raised once, at the first story published at ``at`` that was news."""
        first, old = self._first_was_old_news()
        if not old:
            return None
        # the stories published at ``at`` (windows are half-open, and time has microseconds)
        stories = [
            story
            for story in self.timeline.between(at - timedelta(microseconds=1), at)
            if story.id != first and not self._old_news(story)
        ]
        if not stories:
            return None
        return _first_seen_of(stories[0], at, FIRST_FRESH_KEY, "First fresh coverage", earlier=True)

    def _new_segments(self, at: datetime) -> Iterator[_Candidate]:
        if not self.pending_segments:  # the rule of most stories: every segment met is announced
            return
        for key, (dimension, value, story) in list(self.pending_segments.items()):
            if key in self.ledger.keys:
                del self.pending_segments[key]
                continue
            phrase = _SEGMENT_PHRASES[dimension].format(value=value)
            yield _Candidate(
                type=EventType.NEW_SEGMENT,
                key=key,
                at=at,
                summary=f"{phrase}: {_outlet(story)}",
                details={"dimension": dimension, "value": value, "segment": f"{dimension}:{value}"}
                | {"story": _story_details(story)},
                match_ids=(story.id,),
                backlog=story.article.backlog,
            )

    # --- coverage_spike ---

    def _coverage_spike(self, at: datetime) -> _Candidate | None:
        settings, timeline = self.settings, self.timeline
        window_start = at - self.spike_window
        # Cheap checks first, inline: a busy claim is evaluated at every story of a long history. Positions
        # and counts as Timeline.position and count_at work them out.
        times, live = timeline.times, timeline.live
        window_low = bisect_right(times, window_start)
        in_window = live[bisect_right(times, at)] - live[window_low]
        if in_window < settings.spike_min_stories or self._cooling(EventType.COVERAGE_SPIKE, at):
            return None
        baseline_start = window_start - self.spike_baseline
        in_baseline = live[window_low] - live[bisect_right(times, baseline_start)]
        observed_from = max(baseline_start, self.coverage_start)
        observed_s = (window_start - observed_from).total_seconds()
        paused_s = _overlap_s(self.paused, observed_from, window_start) if self.paused else 0.0
        if paused_s:
            observed_s -= paused_s
        span_s = min(max(observed_s, settings.spike_min_baseline_s), settings.spike_baseline_s)
        rate = in_baseline / (span_s / 3600) if span_s > 0 else 0.0
        expected = max(rate, settings.spike_floor_per_hour) * settings.spike_window_s / 3600
        ratio = in_window / expected
        if ratio + _EPSILON < settings.spike_min_ratio:
            return None
        stories = self.timeline.between(window_start, at)
        # One outlet however its feeds spell it ("BBC News", "bbc news "), named as it was first seen.
        outlets = sorted({self.outlet_names[self._outlet_key(story)] for story in stories})
        if len(outlets) < SPIKE_MIN_OUTLETS:
            return None
        details = {
            "window": {"start": _iso(window_start), "end": _iso(at)},
            "baseline": {"start": _iso(baseline_start), "end": _iso(window_start), "span_s": span_s}
            | ({"paused_s": paused_s} if paused_s else {}),
            "stories_in_window": in_window,
            "stories_in_baseline": in_baseline,
            "baseline_per_hour": round(rate, 4),
            "expected_in_window": round(expected, 4),
            "ratio": round(ratio, 4),
            "outlets": outlets,
        }
        summary = (
            f"Coverage spike: {counted(in_window, 'story', 'stories')} from "
            f"{counted(len(outlets), 'outlet', 'outlets')} {self._window_phrase(settings.spike_window_s, at)}, "
            f"{ratio:.1f}x the expected {expected:.1f}"
        )
        return _Candidate(
            type=EventType.COVERAGE_SPIKE,
            key=f"coverage_spike:{_iso(at)}",
            at=at,
            summary=summary,
            details=details,
            match_ids=tuple(sorted(story.id for story in stories)),
            windowed=True,
        )

    # --- framing_shift ---

    def _framing_shift(self, at: datetime) -> _Candidate | None:
        """One framing_shift per trigger time, carrying every framing reason that is due at it."""
        if self._cooling(EventType.FRAMING_SHIFT, at):
            return None
        facts: list[tuple[str, Match]] = []
        backlog = True  # every story behind it is backlog
        for name, fact in ((FIRST_DISPUTES, self.first_disputes), (FIRST_SKEPTICAL, self.first_skeptical)):
            if fact is not None and name not in self.ledger.covered:
                facts.append((name, fact[0]))
                backlog = backlog and fact[1]
        mix = self._stance_mix(at)
        if not facts and mix is None:
            return None
        details: dict[str, Any] = {name: _story_details(story) for name, story in facts}
        match_ids = {story.id for _, story in facts}
        reasons = [name for name, _ in facts]
        if mix is not None:
            mix_details, mix_ids = mix
            details[STANCE_MIX] = mix_details
            match_ids.update(mix_ids)
            reasons.append(STANCE_MIX)
        key = f"framing_shift:{reasons[0]}" if facts else f"framing_shift:{STANCE_MIX}:{_iso(at)}"
        return _Candidate(
            type=EventType.FRAMING_SHIFT,
            key=key,
            at=at,
            summary=self._framing_summary(facts, details.get(STANCE_MIX), at),
            details={"reasons": reasons, **details},
            match_ids=tuple(sorted(match_ids)),
            reasons=tuple(reasons),
            windowed=not facts,
            backlog=backlog and mix is None,
        )

    def _framing_summary(
        self, facts: list[tuple[str, Match]], mix: dict[str, Any] | None, at: datetime
    ) -> str:
        if facts and facts[0][0] == FIRST_DISPUTES:
            story = facts[0][1]
            return f"First disputing coverage: {_outlet(story)} disputes the claim{_cue_phrase(story)}"
        if facts:
            story = facts[0][1]
            return (
                f"First markedly skeptical coverage: {_outlet(story)} presents the claim with skepticism "
                f"{story.skepticism:.2f}{_cue_phrase(story)}"
            )
        assert mix is not None  # _framing_shift returns early when there is neither
        direction = "rose" if mix["change"] > 0 else "fell"
        return (
            f"Stance mix shift: the share of {mix['stance']} coverage {direction} from "
            f"{mix['share_before']:.0%} to {mix['share_after']:.0%} "
            f"{self._window_phrase(self.settings.framing_window_s, at)} ({mix['stories_after']} stories "
            f"against {mix['stories_before']} before)"
        )

    def _window_phrase(self, window_s: int, end: datetime) -> str:
        """Where a window lies, for a summary read now: "in the last 6 h", or, when it ended longer than its
        own length before ``now`` (a late feed, a backfill), "in the 6 h to 2025-11-06 18:20 UTC", since
        "the last 6 h" would then name hours that do not overlap the ones counted."""
        if (self.now - end).total_seconds() <= window_s:
            return f"in the last {_duration(window_s)}"
        return f"in the {_duration(window_s)} to {end.strftime('%Y-%m-%d %H:%M')} UTC"

    def _stance_mix(self, at: datetime) -> tuple[dict[str, Any], list[int]] | None:
        """The stance whose share moved most significantly between the two windows, if any did enough."""
        settings, timeline = self.settings, self.timeline
        middle = at - self.framing_window
        start = middle - self.framing_baseline
        # Positions and counts as Timeline.position, count_at and stance_count_at work them out, inline: this
        # runs at every story of a busy claim.
        times, live = timeline.times, timeline.live
        low, mid, high = bisect_right(times, start), bisect_right(times, middle), bisect_right(times, at)
        before, after = live[mid] - live[low], live[high] - live[mid]
        if before < settings.framing_min_stories or after < settings.framing_min_stories:
            return None
        told: dict[str, float] | None = None
        looked_up = False  # the last shift announced is only needed once a share has moved enough
        best: tuple[float, Stance] | None = None
        for stance in _MIX_STANCES:
            counts = timeline.prefix[stance]
            hits_before, hits_after = counts[mid] - counts[low], counts[high] - counts[mid]
            change = hits_after / after - hits_before / before
            if change == 0 or abs(change) + _EPSILON < settings.framing_min_change:
                continue  # not moved
            if not looked_up:
                told, looked_up = self.ledger.announced_mix(at, settings.framing_baseline_s), True
            if self._retold(told, stance, hits_after / after, change):
                continue
            z = _two_proportion_z(hits_before, before, hits_after, after)
            if abs(z) >= settings.framing_min_z and (best is None or abs(z) > abs(best[0])):
                best = (z, stance)
        if best is None:
            return None
        return self._mix_details(best[1], best[0], start, middle, at)

    def _retold(self, told: dict[str, float] | None, stance: Stance, share: float, change: float) -> bool:
        """Whether a shift of ``stance`` to ``share`` (``change`` from the baseline) would only retell the
        stance-mix shift last announced (``told``: its window's shares; None: none within ``framing_baseline_s``,
        older news is no reference).

        A new framing takes days to fill the week-long baseline it is compared with, and a mix swinging around a
        threshold reads as a shift against its baseline at every swing: until then every window reads as a shift
        again. The newsroom has been told once; it hears again only when that stance's share moved on from what
        it was told by ``framing_min_change``, the way the shift reads: "rose" when it rose further, "fell" when
        it fell. A swing back that still reads "rose" against the baseline, lower than was told, is not news.
        """
        if told is None:
            return False
        # ``told`` holds the shares as announced, rounded: compare the share as it would read.
        moved = round(share, SHARE_DIGITS) - told.get(str(stance), 0.0)
        return moved * change <= 0 or abs(moved) + _EPSILON < self.settings.framing_min_change

    def _mix_details(
        self, stance: Stance, z: float, start: datetime, middle: datetime, at: datetime
    ) -> tuple[dict[str, Any], list[int]]:
        timeline = self.timeline
        before, after = timeline.count(start, middle), timeline.count(middle, at)
        shares_before = {
            str(s): round(timeline.stance_count(s, start, middle) / before, SHARE_DIGITS) for s in Stance
        }
        shares_after = {
            str(s): round(timeline.stance_count(s, middle, at) / after, SHARE_DIGITS) for s in Stance
        }
        details = {
            "stance": str(stance),
            "window": {"start": _iso(middle), "end": _iso(at)},
            "before_window": {"start": _iso(start), "end": _iso(middle)},
            "stories_before": before,
            "stories_after": after,
            "share_before": shares_before[str(stance)],
            "share_after": shares_after[str(stance)],
            "change": round(shares_after[str(stance)] - shares_before[str(stance)], 4),
            "z": round(z, 4),
            "shares_before": shares_before,
            "shares_after": shares_after,
        }
        return details, [story.id for story in timeline.between(middle, at)]
