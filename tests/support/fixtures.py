"""Fixtures shared across test modules and tiers (registered as a plugin by tests/conftest.py).

``server``: a local feed server with the stories of tests.support.stories (Kyiv Post at /kyiv.xml, TASS
at /tass.xml). ``receiver``: a local webhook receiver that checks signatures with ``stories.SECRET``.
A module may define a fixture of the same name to serve something else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pytest_aiohttp import AiohttpServer

from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.stories import DENIAL, SECRET, STRAIGHT, UNRELATED, rss


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    srv = FeedServer(
        {
            "/kyiv.xml": Route(body=rss("Kyiv Post", [STRAIGHT]), etag='"k1"'),
            "/tass.xml": Route(body=rss("TASS", [DENIAL, UNRELATED]), etag='"t1"'),
        }
    )
    await srv.start_under(aiohttp_server)
    return srv


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(secret=SECRET) as r:
        yield r
