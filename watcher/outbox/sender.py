"""Sending one rendered alert over HTTP: Slack or signed webhook, with timeouts and per-URL pacing."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import contextvars
import functools
import logging
import os
import re
import socket
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import aiohttp
import yarl
from aiohttp.client_proto import ResponseHandler

from watcher import __version__
from watcher.domain import Destination
from watcher.errors import NotifyError
from watcher.ingest.http import AddressRefusedError, HttpSettings, make_session
from watcher.ingest.retry_after import retry_after_seconds
from watcher.notify import webhook
from watcher.notify.render import KINDS, SLACK, WEBHOOK, check_url, url_error
from watcher.notify.retry import RETRY_AFTER_STATUSES, ErrorKind, Outcome, SendResult, classify
from watcher.text.display import one_line

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 15.0
SLACK_INTERVAL_S = 1.0  # Slack allows about one message per second per incoming webhook
MAX_SNIPPET_BYTES = 300
SNIPPET_TIMEOUT_S = 1.0  # reading the start of an error body, after the status is in
# A receiver refusing our credentials may quote them back: its body is not kept, the status says enough.
NO_BODY_STATUSES = frozenset({401, 403})
MIN_SECRET_CHARS = 8  # shorter parts of a URL ("v1", "hooks") are too common to be redacted everywhere
REDACTED = "[redacted]"
NOT_PUBLIC = "address is not public (set allow_private to allow it)"
MAX_STATUS_LINE_BYTES = 8190  # aiohttp's own limit for a response's first line
_STATUS_LINE = re.compile(rb"HTTP/\d\.\d (\d{3})(?:[ \t]|\r?$)")


class _StatusLine:
    """The first line of the answer to one attempt, as it came off the wire, before aiohttp parsed it."""

    __slots__ = ("_head", "status")

    def __init__(self) -> None:
        self._head = b""
        self.status: int | None = None  # the status code, once a whole, well-formed status line is in

    def feed(self, data: bytes) -> None:
        if self.status is not None or len(self._head) > MAX_STATUS_LINE_BYTES:
            return
        self._head += data[: MAX_STATUS_LINE_BYTES + 1]
        line, newline, _ = self._head.partition(b"\n")
        if newline and (found := _STATUS_LINE.match(line)):
            self.status = int(found.group(1))


# The attempt in progress in this task; the connection picks it up when its request is sent.
_ATTEMPT: contextvars.ContextVar[_StatusLine | None] = contextvars.ContextVar("_ATTEMPT", default=None)


class _StatusLineRecorder(ResponseHandler):
    """aiohttp's connection protocol, also keeping each answer's status line.

    aiohttp parses the status line and the headers as one message: a receiver that answers 200 with one
    malformed header (a bad Content-Length, a line that is not a header) makes the whole answer an error,
    and its 200 is lost. Read here, the status survives that, so a received 2xx is not sent again.
    """

    _attempt: _StatusLine | None = None

    def set_response_params(self, **kwargs: Any) -> None:
        # Called by the request's own task for each request on this connection, kept-alive ones included.
        self._attempt = _ATTEMPT.get()
        super().set_response_params(**kwargs)

    def data_received(self, data: bytes) -> None:
        if self._attempt is not None:
            self._attempt.feed(data)
        super().data_received(data)


def _record_status_lines(session: aiohttp.ClientSession) -> None:
    """Make ``session``'s new connections keep each answer's status line (see ``_StatusLineRecorder``)."""
    connector: Any = session.connector
    factory = getattr(connector, "_factory", None)
    if isinstance(factory, functools.partial) and factory.func is ResponseHandler:
        connector._factory = functools.partial(_StatusLineRecorder, *factory.args, **factory.keywords)
    else:  # another aiohttp: answers are read as before, a malformed 2xx is retried
        logger.warning("status lines of alert answers cannot be kept with this aiohttp version")


@dataclass(slots=True)
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0


class RateLimiter:
    """Spaces the starts of requests sharing a key at least ``interval_s`` apart, first come first served."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._slots: dict[str, _Slot] = {}

    async def wait(self, key: str) -> float:
        """Wait for ``key``'s turn; returns the seconds waited."""
        slot = self._slots.setdefault(key, _Slot())
        async with slot.lock:
            delay = max(0.0, slot.next_at - time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)
            slot.next_at = time.monotonic() + self.interval_s
        return delay


class _Failure(Exception):
    """A send that ended without an HTTP status: kind and a message safe to log."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Sender:
    """Posts rendered alerts; one per process, over the feeds' HTTP stack (``ingest.http.make_session``).

    ``send`` never raises for delivery problems: every outcome comes back as a ``SendResult`` for
    ``notify.retry.apply_outcome``. Logs and errors name the destination, never its URL or secret.
    """

    def __init__(
        self,
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
        slack_interval_s: float = SLACK_INTERVAL_S,
        snippet_timeout_s: float = SNIPPET_TIMEOUT_S,
        user_agent: str = f"watcher/{__version__}",
    ) -> None:
        """:param snippet_timeout_s: how long to wait for the start of the body once the status is in."""
        self._sessions: dict[bool, aiohttp.ClientSession] = {}  # by "may reach non-public addresses"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._timeout_s = timeout_s
        self._snippet_timeout_s = min(snippet_timeout_s, timeout_s)
        self._user_agent = user_agent
        self._slack_limiter = RateLimiter(slack_interval_s)
        self._warned_unsigned: set[str] = set()

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _session_for(self, destination: Destination) -> aiohttp.ClientSession:
        """The session for ``destination``: made by ``make_session``, so non-public addresses are refused at
        connect time (DNS rebinding included) unless the destination sets ``allow_private`` (``http.allow_private``
        is for feeds and pages only)."""
        allow_private = destination.allow_private
        session = self._sessions.get(allow_private)
        if session is None:
            # No per-host cap: several Slack destinations share one host, and each is paced on its own.
            settings = HttpSettings(
                user_agent=self._user_agent, allow_private=allow_private, limit_per_host=0
            )
            session = self._sessions[allow_private] = make_session(settings)
            _record_status_lines(session)
        return session

    async def send(
        self, destination: Destination, body: Mapping[str, Any], *, message_id: str, now: datetime
    ) -> SendResult:
        """POST ``body`` to ``destination`` once.

        :param message_id: the ``webhook-id``; pass the same value on every retry (see ``webhook``).
        :param now: the time of this attempt, aware UTC; signs the request, plus any wait for Slack pacing.
        """
        started = time.monotonic()
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)  # naive means UTC throughout watcher
        try:
            status, snippet, retry_after = await self._post(destination, body, message_id, now)
        except _Failure as failure:
            return self._failed(destination, message_id, failure, started)
        except Exception as exc:  # the contract is a result, never an exception
            # No traceback: exception messages from the HTTP stack can carry the URL, which is a secret.
            logger.error(
                "unexpected %s while delivering %s to %s",
                type(exc).__name__,
                message_id,
                destination.name,
                extra={"destination": destination.name},
            )
            unexpected = _Failure(ErrorKind.NETWORK, f"unexpected error: {type(exc).__name__}")
            return self._failed(destination, message_id, unexpected, started)
        elapsed_ms = (time.monotonic() - started) * 1000
        outcome = classify(status)
        error = None
        if outcome is not Outcome.DELIVERED:
            error = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
        result = SendResult(
            outcome=outcome, status=status, error=error, retry_after_s=retry_after, elapsed_ms=elapsed_ms
        )
        _log_result(destination, message_id, result)
        return result

    async def _post(
        self, destination: Destination, body: Mapping[str, Any], message_id: str, now: datetime
    ) -> tuple[int, str, float | None]:
        data, headers = self._prepare(destination, body)
        url = _target(destination)
        waited = 0.0
        if destination.kind == SLACK:
            waited = await self._slack_limiter.wait(destination.url)
        attempt_at = now + timedelta(seconds=waited)
        if destination.kind == WEBHOOK:
            headers.update(self._signing_headers(destination, message_id, attempt_at, data))
        session = self._session_for(destination)
        wire = _StatusLine()
        token = _ATTEMPT.set(wire)
        try:
            # No decoding of the answer: aiohttp refuses one whose Content-Encoding it cannot undo (br without
            # Brotli, zstd) before its status is seen, which would make a received 2xx a failure, sent again.
            async with session.post(
                url,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                auto_decompress=False,
            ) as response:
                # The status decides the outcome: once it is in, nothing the body does can undo it. A 2xx
                # whose body stalls was received, and sending it again would duplicate it (Slack cannot
                # deduplicate), so the body is only glanced at, under a short timeout of its own.
                retry_after = None
                if response.status in RETRY_AFTER_STATUSES:
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"), attempt_at)
                return response.status, await self._snippet(response, destination), retry_after
        except TimeoutError:
            failure = _Failure(ErrorKind.TIMEOUT, f"timed out after {self._timeout_s:g} s")
        except aiohttp.ClientError as exc:
            failure = _Failure(*_describe(exc))
        finally:
            _ATTEMPT.reset(token)
        return _after_status_line(destination, message_id, wire.status, failure)

    async def _snippet(self, response: aiohttp.ClientResponse, destination: Destination) -> str:
        """The start of the answer's body, for an error, scrubbed of the destination's secrets; empty when it
        is slow, broken or not kept.

        A 2xx body is read too (and dropped): a short one read to its end lets the connection be reused.
        """
        if response.status in NO_BODY_STATUSES:
            return ""
        try:
            async with asyncio.timeout(self._snippet_timeout_s):
                raw = await response.content.read(MAX_SNIPPET_BYTES)
        except (TimeoutError, aiohttp.ClientError):
            return ""
        # Cut at the size limit or where a chunk ended. Then a character split by the cut is left out (not
        # made U+FFFD, which would hide a secret's start before it) and a tail that starts a secret is redacted.
        cut = not response.content.at_eof()
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=not cut)
        return _scrub(one_line(text), destination, cut=cut)

    def _prepare(self, destination: Destination, body: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        if destination.kind not in KINDS:
            raise _Failure(ErrorKind.INVALID, f"unknown destination kind {destination.kind!r}")
        try:
            data = webhook.encode_body(body)
        except NotifyError as exc:
            raise _Failure(ErrorKind.INVALID, str(exc)) from None
        # identity: the start of an error's body is kept as text, and it is not decoded (see _post).
        return data, {"Content-Type": webhook.CONTENT_TYPE, "Accept-Encoding": "identity"}

    def _signing_headers(
        self, destination: Destination, message_id: str, attempt_at: datetime, data: bytes
    ) -> dict[str, str]:
        keys = None
        if destination.secret:
            try:
                keys = webhook.decode_secret(destination.secret)
            except NotifyError as exc:
                raise _Failure(ErrorKind.INVALID, str(exc)) from None
        elif destination.name not in self._warned_unsigned:
            self._warned_unsigned.add(destination.name)
            logger.warning(
                "destination %s has no signing secret: its webhooks are sent unsigned",
                destination.name,
                extra={"destination": destination.name},
            )
        return webhook.webhook_headers(message_id=message_id, timestamp=attempt_at, body=data, key=keys)

    def _failed(
        self, destination: Destination, message_id: str, failure: _Failure, started: float
    ) -> SendResult:
        result = SendResult(
            outcome=classify(None, failure.kind),
            status=None,
            error=_scrub(failure.message, destination),
            retry_after_s=None,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )
        _log_result(destination, message_id, result)
        return result


def _after_status_line(
    destination: Destination, message_id: str, status: int | None, failure: _Failure
) -> tuple[int, str, float | None]:
    """The outcome of an attempt whose answer broke off or was malformed after its status line.

    A 2xx status line means the receiver accepted the alert: what follows it (a bad header, a stalled or
    cut body) cannot undo that, and sending it again would duplicate it. Any other status is not trusted
    from a malformed answer: the attempt stays a failure, to be retried.
    """
    if status is None or not 200 <= status < 300:
        if status is not None:
            failure.message = f"HTTP {status}, then {failure.message}"
        raise failure
    logger.warning(
        "%s answered %s for %s, then %s: counted as delivered",
        destination.name,
        status,
        message_id,
        _scrub(failure.message, destination),
        extra={"destination": destination.name, "message_id": message_id, "status": status},
    )
    return status, "", None


def _target(destination: Destination) -> yarl.URL:
    """The URL to post to, after refusing non-http(s) URLs (the session refuses non-public addresses)."""
    try:
        url = yarl.URL(destination.url)
        check_url(url)
    except (NotifyError, ValueError) as exc:
        raise _Failure(ErrorKind.INVALID, url_error(exc)) from None
    return url


def _describe(exc: aiohttp.ClientError) -> tuple[ErrorKind, str]:
    """A kind and a message for a client error, built from its type: str(exc) may contain the URL."""
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorKind.INVALID, "invalid URL"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, AddressRefusedError):
        return ErrorKind.INVALID, NOT_PUBLIC
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ErrorKind.NETWORK, "TLS certificate verification failed"
    if isinstance(exc, aiohttp.ClientSSLError):
        # Its errno is an OpenSSL code: os.strerror would call a handshake failure "Operation not permitted".
        return ErrorKind.NETWORK, "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        return ErrorKind.NETWORK, "name resolution failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Only the errno's text: asyncio's own messages repeat the address that was dialled.
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno else type(exc.os_error).__name__
        return ErrorKind.NETWORK, f"connection failed: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorKind.NETWORK, "server disconnected"
    if isinstance(exc, aiohttp.ClientResponseError):
        # Statuses are read, not raised (raise_for_status is off): this is an answer aiohttp could not parse.
        return ErrorKind.NETWORK, "malformed response"
    return ErrorKind.NETWORK, f"request failed: {type(exc).__name__}"


MIN_CUT_CHARS = 4  # the shortest tail of a cut error text redacted as the start of a secret (see _scrub)


def _scrub(text: str, destination: Destination, *, cut: bool = False) -> str:
    """Remove the destination's URL, its secret, and the parts of its URL that may be credentials from text
    that may echo them back: the user name, path and query, raw (percent-encoded) and decoded, and each path
    segment and query value of 8 or more characters; and, whatever their length, the password and the Basic
    token sent for the URL's userinfo.

    :param cut: ``text`` is the start of something longer, so its end may be the start of a secret: the
        longest such tail is redacted too.
    """
    secrets = [destination.url, *_url_parts(destination.url)]
    if destination.secret:
        # Each secret of a rotation on its own: a receiver knows, and may quote, only one of them.
        for secret in destination.secret.split():
            secrets += [secret, secret.removeprefix(webhook.SECRET_PREFIX)]
    found = {s for s in secrets if len(s) >= MIN_SECRET_CHARS} | set(_userinfo_credentials(destination.url))
    for secret in sorted(found, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    if cut:
        tail = max((_shared_start(text, secret) for secret in found), default=0)
        text = text[: len(text) - tail] + REDACTED if tail else text
    return text


def _shared_start(text: str, secret: str) -> int:
    """The length of the longest tail of ``text`` that ``secret`` starts with (and is not the whole of), if at
    least MIN_CUT_CHARS long: a shorter tail tells nothing of a secret, and may be any word's end."""
    for length in range(min(len(text), len(secret) - 1), MIN_CUT_CHARS - 1, -1):
        if secret.startswith(text[-length:]):
            return length
    return 0


def _userinfo_credentials(url_text: str) -> list[str]:
    """The password of a URL's userinfo, as written and decoded, and the Basic token aiohttp sends for the
    userinfo (a receiver may quote its Authorization header back)."""
    try:
        url = yarl.URL(url_text)
    except ValueError:
        return []
    found = [s for s in (url.raw_password, url.password) if s]
    # A name or password aiohttp cannot encode (outside Latin-1) fails here, and so would the request.
    with contextlib.suppress(ValueError):
        if (auth := aiohttp.BasicAuth.from_url(url)) is not None:
            found.append(auth.encode().removeprefix("Basic "))
    return found


def _url_parts(url_text: str) -> list[str]:
    """The user name, path, query, path segments and query values of a URL, as written and decoded."""
    try:
        url = yarl.URL(url_text)
        # A Slack webhook URL is a secret as a whole; so are its path and its segments (the token), and a
        # gateway's key may sit in the query. Receivers echo them raw as often as decoded.
        # "https://TOKEN@host/" puts the key in the user name.
        parts = [url.raw_path_qs, url.path_qs, url.raw_path, url.path, *url.raw_parts, *url.parts]
        parts += [s for s in (url.raw_user, url.user) if s]
        parts += [str(v) for v in url.query.values()]
    except ValueError:
        return []
    for pair in url.raw_query_string.split("&"):
        value = pair.partition("=")[2]
        parts += [value, urllib.parse.unquote(value), urllib.parse.unquote_plus(value)]
    return parts


def _log_result(destination: Destination, message_id: str, result: SendResult) -> None:
    extra = {"destination": destination.name, "message_id": message_id, "status": result.status}
    if result.outcome is Outcome.DELIVERED:
        logger.info(
            "delivered %s to %s in %.0f ms", message_id, destination.name, result.elapsed_ms, extra=extra
        )
    elif result.outcome is Outcome.DISABLE:
        # The outbox says it once, with what it did about it (the destination disabled).
        logger.debug("%s answered %s with HTTP 410 Gone", destination.name, message_id, extra=extra)
    else:
        logger.warning(
            "delivery of %s to %s: %s (%s)",
            message_id,
            destination.name,
            result.outcome,
            result.error,
            extra=extra,
        )
