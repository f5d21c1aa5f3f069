"""Signing-secret rotation and unpadded secrets, from feeds.yaml to a real receiver.

A destination's ``secret`` may hold several Standard Webhooks secrets separated by whitespace: each signs the
request, one ``v1`` signature per secret in the order given, so a receiver holding either the new or the old
secret accepts it. feeds.yaml accepts exactly the secrets the sender can sign with (unpadded base64 included),
and refuses the rest naming the field and line, never the value. Deliveries go through the outbox on a real
store to local receivers that verify signatures; the reference ``standardwebhooks`` library verifies them too.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from storage.sql import SqlStore
from tests.support.outbox import seed_events
from tests.support.receivers import Behaviour, Receiver, Recorded, SignatureError, verify_standard_webhook
from watcher.config import load
from watcher.domain import DeliveryStatus, Destination
from watcher.errors import ConfigError, NotifyError
from watcher.notify import validate_destination
from watcher.notify.webhook import decode_secret
from watcher.outbox import Outbox
from watcher.outbox.sender import Sender

NEW = "whsec_" + base64.b64encode(b"the-new-receiver-secret-32-bytes").decode()
OLD = "whsec_" + base64.b64encode(b"the-old-receiver-secret-32-bytes").decode()
STRANGER = "whsec_" + base64.b64encode(b"a-secret-neither-side-ever-held!").decode()
UNPADDED_KEY = b"a 31-byte key, so base64 pads it"[:31]
PADDED = "whsec_" + base64.b64encode(UNPADDED_KEY).decode()
UNPADDED = PADDED.rstrip("=")


def write_config(tmp_path: Path, destinations: Sequence[tuple[str, str, str]]) -> Path:
    """feeds.yaml with one webhook destination per ``(name, url, secret)``, each field on its own line."""
    lines = ["destinations:"]
    for name, url, secret in destinations:
        lines += [
            f"  - name: {name}",
            "    kind: webhook",
            f"    url: '{url}'",
            f'    secret: "{secret}"',
            "    allow_private: true",
        ]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def reference_signature(secret: str, request: Recorded) -> str:
    """The ``v1`` signature the reference library makes with ``secret`` for a request as it was received."""
    sent_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    return Webhook(secret).sign(request.headers["webhook-id"], sent_at, request.body.decode())


async def deliver(store: SqlStore, destinations: Sequence[Destination]) -> tuple[int, int]:
    """Queue one event for each destination, as detection does, and deliver it once."""
    await seed_events(store, destinations, 1, datetime.now(UTC))
    async with Sender() as sender:
        return await Outbox(store, sender, destinations, lease_s=60).deliver_due()


async def test_a_rotation_is_signed_with_each_secret_in_order(tmp_path: Path, store: SqlStore) -> None:
    """Receivers before and after their rotation both accept; a lone secret signs exactly as it always has."""
    async with Receiver(secret=OLD) as before, Receiver(secret=NEW) as after:
        path = write_config(
            tmp_path,
            [
                ("before", before.url("/rotating"), "${NEW_SECRET} ${OLD_SECRET}"),
                ("after", after.url("/rotating"), "${NEW_SECRET}\t${OLD_SECRET}"),
                ("single", before.url("/single"), "${OLD_SECRET}"),
            ],
        )
        settings = load(path, environ={"NEW_SECRET": NEW, "OLD_SECRET": OLD})
        assert [d.secret for d in settings.destinations] == [f"{NEW} {OLD}", f"{NEW}\t{OLD}", OLD]

        assert await deliver(store, settings.destinations) == (3, 0)

    by_path = {r.path: r for r in before.requests}
    for request in (by_path["/rotating"], *after.requests):
        assert request.answered == 200 and request.signature_error is None
        signatures = request.headers["webhook-signature"]
        assert signatures == f"{reference_signature(NEW, request)} {reference_signature(OLD, request)}"
        for secret in (NEW, OLD):
            verify_standard_webhook(secret, request.headers, request.body)
            Webhook(secret).verify(request.body, request.headers)
        with pytest.raises(SignatureError):
            verify_standard_webhook(STRANGER, request.headers, request.body)

    single = by_path["/single"]
    assert single.answered == 200
    assert single.headers["webhook-signature"] == reference_signature(OLD, single)
    assert {d.status for d in await store.list_deliveries()} == {DeliveryStatus.DELIVERED}


async def test_an_unpadded_secret_loads_and_signs_with_the_padded_key(
    tmp_path: Path, store: SqlStore
) -> None:
    async with Receiver(secret=UNPADDED) as receiver:
        path = write_config(tmp_path, [("cms", receiver.url("/hook"), UNPADDED)])
        settings = load(path, environ={})
        assert settings.destinations[0].secret == UNPADDED

        assert await deliver(store, settings.destinations) == (1, 0)

    (request,) = receiver.requests
    assert request.answered == 200 and request.signature_error is None
    assert request.headers["webhook-signature"] == reference_signature(PADDED, request)
    Webhook(UNPADDED).verify(request.body, request.headers)


async def test_an_answer_quoting_one_of_the_secrets_is_kept_redacted(store: SqlStore) -> None:
    bare_old = OLD.removeprefix("whsec_")
    failing = Behaviour(fail_times=1, fail_status=500, fail_body=f"expected {OLD} or {bare_old}, not {NEW}")
    async with Receiver(secret=OLD, behaviour=failing) as receiver:
        rotating = Destination(
            name="cms", kind="webhook", url=receiver.url("/hook"), secret=f"{NEW} {OLD}", allow_private=True
        )
        assert await deliver(store, [rotating]) == (0, 1)

    assert [r.answered for r in receiver.requests] == [500], "signed and sent, then refused"
    (delivery,) = await store.list_deliveries()
    assert delivery.last_error == "HTTP 500: expected [redacted] or [redacted], not [redacted]"


# Secrets by what is wrong with them, or by what they show is allowed.
BAD = {
    "not-base64": "whsec_not*base64",
    "second-not-base64": f"{NEW} whsec_not*base64",
    "second-without-prefix": f"{NEW} {OLD.removeprefix('whsec_')}",
    "impossible-length": "whsec_QUJDR",
    "second-empty": f"{NEW} whsec_",
    "only-spaces": " \t ",
}
GOOD = {
    "one": NEW,
    "unpadded": UNPADDED,
    "two": f"{NEW} {OLD}",
    "two-on-lines": f" {NEW}\n{UNPADDED}\t",
}


def signs(secret: str) -> bool:
    """Whether the sender can sign with ``secret`` (and so calls a destination holding it deliverable)."""
    try:
        decode_secret(secret)
        validate_destination(
            Destination(name="cms", kind="webhook", url="https://h.example/x", secret=secret)
        )
    except NotifyError:
        return False
    return True


def loads(tmp_path: Path, secret: str) -> bool:
    """Whether feeds.yaml takes ``secret`` from the environment, as it was given."""
    path = write_config(tmp_path, [("cms", "https://h.example/x", "${CMS_SECRET}")])
    try:
        settings = load(path, environ={"CMS_SECRET": secret})
    except ConfigError:
        return False
    return settings.destinations[0].secret == secret


@pytest.mark.parametrize("secret", BAD.values(), ids=BAD.keys())
def test_config_refuses_what_cannot_sign_naming_field_and_line_only(tmp_path: Path, secret: str) -> None:
    path = write_config(tmp_path, [("cms", "https://h.example/x", "${CMS_SECRET}")])
    with pytest.raises(ConfigError) as err:
        load(path, environ={"CMS_SECRET": secret})
    message = str(err.value)
    assert message.startswith(f"{path}:5: destinations[0].secret: must be a Standard Webhooks secret")
    shown = message.split("destinations[0].secret:", 1)[1]
    for bare in (part.removeprefix("whsec_") for part in secret.split()):
        assert not bare or bare not in shown, "the value is never shown"


@pytest.mark.parametrize(
    ("secret", "valid"),
    [*((s, True) for s in GOOD.values()), *((s, False) for s in BAD.values())],
    ids=[*GOOD, *BAD],
)
def test_config_accepts_exactly_what_signing_accepts(tmp_path: Path, secret: str, valid: bool) -> None:
    assert signs(secret) is valid
    assert loads(tmp_path, secret) is valid
