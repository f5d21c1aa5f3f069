"""What alerts look like and what happens after a send: payloads, Slack, webhook signing, digests, retry policy.

Pure: no storage, no I/O. The outbox (``watcher.outbox``) sends with ``watcher.outbox.sender`` and records outcomes.
"""

from __future__ import annotations

from watcher.notify.digest import DIGEST_ID_KEY, DigestBatch, plan_digests
from watcher.notify.payload import (
    EventBundle,
    digest_message_id,
    iso_z,
    render_digest,
    render_event,
    render_match,
)
from watcher.notify.render import render_digest_for, render_for, validate_destination
from watcher.notify.retry import (
    ErrorKind,
    Outcome,
    SendResult,
    apply_outcome,
    classify,
    next_attempt_delay,
)
from watcher.notify.slack import render_slack, render_slack_digest
from watcher.notify.webhook import message_id_for

__all__ = [
    "DIGEST_ID_KEY",
    "DigestBatch",
    "ErrorKind",
    "EventBundle",
    "Outcome",
    "SendResult",
    "apply_outcome",
    "classify",
    "digest_message_id",
    "iso_z",
    "message_id_for",
    "next_attempt_delay",
    "plan_digests",
    "render_digest",
    "render_digest_for",
    "render_event",
    "render_for",
    "render_match",
    "render_slack",
    "render_slack_digest",
    "validate_destination",
]
