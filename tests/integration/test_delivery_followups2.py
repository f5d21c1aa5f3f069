"""Delivery follow-ups: a 2xx with a malformed answer, capped article lists, one line for a 410, lease clocks.

Receivers are real and local: a raw asyncio TCP server that writes its answers byte for byte (a broken
receiver aiohttp's own server would not produce), and the recording ``Receiver`` of tests.support.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import pytest

from storage.base import PollOutcome
from storage.sql import SqlStore, open_store
from tests.support.clock import Clock
from tests.support.database import destination_states
from tests.support.logs import record_text
from tests.support.outbox import DEFAULT_FEED, seed_events
from tests.support.receivers import Receiver, verify_standard_webhook
from tests.support.records import CLAIM_TEXT, make_article_in, make_claim, make_match_score
from tests.support.stories import SECRET
from watcher.domain import (
    Cue,
    Delivery,
    DeliveryStatus,
    Destination,
    Event,
    EventDraft,
    EventType,
    Framing,
    Stance,
)
from watcher.notify.payload import MAX_DIGEST_EVENT_ARTICLES, MAX_EVENT_ARTICLES
from watcher.notify.retry import SendResult
from watcher.notify.slack import MAX_ARTICLES as MAX_SLACK_ARTICLES
from watcher.outbox import Outbox
from watcher.outbox.sender import Sender

# A path that is a credential, as a Slack webhook's or a gateway's is: it must never reach a log line.
TOKEN = "s3cr3tT0kenValue42"


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """Bytes written as the answer to one request; ``hang_up`` closes the connection after them, ``stall``
    keeps it open, silent, until the receiver stops."""

    data: bytes
    hang_up: bool = False
    stall: bool = False


@dataclass(slots=True)
class RawRequest:
    head: bytes
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class RawReceiver:
    """An HTTP/1.1 receiver over a bare asyncio server: reads each request, answers the next ``answers``
    entry (the last one again once they run out), keeps connections alive between requests."""

    answers: list[RawAnswer]
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _base: str = ""

    def url(self, path: str) -> str:
        return self._base + path

    async def __aenter__(self) -> RawReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self._base = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while await self._answer_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(RawRequest(head, headers, body))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        writer.write(answer.data)
        await writer.drain()
        if answer.stall:
            await asyncio.Event().wait()  # until cancelled by __aexit__
        return not answer.hang_up


def raw_webhook(name: str, receiver: RawReceiver | Receiver, *, digest_minutes: int = 0) -> Destination:
    return Destination(
        name=name,
        kind="webhook",
        url=receiver.url(f"/hooks/{TOKEN}"),
        secret=SECRET,
        allow_private=True,
        digest_minutes=digest_minutes,
    )


@pytest.fixture
async def senders() -> AsyncIterator[list[Sender]]:
    opened: list[Sender] = []
    yield opened
    for s in opened:
        await s.close()


def open_outbox(
    senders: list[Sender],
    store: SqlStore,
    dests: Sequence[Destination],
    clock: Clock,
    *,
    lease_s: float = 60,
    sender: Sender | None = None,
) -> Outbox:
    sender = sender or Sender(timeout_s=1.0)
    senders.append(sender)
    return Outbox(store, sender, dests, clock, lease_s=lease_s)


async def only_delivery(store: SqlStore) -> Delivery:
    (row,) = await store.list_deliveries(limit=10)
    return row


def assert_no_token(caplog: pytest.LogCaptureFixture) -> None:
    # The receiver's own access log (aiohttp.access) prints the path it was asked for: it is not ours.
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    leaked = [record_text(r) for r in ours if TOKEN in record_text(r)]
    assert not leaked, leaked


# -- 1. a 2xx status line, then a malformed answer ----------------------------------------------------

MALFORMED_2XX = {
    "bad Content-Length": RawAnswer(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok"),
    "two Content-Lengths": RawAnswer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"),
    "garbage header line": RawAnswer(
        b"HTTP/1.1 200 OK\r\nthis is not a header\r\nContent-Length: 2\r\n\r\nok"
    ),
    "NUL in a header": RawAnswer(b"HTTP/1.1 202 Accepted\r\nX-Trace: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
    "bad chunk size": RawAnswer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n"),
    "204 with a body": RawAnswer(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"),
    "status line, then hang-up": RawAnswer(b"HTTP/1.1 200 OK\r\n", hang_up=True),
    "status line split, then hang-up": RawAnswer(b"HTTP/1.1 20", hang_up=True),
    "status line, then silence": RawAnswer(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n", stall=True),
}


@pytest.mark.parametrize("answer", MALFORMED_2XX.values(), ids=MALFORMED_2XX.keys())
async def test_a_2xx_followed_by_a_malformed_answer_is_delivered_once(
    store: SqlStore, senders: list[Sender], caplog: pytest.LogCaptureFixture, answer: RawAnswer
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    async with RawReceiver([answer]) as raw:
        dest = raw_webhook("cms", raw)
        (event,) = await seed_events(store, [dest], 1, clock.now)
        outbox = open_outbox(senders, store, [dest], clock)
        result = await outbox.deliver_due()
        row = await only_delivery(store)
        if answer.data.endswith(b"20"):
            # No whole status line came: nothing says the receiver accepted it, so it is tried again.
            assert result == (0, 1) and (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
            return
        assert result == (1, 0)
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DELIVERED, 1, None)
        assert row.last_status == int(answer.data.split()[1])
        (request,) = raw.requests
        assert request.headers["webhook-id"] == event.id
        verify_standard_webhook(SECRET, request.headers, request.body)

        clock.advance(days=1)  # past every retry the schedule has
        assert await outbox.deliver_due() == (0, 0)
        assert len(raw.requests) == 1, "a received 2xx is never sent again"
    counted = [r.getMessage() for r in caplog.records if "counted as delivered" in r.getMessage()]
    assert len(counted) == 1 and "cms" in counted[0] and event.id in counted[0], counted
    assert_no_token(caplog)


async def test_a_malformed_answer_with_an_error_status_is_retried(
    store: SqlStore, senders: list[Sender], caplog: pytest.LogCaptureFixture
) -> None:
    """Only a 2xx is trusted from a broken answer: a 503 (or a 404 that would kill the delivery) is retried."""
    clock = Clock()
    broken = RawAnswer(b"HTTP/1.1 503 Busy\r\nContent-Length: abc\r\n\r\nbusy")
    good = RawAnswer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    async with RawReceiver([broken, good]) as raw:
        dest = raw_webhook("cms", raw)
        (event,) = await seed_events(store, [dest], 1, clock.now)
        outbox = open_outbox(senders, store, [dest], clock)
        assert await outbox.deliver_due() == (0, 1)
        row = await only_delivery(store)
        assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 1, None)
        assert row.last_error == "HTTP 503, then malformed response"
        assert row.next_attempt_at is not None

        clock.now = row.next_attempt_at + timedelta(seconds=1)
        assert await outbox.deliver_due() == (1, 0)
        row = await only_delivery(store)
        assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DELIVERED, 2, 200)
        assert [r.headers["webhook-id"] for r in raw.requests] == [event.id, event.id]
    assert_no_token(caplog)


async def test_status_lines_are_read_per_answer_on_a_kept_alive_connection() -> None:
    """A 200 on one request of a connection says nothing of the next answer on it."""
    good = RawAnswer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    broken = RawAnswer(b"HTTP/1.1 500 Oops\r\nX Bad: 1\r\nContent-Length: 2\r\n\r\nno")
    async with RawReceiver([good, broken, good]) as raw, Sender(timeout_s=1.0) as sender:
        dest = raw_webhook("cms", raw)
        now = datetime.now(UTC)
        first = await sender.send(dest, {"n": 1}, message_id="evt_1", now=now)
        second = await sender.send(dest, {"n": 2}, message_id="evt_2", now=now)
        third = await sender.send(dest, {"n": 3}, message_id="evt_3", now=now)
    assert (first.status, str(first.outcome)) == (200, "delivered")
    assert (second.status, str(second.outcome), second.error) == (
        None,
        "retry",
        "HTTP 500, then malformed response",
    )
    assert (third.status, str(third.outcome)) == (200, "delivered")
    assert [json.loads(r.body)["n"] for r in raw.requests] == [1, 2, 3]
    assert raw.connections == 2, "the first two shared a connection; aiohttp dropped it after the broken one"


# -- 2. a capped article list -------------------------------------------------------------------------


def score_of(i: int) -> float:
    """Scattered scores, with ties (i and i + 101 score alike) so that the order among equals shows."""
    return round(0.3 + ((i * 37) % 101) / 200, 4)


async def seed_wide_events(
    store: SqlStore, dests: Sequence[Destination], now: datetime, *, articles: int, events: int = 1
) -> tuple[list[Event], dict[int, float]]:
    """``events`` events that each rest on the same ``articles`` matches; returns them and match id → score."""
    await store.sync_feeds([DEFAULT_FEED], source="config", now=now)
    (leased,) = await store.lease_due_feeds(now, 1, lease_s=60, all=True)
    outcome = PollOutcome(polled_at=now, next_poll_at=now, status=200, error=None)
    ins = [
        make_article_in(
            url=f"https://news.example/wide-{i}",
            title=f"{CLAIM_TEXT}, report {i} says",
            content_hash=f"wide-{i}",
            published_at=now,
        )
        for i in range(articles)
    ]
    article_ids = await store.record_poll(leased.id, outcome, ins)
    claim = await store.add_claim(make_claim(id=0, name="nato-ammo"), now=now)
    framing = Framing(stance=Stance.SUPPORTS, skepticism=0.1, cues=(Cue(kind="attribution", text="said"),))
    results = [
        (make_match_score(claim_id=claim.id, article_id=aid, score=score_of(i), lexical=score_of(i)), framing)
        for i, aid in enumerate(article_ids)
    ]
    await store.save_matches(article_ids, results, now)
    matches = await store.matches_for_claim(claim.id)
    assert len(matches) == articles
    await store.sync_destinations(dests)
    drafts = [
        EventDraft(
            type=EventType.COVERAGE_SPIKE,
            claim_id=claim.id,
            dedupe_key=f"wide:{n}",
            summary=f"Coverage spike {n}",
            details={"after": articles},
            match_ids=tuple(sorted(m.id for m in matches)),
            created_at=now + timedelta(milliseconds=n),
        )
        for n in range(events)
    ]
    recorded = await store.record_events(claim.id, drafts, dests, now)
    return recorded, {m.id: m.score for m in matches}


def most_relevant(scores: dict[int, float], n: int) -> list[int]:
    """The ids of the ``n`` best scores (the newer match among equals), in id order."""
    return sorted(sorted(scores, key=lambda i: (scores[i], i), reverse=True)[:n])


async def test_a_webhook_carries_the_most_relevant_articles_and_their_total(
    store: SqlStore, receiver: Receiver, senders: list[Sender]
) -> None:
    clock = Clock()
    slack_sink = Receiver()
    async with slack_sink:
        webhook_dest = raw_webhook("cms", receiver)
        slack_dest = Destination(
            name="newsroom", kind="slack", url=slack_sink.url("/slack"), allow_private=True
        )
        (event,), scores = await seed_wide_events(store, [webhook_dest, slack_dest], clock.now, articles=400)
        outbox = open_outbox(senders, store, [webhook_dest, slack_dest], clock)
        assert await outbox.deliver_due() == (2, 0)

        (request,) = receiver.requests
        assert request.signature_error is None and request.headers["webhook-id"] == event.id
        body = request.json()
        assert body["articles_total"] == 400 and len(body["articles"]) == MAX_EVENT_ARTICLES
        matches = await store.matches_by_id(list(scores))
        by_url = {m.article.url: m.id for m in matches}
        shown = [by_url[a["article"]["url"]] for a in body["articles"]]
        assert shown == most_relevant(scores, MAX_EVENT_ARTICLES), "the best scores, in id order"
        assert len(request.body) < 100_000, f"{len(request.body)} bytes for one event"

        # Slack shows fewer, chosen the same way: the best of the webhook's, in the same order.
        (slack,) = slack_sink.requests
        urls = re.findall(r"<(https://news\.example/wide-\d+)\|", json.dumps(slack.json()["blocks"]))
        assert [by_url[u] for u in urls] == most_relevant(scores, MAX_SLACK_ARTICLES)
        assert set(urls) <= {a["article"]["url"] for a in body["articles"]}
        assert f"and {400 - MAX_SLACK_ARTICLES} more articles" in json.dumps(slack.json())


async def test_a_small_event_keeps_every_article(
    store: SqlStore, receiver: Receiver, senders: list[Sender]
) -> None:
    clock = Clock()
    dest = raw_webhook("cms", receiver)
    _, scores = await seed_wide_events(store, [dest], clock.now, articles=7)
    assert await open_outbox(senders, store, [dest], clock).deliver_due() == (1, 0)
    body = receiver.requests[0].json()
    assert "articles_total" not in body and len(body["articles"]) == 7, "only a cut list says its total"
    by_url = {m.article.url: m.id for m in await store.matches_by_id(list(scores))}
    assert [by_url[a["article"]["url"]] for a in body["articles"]] == sorted(scores), "all, in their order"


async def test_each_event_of_a_digest_carries_its_most_relevant_articles(
    store: SqlStore, receiver: Receiver, senders: list[Sender]
) -> None:
    clock = Clock()
    dest = raw_webhook("cms", receiver, digest_minutes=5)
    events, scores = await seed_wide_events(store, [dest], clock.now, articles=150, events=3)
    outbox = open_outbox(senders, store, [dest], clock)
    assert await outbox.deliver_due() == (0, 0), "the digest collects for its five minutes"
    clock.advance(minutes=6)
    assert await outbox.deliver_due() == (3, 0)
    (request,) = receiver.requests
    body = request.json()
    assert body["type"] == "digest" and {e["id"] for e in body["events"]} == {e.id for e in events}
    by_url = {m.article.url: m.id for m in await store.matches_by_id(list(scores))}
    for event in body["events"]:
        assert event["articles_total"] == 150 and len(event["articles"]) == MAX_DIGEST_EVENT_ARTICLES
        shown = [by_url[a["article"]["url"]] for a in event["articles"]]
        assert shown == most_relevant(scores, MAX_DIGEST_EVENT_ARTICLES)
    assert len(request.body) < 100_000


# -- 3. 410 Gone: one clear line ----------------------------------------------------------------------


def warnings_from_watcher(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("watcher") and r.levelno >= logging.WARNING
    ]


async def test_a_410_to_a_digest_is_one_warning_and_stops_every_retry(
    store: SqlStore, senders: list[Sender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    async with Receiver(secret=SECRET) as gone:
        gone.behave(status=410, echo_path=True)  # a receiver that quotes the URL, token and all
        dest = raw_webhook("cms", gone, digest_minutes=5)
        await seed_events(store, [dest], 5, clock.now)
        outbox = open_outbox(senders, store, [dest], clock)
        clock.advance(minutes=6)
        assert await outbox.deliver_due() == (0, 5)

        (warning,) = warnings_from_watcher(caplog)
        assert warning.startswith("destination cms is gone and now disabled: it answered digest dig_")
        assert "(5 events) with HTTP 410: " in warning and "0 other pending deliveries cancelled" in warning
        assert "[redacted]" in warning, warning
        rows = await store.list_deliveries(limit=100)
        assert len(rows) == 5
        assert {(d.status, d.attempts, d.last_status) for d in rows} == {(DeliveryStatus.CANCELLED, 1, 410)}
        assert (await destination_states(store))["cms"] == "HTTP 410: [redacted]"

        for _ in range(3):
            clock.advance(hours=6)
            assert await outbox.deliver_due() == (0, 0)
        assert len(gone.requests) == 1, "nothing is sent again to a destination that is gone"
    assert len(warnings_from_watcher(caplog)) == 1
    assert_no_token(caplog)


async def test_a_410_to_a_destination_of_single_events_is_one_warning(
    store: SqlStore, senders: list[Sender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    async with Receiver(secret=SECRET) as gone:
        gone.behave(status=410, body="channel_is_archived")
        dest = raw_webhook("cms", gone)
        await seed_events(store, [dest], 4, clock.now)
        outbox = open_outbox(senders, store, [dest], clock)
        delivered, _ = await outbox.deliver_due()  # the three leased with it are skipped, not sent
        assert delivered == 0 and len(gone.requests) == 1
        (warning,) = warnings_from_watcher(caplog)
        assert warning.startswith("destination cms is gone and now disabled: it answered evt_")
        assert "with HTTP 410: channel_is_archived; 3 other pending deliveries cancelled" in warning
        rows = await store.list_deliveries(limit=100)
        assert {d.status for d in rows} == {DeliveryStatus.CANCELLED} and len(gone.requests) == 1
    assert_no_token(caplog)


# -- 4. leases and the workers' clocks ----------------------------------------------------------------

LEASE_S = 60.0


class SignallingSender(Sender):
    """A Sender that says when its first send has begun."""

    def __init__(self) -> None:
        super().__init__(timeout_s=5.0)
        self.sending = asyncio.Event()

    async def send(
        self, destination: Destination, body: Mapping[str, Any], *, message_id: str, now: datetime
    ) -> SendResult:
        self.sending.set()
        return await super().send(destination, body, message_id=message_id, now=now)


async def race_two_workers(db_url: str, senders: list[Sender], skew: timedelta) -> Receiver:
    """Worker A leases three deliveries and sends them slowly; worker B, whose clock is ``skew`` ahead of
    A's, looks for due deliveries while A is still sending. Returns the receiver, for what it got."""
    receiver = Receiver(secret=SECRET)
    receiver.behave(delay_s=0.3)
    stores = [await open_store(db_url, upgrade=True) for _ in range(2)]
    try:
        async with receiver:
            dest = raw_webhook("cms", receiver)
            clock_a = Clock()
            clock_b = Clock(clock_a.now + skew)
            await seed_events(stores[0], [dest], 3, clock_a.now - timedelta(hours=2))
            sender_a = SignallingSender()
            a = open_outbox(senders, stores[0], [dest], clock_a, lease_s=LEASE_S, sender=sender_a)
            b = open_outbox(senders, stores[1], [dest], clock_b, lease_s=LEASE_S)

            async def worker_b() -> tuple[int, int]:
                await sender_a.sending.wait()  # A has leased all three and is sending the first
                return await b.deliver_due()

            (sent_a, _), (sent_b, _) = await asyncio.wait_for(asyncio.gather(a.deliver_due(), worker_b()), 30)
            ids = [r.headers["webhook-id"] for r in receiver.requests]
            assert receiver.duplicates == 0, f"{receiver.duplicates} alerts sent twice: {sorted(ids)}"
            assert (sent_a, sent_b) == (3, 0), "A sent what it leased; B found nothing free"
            return receiver
    finally:
        for s in stores:
            await s.close()


@pytest.mark.parametrize(
    "skew",
    [timedelta(seconds=LEASE_S / 2), -timedelta(minutes=30), timedelta()],
    ids=["B half a lease ahead", "B half an hour behind", "same clock"],
)
async def test_workers_whose_clocks_disagree_within_a_lease_send_each_alert_once(
    db_url: str, senders: list[Sender], skew: timedelta
) -> None:
    receiver = await race_two_workers(db_url, senders, skew)
    assert len(receiver.requests) == 3 and receiver.duplicates == 0
