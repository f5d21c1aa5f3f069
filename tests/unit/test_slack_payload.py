"""Rendering of events for Slack and webhooks: the DESIGN.md JSON contract, Slack escaping and limits."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.records import T0, make_article, make_claim, make_event, make_match
from watcher.domain import Cue, Destination, Event, EventType, Match, Stance
from watcher.notify import (
    EventBundle,
    digest_message_id,
    render_digest,
    render_event,
    render_match,
    render_slack,
    render_slack_digest,
)
from watcher.notify.payload import report_url
from watcher.notify.render import render_for
from watcher.notify.slack import escape, escape_clipped, link

SNAPSHOT = Path(__file__).parent.parent / "data" / "snapshots" / "slack_hostile.json"
HOSTILE_TITLES = [
    "<!channel> NATO ammo output tops Russia",
    "Read this <http://evil.example|click here> now",
    "Tom &amp; Jerry & friends > Moscow < Kyiv",
    "<@U123> <#C123> <!subteam^S1> <!here|here>",
    "x" * 10_000,
    "&" * 4_000,
]


def slack_match(i: int, *, title: str = "", url: str = "", evidence: str = "") -> Match:
    article = make_article(
        id=i,
        url=url or f"https://news.example/{i}?a=1&b=2",
        title=title or f"Article {i}",
        published_at=T0 - timedelta(hours=1),
        outlet=f"Outlet <{i}>",
        country="UA",
    )
    return make_match(
        id=100 + i,
        article=article,
        score=0.83,
        lexical=0.7,
        semantic=0.9,
        stance=Stance.DISPUTES,
        skepticism=0.1,
        cues=(Cue(kind="distancing_verb", text="claimed"),),
        evidence=(evidence or "NATO has now surpassed Russia in ammunition production <!channel>",),
    )


CLAIM = make_claim()


def slack_event(n_matches: int, *, event_id: str = "evt_1", summary: str = "") -> Event:
    return make_event(
        id=event_id,
        type=EventType.FRAMING_SHIFT,
        dedupe_key="k",
        summary=summary or "First disputing coverage: RT (RU, state) <!channel> frames the claim",
        details={"before": 3, "after": 7, "share": 0.4285714, "window": "24h", "nested": {"a": [1, 2]}},
        match_ids=tuple(range(100, 100 + n_matches)),
    )


def hostile_matches() -> list[Match]:
    matches = [slack_match(i, title=t) for i, t in enumerate(HOSTILE_TITLES)]
    matches.append(slack_match(50, title="bad scheme", url="javascript:alert(1)"))
    matches.append(slack_match(51, title="pipe url", url="https://x.example/a|b>c"))
    return matches


def texts(message: dict[str, Any]) -> list[str]:
    """Every text Slack will render from a message."""
    found = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(e["text"] for e in block.get("elements", []))
    return found


def assert_slack_limits(message: dict[str, Any]) -> None:
    assert message["text"]
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            assert 0 < len(element["text"]) <= 3000


def assert_no_injection(message: dict[str, Any]) -> None:
    """Only our own <https://...|label> links may use angle brackets; every & starts an entity."""
    for text in texts(message):
        assert "<!" not in text and "<@" not in text and "<#" not in text
        for token in re.findall(r"<([^>]*)>", text):
            assert re.fullmatch(r"https?://[^|<>\s]+\|[^<>]*", token), token
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text


def test_slack_message_matches_snapshot() -> None:
    message = render_slack(slack_event(8), CLAIM, hostile_matches())
    if os.environ.get("WATCHER_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(message, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert message == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_hostile_feed_text_cannot_mention_or_link() -> None:
    message = render_slack(slack_event(8), CLAIM, hostile_matches())
    assert_slack_limits(message)
    assert_no_injection(message)
    joined = "\n".join(texts(message))
    assert "&lt;!channel&gt;" in joined
    assert "&lt;http://evil.example|click here&gt;" in joined
    assert "Tom &amp;amp; Jerry &amp; friends &gt; Moscow &lt; Kyiv" in joined


def test_unsafe_urls_are_not_linked() -> None:
    message = render_slack(slack_event(8), CLAIM, hostile_matches())
    joined = "\n".join(texts(message))
    assert "javascript:" not in joined
    assert "<https://x.example/a%7Cb&gt;c|pipe url>" in joined


@pytest.mark.parametrize("n", [0, 1, 10, 11, 200])
def test_many_articles_stay_within_slack_limits(n: int) -> None:
    matches = [slack_match(i, title=HOSTILE_TITLES[i % len(HOSTILE_TITLES)]) for i in range(n)]
    message = render_slack(slack_event(n, summary="&<>" * 200), CLAIM, matches)
    assert_slack_limits(message)
    assert_no_injection(message)
    if n > 10:
        assert f"… and {n - 10} more articles" in "\n".join(texts(message))


def test_long_text_is_clipped_on_escaped_length_without_splitting_entities() -> None:
    clipped = escape_clipped("a&" * 1000, 100)
    assert len(clipped) <= 100 and clipped.endswith("…")
    assert not re.search(r"&(?!amp;)", clipped)
    assert escape_clipped("short & sweet", 100) == "short &amp; sweet"
    assert escape_clipped("a\nb\tc", 10) == "a b c"


def test_escape_touches_only_three_characters() -> None:
    assert escape("*bold* _it_ ~s~ `c` @here <>&") == "*bold* _it_ ~s~ `c` @here &lt;&gt;&amp;"
    assert link("https://a.example/?q=1&r=<2>", "t") == "<https://a.example/?q=1&amp;r=&lt;2&gt;|t>"
    assert link("ftp://a.example/", "t<") == "t&lt;"


def test_slack_digest_stays_within_limits() -> None:
    bundles = [
        EventBundle(
            event=slack_event(5, event_id=f"evt_{i}"),
            claim=CLAIM,
            matches=tuple(slack_match(j, title=HOSTILE_TITLES[j % 6]) for j in range(5)),
        )
        for i in range(100)
    ]
    message = render_slack_digest(bundles, created_at=T0)
    assert_slack_limits(message)
    assert_no_injection(message)
    assert "… and 80 more events" in "\n".join(texts(message))


def test_a_slack_digest_links_each_claim_to_its_report() -> None:
    bundles = [EventBundle(event=slack_event(5, event_id="evt_1"), claim=CLAIM, matches=(slack_match(1),))]
    plain = "\n".join(texts(render_slack_digest(bundles, created_at=T0)))
    assert "/report" not in plain
    message = render_slack_digest(bundles, created_at=T0, public_url="https://watch.example/")
    assert_slack_limits(message)
    assert_no_injection(message)
    assert "<https://watch.example/claims/nato-ammo/report|nato-ammo>" in "\n".join(texts(message))


def test_render_match_is_the_design_contract() -> None:
    assert render_match(slack_match(7, title="T")) == {
        "claim": {"id": 1, "name": "nato-ammo"},
        "article": {
            "id": 7,
            "url": "https://news.example/7?a=1&b=2",
            "title": "T",
            "untitled": False,
            "outlet": "Outlet <7>",
            "country": "UA",
            "language": "en",
            "leaning": "center",
            "ownership": "private",
            "published_at": "2025-11-06T14:02:00Z",
            "published_at_basis": "published",
        },
        "score": 0.83,
        "stance": "disputes",
        "skepticism": 0.1,
        "cues": [{"kind": "distancing_verb", "text": "claimed"}],
        "evidence": ["NATO has now surpassed Russia in ammunition production <!channel>"],
        "matched_at": "2025-11-06T15:02:00Z",
    }


def test_render_event_is_the_design_contract_and_serialises() -> None:
    event = slack_event(2)
    body = render_event(event, CLAIM, [slack_match(1), slack_match(2)])
    assert list(body) == ["id", "type", "claim", "summary", "details", "articles", "created_at", "backfill"]
    assert body["backfill"] is False
    assert body["id"] == "evt_1" and body["type"] == "framing_shift"
    assert body["claim"] == {"id": 1, "name": "nato-ammo", "text": CLAIM.text}
    assert body["created_at"] == "2025-11-06T15:02:00Z"
    assert body["details"]["nested"] == {"a": [1, 2]}
    assert [a["article"]["id"] for a in body["articles"]] == [1, 2]
    # Webhook bodies carry feed text raw: escaping is Slack's concern only.
    assert body["articles"][0]["evidence"][0].endswith("<!channel>")
    json.dumps(body, allow_nan=False)


def test_details_with_odd_types_become_json() -> None:
    event = Event(
        id="evt_2",
        type=EventType.COVERAGE_SPIKE,
        claim_id=1,
        dedupe_key="k",
        summary="s",
        details={"since": T0, "types": (EventType.FIRST_SEEN,), "set": {2, 1}, "path": Path("x")},
        match_ids=(),
        created_at=datetime(2025, 1, 1, 12, 0),  # naive: read as UTC
    )
    body = render_event(event, CLAIM, [])
    assert body["details"] == {
        "since": "2025-11-06T15:02:00Z",
        "types": ["first_seen"],
        "set": [1, 2],
        "path": "x",
    }
    assert body["created_at"] == "2025-01-01T12:00:00Z"


def test_digest_id_is_stable_and_order_independent() -> None:
    bundles = [
        EventBundle(event=slack_event(0, event_id=f"evt_{i}"), claim=CLAIM, matches=()) for i in range(3)
    ]
    body = render_digest(bundles, created_at=T0)
    assert body["type"] == "digest" and len(body["events"]) == 3
    assert (
        body["id"]
        == digest_message_id(["evt_2", "evt_0", "evt_1"])
        == render_digest(bundles[::-1], created_at=T0)["id"]
    )
    assert body["id"] != digest_message_id(["evt_0", "evt_1"])


def test_alerts_link_to_the_claim_report_when_the_public_url_is_set() -> None:
    event = slack_event(2)
    matches = [slack_match(1)]
    slack = Destination(name="newsroom", kind="slack", url="https://hooks.slack.example/x")
    hook = Destination(name="cms", kind="webhook", url="https://cms.example/hook")
    url = "https://watcher.example.org/claims/nato-ammo/report"
    body = render_for(hook, event, CLAIM, matches, public_url="https://watcher.example.org/")
    assert body["report_url"] == url
    assert "report_url" not in render_for(hook, event, CLAIM, matches)
    message = render_for(slack, event, CLAIM, matches, public_url="https://watcher.example.org")
    assert f"<{url}|Open the claim's report>" in texts(message)
    assert not any("report" in t for t in texts(render_for(slack, event, CLAIM, matches)))
    assert (
        report_url("https://w.example", replace(CLAIM, name="a/b c"))
        == "https://w.example/claims/a%2Fb%20c/report"
    )


def test_slack_names_what_changed_and_quotes_the_evidence_with_outlet_and_stance() -> None:
    message = render_slack(slack_event(2), CLAIM, [slack_match(1)])
    lines = texts(message)
    assert message["blocks"][0]["text"]["text"] == escape(slack_event(2).summary)
    quote = next(t for t in lines if t.startswith(">“"))
    assert "NATO has now surpassed Russia" in quote and "Outlet &lt;1&gt;" in quote and "*disputes*" in quote


def test_a_disputing_article_quotes_the_disputing_sentence_with_the_claim_sentence_beside_it() -> None:
    disputing = "Moscow dismissed as nonsense the claim that NATO out-produces Russia."
    stated = "NATO says it has now surpassed Russia in ammunition production."
    match = replace(slack_match(1), evidence=(disputing, stated))
    quote = next(t for t in texts(render_slack(slack_event(1), CLAIM, [match])) if t.startswith(">“"))
    assert (
        quote.index("dismissed as nonsense")
        < quote.index("NATO says it has now surpassed")
        < quote.index("*disputes*")
    )
    # A supporting article quotes its best sentence alone.
    supporting = replace(match, stance=Stance.SUPPORTS)
    quote = next(t for t in texts(render_slack(slack_event(1), CLAIM, [supporting])) if t.startswith(">“"))
    assert "dismissed as nonsense" in quote and "NATO says" not in quote


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def test_bidi_controls_cannot_reorder_slack_text() -> None:
    # "invoice\u202efdp.exe" would render as "invoiceexe.pdf"; every Slack string drops the controls.
    spoof = "invoice\u202efdp.exe " + BIDI
    match = slack_match(1, title=spoof, evidence="NATO \u2066ahead\u2069 of Russia \u202e")
    event = slack_event(1, summary="Spike \u202etxt.exe")
    message = render_slack(event, make_claim(text="NATO \u202bhas surpassed"), [match])
    digest = render_slack_digest([EventBundle(event=event, claim=CLAIM, matches=(match,))], created_at=T0)
    strings = texts(message) + texts(digest)
    assert any("invoicefdp.exe" in t for t in strings)
    for text in strings:
        assert not set(BIDI) & set(text), repr(text)
    assert escape("a\u202eb<") == "ab&lt;"


def test_untitled_articles_show_their_first_words_marked_untitled() -> None:
    words = " ".join(f"w{i}" for i in range(30))
    untitled = make_match(id=7, article=make_article(id=7, title="  \u202e ", text=words))
    message = render_slack(slack_event(1), CLAIM, [untitled])
    line = next(t for t in texts(message) if "w0" in t)
    assert "_(untitled)_" in line and "w11…" in line and "w12" not in line
    digest = render_slack_digest(
        [EventBundle(event=slack_event(1), claim=CLAIM, matches=(untitled,))], created_at=T0
    )
    assert any("_(untitled)_" in t and "w0 w1" in t for t in texts(digest))
    article = render_match(untitled)["article"]
    assert (
        article["untitled"] is True
        and article["title"].startswith("w0 w1 w2")
        and article["title"].endswith("…")
    )
    no_text = make_match(id=8, article=make_article(id=8, title="", text="", url="https://news.example/8"))
    assert render_match(no_text)["article"]["title"] == "https://news.example/8"
    assert render_match(slack_match(9, title="Real"))["article"]["untitled"] is False
