"""DESIGN.md's contracts as a user drives them: the CLI on a config file, a real feed server and real receivers."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from storage.sql import SqlStore
from tests.support.cli import ARTICLE_KEYS, MATCH_KEYS, Watcher
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer
from tests.support.outbox import seed_events
from tests.support.receivers import Receiver
from tests.support.stories import SECRET
from watcher.domain import DeliveryStatus, Destination
from watcher.outbox import Outbox, requeue
from watcher.outbox.sender import Sender

PUBLIC_URL = "https://watcher.example.org"
EVENT_KEYS = {"id", "type", "claim", "summary", "details", "articles", "created_at"}
EVENT_TYPES = {"first_seen", "coverage_spike", "new_segment", "framing_shift", "article_revised"}
FILTERED = ["first_seen", "coverage_spike", "new_segment", "framing_shift"]


@pytest.fixture
async def slack() -> AsyncIterator[Receiver]:
    async with Receiver() as r:  # Slack requests are not signed: the receiver checks nothing
        yield r


def write_config(w: Watcher, server: FeedServer, hook: str, slack_url: str, *, model: str = "null") -> None:
    w.config.write_text(
        "http: {allow_private: true, total_timeout: 5s}\n"
        f"matching: {{model: {model}}}\n"
        f"daemon: {{server: {{enabled: false, public_url: '{PUBLIC_URL}'}}}}\n"
        "defaults: {interval: 15m}\n"
        "feeds:\n"
        f"  - {{url: '{server.url('/kyiv.xml')}', outlet: Kyiv Post, country: UA, language: en,"
        " leaning: center, ownership: private, interval: 10m}\n"
        f"  - {{url: '{server.url('/tass.xml')}', outlet: TASS, country: RU, language: en, ownership: state}}\n"
        "destinations:\n"
        f"  - {{name: newsroom, kind: slack, url: '{slack_url}', allow_private: true}}\n"
        f"  - {{name: cms, kind: webhook, url: '{hook}', secret: '{SECRET}', allow_private: true,"
        f" events: [{', '.join(FILTERED)}]}}\n"
        "claims:\n"
        "  - {name: nato-ammo, text: NATO has surpassed Russia in ammunition production, keywords: [NATO]}\n"
    )


def assert_match_shape(m: dict[str, Any]) -> None:
    assert MATCH_KEYS <= m.keys()
    assert set(m["claim"]) >= {"id", "name"} and isinstance(m["claim"]["id"], int)
    article = m["article"]
    assert ARTICLE_KEYS <= article.keys() and isinstance(article["id"], int)
    assert article["published_at"].endswith("Z")
    assert isinstance(m["score"], float) and 0 <= m["score"] <= 1
    assert m["stance"] in {"supports", "neutral", "disputes"}
    assert isinstance(m["skepticism"], float) and 0 <= m["skepticism"] <= 1
    assert all(set(c) == {"kind", "text"} for c in m["cues"])
    assert m["evidence"] and all(isinstance(s, str) for s in m["evidence"])


async def test_a_cycle_keeps_the_design_contracts(
    db_url: str, tmp_path: Path, server: FeedServer, receiver: Receiver, slack: Receiver
) -> None:
    w = Watcher(tmp_path, db_url)
    write_config(w, server, receiver.url("/hook"), slack.url("/services/T0/B0/xyz"))
    polled = await w("poll-once", "--all", "--json")
    assert polled.code == 0, polled.err
    assert polled.json()["feeds_polled"] == 2 and polled.json()["feeds_failed"] == 0

    listed = await w("matches", "list", "--claim", "nato-ammo", "--json")
    assert listed.code == 0, listed.err
    matches = listed.json()
    assert {m["article"]["outlet"] for m in matches} == {"Kyiv Post", "TASS"}
    for m in matches:
        assert_match_shape(m)
        assert m["claim"]["name"] == "nato-ammo"

    events = (await w("events", "list", "--json")).json()
    assert events
    for e in events:
        assert EVENT_KEYS <= e.keys() and e["id"].startswith("evt_") and e["type"] in EVENT_TYPES
        assert set(e["claim"]) >= {"id", "name", "text"} and isinstance(e["details"], dict)
        assert e["report_url"] == f"{PUBLIC_URL}/claims/nato-ammo/report"
        for m in e["articles"]:
            assert_match_shape(m)

    # Each delivered webhook is signed per Standard Webhooks, its webhook-id is the event id, and its body is
    # that event as `events list --json` prints it. Backfill and unlisted event types go nowhere.
    expected = {e["id"]: e for e in events if not e["backfill"] and e["type"] in FILTERED}
    assert expected
    by_id = {}
    for request in receiver.requests:
        assert request.signature_error is None
        assert Webhook(SECRET).verify(request.body, request.headers) == request.json()
        assert request.headers["webhook-signature"].startswith("v1,")
        assert request.headers["webhook-timestamp"].isdigit()
        by_id[request.headers["webhook-id"]] = request.json()
    assert by_id == expected
    # Slack gets a Block Kit message per event, unsigned, its text escaped.
    assert len(slack.requests) == len([e for e in events if not e["backfill"]])
    for request in slack.requests:
        assert "webhook-signature" not in request.headers
        body = request.json()
        assert body["blocks"][0]["type"] == "header" and isinstance(body["text"], str)

    deliveries = (await w("alerts", "list", "--status", "delivered", "--json")).json()
    assert len(deliveries) == len(receiver.requests) + len(slack.requests)
    # A delivered alert is never sent again, and the CLI says so rather than "due now".
    retried = await w("alerts", "retry", str(deliveries[0]["id"]))
    assert retried.code == 0 and "already delivered" in retried.out and "due now" not in retried.out
    again = await w("poll-once", "--json")
    assert again.code == 0 and again.json()["delivered"] == 0
    assert len(receiver.requests) + len(slack.requests) == len(deliveries)


async def test_exit_codes(db_url: str, tmp_path: Path, server: FeedServer, receiver: Receiver) -> None:
    w = Watcher(tmp_path, db_url)
    write_config(w, server, receiver.url("/hook"), receiver.url("/slack"))
    assert (await w("db", "upgrade")).code == 0
    missing = await w("claims", "show", "no-such-claim")
    assert missing.code == 2 and "no-such-claim" in missing.err
    assert (await w("alerts", "list", "--status", "bogus")).code == 2
    assert (await w("claims", "test", "nato-ammo")).code == 2  # needs one of --text, --file, --url
    (tmp_path / "bad.yaml").write_text("feeds:\n  - url: ftp://example.org/rss\n")
    bad = await w("--config", str(tmp_path / "bad.yaml"), "feeds", "list")
    assert bad.code == 2 and "feeds[0].url" in bad.err
    refused = await w("feeds", "check", "http://127.0.0.1:1/rss", "--json")
    assert refused.code == 1 and refused.json()[0]["error"]


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None, reason="the semantic extra is not installed"
)
async def test_poll_once_exits_1_when_the_matching_model_cannot_be_loaded(
    sqlite_url: str, tmp_path: Path, server: FeedServer, receiver: Receiver
) -> None:
    w = Watcher(tmp_path, sqlite_url)
    w.env["HF_HUB_OFFLINE"] = "1"
    write_config(w, server, receiver.url("/hook"), receiver.url("/slack"), model=str(tmp_path / "no-model"))
    r = await w("poll-once", "--all", "--json")
    assert r.code == 1, r.out
    assert "matching.model" in r.err and r.out == ""


async def test_a_digest_keeps_its_webhook_id_on_retry_and_a_part_of_it_sent_again_gets_its_own(
    store: SqlStore, receiver: Receiver
) -> None:
    clock = Clock()
    dest = Destination(
        name="daily",
        kind="webhook",
        url=receiver.url("/daily"),
        secret=SECRET,
        allow_private=True,
        digest_minutes=1,
    )
    events = await seed_events(store, [dest], 3, clock.now)
    async with Sender() as sender:
        outbox = Outbox(store, sender, [dest], clock, lease_s=300.0)
        receiver.behave(fail_times=1, fail_status=503, status=400)
        clock.advance(minutes=2)
        assert await outbox.deliver_due() == (0, 3)
        retries = [d.next_attempt_at for d in await store.list_deliveries(limit=10)]
        assert len(retries) == 3 and None not in retries
        clock.now = max(r for r in retries if r is not None)
        assert await outbox.deliver_due() == (0, 3)  # the same digest again, then refused for good
        first, second = receiver.requests
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == first.json()["id"]
        assert first.body == second.body
        dead = await store.list_deliveries(status=DeliveryStatus.DEAD, limit=10)
        assert len(dead) == 3

        # Sent again one delivery at a time (`alerts retry`, one by one): each is news to the receiver.
        receiver.behave()
        for d in sorted(dead, key=lambda d: d.id)[:2]:
            await requeue(store, d.id, clock.now)
            assert await outbox.deliver_due() == (1, 0)
    resent = receiver.requests[2:]
    ids = [r.headers["webhook-id"] for r in resent]
    assert len(set(ids)) == 2 and first.headers["webhook-id"] not in ids
    assert all(r.signature_error is None and r.json()["id"] == r.headers["webhook-id"] for r in resent)
    assert receiver.duplicates == 0 and receiver.processed_ids == ids
    sent = [e["id"] for r in resent for e in r.json()["events"]]
    assert len(sent) == 2 and set(sent) < {e.id for e in events}
