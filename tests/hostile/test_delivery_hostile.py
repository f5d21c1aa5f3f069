"""Hostile alert receivers against delivery: what they quote back and how they fail, end to end."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from storage.sql import SqlStore
from tests.support.outbox import seed_events
from watcher.cli.render import delivery_json, delivery_line
from watcher.domain import DeliveryStatus, Destination
from watcher.notify import Outcome
from watcher.outbox import Outbox
from watcher.outbox.sender import MAX_SNIPPET_BYTES, REDACTED, Sender

ServerFactory = Callable[..., Awaitable[TestServer]]

USER = "alerts"
PASSWORD = "hunter2"  # shorter than the parts of a URL that are redacted on length alone
BASIC_TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with Sender(timeout_s=2.0) as s:
        yield s


async def _quote_credentials(request: web.Request) -> web.Response:
    """Refuses with 400 and quotes the Authorization header it got, decoded too, as debugging proxies do."""
    await request.read()
    header = request.headers.get("Authorization", "")
    decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    return web.Response(status=400, text=f"rejected Authorization: {header} ({decoded})")


async def test_credentials_in_a_urls_userinfo_never_reach_the_alert_list_or_logs(
    aiohttp_server: ServerFactory, store: SqlStore, sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp sends a URL's userinfo as a Basic Authorization header; a receiver quoting it back must not put
    the password, or the token that encodes it, into ``alerts list`` or the logs."""
    caplog.set_level(logging.DEBUG, logger="watcher")
    app = web.Application()
    app.router.add_post("/hook", _quote_credentials)
    server = await aiohttp_server(app)
    url = f"http://{USER}:{PASSWORD}@{server.host}:{server.port}/hook"
    destination = Destination(name="cms", kind="webhook", url=url, allow_private=True)
    await seed_events(store, [destination], 1, datetime.now(UTC))

    assert await Outbox(store, sender, [destination], lease_s=60).deliver_due() == (0, 1)

    [dead] = await store.list_deliveries()
    assert (dead.status, dead.last_status) == (DeliveryStatus.DEAD, 400)
    assert dead.last_error == f"HTTP 400: rejected Authorization: Basic {REDACTED} ({USER}:{REDACTED})"
    listed = delivery_line(dead) + str(delivery_json(dead))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "rejected Authorization" in logged
    for secret in (PASSWORD, BASIC_TOKEN):
        assert secret not in listed and secret not in logged


async def test_a_tls_handshake_failure_is_named_and_retried(
    aiohttp_server: ServerFactory, sender: Sender
) -> None:
    """An https:// destination whose server does not speak TLS: the error says so, not "Operation not
    permitted" (the OpenSSL error code read as an errno)."""
    server = await aiohttp_server(web.Application())  # plain HTTP
    url = f"https://{server.host}:{server.port}/hook"
    destination = Destination(name="cms", kind="webhook", url=url, allow_private=True)
    result = await sender.send(destination, {"id": "evt_1"}, message_id="evt_1", now=datetime.now(UTC))
    assert (result.outcome, result.status, result.error) == (Outcome.RETRY, None, "TLS handshake failed")


# Apache's 404 page: the path it quotes starts about 170 bytes in, so a long one runs past the snippet's end.
APACHE_404 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n'
    "</head><body>\n<h1>Not Found</h1>\n<p>The requested URL {} was not found on this server.</p>\n"
    "<hr>\n<address>Apache/2.4.62 (Debian) Server at hooks.example Port 443</address>\n</body></html>\n"
)
TOKEN = "whk_" + "Q7fz9LmXc2VbN8pR4tYs6KdJ1aHgE3uW0oIq5" * 3
TOKEN_PATH = f"/api/v2/integrations/newsroom-alerts-production/{TOKEN}"


async def _apache_404(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=404, text=APACHE_404.format(request.raw_path), content_type="text/html")


async def _first_chunk_then_stall(request: web.Request) -> web.StreamResponse:
    """Sends its answer up to the middle of the token it quotes, then nothing more (a stalled proxy)."""
    await request.read()
    response = web.StreamResponse(status=502)
    await response.prepare(request)
    await response.write(f"upstream failed for {TOKEN_PATH[: -len(TOKEN) // 2]}".encode())
    await asyncio.Event().wait()
    return response


@pytest.mark.parametrize(("handler", "status"), [(_apache_404, 404), (_first_chunk_then_stall, 502)])
async def test_a_secret_quoted_across_the_end_of_an_error_snippet_leaves_no_part_behind(
    aiohttp_server: ServerFactory,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    status: int,
) -> None:
    """The error keeps only the start of a receiver's answer; a token in the URL it quotes may be cut there
    (at the size limit, or where the bytes that have arrived end), and its first part must not stay."""
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    server = await aiohttp_server(app)
    url = f"http://{server.host}:{server.port}{TOKEN_PATH}"
    destination = Destination(name="cms", kind="webhook", url=url, allow_private=True)
    async with Sender(timeout_s=2.0, snippet_timeout_s=0.5) as quick:
        result = await quick.send(destination, {"id": "evt_1"}, message_id="evt_1", now=datetime.now(UTC))
    assert result.status == status and result.error is not None
    assert result.error.endswith(REDACTED) and TOKEN[:8] not in result.error, result.error


def test_the_apache_page_cuts_the_token_at_the_snippet_limit() -> None:
    """What the first case above relies on: the snippet's end falls inside the quoted token."""
    page = APACHE_404.format(TOKEN_PATH).encode()
    start = page.index(TOKEN.encode())
    assert start < MAX_SNIPPET_BYTES < start + len(TOKEN)


@pytest.mark.parametrize(("kind", "encoding"), [("webhook", "br"), ("slack", "zstd")])
async def test_a_2xx_in_an_encoding_the_client_cannot_decode_is_delivered_once(
    aiohttp_server: ServerFactory, store: SqlStore, sender: Sender, kind: str, encoding: str
) -> None:
    """The 200 is what counts: an answer's body is never needed to decide, so its encoding cannot turn a
    received alert into a failure that is sent again."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        """Takes the alert and answers 200 in an encoding it was not asked for and aiohttp cannot undo here."""
        await request.read()
        seen.append(request.headers.get("Accept-Encoding", ""))
        return web.Response(status=200, body=b"\x28\xb5\x2f\xfd ok", headers={"Content-Encoding": encoding})

    app = web.Application()
    app.router.add_post("/hook", handler)
    server = await aiohttp_server(app)
    url = f"http://{server.host}:{server.port}/hook"
    destination = Destination(name="cms", kind=kind, url=url, allow_private=True)
    await seed_events(store, [destination], 1, datetime.now(UTC))
    outbox = Outbox(store, sender, [destination], lease_s=60)

    assert await outbox.deliver_due() == (1, 0)
    [row] = await store.list_deliveries()
    assert (row.status, row.attempts, row.last_status, row.last_error) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
        None,
    )
    assert seen == ["identity"], "asked for an answer it can read"
    assert await outbox.deliver_due() == (0, 0)
