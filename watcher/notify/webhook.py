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


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional, padding may be omitted).

    Raises NotifyError, whose message never repeats the secret.
    """
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise NotifyError("signing secret is not base64 after the whsec_ prefix") from None
    if not key:
        raise NotifyError("signing secret is empty")
    return key


def sign(key: bytes, message_id: str, timestamp: datetime, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, per the Standard Webhooks spec."""
    return Webhook(key).sign(message_id, timestamp.astimezone(UTC), body.decode("utf-8"))


def webhook_headers(
    *, message_id: str, timestamp: datetime, body: bytes, key: bytes | None
) -> dict[str, str]:
    """Headers for one attempt; ``key`` None sends the request unsigned (no ``webhook-signature``)."""
    headers = {
        "Content-Type": CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
    }
    if key is not None:
        headers["webhook-signature"] = sign(key, message_id, timestamp, body)
    return headers
