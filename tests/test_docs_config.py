"""The README's configuration reference, CLI table and alert contract agree with the code.

The annotated feeds.yaml block under "Configuration" must load as it is, name every key feeds.yaml takes, and
show the default wherever it shows a setting (not an example feed, destination or claim); the settings named in
the prose must exist, with the defaults stated there; the flags in the CLI table must be each command's flags.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from pydantic import BaseModel

from watcher import config
from watcher.cli import cli
from watcher.domain import Claim, Event, EventType
from watcher.notify.payload import render_event
from watcher.notify.webhook import webhook_headers

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# Keys of the block whose values are examples, not defaults (required keys included).
EXAMPLES = {
    "feeds[].url",
    "feeds[].outlet",
    "feeds[].country",
    "feeds[].language",
    "feeds[].leaning",
    "feeds[].ownership",
    "feeds[].interval",
    "destinations[].name",
    "destinations[].kind",
    "destinations[].url",
    "destinations[].secret",
    "destinations[].events",
    "claims[].name",
    "claims[].text",
    "claims[].keywords",
    "claims[].threshold",
    "claims[].language",
    "matching.languages",
}
# Keys the code takes that the block need not show: another spelling of one it shows.
UNSHOWN = {"shifts.fresh_window_s"}  # fresh_window in seconds
SECTIONS = ("http", "ingest", "matching", "pages", "shifts", "daemon")


def section(heading: str) -> str:
    """The README's text from ``heading`` to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = README.index(heading + "\n")
    rest = README[start + len(heading) :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def config_block() -> str:
    found = re.search(r"```yaml\n(.*?)```", section("## Configuration: `feeds.yaml`"), re.S)
    assert found, "README's Configuration section has no yaml block"
    return found.group(1)


def dummy_environ(text: str) -> dict[str, str]:
    """A value for each ${NAME} the text refers to, of the form its key needs."""
    env = {}
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text):
        if "SECRET" in name:
            env[name] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        elif "TOKEN" in name:
            env[name] = "t" * 32
        else:
            env[name] = "https://hooks.example.org/services/T0/B0/x"
    return env


def load_text(tmp_path: Path, text: str, environ: dict[str, str]) -> config.Settings:
    path = tmp_path / f"feeds-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(text, encoding="utf-8")
    settings = config.load(path, environ=environ)
    return dataclasses.replace(settings, config_path=None)


def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(dotted key with ``[]`` for list items, location) of every leaf under a mapping."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                for sub, loc in leaves(value, path):
                    yield sub, (key, *loc)
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for i, item in enumerate(value):
                    for sub, loc in leaves(item, path + "[]"):
                        yield sub, (key, i, *loc)
            else:
                yield path, (key,)


def without(data: Any, loc: tuple[Any, ...]) -> Any:
    """A deep copy of ``data`` without the leaf at ``loc``."""
    head, rest = loc[0], loc[1:]
    if not rest:
        return {k: v for k, v in data.items() if k != head}
    if isinstance(data, list):
        return [without(v, rest) if i == head else v for i, v in enumerate(data)]
    return {k: without(v, rest) if k == head else v for k, v in data.items()}


def code_keys(model: type[BaseModel] = config._File, prefix: str = "") -> set[str]:
    """Every key feeds.yaml takes, from the models that validate it (``[]`` marks a list's items)."""
    keys = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}" if prefix else (info.alias or name)
        keys.add(path)
        annotation = info.annotation
        is_list = typing.get_origin(annotation) is list
        candidates = (annotation, *typing.get_args(annotation))
        for arg in candidates:
            inner = typing.get_args(arg) if typing.get_origin(arg) is list else (arg,)
            is_list = is_list or typing.get_origin(arg) is list
            for sub in inner:
                if isinstance(sub, type) and issubclass(sub, BaseModel):
                    keys |= code_keys(sub, path + ("[]" if is_list else ""))
    return keys


def nested(dotted: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


@pytest.fixture(scope="module")
def block() -> str:
    return config_block()


def test_the_configuration_block_loads(tmp_path: Path, block: str) -> None:
    settings = load_text(tmp_path, block, dummy_environ(block))
    assert settings.feeds and settings.destinations and settings.claims


def test_the_block_names_every_key_and_only_keys_the_code_takes(block: str) -> None:
    shown = {path for path, _ in leaves(yaml.safe_load(block))}
    shown |= {p.rsplit(".", i)[0].removesuffix("[]") for p in shown for i in range(1, p.count(".") + 1)}
    known = code_keys()
    assert not shown - known, f"README shows keys feeds.yaml refuses: {sorted(shown - known)}"
    missing = known - shown - UNSHOWN
    assert not missing, f"README's feeds.yaml block leaves out: {sorted(missing)}"
    assert EXAMPLES <= shown, f"stale EXAMPLES: {sorted(EXAMPLES - shown)}"


def test_the_values_the_block_shows_are_the_defaults(tmp_path: Path, block: str) -> None:
    data = yaml.safe_load(block)
    environ = dummy_environ(block)
    full = load_text(tmp_path, block, environ)
    wrong = []
    for path, loc in leaves(data):
        if path in EXAMPLES:
            continue
        settings = load_text(tmp_path, yaml.safe_dump(without(data, loc), sort_keys=False), environ)
        if settings != full:
            wrong.append(path)
    assert not wrong, f"README shows values that are not the defaults for: {wrong}"


def test_the_block_filters_on_every_event_type(block: str) -> None:
    data = yaml.safe_load(block)
    shown = {e for d in data["destinations"] for e in d.get("events") or ()}
    assert shown == {str(t) for t in EventType}


# `daemon.lease`, `ingest.parser: fast`: a setting named in the prose, maybe with a value.
NAMED = re.compile(r"`((?:" + "|".join(SECTIONS) + r")\.[a-z_.]*[a-z_])(?::\s*([^`]+))?`")
# `daemon.lease` (default 5 min), `daemon.tick`, default 5 s, `http.per_host` (4): a default stated in the prose.
STATED = re.compile(
    r"`((?:" + "|".join(SECTIONS) + r")\.[a-z_.]*[a-z_])`(?:\s+sentences)?"
    r"(?:,\s+default\s+|\s+\((?:default\s+)?)`?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s?(ms|s|min|h|d)\b)?"
)


def test_settings_named_in_the_prose_exist_and_take_the_values_shown(tmp_path: Path) -> None:
    known = code_keys()
    named = NAMED.findall(README)
    assert named
    for key, value in named:
        assert key in known, f"README names `{key}`, which feeds.yaml does not take"
        if value:
            load_text(tmp_path, yaml.safe_dump(nested(key, yaml.safe_load(value))), {})


def test_defaults_stated_in_the_prose_are_the_code_defaults(tmp_path: Path) -> None:
    default = load_text(tmp_path, "", {})
    stated = STATED.findall(README)
    assert stated
    for key, number, unit in stated:
        value: Any = yaml.safe_load(number.replace(",", ""))
        if unit:
            value = f"{value}{'m' if unit == 'min' else unit}"
        settings = load_text(tmp_path, yaml.safe_dump(nested(key, value)), {})
        assert settings == default, f"README says `{key}` defaults to {number} {unit}, the code differs"


def commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out.update(commands(cmd, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = cmd
    return out


def long_flags(command: click.Command) -> set[str]:
    return {o for p in command.params if isinstance(p, click.Option) for o in p.opts if o.startswith("--")}


def test_the_cli_table_gives_each_command_its_flags() -> None:
    rows = re.findall(r"^\| `watcher ([^`]+)` \|", section("## CLI"), re.M)
    assert rows
    known = commands(cli)
    documented = set()
    for usage in rows:
        words = usage.split()
        name = " ".join(words[:2]) if " ".join(words[:2]) in known else words[0]
        assert name in known, f"README's CLI table has `watcher {usage}`, no such command"
        documented.add(name)
        flags = set(re.findall(r"--[a-z][a-z-]*", usage))
        takes = long_flags(known[name]) - {"--help", "--json"}
        assert flags <= takes | {"--json"}, f"`watcher {name}` has no {sorted(flags - takes)}"
        assert takes <= flags, f"README's CLI table leaves out `watcher {name}` {sorted(takes - flags)}"
    assert documented == set(known)


def test_the_global_options_are_documented() -> None:
    paragraph = section("## CLI").strip().split("\n\n", 1)[0]
    missing = long_flags(cli) - {"--help"} - set(re.findall(r"--[a-z][a-z-]*", paragraph))
    assert not missing, f"README's CLI section leaves out the global options {sorted(missing)}"


def test_the_event_fields_and_webhook_headers_are_documented() -> None:
    now = datetime(2025, 11, 6, tzinfo=UTC)
    event = Event(
        id="evt_1",
        type=EventType.FIRST_SEEN,
        claim_id=1,
        dedupe_key="first_seen",
        summary="s",
        details={},
        match_ids=(),
        created_at=now,
    )
    body = render_event(
        event, Claim(id=1, name="c", text="t"), [], report="https://w.example/claims/c/report"
    )
    alerts = section("## Alerts")
    missing = [key for key in body if f"`{key}`" not in alerts]
    assert not missing, f"README's Alerts section does not name the event fields {missing}"
    headers = webhook_headers(message_id="evt_1", timestamp=now, body=b"{}", key=b"k")
    missing = [h for h in headers if h.startswith("webhook-") and f"`{h}`" not in alerts]
    assert not missing, f"README's Alerts section does not name the headers {missing}"
