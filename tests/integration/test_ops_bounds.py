"""What an operator's log pipeline receives from a real `poll-once`, at the most verbose level.

Feeds with credentials in their URLs, a hostile feed title, a failing feed and a failing webhook whose path is
its secret: every line must be one valid JSON object (or one text event), and no credential may appear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Watcher
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Behaviour, Receiver
from tests.support.stories import SECRET, STRAIGHT, fresh, rss

FEED_PASSWORD = "feed-pa55word-31337"
FEED_TOKEN = "feed-t0ken-271828"
HOOK_PATH_SECRET = "hook-path-secret-161803"
FORGED = "2026-01-01T00:00:00+0000 ERROR   watcher.daemon: forged"
# A title with a line break that would forge a log line, a terminal escape and bytes that are not UTF-8.
HOSTILE_TITLE = b"Wire&#10;" + FORGED.encode() + b" \x1b[31m red \xff\xfe end"


def _hostile_feed() -> bytes:
    body = rss("Wire", [STRAIGHT, ("w-2", "x", "y")], pub_date=fresh())
    return body.replace(b"<title>x</title>", b"<title>" + HOSTILE_TITLE + b"</title>")


def _config(w: Watcher, server: FeedServer, receiver: Receiver) -> None:
    good = (
        server.url("/good.xml").replace("://", f"://alice:{FEED_PASSWORD}@") + f"?token={FEED_TOKEN}&lang=en"
    )
    failing = server.url("/missing.xml") + f"?api_key={FEED_TOKEN}"
    hook = receiver.url(f"/hook/{HOOK_PATH_SECRET}")
    lines = [
        "http: {allow_private: true, total_timeout: 5s}",
        "matching: {model: null}",
        "defaults: {full_text: never}",
        "daemon: {server: {enabled: false}}",
        "feeds:",
        f"  - {{url: '{good}', outlet: Wire, country: UA, language: en, ownership: private}}",
        f"  - {{url: '{failing}', outlet: Gone, country: US, language: en}}",
        "claims:",
        "  - {name: nato-ammo, text: NATO has surpassed Russia in ammunition production}",
        "destinations:",
        f"  - {{name: cms, kind: webhook, url: '{hook}', secret: '{SECRET}', allow_private: true}}",
    ]
    w.config.write_text("\n".join(lines) + "\n")


def _no_secrets(text: str) -> None:
    for secret in (FEED_PASSWORD, FEED_TOKEN, HOOK_PATH_SECRET, SECRET, SECRET.removeprefix("whsec_")):
        assert secret not in text, secret


def _strict_json(line: str) -> dict[str, Any]:
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    value = json.loads(line, parse_constant=no_constant)
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_poll_once_logs_at_vv_are_clean(tmp_path: Path, sqlite_url: str, fmt: str) -> None:
    routes = {"/good.xml": Route(body=_hostile_feed()), "/missing.xml": Route(status=500, body=b"down")}
    async with (
        FeedServer(routes) as server,
        Receiver(secret=SECRET, behaviour=Behaviour(fail_times=10, echo_path=True)) as receiver,
    ):
        w = Watcher(tmp_path, sqlite_url)
        _config(w, server, receiver)
        r = await w("--log-format", fmt, "-vv", "poll-once", "--all")
        assert receiver.requests, r.err  # the webhook was tried (and failed, echoing its path)

    assert r.code == 0, r.err
    _no_secrets(r.err)
    lines = r.err.splitlines()
    assert len(lines) > 5
    if fmt == "json":
        records = [_strict_json(line) for line in lines]
        polls = [rec for rec in records if rec["msg"].startswith("poll feed=")]
        assert {rec.get("outcome") for rec in polls} >= {"ok", "error"}
        assert all(set(rec) >= {"ts", "level", "logger", "msg"} for rec in records)
    else:
        # Every event starts with its timestamp; anything else is an indented traceback line.
        assert all(line[:4].isdigit() or line.startswith("    ") for line in lines), r.err
        assert not any(line.startswith(FORGED[:19]) for line in lines)
