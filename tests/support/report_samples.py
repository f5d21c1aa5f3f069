"""The sample records of the claim report tests: a day and a half of coverage of one claim, hostile bits included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.support.records import make_article, make_claim, make_event, make_match
from watcher.domain import ArticleVersion, Claim, Cue, Event, EventType, Match, Stance
from watcher.report import render_report

T0 = datetime(2025, 11, 6, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=40)
HOSTILE_TITLE = '<script>alert("pwned")</script> NATO & "ammo" <img src=x onerror=alert(1)>'
HOSTILE_URL = "javascript:alert(document.cookie)"

# outlet: (country, leaning, ownership)
OUTLETS = {
    "NATO": ("BE", "unknown", "public"),
    "Reuters": ("GB", "center", "private"),
    "BBC News": ("GB", "center", "public"),
    "The Guardian": ("GB", "lean-left", "private"),
    "Deutsche Welle": ("DE", "center", "public"),
    "France 24": ("FR", "center", "public"),
    "The Kyiv Independent": ("UA", "center", "private"),
    "CNN": ("US", "lean-left", "private"),
    "Fox News": ("US", "right", "private"),
    "Al Jazeera": ("QA", "center", "state"),
    "TASS": ("RU", "unknown", "state"),
    "RT": ("RU", "right", "state"),
}

# (hours after T0, outlet, stance, skepticism, story: index of the original in this list or None, title)
COVERAGE: list[tuple[float, str, Stance, float, int | None, str]] = [
    (0.2, "NATO", Stance.SUPPORTS, 0.0, None, "Allies now out-produce Russia in artillery ammunition"),
    (1.5, "Reuters", Stance.NEUTRAL, 0.2, None, "NATO says it has overtaken Russia in shell production"),
    (1.9, "CNN", Stance.NEUTRAL, 0.2, 1, "NATO says it has overtaken Russia in shell production"),
    (2.4, "BBC News", Stance.NEUTRAL, 0.3, None, "Nato claims lead over Russia in ammunition output"),
    (2.6, "France 24", Stance.NEUTRAL, 0.2, 1, "NATO says it has overtaken Russia in shell production"),
    (
        3.1,
        "The Kyiv Independent",
        Stance.SUPPORTS,
        0.1,
        None,
        "NATO outpaces Russia on shells, officials say",
    ),
    (3.3, "The Guardian", Stance.NEUTRAL, 0.4, None, "Is Nato really making more shells than Russia?"),
    (3.8, "Deutsche Welle", Stance.SUPPORTS, 0.1, None, "Europe's arms industry ramps up shell output"),
    (5.0, "Fox News", Stance.SUPPORTS, 0.0, None, "NATO finally beats Russia at its own game"),
    (9.5, "TASS", Stance.DISPUTES, 0.8, None, "Moscow dismisses NATO ammunition figures as propaganda"),
    (10.1, "RT", Stance.DISPUTES, 0.9, None, HOSTILE_TITLE),
    (10.4, "RT", Stance.DISPUTES, 0.7, 9, "Moscow dismisses NATO ammunition figures as propaganda"),
    (11.0, "Al Jazeera", Stance.NEUTRAL, 0.5, None, "Competing claims over who makes more artillery shells"),
    (20.0, "The Guardian", Stance.DISPUTES, 0.6, None, "Experts question Nato's shell production figures"),
    (26.5, "BBC News", Stance.NEUTRAL, 0.4, None, "Verify: what we know about Nato's ammunition claim"),
    (33.0, "Deutsche Welle", Stance.NEUTRAL, 0.3, None, "Fact check: NATO vs Russia ammunition production"),
]


def sample_claim() -> Claim:
    return make_claim(keywords=("NATO", "ammunition"), created_at=T0 - timedelta(days=2))


# Feed dates that are not simply a few minutes before first seen: {index in COVERAGE: hours after T0 or None}.
UNDATED = 4  # France 24's wire copy: the feed gave no date
CLAMPED = 8  # Fox News dates its story three hours after watcher saw it
BACKDATED = 13  # The Guardian's analysis was published six hours before it reached its feed
PUBLISHED: dict[int, float | None] = {UNDATED: None, CLAMPED: 8.0, BACKDATED: 14.0}


def sample_matches() -> list[Match]:
    """Sixteen matched articles over 33 hours, three of them wire copies, one with a hostile title and URL.

    Most feed dates sit six minutes before first seen; one is missing, one is later than first seen (clamped)
    and one is six hours earlier (a backdated item).
    """
    out: list[Match] = []
    for i, (hours, outlet, stance, skepticism, original, title) in enumerate(COVERAGE):
        published = PUBLISHED.get(i, hours - 0.1)
        article_id = 100 + i
        country, leaning, ownership = OUTLETS[outlet]
        hostile = title == HOSTILE_TITLE
        article = make_article(
            id=article_id,
            feed_id=1 + list(OUTLETS).index(outlet),
            story_id=article_id if original is None else 100 + original,
            url=HOSTILE_URL
            if hostile
            else f"https://{outlet.lower().replace(' ', '')}.example/news/{article_id}",
            title=title,
            published_at=None if published is None else T0 + timedelta(hours=published),
            first_seen_at=T0 + timedelta(hours=hours),
            outlet=outlet,
            country=country,
            leaning=leaning,
            ownership=ownership,
        )
        cues = (Cue(kind="distancing_verb", text="claims"), Cue(kind="counter_voice", text="Moscow denied"))
        out.append(
            make_match(
                id=i + 1,
                article=article,
                score=round(0.95 - i * 0.02, 2),
                lexical=0.7,
                semantic=0.8,
                stance=stance,
                skepticism=skepticism,
                cues=cues if stance is not Stance.SUPPORTS else (),
                evidence=(
                    ('NATO "has surpassed" Russia <b>in ammunition</b> production, the alliance said.',)
                    if hostile
                    else (f"{outlet} reports that NATO now produces more artillery shells than Russia.",)
                    if stance is Stance.SUPPORTS
                    else (
                        f"{outlet} reports that NATO claims it now produces more shells than Russia.",
                        "Moscow DENIED the figures, calling them propaganda.",
                    )
                ),
                matched_at=article.first_seen_at + timedelta(seconds=30),
            )
        )
    return out


def sample_events() -> list[Event]:
    def event(n: int, type_: EventType, hours: float, summary: str) -> Event:
        return make_event(
            id=f"evt_{n:04d}",
            type=type_,
            dedupe_key=f"{type_.value}:{n}",
            summary=summary,
            match_ids=(n,),
            created_at=T0 + timedelta(hours=hours),
        )

    return [
        event(1, EventType.FIRST_SEEN, 0.3, "First coverage: NATO (BE, public) supports the claim"),
        event(2, EventType.COVERAGE_SPIKE, 3.5, "7 stories in 3 hours, 3.5x the usual rate"),
        event(3, EventType.NEW_SEGMENT, 9.6, "First coverage from RU (state-owned): TASS"),
        event(4, EventType.FRAMING_SHIFT, 10.5, 'Disputing share rose to 60% <after> "RT" coverage'),
    ]


def crowded_events() -> list[Event]:
    """The sample events and six more in one hour, two of them at the very same minute."""
    extra = [
        (EventType.COVERAGE_SPIKE, 10.55, "5 stories in 1 hour, 4.0x the usual rate"),
        (EventType.NEW_SEGMENT, 10.55, "First coverage from a right-leaning outlet: RT"),
        (EventType.FRAMING_SHIFT, 10.6, "Disputing share rose to 70%"),
        (EventType.NEW_SEGMENT, 10.65, "First coverage from QA: Al Jazeera"),
        (EventType.COVERAGE_SPIKE, 10.7, "6 stories in 1 hour, 4.5x the usual rate"),
        (EventType.FIRST_SEEN, 10.8, f"First coverage from {LONG_OUTLET}"),
    ]
    crowd = [
        make_event(
            id=f"evt_{n:04d}",
            type=type_,
            dedupe_key=f"{type_.value}:{n}",
            summary=summary,
            match_ids=(),
            created_at=T0 + timedelta(hours=hours),
        )
        for n, (type_, hours, summary) in enumerate(extra, 10)
    ]
    return [*sample_events(), *crowd]


LONG_TITLE = "NATO" + "Ammunition" * 50  # 504 characters, not one space
LONG_OUTLET = "Outlet" * 50  # 300 characters
LONG_URL = "https://long.example/" + "segment/" * 250
SPOOFED_TITLE = "invoice\u202egpj.exe NATO figures"
UNTITLED_TEXT = (
    "NATO has now overtaken Russia in the production of artillery shells, the alliance's secretary general "
    "said on Thursday in Brussels."
)


def long_string_claim() -> Claim:
    return replace(
        sample_claim(), text="NATO has surpassed Russia in " + "ammunition" * 40, keywords=("k" * 200,)
    )


def long_string_matches() -> list[Match]:
    """The sample plus hostile lengths and characters: a 500-character unbroken title, a 300-character outlet
    name, a 2,000-character URL, evidence with a long URL in it, an untitled item, bidi overrides and a
    revised article whose versions differ in those long strings."""
    first = sample_matches()[0]

    def variant(n: int, evidence: tuple[str, ...] | None = None, **article: str) -> Match:
        a = replace(
            first.article,
            id=200 + n,
            story_id=200 + n,
            first_seen_at=T0 + timedelta(hours=12 + n),
            published_at=T0 + timedelta(hours=11.5 + n),
            **article,
        )
        cues = (Cue(kind="distancing_verb", text="claims"),)
        return replace(first, id=200 + n, article=a, evidence=evidence or first.evidence, cues=cues)

    revised = variant(3, title=f"CORRECTION: {LONG_TITLE}")
    seen = revised.article.first_seen_at
    versions = (
        ArticleVersion(version=1, title=LONG_TITLE, text=f"See {LONG_URL} for the figures.", content_hash="v1",
                       updated_at=None, seen_at=seen),
        ArticleVersion(version=2, title=f"CORRECTION: {LONG_TITLE}", text=f"See {LONG_URL}x for the figures.",
                       content_hash="v2", updated_at=None, seen_at=seen + timedelta(hours=1)),
    )  # fmt: skip
    revised = replace(revised, article=replace(revised.article, version=2, versions=versions))
    return [
        *sample_matches(),
        variant(0, title=LONG_TITLE, outlet=LONG_OUTLET, url=LONG_URL),
        revised,
        variant(
            1,
            (f"See https://example.org/{'x' * 400} for the figures NATO claims.",),
            title="",
            text=UNTITLED_TEXT,
        ),
        variant(
            2,
            ("NATO \u202eclaims\u202c it leads \u200fnow\u200e.",),
            title=SPOOFED_TITLE,
            outlet="\u2067Evil\u2069 TV",
        ),
    ]


def long_strings_page() -> str:
    return render_report(long_string_claim(), long_string_matches(), crowded_events(), now=NOW)
