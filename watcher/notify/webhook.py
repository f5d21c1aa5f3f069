"""Generic webhooks: the JSON body and its Standard Webhooks headers (webhook-id, -timestamp, -signature).

``webhook-id`` is the event id (``evt_...``), or a digest id derived from its event ids: it does not change
between retries, across workers, or when a delivery row is re-queued by hand, so a receiver that records
the ids it has processed sees each event exactly once. Two destinations pointing at the same receiver
therefore also collapse into one, which is what "exactly once from the receiver's point of view" means.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from watcher.domain import Event
from watcher.errors import NotifyError

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
CONTENT_TYPE = "application/json"


def message_id_for(event: Event) -> str:
    """The ``webhook-id`` for an event: its id, the same on every attempt and for every destination."""
    return event.id


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Serialise a body once; these exact bytes are both signed and sent."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise NotifyError(f"alert body is not valid JSON: {exc}") from None


def decode_secret(secret: str) -> tuple[bytes, ...]:
    """The HMAC keys of a destination's ``secret``: one ``whsec_<base64>`` secret (padding may be omitted), or
    several separated by whitespace while a receiver's secret is rotated, in the order given.

    The one rule for secrets: feeds.yaml accepts exactly what this accepts. Raises NotifyError, whose message
    never repeats a secret.
    """
    parts = secret.split()
    if not parts:
        raise NotifyError("signing secret is empty")
    return tuple(_decode_one(part, n, len(parts)) for n, part in enumerate(parts, 1))


def _decode_one(part: str, n: int, count: int) -> bytes:
    """The key of the ``n``th of ``count`` secrets; errors name it by its position, never by its value."""
    which = "signing secret" if count == 1 else f"signing secret {n} of {count}"
    if not part.startswith(SECRET_PREFIX):
        raise NotifyError(f"{which} does not start with {SECRET_PREFIX}")
    raw = part.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise NotifyError(f"{which} is not base64 after the {SECRET_PREFIX} prefix") from None
    if not key:
        raise NotifyError(f"{which} is empty after the {SECRET_PREFIX} prefix")
    return key


def sign(key: bytes, message_id: str, timestamp: datetime, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, per the Standard Webhooks spec."""
    return Webhook(key).sign(message_id, timestamp.astimezone(UTC), body.decode("utf-8"))


def webhook_headers(
    *, message_id: str, timestamp: datetime, body: bytes, key: bytes | tuple[bytes, ...] | None
) -> dict[str, str]:
    """Headers for one attempt; ``key`` None sends the request unsigned (no ``webhook-signature``).

    Several keys (a rotation) give one ``v1`` signature each, in their order, separated by spaces as the spec
    has it: a receiver holding any one of the secrets accepts the request. One key gives one signature.
    """
    headers = {
        "Content-Type": CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
    }
    keys = () if key is None else (key,) if isinstance(key, bytes) else key
    if keys:
        headers["webhook-signature"] = " ".join(sign(k, message_id, timestamp, body) for k in keys)
    return headers
