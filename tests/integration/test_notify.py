"""Sending to real local receivers: signing, stable ids on retry, Retry-After, timeouts, 410, pacing."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook

from tests.support.net import free_port
from tests.support.receivers import Receiver, verify_standard_webhook
from tests.support.records import T0, make_article, make_claim, make_delivery, make_event, make_match
from watcher.domain import (
    Delivery,
    DeliveryStatus,
    Destination,
    Event,
    Match,
    Stance,
)
from watcher.errors import NotifyError
from watcher.notify import (
    EventBundle,
    Outcome,
    apply_outcome,
    message_id_for,
    render_digest_for,
    render_for,
    validate_destination,
)
from watcher.notify.retry import SCHEDULE
from watcher.outbox.sender import Sender

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_PATH = "/services/T0000/B0000/XXXXsecrettokenXXXX"
CLAIM = make_claim()
ServerFactory = Callable[..., Awaitable[TestServer]]


def notify_match() -> Match:
    article = make_article(
        id=7,
        title="NATO <!channel> ammunition",
        content_hash="h",
        outlet="RT",
        country="RU",
        leaning="unknown",
        ownership="state",
    )
    return make_match(
        article=article, stance=Stance.DISPUTES, skepticism=0.7, evidence=("so-called surpassing",)
    )


def notify_event(event_id: str = "evt_abc") -> Event:
    return make_event(id=event_id, summary="First coverage: RT (RU, state)", details={"count": 1})


EVENT = notify_event()


def now() -> datetime:
    return datetime.now(UTC)


class Harness:
    """One receiver served by aiohttp_server, and destinations pointing at it."""

    def __init__(self, receiver: Receiver, server: TestServer) -> None:
        self.receiver = receiver
        self.server = server

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def webhook(self, *, secret: str | None = SECRET, name: str = "cms") -> Destination:
        return Destination(
            name=name, kind="webhook", url=self.url("/hook"), secret=secret, allow_private=True
        )

    def slack(self, path: str = SLACK_PATH, name: str = "newsroom") -> Destination:
        return Destination(name=name, kind="slack", url=self.url(path), allow_private=True)


@pytest.fixture
async def serve(aiohttp_server: ServerFactory) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    receivers: list[Receiver] = []

    async def start(secret: str | None = SECRET, **behaviour: Any) -> Harness:
        receiver = Receiver(secret=secret)
        receiver.behave(**behaviour)
        receivers.append(receiver)
        return Harness(receiver, await aiohttp_server(receiver.app))

    yield start
    for receiver in receivers:  # slow handlers answer before the servers shut down
        receiver.release()


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with Sender(timeout_s=2.0) as s:
        yield s


def delivery(attempts: int = 0, status: DeliveryStatus = DeliveryStatus.PENDING) -> Delivery:
    return make_delivery(event_id=EVENT.id, status=status, attempts=attempts)


async def send_event(sender: Sender, destination: Destination, event: Event = EVENT) -> Any:
    body = render_for(destination, event, CLAIM, [notify_match()])
    return await sender.send(destination, body, message_id=message_id_for(event), now=now())


async def test_signed_webhook_is_delivered_and_verifies(serve: Any, sender: Sender) -> None:
    h = await serve()
    result = await send_event(sender, h.webhook())
    assert result.outcome is Outcome.DELIVERED and result.status == 200 and result.error is None
    [request] = h.receiver.requests
    assert request.signature_error is None  # the receiver's own spec implementation accepted it
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "evt_abc"
    assert abs(int(request.headers["webhook-timestamp"]) - now().timestamp()) < 5
    # ... and so does the reference library
    assert Webhook(SECRET).verify(request.body, request.headers) == request.json()
    assert request.json() == render_for(h.webhook(), EVENT, CLAIM, [notify_match()])
    assert request.json()["articles"][0]["article"]["title"] == "NATO <!channel> ammunition"


async def test_wrong_secret_is_rejected_by_the_receiver(serve: Any, sender: Sender) -> None:
    h = await serve(secret="whsec_" + "QUJD" * 8)
    result = await send_event(sender, h.webhook())
    assert (result.outcome, result.status) == (Outcome.DEAD, 401)
    assert h.receiver.requests[0].signature_error == "no matching v1 signature"
    verify_standard_webhook(SECRET, h.receiver.requests[0].headers, h.receiver.requests[0].body)


async def test_retries_carry_the_same_webhook_id_until_delivered(serve: Any, sender: Sender) -> None:
    h = await serve(fail_times=3, fail_status=503)
    destination, rng = h.webhook(), random.Random(7)
    current, clock, schedule = delivery(), T0, []
    while current.status is DeliveryStatus.PENDING:
        result = await send_event(sender, destination)
        update = apply_outcome(current, result, clock, rng)
        if update.next_attempt_at is not None:
            schedule.append(update.next_attempt_at - clock)
            clock = update.next_attempt_at  # the outbox loop would sleep until then
        current = delivery(update.attempts, update.status)
    assert current.status is DeliveryStatus.DELIVERED and current.attempts == 4
    assert len(schedule) == 3
    assert all(0.9 <= d / nominal <= 1.1 for d, nominal in zip(schedule, SCHEDULE, strict=False))
    ids = {r.headers["webhook-id"] for r in h.receiver.requests}
    assert ids == {"evt_abc"} and len(h.receiver.requests) == 4
    assert all(r.signature_error is None for r in h.receiver.requests)
    assert h.receiver.processed_ids == ["evt_abc"]
    # A duplicate after success (say, a crash before the row was updated) is deduplicated by the receiver.
    await send_event(sender, destination)
    assert h.receiver.processed_ids == ["evt_abc"] and h.receiver.duplicates == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_s"),
    [(429, "120", 120.0), (503, "Wed, 21 Oct 2099 07:28:00 GMT", None), (500, "120", None)],
)
async def test_retry_after(
    serve: Any, sender: Sender, status: int, retry_after: str, expected_s: float | None
) -> None:
    h = await serve(fail_times=1, fail_status=status, retry_after=retry_after)
    result = await send_event(sender, h.webhook())
    assert (result.outcome, result.status) == (Outcome.RETRY, status)
    update = apply_outcome(delivery(), result, T0, random.Random(0))
    if status == 500:  # Retry-After only counts on 429 and 503
        assert result.retry_after_s is None
        assert update.next_attempt_at is not None and update.next_attempt_at - T0 < timedelta(seconds=6)
    elif expected_s is not None:
        assert result.retry_after_s == expected_s
        assert update.next_attempt_at == T0 + timedelta(seconds=expected_s)
    else:  # a date decades away: longer than the retry window, so give up
        assert result.retry_after_s is not None and result.retry_after_s > 86400 * 365
        assert update.status is DeliveryStatus.DEAD


async def test_slow_receiver_times_out(serve: Any) -> None:
    h = await serve(delay_s=10.0)
    async with Sender(timeout_s=0.2) as quick:
        result = await send_event(quick, h.webhook())
    assert (result.outcome, result.status) == (Outcome.RETRY, None)
    assert result.error == "timed out after 0.2 s"
    assert 150 < result.elapsed_ms < 2000


async def test_gone_disables_the_destination(serve: Any, sender: Sender) -> None:
    h = await serve(status=410, body="channel_is_archived")
    result = await send_event(sender, h.webhook())
    assert (result.outcome, result.status) == (Outcome.DISABLE, 410)
    update = apply_outcome(delivery(), result, T0, random.Random(0))
    assert update.status is DeliveryStatus.CANCELLED and update.disable_destination
    assert update.last_error == "HTTP 410: channel_is_archived"


async def test_bad_request_is_dead(serve: Any, sender: Sender) -> None:
    h = await serve(status=400, body="invalid_payload")
    result = await send_event(sender, h.webhook())
    assert (result.outcome, result.status, result.error) == (Outcome.DEAD, 400, "HTTP 400: invalid_payload")
    assert apply_outcome(delivery(), result, T0, random.Random(0)).status is DeliveryStatus.DEAD


async def test_slack_gets_block_kit_without_signing_headers(serve: Any, sender: Sender) -> None:
    h = await serve(secret=None)
    result = await send_event(sender, h.slack())
    assert result.outcome is Outcome.DELIVERED
    [request] = h.receiver.requests
    assert request.path == SLACK_PATH
    assert not any(name.startswith("webhook-") for name in request.headers)
    body = request.json()
    assert body["text"] and body["blocks"][0]["type"] == "header"
    assert "&lt;!channel&gt;" in str(body["blocks"])


async def test_slack_is_paced_to_one_message_per_second_per_url(serve: Any) -> None:
    h = await serve(secret=None)
    first, second = h.slack("/services/T/B/one", name="a"), h.slack("/services/T/B/two", name="b")
    async with Sender() as paced:  # default pacing: 1 message per second per Slack URL
        sends = [send_event(paced, first) for _ in range(3)] + [send_event(paced, second)]
        results = await asyncio.gather(*sends)
    assert all(r.outcome is Outcome.DELIVERED for r in results)
    one = [r.received_at for r in h.receiver.requests if r.path.endswith("/one")]
    two = [r.received_at for r in h.receiver.requests if r.path.endswith("/two")]
    gaps = [b - a for a, b in itertools.pairwise(one)]
    assert len(one) == 3 and all(gap >= 0.95 for gap in gaps), gaps
    assert two[0] - one[0] < 0.5  # another URL is not held back


async def test_unsigned_webhook_is_sent_and_warned_about_once(
    serve: Any, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    h = await serve(secret=None)
    caplog.set_level(logging.WARNING, logger="watcher")
    for _ in range(2):
        assert (await send_event(sender, h.webhook(secret=None))).outcome is Outcome.DELIVERED
    assert all("webhook-signature" not in r.headers for r in h.receiver.requests)
    assert all(r.headers["webhook-id"] == "evt_abc" for r in h.receiver.requests)
    warnings = [r for r in caplog.records if "unsigned" in r.getMessage()]
    assert len(warnings) == 1 and "cms" in warnings[0].getMessage()


async def test_private_addresses_need_allow_private(serve: Any, sender: Sender) -> None:
    h = await serve()
    blocked = Destination(name="cms", kind="webhook", url=h.url("/hook"), secret=SECRET)
    result = await send_event(sender, blocked)
    assert result.outcome is Outcome.DEAD and result.error is not None and "allow_private" in result.error
    assert h.receiver.requests == []
    allowed = Destination(name="cms", kind="webhook", url=h.url("/hook"), secret=SECRET, allow_private=True)
    assert (await send_event(sender, allowed)).outcome is Outcome.DELIVERED


@pytest.mark.parametrize(
    "host",
    [
        "localhost",  # a name: refused when resolved, as for feeds
        "127.0.0.1",
        "[::1]",
        "[64:ff9b::7f00:1]",  # 127.0.0.1 behind the NAT64 prefix
        "[2002:7f00:1::1]",  # 127.0.0.1 inside a 6to4 address
        "[::127.0.0.1]",  # IPv4-compatible
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:7f00:1]",  # IPv4-mapped, hex
        "[::ffff:10.0.0.1]",  # a private address, mapped
        "[::ffff:169.254.169.254]",  # cloud metadata, mapped
    ],
)
async def test_destinations_share_the_feeds_connect_time_guard(serve: Any, sender: Sender, host: str) -> None:
    h = await serve()
    url = f"http://{host}:{h.server.port}/hook"
    blocked = Destination(name="cms", kind="webhook", url=url, secret=SECRET)
    result = await send_event(sender, blocked)
    assert (result.outcome, result.status) == (Outcome.DEAD, None)
    assert result.error == "address is not public (set allow_private to allow it)"
    assert h.receiver.requests == []


async def test_connection_refused_is_retried(sender: Sender) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    destination = Destination(name="cms", kind="webhook", url=url, secret=SECRET, allow_private=True)
    result = await send_event(sender, destination)
    assert (result.outcome, result.status) == (Outcome.RETRY, None)
    assert result.error is not None and result.error.startswith("connection failed")


async def test_digest_is_one_signed_message_with_a_stable_id(serve: Any, sender: Sender) -> None:
    h = await serve()
    destination = h.webhook()
    bundles = [
        EventBundle(
            event=notify_event(f"evt_{i}"),
            claim=CLAIM,
            matches=(notify_match(),),
        )
        for i in range(3)
    ]
    body = render_digest_for(destination, bundles)
    assert body == render_digest_for(destination, bundles[::-1]) | {"events": body["events"]}
    result = await sender.send(destination, body, message_id=body["id"], now=now())
    assert result.outcome is Outcome.DELIVERED
    [request] = h.receiver.requests
    assert request.headers["webhook-id"] == body["id"] and body["id"].startswith("dig_")
    assert [e["id"] for e in request.json()["events"]] == ["evt_0", "evt_1", "evt_2"]


async def test_secrets_never_reach_logs_or_errors(
    serve: Any, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = await serve(secret=None, status=404, echo_path=True)  # a receiver that echoes the URL back
    bad_secret = Destination(
        name="cms", kind="webhook", url=h.url("/hook"), secret="whsec_not*base64!", allow_private=True
    )
    refused = Destination(
        name="gone", kind="slack", url=f"http://127.0.0.1:{free_port()}{SLACK_PATH}", allow_private=True
    )
    results = [
        await send_event(sender, h.slack()),
        await send_event(sender, bad_secret),
        await send_event(sender, refused),
        await send_event(sender, h.webhook()),
    ]
    assert [r.outcome for r in results] == [Outcome.DEAD, Outcome.DEAD, Outcome.RETRY, Outcome.DEAD]
    assert results[0].error == "HTTP 404: [redacted]"
    with pytest.raises(NotifyError) as raised:
        validate_destination(bad_secret)
    # aiohttp.access is the receiver's own server log, which naturally shows the path it was called on.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    seen = logged + "".join(r.error or "" for r in results) + str(raised.value)
    for secret in ("XXXXsecrettokenXXXX", "not*base64", SECRET, SECRET.removeprefix("whsec_"), h.url("")):
        assert secret not in seen
    assert "newsroom" in logged and "cms" in logged and "gone" in logged


# -- a received status is final; what a receiver echoes stays out of errors and logs ----------------


async def _stalled_body(request: web.Request) -> web.StreamResponse:
    """Answers with the status in the path, promises a body, then never sends it (a slow proxy)."""
    await request.read()
    response = web.StreamResponse(status=int(request.match_info["status"]))
    response.content_length = 2
    await response.prepare(request)
    await asyncio.sleep(30)
    return response


@pytest.mark.parametrize("kind", ["slack", "webhook"])
async def test_a_2xx_whose_body_stalls_is_delivered_not_retried(
    aiohttp_server: ServerFactory, kind: str
) -> None:
    app = web.Application()
    app.router.add_post("/{status}", _stalled_body)
    server = await aiohttp_server(app)
    destination = Destination(name="cms", kind=kind, url=str(server.make_url("/200")), allow_private=True)
    async with Sender(timeout_s=0.5, snippet_timeout_s=0.05) as quick:
        result = await send_event(quick, destination)
        assert (result.outcome, result.status, result.error) == (Outcome.DELIVERED, 200, None)
        assert result.elapsed_ms < 400, "the status decides; the body gets its own short timeout"
        update = apply_outcome(delivery(), result, T0, random.Random(0))
        assert update.status is DeliveryStatus.DELIVERED

        failing = Destination(name="cms", kind=kind, url=str(server.make_url("/503")), allow_private=True)
        result = await send_event(quick, failing)
        assert (result.outcome, result.status, result.error) == (Outcome.RETRY, 503, "HTTP 503")


TOKEN = "s3cr3t-T0ken-value-9f8e7d"


async def _echo(request: web.Request) -> web.Response:
    """Quotes what it was called with, as API gateways and routers do: ``/{what}/{status}/...``."""
    await request.read()
    _, what, status, *rest = request.raw_path.partition("?")[0].split("/")
    echo = {
        "query": f'{{"error":"invalid token {request.query.get("token")}"}}',
        "raw": f"no route for {request.raw_path}",
        "segment": f"unknown hook {rest[-2] if len(rest) > 1 else ''}",
    }[what]
    return web.Response(status=int(status), text=echo)


async def test_credentials_echoed_by_a_receiver_never_reach_errors_or_logs(
    aiohttp_server: ServerFactory, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = web.Application()
    app.router.add_post("/{tail:.*}", _echo)
    server = await aiohttp_server(app)
    base = str(server.make_url("/")).rstrip("/")
    cases = {  # the destination's URL: what its receiver answers
        f"{base}/query/400/api?token={TOKEN}&v=1": 'HTTP 400: {"error":"invalid token [redacted]"}',
        f"{base}/query/401/api?token={TOKEN}&v=1": "HTTP 401",  # a refusal of credentials is not kept
        f"{base}/query/403/api?token={TOKEN}&v=1": "HTTP 403",
        f"{base}/raw/404/hooks/T0/s3cr3t%2FT0ken%2Bvalue": "HTTP 404: no route for [redacted]",
        f"{base}/segment/404/hooks/s3cr3t%2BT0kenValue/x": "HTTP 404: unknown hook [redacted]",
    }
    errors = []
    for url in cases:
        destination = Destination(name="cms", kind="webhook", url=url, allow_private=True)
        result = await send_event(sender, destination)
        assert result.outcome is Outcome.DEAD
        errors.append(result.error or "")
    assert errors == list(cases.values())
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    for secret in (TOKEN, "s3cr3t%2FT0ken%2Bvalue", "s3cr3t/T0ken+value", "s3cr3t%2BT0kenValue"):
        assert secret not in logged and not any(secret in e for e in errors)
