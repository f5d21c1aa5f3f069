"""Real local alert receivers: an aiohttp app that records requests, misbehaves on demand, checks signatures.

In pytest, serve ``Receiver().app`` with the ``aiohttp_server`` fixture. Elsewhere (a bench script)::

    async with Receiver(secret="whsec_...") as receiver:
        url = receiver.url("/hook")
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

TOLERANCE_S = 300  # the spec's suggested five minutes either side


class SignatureError(Exception):
    """A request failed Standard Webhooks verification."""


def verify_standard_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """Verify a request as the Standard Webhooks spec describes it, written from the spec, not a library.

    The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``; the key is the base64 part of the
    ``whsec_`` secret, its padding optional; ``webhook-signature`` is a space-separated list of
    ``v1,<base64 HMAC-SHA256>``, one per secret the sender signs with, and one match is enough.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp, signatures = (
        lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and timestamp and signatures):
        raise SignatureError("missing webhook headers")
    if not timestamp.isdigit():
        raise SignatureError("timestamp is not an integer")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE_S:
        raise SignatureError("timestamp outside tolerance")
    raw = secret.removeprefix("whsec_")
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return
    raise SignatureError("no matching v1 signature")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float  # time.monotonic() when the request arrived
    answered: int  # the status the receiver answered with
    signature_error: str | None  # None: verified, or no secret configured

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class Behaviour:
    """What the receiver answers: ``fail_times`` failures first, then ``status``."""

    fail_times: int = 0
    fail_status: int = 500
    fail_body: str = "try again later"
    retry_after: str | None = None  # Retry-After header sent with failures
    status: int = 200
    body: str = "ok"
    delay_s: float = 0.0  # sleep before answering (a slow receiver); cut short by release()
    echo_path: bool = False  # answer failures with the request path, like receivers that echo the URL


class Receiver:
    """A recording receiver. ``secret`` turns on signature checks: bad signatures get 401."""

    def __init__(self, *, secret: str | None = None, behaviour: Behaviour | None = None) -> None:
        self.secret = secret
        self.behaviour = behaviour or Behaviour()
        self.requests: list[Recorded] = []
        self.processed_ids: list[str] = []  # webhook-ids handled, each once
        self.duplicates = 0
        self.app = web.Application()
        self.app.router.add_post("/{tail:.*}", self._handle)
        self._failures_sent = 0
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base = ""

    def behave(self, **changes: Any) -> None:
        """Replace the behaviour, e.g. ``behave(fail_times=3)`` or ``behave(status=410)``."""
        self.behaviour = Behaviour(**changes)
        self._failures_sent = 0

    def release(self) -> None:
        """Let slow handlers answer now (call before shutting the server down)."""
        self._released.set()

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.behaviour.delay_s:
            try:
                await asyncio.wait_for(self._released.wait(), self.behaviour.delay_s)
            except TimeoutError:
                pass
        sig_error = self._check_signature(headers, body)
        if sig_error is not None:
            status, text, extra = 401, "bad signature", dict[str, str]()
        else:
            status, text, extra = self._answer(request.path_qs, headers)
        self.requests.append(Recorded(request.path, headers, body, arrived, status, sig_error))
        return web.Response(status=status, text=text, headers=extra)

    def _check_signature(self, headers: dict[str, str], body: bytes) -> str | None:
        if self.secret is None:
            return None
        try:
            verify_standard_webhook(self.secret, headers, body)
        except SignatureError as exc:
            return str(exc)
        return None

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        plan = self.behaviour
        if self._failures_sent < plan.fail_times:
            self._failures_sent += 1
            extra = {"Retry-After": plan.retry_after} if plan.retry_after else {}
            return plan.fail_status, path if plan.echo_path else plan.fail_body, extra
        if plan.status < 300:
            self._record_processed(headers.get("webhook-id"))
            return plan.status, plan.body, {}
        return plan.status, path if plan.echo_path else plan.body, {}

    def _record_processed(self, msg_id: str | None) -> None:
        # What a well-behaved receiver does with webhook-id: process each id once, acknowledge repeats.
        if msg_id is not None and msg_id in self.processed_ids:
            self.duplicates += 1
        elif msg_id is not None:
            self.processed_ids.append(msg_id)

    def url(self, path: str = "/hook") -> str:
        """The URL of ``path`` once started with ``start()`` / ``async with``."""
        return self._base + path

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve standalone (outside pytest); returns the base URL."""
        self._runner = web.AppRunner(self.app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base = f"http://{bound_host}:{bound_port}"
        return self._base

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
