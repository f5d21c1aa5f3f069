"""The claim report page: chart, events, figures and table from realistic records; escaping; empty state."""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from storage.base import PollOutcome
from storage.sql import SqlStore
from tests.support.records import CLAIM_TEXT, make_article_in, make_match_score
from tests.support.report_samples import (
    BACKDATED,
    CLAMPED,
    HOSTILE_TITLE,
    HOSTILE_URL,
    NOW,
    T0,
    UNDATED,
    UNTITLED_TEXT,
    long_strings_page,
    sample_claim,
    sample_events,
    sample_matches,
)
from watcher import __version__
from watcher.domain import (
    ArticleIn,
    ArticleVersion,
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
from watcher.report import (
    build_report,
    choose_buckets,
    display_title,
    excerpt,
    group_stories,
    highlight,
    place_markers,
    publication_time,
    render_report,
    strip_bidi,
)
from watcher.text.display import one_line

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
        m.article.story_id: m
        for m in sorted(matches, key=lambda m: publication_time(m.article).at, reverse=True)
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
    # One rect per non-empty (hour, stance) cell: hourly buckets of publication time over 33 hours.
    cells = {(int(publication_time(m.article).at.timestamp() // 3600), m.stance) for m in stories.values()}
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
    xs = [float(m.attrs["data-x"]) for m in doc.by_id("chart-stance").find_all("g", "event")]
    assert xs == sorted(xs) and xs[0] < xs[-1]
    # The numbered list is the chart's key: in the same card, right under the charts.
    timeline = doc.find_all("section", "timeline")[0]
    items = timeline.find_all("ol", "events")[0].find_all("li")
    assert len(items) == 4
    assert "Framing shift" in items[3].all_text()
    assert [i.find_all("span", "num")[0].text for i in items] == ["1", "2", "3", "4"]
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
    assert cells[0] == "07 Nov 202516:54"  # date over time: published 6 minutes before it was first seen
    assert first.find_all("bdi")[0].text == "Deutsche Welle"
    assert first.find_all("span", "segment")[0].text == "DE · center · public"
    assert cells[2] == "neutral"
    assert cells[3].startswith("0.30") and cells[4] == "0.65"  # scores differ: the column stays
    link = first.find_all("a")[0]
    assert link.attrs["href"] == "https://deutschewelle.example/news/115"
    assert link.attrs["rel"] == "noopener noreferrer nofollow"
    assert "Deutsche Welle reports" in cells[6]
    assert [c.all_text() for c in first.find_all("span", "cue")] == ["claims", "Moscow denied"]
    # The stance-carrying words are marked in both evidence sentences shown.
    assert [m.text for m in first.find_all("mark")] == ["claims", "Moscow DENIED"]
    assert len(first.find_all("p", "quote")) == 2


def test_every_article_has_a_publication_date_and_flags_the_substitutes(page: str) -> None:
    rows = parse(page).find_all("tr", "match")
    cells = {r.find_all("a")[0].attrs["href"].rsplit("/", 1)[-1]: r.find_all("td", "when")[0] for r in rows
             if r.find_all("a")}  # fmt: skip
    assert all(c.find_all("time")[0].all_text().strip() for c in cells.values())
    assert cells[str(100 + UNDATED)].attrs["data-basis"] == "undated"
    assert "no date: first seen" in cells[str(100 + UNDATED)].all_text()
    clamped = cells[str(100 + CLAMPED)]
    assert clamped.attrs["data-basis"] == "clamped" and "date clamped" in clamped.all_text()
    assert clamped.find_all("time")[0].attrs["datetime"] == "2025-11-06T13:00:00Z"  # first seen, not 16:00
    backdated = cells[str(100 + BACKDATED)]
    assert backdated.attrs["data-basis"] == "published"
    assert backdated.find_all("time")[0].attrs["datetime"] == "2025-11-06T22:00:00Z"  # not first seen (04:00)
    flagged = [c for c in cells.values() if c.find_all("span", "dateflag")]
    assert len(flagged) == 2
    # The header and the timeline go by publication time too.
    assert "coverage 06 Nov 2025 08:06 – 07 Nov 2025 16:54 UTC, by publication time" in page
    # France 24's undated copy is no story of its own: only Fox News's clamped date counts.
    assert "Without a usable feed date, 1 of 13 sit at first seen." in page


def test_publication_time_is_clamped_to_first_seen() -> None:
    m = sample_matches()
    assert publication_time(m[0].article).at == T0 + timedelta(hours=0.1)
    assert publication_time(m[0].article).basis == "published"
    assert publication_time(m[UNDATED].article).at == m[UNDATED].article.first_seen_at
    assert publication_time(m[UNDATED].article).basis == "undated"
    clamped = publication_time(m[CLAMPED].article)
    assert (clamped.at, clamped.basis) == (m[CLAMPED].article.first_seen_at, "clamped")
    assert clamped.feed_date == T0 + timedelta(hours=8)


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
    assert hostile[0].find_all("span", "nolink")[0].all_text() == HOSTILE_TITLE
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
    published = m.article.published_at and m.article.published_at + timedelta(days=days)
    a = replace(
        m.article, first_seen_at=m.article.first_seen_at + timedelta(days=days), published_at=published
    )
    return replace(m, article=a)


# --- snapshots --------------------------------------------------------------------------------------------

SNAPSHOTS = Path(__file__).parent.parent / "data" / "snapshots"


@pytest.mark.parametrize(
    ("name", "render"),
    [
        (
            "report_sample.html",
            lambda: render_report(sample_claim(), sample_matches(), sample_events(), now=NOW),
        ),
        ("report_long_strings.html", long_strings_page),
    ],
)
def test_page_matches_snapshot(name: str, render: Callable[[], str]) -> None:
    """The whole page, byte for byte; ``WATCHER_UPDATE_SNAPSHOTS=1`` rewrites the stored files after a change
    meant to alter the page (then read the diff). The version is the only volatile part: ``now`` is fixed."""
    page = render().replace(f"by watcher {__version__} ·", "by watcher VERSION ·")
    snapshot = SNAPSHOTS / name
    if os.environ.get("WATCHER_UPDATE_SNAPSHOTS") or not snapshot.exists():
        snapshot.write_text(page, encoding="utf-8")
    assert page == snapshot.read_text(encoding="utf-8")


# --- text rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "spans", "expected"),
    [
        # case-insensitive, whole words only
        ("He claimed; she disclaims CLAIMS.", ["claims"], "He claimed; she disclaims <mark>CLAIMS</mark>."),
        # escaped inside and outside the marks; a quoted cue matches curly quotes too
        (
            '<b>NATO</b> “surpassed” & "more"',
            ['"surpassed"', "more"],
            "&lt;b&gt;NATO&lt;/b&gt; <mark>“surpassed”</mark> &amp; &quot;<mark>more</mark>&quot;",
        ),
        # overlapping cues merge into one mark, never nested; any whitespace between words
        (
            "Moscow\n  denied the claims",
            ["Moscow denied", "denied the", "claims"],
            "<mark>Moscow\n  denied the</mark> <mark>claims</mark>",
        ),
        # cues are tokens joined by spaces: punctuation may touch a word in the text
        (
            "It claims, without proof, that",
            ["claims , without"],
            "It <mark>claims, without</mark> proof, that",
        ),
        # touching hits merge too; regex characters are literal; empty and absent spans change nothing
        ("a+b(c)", ["a+b", "(c)", "", "zzz"], "<mark>a+b(c)</mark>"),
        ("no cue here", [], "no cue here"),
        # bidi overrides are dropped before matching and from the output
        ("NATO \u202eclaims\u202c it", ["claims"], "NATO <mark>claims</mark> it"),
    ],
)
def test_highlight(sentence: str, spans: list[str], expected: str) -> None:
    assert highlight(sentence, spans) == expected


def test_long_evidence_is_cut_around_its_first_cue() -> None:
    sentence = f"See https://example.org/{'x' * 400} for the figures NATO claims, officials said."
    cut = excerpt(sentence, ["claims"], limit=120)
    assert len(cut) <= 120 and cut.startswith("…") and cut.endswith("officials said.")
    assert "<mark>claims</mark>" in highlight(cut, ["claims"])
    assert excerpt("x" * 300, [], limit=100) == "x" * 99 + "…"
    assert excerpt("short", ["claims"]) == "short"


def test_highlight_never_nests_marks() -> None:
    out = highlight(
        "Officials said the claims were denied, officials said.", ["said", "officials said", "the"]
    )
    depth = 0
    for tag in re.findall(r"</?mark>", out):
        depth += 1 if tag == "<mark>" else -1
        assert depth in (0, 1)
    assert depth == 0 and out.count("<mark>") == 3


def test_strip_bidi_drops_every_override_and_keeps_right_to_left_text() -> None:
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
    assert strip_bidi(f"a{controls}b") == "ab"
    assert strip_bidi("שלום עולם \u200d👩\u200d💻") == "שלום עולם \u200d👩\u200d💻"  # letters and ZWJ stay


def test_bidi_overrides_cannot_spoof_the_page() -> None:
    page = long_strings_page()
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", page)
    row = next(r for r in parse(page).find_all("tr", "match") if "gpj.exe" in r.all_text())
    # Shown as stored, in order, each feed string isolated from its neighbours.
    assert row.find_all("a")[0].find_all("bdi")[0].text == "invoicegpj.exe NATO figures"
    assert row.find_all("td", "outlet")[0].find_all("bdi")[0].text == "Evil TV"
    assert row.find_all("mark")[0].text == "claims"


def test_the_arabic_letter_mark_cannot_turn_a_title_around() -> None:
    """U+061C (ALM) is a strong right-to-left mark: at the start of a title it shows "$100 -200" as "200- 100$"."""
    title = "\u061cNATO ammunition 2024-10-05 \u061c$100 \u061c-200"
    assert strip_bidi(title) == "NATO ammunition 2024-10-05 $100 -200"
    assert one_line(f"outlet\u061c{title}") == "outlet NATO ammunition 2024-10-05  $100  -200"
    (one,) = sample_matches()[:1]
    one = replace(one, article=replace(one.article, title=title))
    page = render_report(sample_claim(), [one], [], now=one.article.first_seen_at + timedelta(hours=2))
    assert "\u061c" not in page
    row = parse(page).find_all("tr", "match")[0]
    assert row.find_all("a")[0].find_all("bdi")[0].text == "NATO ammunition 2024-10-05 $100 -200"


def test_untitled_articles_show_their_first_words() -> None:
    a = sample_matches()[0].article
    assert display_title(replace(a, title=" \u202e ", text=UNTITLED_TEXT)) == (
        "NATO has now overtaken Russia in the production of artillery shells, the…",  # twelve words
        True,
    )
    assert display_title(replace(a, title="", text="Short text.")) == ("Short text.", True)
    assert display_title(replace(a, title="", text="")) == (a.url, True)
    assert display_title(a) == (a.title, False)
    row = next(
        r for r in parse(long_strings_page()).find_all("tr", "match") if r.find_all("span", "untitled")
    )
    title = row.find_all("td", "title")[0]
    assert title.find_all("span", "untitled")[0].text == "(untitled)"
    assert "NATO has now overtaken Russia" in title.all_text()
    assert [m.text for m in row.find_all("mark")] == ["claims"]


def test_a_revised_article_shows_its_versions_with_the_changes_marked() -> None:
    first, *others = sample_matches()
    seen = first.article.first_seen_at
    versions = (
        ArticleVersion(version=1, title="NATO has surpassed Russia", text="Rutte said so. " * 40 + "End.",
                       content_hash="a", updated_at=None, seen_at=seen),
        ArticleVersion(version=2, title="CORRECTION: NATO has not surpassed Russia <script>",
                       text="Rutte said so. " * 40 + "End. Correction: it has not.", content_hash="b",
                       updated_at=None, seen_at=seen + timedelta(hours=2)),
    )  # fmt: skip
    article = replace(first.article, title=versions[1].title, version=2, versions=versions)
    page = render_report(sample_claim(), [replace(first, article=article), *others], [], now=NOW)
    assert "<script>" not in page and "&lt;script&gt;" in page
    (details,) = parse(page).find_all("details", "versions")
    assert details.find_all("summary")[0].text == "revised 1×"
    (item,) = details.find_all("li")
    assert item.find_all("span", "vhead")[0].text.startswith("v2 · seen")
    assert [n.text for n in item.find_all("ins")] == [
        "CORRECTION:",
        "not",
        "<script>",
        "Correction: it has not.",
    ]
    assert [n.text for n in item.find_all("del")] == []
    text = item.find_all("span", "vtext")[0].all_text()
    assert text.startswith("… so. Rutte said so.") and text.count("Rutte") == 2, "eight words of context"
    plain = render_report(sample_claim(), sample_matches(), [], now=NOW)
    assert "revised" not in "".join(n.all_text() for n in parse(plain).find_all("td", "title"))


def test_score_column_only_where_scores_differ(page: str) -> None:
    assert [th.text for th in parse(page).find_all("th", "score")] == ["Score"]
    for matches in (sample_matches()[:1], [replace(m, score=0.8) for m in sample_matches()]):
        lone = render_report(sample_claim(), matches, [], now=NOW)
        doc = parse(lone)
        assert doc.find_all("th", "score") == [] and doc.find_all("td", "score") == []
        assert f"Match score {matches[0].score:.2f} for every article." in lone


def test_skepticism_is_explained_and_given_per_outlet(page: str) -> None:
    doc = parse(page)
    assert (
        page.count("Skepticism, 0–1: how much distancing and doubt") == 1 + 1
    )  # the note and the header tip
    rows = {
        r.find_all("bdi")[0].text: r for r in doc.find_all("table", "outlets")[0].find_all("tr", "outlet")
    }
    assert rows["RT"].find_all("td", "skepticism")[0].all_text() == "0.80"  # mean of 0.9 and 0.7
    assert rows["RT"].find_all("td", "skepticism")[0].attrs["title"] == "mean of 2 articles, 0.70–0.90"
    assert rows["Fox News"].find_all("td", "skepticism")[0].all_text() == "0.00"


# --- event markers ----------------------------------------------------------------------------------------


def _apart(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return math.dist(a, b) >= 2 * 8


def test_place_markers_never_overlaps() -> None:
    placed = place_markers([100.0] * 9 + [105.0, 400.0] + [941.0] * 6)
    lanes = 20  # the lane height: heads in different lanes never touch
    heads = [(x, lane * lanes) for x, lane in placed]
    assert all(_apart(a, b) for i, a in enumerate(heads) for b in heads[i + 1 :])
    assert placed[4] == (119.0, 0)  # four lanes taken: the fifth moves right, by a marker and a gap
    assert placed[10] == (400.0, 0)  # room again: back in the first lane, at its own time
    assert placed[-2:] == [(941.0, 4), (941.0, 5)]  # no room to the right at the edge: more lanes


def test_crowded_events_get_distinct_markers_that_point_at_their_time() -> None:
    doc = parse(long_strings_page())
    chart = doc.by_id("chart-stance")
    markers = chart.find_all("g", "event")
    assert [m.find_all("text")[0].text for m in markers] == [str(n) for n in range(1, 11)]
    heads = [(float(c.attrs["cx"]), float(c.attrs["cy"])) for m in markers for c in m.find_all("circle")]
    assert all(_apart(a, b) for i, a in enumerate(heads) for b in heads[i + 1 :])
    stems = chart.find_all("polyline", "stem")
    for marker, stem in zip(markers, stems, strict=True):
        bottom = stem.attrs["points"].split()[-1]
        assert float(bottom.split(",")[0]) == float(marker.attrs["data-x"])
    same_minute = [m.attrs["data-x"] for m in markers[4:6]]
    assert same_minute[0] == same_minute[1]  # one time, two markers, both visible


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


def test_backfill_events_are_tagged_and_markers_sit_at_publication_time() -> None:
    found_late = replace(
        sample_events()[2],
        created_at=NOW - timedelta(hours=1),  # raised long after the coverage that triggered it
        details={"trigger_at": (T0 + timedelta(hours=9.4)).isoformat()},
        backfill=True,
    )
    events = [*sample_events()[:2], found_late, sample_events()[3]]
    doc = parse(render_report(sample_claim(), sample_matches(), events, now=NOW))
    items = doc.find_all("ol", "events")[0].find_all("li")
    assert [bool(i.find_all("span", "backfill")) for i in items] == [False, False, True, False]
    assert (
        items[2].find_all("time")[0].attrs["datetime"] == "2025-11-06T17:24:00Z"
    )  # its trigger, not NOW - 1h
    xs = [float(m.attrs["data-x"]) for m in doc.by_id("chart-stance").find_all("g", "event")]
    assert xs == sorted(xs), "the backfilled marker sits at its trigger time, between its neighbours"


def test_stored_publication_basis_is_read() -> None:
    article = replace(sample_matches()[0].article, published_at_basis="clamped")
    article = replace(article, published_at=article.first_seen_at)
    assert (publication_time(article).basis, publication_time(article).at) == (
        "clamped",
        article.first_seen_at,
    )
    undated = replace(article, published_at_basis="first_seen")
    assert publication_time(undated).basis == "undated"


def test_a_disputing_article_shows_the_disputing_sentence_and_the_claim_sentence_beside_it() -> None:
    disputing = "Moscow dismissed as nonsense the shell figures."
    stated = "NATO says it has now surpassed Russia in ammunition production."
    other = "The alliance met in Brussels on Thursday."
    base = sample_matches()[0]
    disputed = replace(
        base, stance=Stance.DISPUTES, cues=(Cue(kind="denial", text="dismissed as nonsense"),),
        evidence=(disputing, stated, other),
    )  # fmt: skip
    supporting = replace(disputed, stance=Stance.SUPPORTS)
    for match, expected in ((disputed, [disputing, stated]), (supporting, [disputing])):
        page = render_report(sample_claim(), [match], [], now=NOW)
        row = parse(page).find_all("tr", "match")[0]
        assert [p.attrs["title"] for p in row.find_all("p", "quote")] == expected
