"""A lease no longer than a fetch: loading warns (a feed could be polled twice), and ``watcher check`` shows it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config import load

WARNING = "daemon.lease (20 s) is not longer than http.total_timeout (30 s)"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def lease_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "watcher.config" and "daemon.lease" in r.getMessage()]


def test_a_lease_shorter_than_a_fetch_is_loaded_with_one_warning_naming_both_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, "http:\n  total_timeout: 30s\ndaemon:\n  lease: 20s\n")
    with caplog.at_level(logging.WARNING, logger="watcher.config"):
        settings = load(path, environ={})
    assert settings.daemon.lease_s == 20.0 and settings.http.total_timeout_s == 30.0
    (record,) = lease_warnings(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"{path}:4: {WARNING}: ")
    assert "polled twice" in record.getMessage()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # as long as a fetch: still too short
        (
            "http: {total_timeout: 45s}\ndaemon: {lease: 45s}\n",
            ":2: daemon.lease (45 s) is not longer than http.total_timeout (45 s)",
        ),
        # only the timeout set, above the default lease: the line named is the timeout's
        (
            "daemon: {tick: 5s}\nhttp:\n  total_timeout: 10m\n",
            ":3: daemon.lease (300 s) is not longer than http.total_timeout (600 s)",
        ),
        (
            "http: {total_timeout: 1.5s}\ndaemon: {lease: 0.5s}\n",
            ":2: daemon.lease (0.5 s) is not longer than http.total_timeout (1.5 s)",
        ),
    ],
)
def test_the_warning_names_the_values_and_the_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with caplog.at_level(logging.WARNING, logger="watcher.config"):
        load(path, environ={})
    (record,) = lease_warnings(caplog)
    assert record.getMessage().startswith(f"{path}{expected}: ")


@pytest.mark.parametrize(
    "text",
    ["", "daemon: {lease: 20s}\nhttp: {total_timeout: 19s}\n", "http: {total_timeout: 30s}\n"],
)
def test_a_lease_longer_than_a_fetch_loads_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    path = write(tmp_path, text)
    with caplog.at_level(logging.DEBUG, logger="watcher.config"):
        load(path, environ={})
    assert lease_warnings(caplog) == []


def test_watcher_check_prints_the_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "http:\n  total_timeout: 30s\ndaemon:\n  lease: 20s\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    command = ["--config", str(path), "--database", "sqlite+aiosqlite:///:memory:", "check", "--db-only"]
    result = subprocess.run(
        [sys.executable, "-m", "watcher", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: database reachable"
    assert result.stderr.count(WARNING) == 1
