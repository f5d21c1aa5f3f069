"""The README's example session, line by line as written, against a local feed server and a fresh database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
from pathlib import Path

from tests.support.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[2]


def session_lines() -> list[str]:
    """The ``watcher ...`` lines of the README's example session (the first sh block after "Example session")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"Example session.*?```sh\n(.*?)```", readme, re.S)
    assert found, "README.md has no example session"
    lines = [line.strip() for line in found.group(1).splitlines() if line.strip()]
    assert lines and all(line.startswith("watcher ") for line in lines), lines
    return lines


async def run_line(line: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """One README line, as a shell would split it; ``watcher`` is the installed entry point (python -m watcher)."""
    argv = [sys.executable, "-m", "watcher", *shlex.split(line)[1:]]
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_readme_example_session_runs_as_written(server: FeedServer, tmp_path: Path) -> None:
    config = tmp_path / "session.yaml"
    config.write_text(
        "http: {allow_private: true, total_timeout: 5s}\n"
        "matching: {model: null}\n"
        "daemon: {server: {enabled: false}}\n"
        "feeds:\n"
        f"  - {{url: '{server.url('/kyiv.xml')}', outlet: Kyiv Post, country: UA, language: en}}\n"
        f"  - {{url: '{server.url('/tass.xml')}', outlet: TASS, country: RU, language: en, ownership: state}}\n"
    )
    # As the README says: WATCHER_CONFIG points the session at another config.
    env = {
        **os.environ,
        "WATCHER_CONFIG": str(config),
        "WATCHER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'session.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WATCHER_LOG_FORMAT", None)
    outputs: dict[str, tuple[str, str]] = {}
    for line in session_lines():
        code, out, err = await run_line(line, tmp_path, env)
        assert code == 0, f"{line}\n{err}"
        assert "Traceback" not in err and "WARNING" not in err, f"{line}\n{err}"
        outputs[shlex.split(line)[1] + " " + shlex.split(line)[2]] = (out, err)
    # What a newcomer reads along the way.
    synced = outputs["poll-once --all"][1]
    assert "config synced: feeds +2 ~0 -0" in synced
    assert "outlet='Kyiv Post'" in synced
    matches = json.loads(outputs["matches list"][0])
    assert matches and all(m["claim"]["name"] == "nato-ammo" and isinstance(m["id"], int) for m in matches)
    assert {m["article"]["outlet"] for m in matches} == {"Kyiv Post", "TASS"}
    assert (tmp_path / "nato-ammo.html").is_file()
