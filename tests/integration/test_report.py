"""The claim report page: chart, events, figures and table from realistic records; escaping; empty state."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from storage.base import PollOutcome
from storage.sql import SqlStore
from tests.support.records import CLAIM_TEXT, make_article_in, make_match_score
from tests.support.report_samples import (
    HOSTILE_TITLE,
    HOSTILE_URL,
    NOW,
    T0,
    sample_claim,
    sample_events,
    sample_matches,
)
from watcher.domain import (
    ArticleIn,
    Claim,
    Cue,
    EventDraft,
    EventType,
    FeedSpec,
    Framing,
    Match,
    MatchScore,
    Stance,
)
from watcher.errors import NotFoundError
from watcher.report import build_report, choose_buckets, group_stories, render_report

# --- a small DOM for assertions ------------------------------------------------------------------------

VOID = {"meta", "link", "input", "br", "img", "hr", "col", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and (cls is None or cls in child.classes()):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def by_id(self, id_: str) -> Node:
        (node,) = [n for n in self.find_all() if n.attrs.get("id") == id_]
        return node

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.cur))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"unbalanced </{tag}>"
        self.cur = node.parent

    def handle_data(self, data: str) -> None:
        self.cur.text += data


def parse(page: str) -> Node:
    b = _Builder()
    b.feed(page)
    b.close()
    assert b.cur is b.root, f"unclosed <{b.cur.tag}>"
    return b.root


@pytest.fixture
def page() -> str:
    return render_report(sample_claim(), sample_matches(), sample_events(), now=NOW)


# --- tests -------------------------------------------------------------------------------------------------


def test_stance_chart_counts_each_story_once(page: str) -> None:
    matches = sample_matches()
    stories = {
        m.article.story_id: m for m in sorted(matches, key=lambda m: m.article.first_seen_at, reverse=True)
    }
    assert len(stories) == len(matches) - 3  # three wire copies
    doc = parse(page)
    chart = doc.by_id("chart-stance")
    bars = chart.find_all("rect", "bar")
    by_stance = Counter[str]()
    for bar in bars:
        by_stance[bar.attrs["data-key"]] += int(bar.attrs["data-count"])
    expected = Counter(m.stance.value for m in stories.values())
    assert by_stance == expected
    # One rect per non-empty (hour, stance) cell: hourly buckets over 33 hours.
    cells = {(int(m.article.first_seen_at.timestamp() // 3600), m.stance) for m in stories.values()}
    assert len(bars) == len(cells)
    assert all(float(b.attrs["height"]) > 0 and float(b.attrs["width"]) > 0 for b in bars)


@pytest.mark.parametrize("view", ["country", "leaning", "ownership"])
def test_segment_views_have_the_same_stories(page: str, view: str) -> None:
    doc = parse(page)
    bars = doc.by_id(f"chart-{view}").find_all("rect", "bar")
    assert sum(int(b.attrs["data-count"]) for b in bars) == 13
    keys = {b.attrs["data-key"] for b in bars}
    if view == "country":
        # France 24 only carried a wire copy: the story counts where it first appeared (GB).
        assert keys == {"BE", "GB", "US", "UA", "DE", "RU", "QA"}
        ru = sum(int(b.attrs["data-count"]) for b in bars if b.attrs["data-key"] == "RU")
        assert ru == 2  # TASS and RT's own story; RT's copy of TASS counts once
    if view == "ownership":
        assert keys == {"public", "private", "state"}
    # The view switch is a set of radio buttons, the first one checked.
    radios = doc.find_all("input")
    assert [r.attrs["id"] for r in radios] == [
        "view-stance",
        "view-country",
        "view-leaning",
        "view-ownership",
    ]
    assert "checked" in radios[0].attrs


def test_events_are_marked_on_every_chart_and_listed(page: str) -> None:
    doc = parse(page)
    events = sample_events()
    for view in ("stance", "country", "leaning", "ownership"):
        markers = doc.by_id(f"chart-{view}").find_all("g", "event")
        assert [m.attrs["data-type"] for m in markers] == [e.type.value for e in events]
        titles = [m.find_all("title")[0].text for m in markers]
        assert "7 stories in 3 hours" in titles[1]
        assert 'Disputing share rose to 60% <after> "RT" coverage' in titles[3]  # unescaped by the parser
    # Markers sit in time order from left to right.
    xs = [float(m.find_all("line")[0].attrs["x1"]) for m in doc.by_id("chart-stance").find_all("g", "event")]
    assert xs == sorted(xs) and xs[0] < xs[-1]
    items = doc.find_all("ol", "events")[0].find_all("li")
    assert len(items) == 4
    assert "Framing shift" in items[3].all_text()
    assert "&lt;after&gt;" in page and "<after>" not in page


def test_headline_figures(page: str) -> None:
    doc = parse(page)
    figures = {
        f.attrs["data-figure"]: f.find_all("span", "value")[0].text for f in doc.find_all("div", "figure")
    }
    # 13 stories; 12 outlets; 8 countries; 3 of 13 stories dispute (RT's copy of TASS does not count again).
    assert figures == {"stories": "13", "outlets": "12", "countries": "8", "disputing": "23%", "events": "4"}
    assert "16 articles, 3 wire copies" in page


def test_table_lists_every_article_newest_first(page: str) -> None:
    doc = parse(page)
    rows = doc.find_all("table", "matches")[0].find_all("tr", "match")
    assert len(rows) == 16
    times = [r.find_all("time")[0].attrs["datetime"] for r in rows]
    assert times == sorted(times, reverse=True)
    assert len(doc.find_all("span", "copy")) == 3
    first = rows[0]
    cells = [td.all_text().strip() for td in first.find_all("td")]
    assert cells[1:6] == ["Deutsche Welle", "DE", "center", "public", "neutral"]
    assert cells[6].startswith("0.30") and cells[7] == "0.65"
    link = first.find_all("a")[0]
    assert link.attrs["href"] == "https://deutschewelle.example/news/115"
    assert link.attrs["rel"] == "noopener noreferrer nofollow"
    assert "Deutsche Welle reports" in cells[9]
    assert [c.text for c in first.find_all("span", "cue")] == ["claims", "Moscow denied"]


def test_hostile_feed_text_is_escaped_and_unsafe_links_dropped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "javascript:" not in page.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;in ammunition&lt;/b&gt;" in page
    doc = parse(page)
    hostile = [r for r in doc.find_all("tr", "match") if "pwned" in r.all_text()]
    assert len(hostile) == 1
    assert hostile[0].find_all("a") == []  # shown, but not as a link
    assert hostile[0].find_all("span", "nolink")[0].text == HOSTILE_TITLE
    # Every link on the page is an article link over http(s).
    assert all(a.attrs["href"].startswith("https://") for a in doc.find_all("a"))


def test_page_is_self_contained(page: str) -> None:
    doc = parse(page)
    assert doc.find_all("script") == []
    assert [link.attrs["href"] for link in doc.find_all("link")] == ["data:,"]
    assert not [n for n in doc.find_all() if "src" in n.attrs]
    csp = [m for m in doc.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp[0].attrs["content"]
    assert "@import" not in page and "url(" not in page


def test_long_tables_show_the_newest_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("watcher.report.MAX_ROWS", 5)
    page = render_report(sample_claim(), sample_matches(), sample_events(), now=NOW)
    rows = parse(page).find_all("tr", "match")
    assert len(rows) == 5 and "Fact check" in rows[0].all_text()
    assert "and 11 older articles" in page


def test_no_coverage_yet() -> None:
    page = render_report(sample_claim(), [], [], now=NOW)
    doc = parse(page)
    assert "No coverage yet" in page
    assert doc.find_all("svg") == []
    assert doc.find_all("tr", "match") == []
    figures = {
        f.attrs["data-figure"]: f.find_all("span", "value")[0].text for f in doc.find_all("div", "figure")
    }
    assert figures["stories"] == "0" and figures["disputing"] == "–"
    assert "No events yet" in page


def test_a_single_article_gets_a_readable_axis() -> None:
    (one,) = sample_matches()[:1]
    page = render_report(sample_claim(), [one], [], now=one.article.first_seen_at + timedelta(hours=2))
    bars = parse(page).by_id("chart-stance").find_all("rect", "bar")
    assert len(bars) == 1
    assert float(bars[0].attrs["width"]) <= 48  # a bar, not a wall


@pytest.mark.parametrize(
    ("span", "unit"),
    [
        (timedelta(hours=5), "hour"),
        (timedelta(days=3), "hour"),
        (timedelta(days=20), "day"),
        (timedelta(days=400), "week"),
    ],
)
def test_bucket_size_follows_the_time_span(span: timedelta, unit: str) -> None:
    buckets = choose_buckets([T0, T0 + span], T0 + span)
    assert buckets is not None and buckets.unit == unit
    assert buckets.start <= T0 and buckets.at(buckets.count) > T0 + span
    assert buckets.index(T0 + span) == buckets.count - 1


def test_padding_never_reaches_into_the_future() -> None:
    buckets = choose_buckets([T0], T0 + timedelta(minutes=10))
    assert buckets is not None and buckets.count >= 12
    assert buckets.index(T0) == buckets.count - 1


def test_daily_report_over_weeks() -> None:
    matches = [
        _shift(m, days=i * 2) for i, m in enumerate(sample_matches())
    ]  # spread over a month: daily buckets
    page = render_report(sample_claim(), matches, [], now=NOW + timedelta(days=40))
    assert "stories per day" in page.lower()
    assert len(group_stories(matches)) == 13


def _shift(m: Match, *, days: int) -> Match:
    from dataclasses import replace

    a = replace(m.article, first_seen_at=m.article.first_seen_at + timedelta(days=days))
    return replace(m, article=a)


# --- from a real store ------------------------------------------------------------------------------------


async def test_build_report_from_the_store(store: SqlStore) -> None:
    await store.sync_feeds(
        [
            FeedSpec(
                url="https://wire.example/rss",
                outlet="Wire",
                country="GB",
                leaning="center",
                ownership="private",
            ),
            FeedSpec(url="https://state.example/rss", outlet="State TV", country="RU", ownership="state"),
        ],
        source="config",
        now=T0,
    )
    wire, state = sorted(await store.lease_due_feeds(T0, 10, lease_s=60), key=lambda f: f.url, reverse=True)
    original = await store.record_poll(
        wire.id, _ok(T0), [_item("a", "NATO out-produces Russia", "https://w/a")]
    )
    copy = await store.record_poll(
        state.id,
        _ok(T0 + timedelta(hours=2)),
        [_item("b", "NATO out-produces Russia", "https://w/a"), _item("c", HOSTILE_TITLE, HOSTILE_URL)],
    )
    claim = await store.add_claim(Claim(id=0, name="nato-ammo", text="NATO has surpassed Russia"), now=T0)
    results = [
        (_score(claim.id, original[0]), Framing(stance=Stance.SUPPORTS, skepticism=0.0)),
        (_score(claim.id, copy[0]), Framing(stance=Stance.SUPPORTS, skepticism=0.1)),
        (
            _score(claim.id, copy[1]),
            Framing(
                stance=Stance.DISPUTES, skepticism=0.9, cues=(Cue(kind="scare_quotes", text='"surpassed"'),)
            ),
        ),
    ]
    await store.save_matches([*original, *copy], results, T0 + timedelta(hours=2))
    draft = EventDraft(
        type=EventType.FRAMING_SHIFT,
        claim_id=claim.id,
        dedupe_key="fs:1",
        summary="First disputing coverage: State TV (RU, state)",
        details={"before": 0, "after": 1},
        match_ids=(3,),
        created_at=T0 + timedelta(hours=2),
    )
    await store.record_events(claim.id, [draft], [], T0 + timedelta(hours=2))

    page = await build_report(store, "nato-ammo")
    assert len(parse(await build_report(store, claim.id)).find_all("tr", "match")) == 3  # by id or by name
    doc = parse(page)
    bars = doc.by_id("chart-stance").find_all("rect", "bar")
    assert sorted((b.attrs["data-key"], int(b.attrs["data-count"])) for b in bars) == [
        ("disputes", 1),
        ("supports", 1),  # the state copy of the wire story counts once
    ]
    assert len(doc.find_all("tr", "match")) == 3
    assert len(doc.by_id("chart-stance").find_all("g", "event")) == 1
    assert "<script" not in page.lower() and "javascript:" not in page.lower()

    await store.remove_claim(claim.id, now=T0 + timedelta(days=1))
    assert "First disputing coverage" in await build_report(store, claim.id)  # history outlives the claim
    with pytest.raises(NotFoundError):
        await build_report(store, "no-such-claim")


def _ok(at: datetime) -> PollOutcome:
    return PollOutcome(polled_at=at, next_poll_at=at + timedelta(minutes=15), status=200, error=None)


def _item(key: str, title: str, url: str) -> ArticleIn:
    return make_article_in(
        key=key,
        url=url,
        canonical_url=url,
        title=title,
        text=f"{title}. {CLAIM_TEXT}, officials said.",
        content_hash=hashlib.sha256(title.encode()).hexdigest(),
        published_at=None,
    )


def _score(claim_id: int, article_id: int) -> MatchScore:
    return make_match_score(
        claim_id=claim_id,
        article_id=article_id,
        score=0.8,
        lexical=0.8,
        evidence=(f"{CLAIM_TEXT}, officials said.",),
    )
