"""A claim declared in feeds.yaml and changed from the CLI: the command says that the next sync writes the file
back, and the sync does."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import Watcher

CONFIG = """\
matching: {model: null}
daemon: {server: {enabled: false}}
claims:
  - name: Nato-Ammo
    text: NATO has surpassed Russia in ammunition production
"""
NOTE = "is declared in"


async def test_pausing_a_declared_claim_says_the_next_sync_restores_it(tmp_path: Path, db_url: str) -> None:
    watcher = Watcher(tmp_path, db_url)
    watcher.config.write_text(CONFIG, encoding="utf-8")
    assert (await watcher("sync")).code == 0

    paused = await watcher("claims", "pause", "nato-ammo")
    assert paused.code == 0, paused.err
    assert "is paused" in paused.out
    assert f"note: claim 'Nato-Ammo' {NOTE} {watcher.config}" in paused.err
    assert "sets it back to what the file says" in paused.err

    # What the note says is what happens.
    assert (await watcher("sync")).code == 0
    listed = (await watcher("claims", "list", "--json")).json()
    assert [(c["name"], c["status"]) for c in listed] == [("Nato-Ammo", "active")]

    # A claim added from the CLI is the database's alone: no note.
    added = await watcher("claims", "add", "Russia has doubled its shell output", "--name", "shells")
    assert added.code == 0, added.err
    result = await watcher("claims", "pause", "shells")
    assert result.code == 0, result.err
    assert NOTE not in result.err


async def test_renaming_a_declared_claim_says_the_file_s_name_comes_back(tmp_path: Path, db_url: str) -> None:
    watcher = Watcher(tmp_path, db_url)
    watcher.config.write_text(CONFIG, encoding="utf-8")
    assert (await watcher("sync")).code == 0

    renamed = await watcher("claims", "edit", "Nato-Ammo", "--name", "ammo")
    assert renamed.code == 0, renamed.err
    assert "tracks 'Nato-Ammo' again, as a new claim beside 'ammo'" in renamed.err

    assert (await watcher("sync")).code == 0
    listed = (await watcher("claims", "list", "--json")).json()
    assert sorted(c["name"] for c in listed) == ["Nato-Ammo", "ammo"]
