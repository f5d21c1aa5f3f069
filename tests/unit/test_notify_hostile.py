"""Hostile feed content against alert rendering and revision diffs: Slack's limits hold, diffs stay cheap."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.support.records import make_article, make_claim, make_event, make_match
from watcher.notify import EventBundle, render_slack, render_slack_digest
from watcher.notify.slack import MAX_SECTION_CHARS, MAX_URL_CHARS, link
from watcher.revisions import Diff, word_diff

AMPERSAND_URL = "https://news.example/a?" + "&" * 970  # under MAX_URL_CHARS raw, five times that escaped
LONG_URL = "https://news.example/" + "a" * 975


def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
    texts = []
    for block in body["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts.extend(element["text"] for element in block["elements"])
    return texts


def assert_whole_links(text: str) -> None:
    """Within Slack's limit, and every "<" of a link closed by its ">" (a cut link shows as raw markup)."""
    assert len(text) <= MAX_SECTION_CHARS
    assert "<" not in re.sub(r"<[^<>]*>", "", text), text[-80:]
    assert not re.search(r"&(a(m(p)?)?|l(t)?|g(t)?)?$", text), text[-20:]  # no entity cut in two


def test_a_link_whose_escaped_url_is_too_long_is_plain_text() -> None:
    assert link(AMPERSAND_URL, "title") == "title"
    short = "https://news.example/a?x=1&y=2"
    assert link(short, "title") == "<https://news.example/a?x=1&amp;y=2|title>"
    assert len(link(LONG_URL, "t")) <= MAX_URL_CHARS + len("<|t>")


@pytest.mark.parametrize("url", [AMPERSAND_URL, LONG_URL])
def test_an_article_section_keeps_its_link_whole(url: str) -> None:
    article = make_article(url=url, title="T" * 400, outlet="O&" * 100, country="US&" * 40)
    body = render_slack(make_event(), make_claim(), [make_match(article=article)])
    for text in mrkdwn_texts(body):
        assert_whole_links(text)
    assert any("score 0.80" in text for text in mrkdwn_texts(body))


def test_a_digest_entry_of_long_links_stays_within_a_section() -> None:
    article = make_article(url=LONG_URL, title="T" * 400, outlet="O" * 100)
    matches = tuple(make_match(id=i, article=article) for i in range(1, 6))
    event = make_event(summary="S" * 400)
    body = render_slack_digest(
        [EventBundle(event=event, claim=make_claim(), matches=matches)], created_at=event.created_at
    )
    [entry] = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert_whole_links(entry)
    shown = entry.count("<https://")
    assert shown >= 1 and entry.endswith(f"and {5 - shown} more")


def apply(ops: Diff) -> tuple[str, str]:
    """The two texts a word diff was made from ("…" runs excepted)."""
    before = [words for op, words in ops if op in ("=", "-")]
    after = [words for op, words in ops if op in ("=", "+")]
    return " ".join(w for w in before if w), " ".join(w for w in after if w)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("x " * 10_000, "y " + "x " * 10_000),  # 20,000 characters of one word, then one more
        ("a " + "x " * 10_000 + "z", "b " + "x " * 10_000),  # changed at both ends
        (" ".join("the a of to".split()[i % 4] for i in range(10_000)), "of " * 5_000 + "the " * 5_000),
    ],
)
def test_a_word_diff_of_repetitive_text_is_fast_and_exact(before: str, after: str) -> None:
    """difflib compares every pair of equal words: 20,000 characters of one word took ten seconds."""
    started = time.perf_counter()
    ops = word_diff(before, after)
    word_diff(before, after, context=8)
    assert time.perf_counter() - started < 2.0
    assert apply(ops) == (" ".join(before.split()), " ".join(after.split()))
    assert all(words for op, words in ops if op in "-+")


def test_a_word_diff_of_news_text_is_as_fine_as_before() -> None:
    words = [f"w{i % 700}" for i in range(6_000)]  # prose-like: many distinct words, some repeated
    changed = list(words)
    changed[3_000] = "changed"
    assert word_diff(" ".join(words), " ".join(changed), context=2) == [
        ["=", "… w198 w199"],
        ["-", "w200"],
        ["+", "changed"],
        ["=", "w201 w202 …"],
    ]


def test_a_destinations_repr_shows_neither_its_url_nor_its_secret() -> None:
    from watcher.domain import Destination

    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
    shown = repr(Destination(name="newsroom", kind="webhook", url=url, secret="whsec_c2VjcmV0"))
    assert "newsroom" in shown
    assert "XXXXSECRETXXXX" not in shown and "whsec_c2VjcmV0" not in shown
