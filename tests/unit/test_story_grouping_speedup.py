"""Story grouping worked out once per match (order keys built once, the evidence of a copy key read only for
headlines met more than once, UTC times not converted again) groups, orders and names exactly as the plain
per-match logic does, and shift detection raises the same events."""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.support.records import make_article, make_match
from watcher import shifts
from watcher.domain import Article, Claim, Event, EventDraft, Match, MatchRevision, Stance
from watcher.shifts import COPY_SPAN, copy_key, detect_shifts, first_of_stories, outlet_key, outlet_names

T0 = datetime(2025, 11, 3, 6, tzinfo=UTC)
CLAIM = Claim(
    id=1, name="nato-ammo", text="NATO has surpassed Russia in ammunition production", created_at=T0
)
OTHER_CLAIM_ID = 2
PLUS_TWO = timezone(timedelta(hours=2))
OUTLETS = (
    "Reuters",
    "reuters ",
    "ＲＥＵＴＥＲＳ",
    "AP",
    "BBC News",
    "bbc  news",
    "Le Monde",
    "RT",
    "Kyiv Independent",
)
COUNTRIES = ("US", "GB", "FR", "RU", "UA", "DE", "ZZ")
# Wire headlines, each with spellings that read the same word for word and one that does not.
WIRE_TITLES = [
    (
        "NATO outproduces Russia in shells",
        "nato outproduces russia in shells!",
        "NATO  outproduces Russia — in shells",
    ),
    ("Europe's factories ramp up", "EUROPE'S FACTORIES RAMP UP", "Europe s factories ramp up"),
    ("Shell output: the numbers", "shell output the numbers", "Shell output: the new numbers"),
    ("Straße der Munition", "STRASSE der Munition", "Strasse der Munition"),
    ("", "—", "!!!"),  # no words: never a copy key
]
SENTENCES = (
    "NATO has surpassed Russia in ammunition production, the minister claimed.",
    "nato has surpassed russia in ammunition production the minister claimed",
    "Moscow reportedly disputes the figures, calling them “propaganda”.",
    "Factories opened across the alliance this year.",
    "—",
    "",
)


# --- the reference: the per-match logic, written plainly ------------------------------------------------


def reference_order(match: Match) -> tuple[datetime, bool, int, int]:
    return (match.article.published, match.article.backlog, match.article.id, match.id)


def reference_copy_key(match: Match) -> tuple[str, str, tuple[str, ...]] | None:
    title = " ".join(re.findall(r"\w+", match.article.title.casefold()))
    evidence = tuple(" ".join(re.findall(r"\w+", sentence.casefold())) for sentence in match.evidence)
    if not title or not any(evidence):
        return None
    return ("copy", title, evidence)


def reference_first_of_stories(matches: Iterable[Match]) -> list[Match]:
    ordered = sorted(matches, key=reference_order)
    group = list(range(len(ordered)))  # each position's group: the earliest position in it

    def merge(a: int, b: int) -> None:
        low, high = min(group[a], group[b]), max(group[a], group[b])
        group[:] = [low if g == high else g for g in group]

    first_of: dict[object, int] = {}
    for position, match in enumerate(ordered):
        for key in (("story", match.article.story_id), reference_copy_key(match)):
            if key is None:
                continue
            other = first_of.setdefault(key, position)
            published = reference_order(match)[0]
            if key[0] == "copy" and published - reference_order(ordered[other])[0] > COPY_SPAN:
                first_of[key] = other = position
            merge(other, position)
    return [match for position, match in enumerate(ordered) if group[position] == position]


def reference_outlet_names(matches: Iterable[Match]) -> dict[str, str]:
    first: dict[str, tuple[tuple[datetime, bool, int, int], str]] = {}
    for match in matches:
        key = outlet_key(match.article.outlet)
        order = reference_order(match)
        if key not in first or order < first[key][0]:
            first[key] = (order, match.article.outlet)
    return {key: name for key, (_, name) in first.items()}


# --- data -----------------------------------------------------------------------------------------------


def _time(rnd: random.Random, value: datetime) -> datetime:
    """The instant in the zone storage or a test may hand it in: UTC mostly, else naive UTC or +02:00."""
    pick = rnd.random()
    if pick < 0.1:
        return value.replace(tzinfo=None)
    if pick < 0.2:
        return value.astimezone(PLUS_TWO)
    return value


def _matches(n: int, seed: int, *, claims: Sequence[int] = (CLAIM.id,)) -> list[Match]:
    """``n`` matches over five days: wire copies of a few headlines (spelt alike or nearly, at offsets within,
    at and beyond COPY_SPAN of each other), storage-linked copies, unique items, undated, clamped and backlog
    items, items at one instant, outlets spelt several ways, evidence of one to three sentences."""
    rnd = random.Random(seed)
    wires = [(rnd.randrange(0, 4 * 24 * 60), titles) for titles in WIRE_TITLES for _ in range(3)]
    offsets = (timedelta(0), timedelta(minutes=5), COPY_SPAN, COPY_SPAN + timedelta(microseconds=1))
    matches: list[Match] = []
    for i in range(1, n + 1):
        pick = rnd.random()
        if pick < 0.55:  # a wire copy
            start, titles = rnd.choice(wires)
            published = T0 + timedelta(minutes=start)
            published += rnd.choice(offsets) if rnd.random() < 0.3 else timedelta(hours=rnd.uniform(0, 30))
            title = rnd.choice(titles)
            evidence = tuple(rnd.choice(SENTENCES[:2] if rnd.random() < 0.7 else SENTENCES) for _ in range(2))
        else:
            published = T0 + timedelta(minutes=rnd.randrange(0, 5 * 24 * 60))
            title = rnd.choice((f"Item {i}: shells", f"item {i} shells", f"Item {i // 2}: shells"))
            evidence = tuple(rnd.sample(SENTENCES, rnd.randrange(0, 4)))
        if rnd.random() < 0.05 and matches:  # at the very instant of an earlier item
            published = matches[-1].article.published
        seen = published + timedelta(minutes=rnd.randrange(0, 120))
        basis = "published"
        published_at: datetime | None = published
        if i % 11 == 0:
            basis, published_at = "first_seen", None  # undated
        elif i % 13 == 0:
            published_at = seen + timedelta(hours=3)  # later than first seen: clamped to it
        story_id = rnd.randrange(1, i) if i > 5 and rnd.random() < 0.1 else i
        article = Article(
            id=i,
            feed_id=i % 40,
            story_id=story_id,
            url=f"https://news.example/{i}",
            canonical_url=f"https://news.example/{i}",
            title=title,
            text="...",
            content_hash=f"h{i}",
            published_at=None if published_at is None else _time(rnd, published_at),
            published_at_basis=basis,
            first_seen_at=_time(rnd, seen),
            language="en",
            outlet=rnd.choice(OUTLETS),
            country=rnd.choice(COUNTRIES),
            leaning="center",
            ownership=rnd.choice(("private", "state", "public")),
            backlog=rnd.random() < 0.05,
        )
        stance = rnd.choice(list(Stance))
        matches.append(
            Match(
                id=1000 + i,
                claim_id=rnd.choice(claims),
                claim_name="nato-ammo",
                article=article,
                score=0.8,
                lexical=0.8,
                semantic=None,
                stance=stance,
                skepticism=round(rnd.random(), 2),
                cues=(),
                evidence=evidence,
                matched_at=seen,
            )
        )
    rnd.shuffle(matches)
    return matches


def _revisions(matches: Sequence[Match], seed: int) -> list[MatchRevision]:
    """Stance revisions of about one match in eight, seen hours after it was published."""
    rnd = random.Random(seed)
    revisions: list[MatchRevision] = []
    for match in matches:
        if rnd.random() >= 0.125:
            continue
        was = rnd.choice([s for s in Stance if s != match.stance])
        revisions.append(
            MatchRevision(
                id=len(revisions) + 1,
                match_id=match.id,
                claim_id=match.claim_id,
                article_id=match.article.id,
                story_id=match.article.story_id,
                version=2,
                previous_version=1,
                content_hash=f"{match.id}-2",
                changes=("stance",),
                before={"stance": was.value, "skepticism": 0.1, "matched": True},
                after={"stance": match.stance.value, "skepticism": match.skepticism, "matched": True},
                diff={},
                updated_at=None,
                revised_at=match.article.published + timedelta(hours=rnd.uniform(1, 30)),
            )
        )
    return revisions


# --- grouping -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stories_firsts_and_order_are_the_plain_per_match_ones(seed: int) -> None:
    matches = _matches(700, seed)
    # The set has what the shortcuts must get right: wire copies folded, and some too late to be copies.
    expected = reference_first_of_stories(matches)
    assert len(expected) < len({m.article.story_id for m in matches})
    for size in (0, 1, 2, 40, 300, 700):  # fewer matches, fewer repeated headlines
        part = matches[:size]
        got = first_of_stories(part)
        want = reference_first_of_stories(part)
        assert [m.id for m in got] == [m.id for m in want]
        assert all(a is b for a, b in zip(got, want, strict=True))
    assert [m.id for m in first_of_stories(tuple(reversed(matches)))] == [m.id for m in expected]


def _item(
    i: int,
    after: timedelta,
    title: str = "NATO outproduces Russia",
    *,
    outlet: str = "",
    backlog: bool = False,
) -> Match:
    """Match ``i`` of a headline ``after`` T0, with the evidence every such item has."""
    article = make_article(
        id=i,
        feed_id=i,
        url=f"https://n.example/{i}",
        canonical_url=f"https://n.example/{i}",
        title=title,
        published_at=T0 + after,
        first_seen_at=T0 + after,
        outlet=outlet or f"Outlet {i}",
        backlog=backlog,
    )
    return make_match(
        id=i,
        claim_name="c",
        article=article,
        stance=Stance.NEUTRAL,
        evidence=("NATO makes more shells.",),
        matched_at=T0,
    )


def test_a_copy_at_exactly_the_copy_span_is_a_copy_and_one_later_a_new_piece() -> None:
    tick = timedelta(microseconds=1)
    matches = [
        _item(1, timedelta(0)),
        _item(2, COPY_SPAN, "nato outproduces RUSSIA!"),  # the same words, at the span: a copy
        _item(3, COPY_SPAN + tick),  # later than the span from 1: a new piece
        _item(4, 2 * COPY_SPAN + tick),  # within the span of 3: its copy
        _item(5, timedelta(hours=1), "NATO outproduces Russia again"),  # another headline: its own story
    ]
    assert [m.id for m in first_of_stories(matches)] == [1, 5, 3]
    assert [m.id for m in first_of_stories(matches)] == [m.id for m in reference_first_of_stories(matches)]


@pytest.mark.parametrize("seed", [1, 2])
def test_copy_keys_orders_and_outlet_names_are_the_plain_ones(seed: int) -> None:
    matches = _matches(500, seed)
    for match in matches:
        assert copy_key(match) == reference_copy_key(match)
        assert shifts._story_order(match) == reference_order(match)
        assert shifts._seen(match) == match.article.published
    assert outlet_names(matches) == reference_outlet_names(matches)
    assert list(outlet_names(matches)) == list(reference_outlet_names(matches))  # the same insertion order
    assert outlet_names(matches[:1]) == reference_outlet_names(matches[:1])
    assert outlet_names([]) == {}


def test_an_outlet_is_named_as_its_first_match_at_one_instant_spells_it() -> None:
    # At one instant the order decides: dated before backlog, then the lower article id.
    hour = timedelta(hours=1)
    matches = [
        _item(9, hour, outlet="bbc news"),
        _item(3, hour, outlet="BBC  News", backlog=True),
        _item(5, hour, outlet="ＢＢＣ News"),
        _item(2, 2 * hour, outlet="BBC News"),
    ]
    assert outlet_names(matches) == reference_outlet_names(matches) == {"bbc news": "ＢＢＣ News"}


# --- detection ------------------------------------------------------------------------------------------


def _stored(drafts: Iterable[EventDraft], offset: int) -> list[Event]:
    return [
        Event(id=f"evt_{offset + i}", **{f.name: getattr(d, f.name) for f in dataclasses.fields(d)})
        for i, d in enumerate(drafts)
    ]


def _detect_by_steps(
    matches: Sequence[Match],
    revisions: Sequence[MatchRevision],
    *,
    reference: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> list[EventDraft]:
    """Detection run every twelve hours over five and a half days, each run's drafts stored before the next."""
    with monkeypatch.context() as patch:
        if reference:
            patch.setattr(shifts, "first_of_stories", reference_first_of_stories)
            patch.setattr(shifts, "_seen", lambda match: match.article.published)
        drafts: list[EventDraft] = []
        for step in range(1, 12):
            now = T0 + timedelta(hours=12 * step)
            drafts += detect_shifts(CLAIM, matches, _stored(drafts, 0), now=now, revisions=revisions)
    return drafts


# (dedupe_key, match_ids, backfill) of each draft, computed with the per-match grouping (seed 4, 600 matches).
EXPECTED = [
    ("first_seen", (1347,), False),
    ("new_segment:country:US", (1552,), False),
    ("new_segment:ownership:private", (1552,), False),
    ("new_segment:country:DE", (1526,), False),
    ("framing_shift:first_skeptical", (1150,), False),
    ("new_segment:ownership:state", (1318,), False),
    ("new_segment:country:FR", (1313,), False),
    ("new_segment:country:UA", (1297,), False),
    ("new_segment:country:RU", (1140,), False),
    ("coverage_spike:2025-11-03T12:04:00Z", (1010, 1025, 1335, 1538, 1562), False),
    (
        "framing_shift:stance_mix:2025-11-04T05:31:12.492170Z",
        (1080, 1113, 1115, 1186, 1208, 1232, 1245, 1301, 1342, 1382, 1386, 1466, 1570, 1584),
        False,
    ),
    ("coverage_spike:2025-11-04T13:09:45.546711Z", (1023, 1064, 1193, 1247, 1251, 1424, 1440, 1509), False),
    (
        "framing_shift:stance_mix:2025-11-04T15:10:00Z",
        (
            1023,
            1064,
            1066,
            1078,
            1102,
            1193,
            1238,
            1246,
            1247,
            1251,
            1302,
            1333,
            1406,
            1424,
            1440,
            1489,
            1509,
            1534,
            1597,
        ),
        False,
    ),
    ("coverage_spike:2025-11-07T00:10:22.141335Z", (1001, 1385, 1452, 1514, 1563), False),
    ("framing_shift:stance_mix:2025-11-08T02:19:00Z", (1160, 1388, 1391, 1413, 1422, 1473, 1566), False),
]


def test_detection_raises_the_events_the_per_match_grouping_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    matches = _matches(600, 4, claims=(CLAIM.id, CLAIM.id, CLAIM.id, OTHER_CLAIM_ID))
    revisions = _revisions([m for m in matches if m.claim_id == CLAIM.id], 4)
    got = _detect_by_steps(matches, revisions, reference=False, monkeypatch=monkeypatch)
    want = _detect_by_steps(matches, revisions, reference=True, monkeypatch=monkeypatch)
    assert got == want
    assert [(d.dedupe_key, d.match_ids, d.backfill) for d in got] == EXPECTED
