"""Every CLI command has help text with an example and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from watcher.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, full + " "))
        else:
            out.append((full, cmd))
    return out


ALL = commands(cli)


def test_the_design_commands_exist() -> None:
    names = {n for n, _ in ALL}
    expected = {
        "run",
        "poll-once",
        "db upgrade",
        "check",
        "report",
        "claims add",
        "claims list",
        "claims show",
        "claims edit",
        "claims pause",
        "claims resume",
        "claims remove",
        "claims test",
        "claims backfill",
        "feeds list",
        "feeds check",
        "feeds add",
        "feeds import-opml",
        "matches list",
        "events list",
        "alerts list",
        "alerts retry",
    }
    assert expected <= names


@pytest.mark.parametrize(("name", "command"), ALL, ids=[n for n, _ in ALL])
def test_command_is_documented(name: str, command: click.Command) -> None:
    assert f"watcher {name}" in README, f"README does not mention `watcher {name}`"
    assert "Example:" in (command.help or ""), f"`watcher {name}` help has no Example:"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
