"""A hostile alert receiver: what it answers must not reach the logs, the database or a terminal as it is."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer

from tests.support.receivers import Receiver
from watcher.domain import Destination
from watcher.notify import Outcome
from watcher.outbox.sender import Sender

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Clears the screen, returns the carriage and fakes a log line of its own, then NUL (which PostgreSQL text
# refuses), a C1 control, a bidi override and a Unicode line separator.
HOSTILE = "\x1b[2J\x1b[31mboom\r\n2025-01-01 INFO watcher delivered evt_1\x00\x9b\u202e\u2028end"
CONTROLS = ("\x1b", "\r", "\n", "\x00", "\x9b", "\u202e", "\u2028")


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with Sender(timeout_s=2.0) as s:
        yield s


async def test_a_receivers_answer_is_stored_and_logged_on_one_clean_line(
    aiohttp_server: Callable[..., Awaitable[TestServer]], sender: Sender, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(secret=SECRET)
    receiver.behave(status=500, body=HOSTILE)
    server = await aiohttp_server(receiver.app)
    destination = Destination(
        name="cms", kind="webhook", url=str(server.make_url("/hook")), secret=SECRET, allow_private=True
    )
    caplog.set_level(logging.WARNING, logger="watcher")
    result = await sender.send(destination, {"id": "evt_1"}, message_id="evt_1", now=datetime.now(UTC))
    assert result.outcome is Outcome.RETRY and result.status == 500
    assert result.error is not None
    assert not any(c in result.error for c in CONTROLS), repr(result.error)
    assert "[2J [31mboom 2025-01-01 INFO watcher delivered evt_1" in result.error and "end" in result.error
    [logged] = [r.getMessage() for r in caplog.records if r.name.startswith("watcher")]
    assert not any(c in logged for c in CONTROLS), repr(logged)
