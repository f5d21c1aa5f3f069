"""The CLI as a user runs it: ``python -m watcher`` in a subprocess, with a config file in a temp dir."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


# The fields DESIGN.md names for a match of `matches list --json`, and for its article.
MATCH_KEYS = {"claim", "article", "score", "stance", "skepticism", "cues", "evidence", "matched_at"}
ARTICLE_KEYS = {
    "id",
    "url",
    "title",
    "outlet",
    "country",
    "language",
    "leaning",
    "ownership",
    "published_at",
}


class Watcher:
    """Runs ``python -m watcher`` with a config file in a temp dir."""

    def __init__(self, tmp_path: Path, db_url: str) -> None:
        self.tmp = tmp_path
        self.config = tmp_path / "feeds.yaml"
        self.env = {**os.environ, "WATCHER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "watcher", "--config", str(self.config), *args]

    async def __call__(self, *args: str, stdin: bytes | None = None, wait_s: float = 60) -> Result:
        proc = await asyncio.create_subprocess_exec(
            *self.argv(*args),
            cwd=self.tmp,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin), wait_s)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.argv(*args),
            cwd=self.tmp,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
