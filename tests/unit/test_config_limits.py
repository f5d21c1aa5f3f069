"""feeds.yaml refuses what would go wrong later: non-finite numbers, bad secrets, aliases, duplicates, oversize."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.config_files import refused
from tests.support.config_files import write_config as write
from watcher import config
from watcher.config import DaemonSettings, load
from watcher.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("claims:\n  - {name: a, text: NATO ammunition, threshold: .nan}\n", "F:2: claims[0].threshold:"),
        ("claims:\n  - {name: a, text: NATO ammunition, threshold: .inf}\n", "F:2: claims[0].threshold:"),
        ("matching: {threshold: .nan}\n", "F:1: matching.threshold:"),
        ("shifts: {spike_min_ratio: .inf}\n", "F:1: shifts.spike_min_ratio: must be a finite number"),
        ("shifts: {spike_min_ratio: .nan}\n", "F:1: shifts.spike_min_ratio: must be a finite number"),
        ("daemon: {tick: .nan}\n", "F:1: daemon.tick: a duration must be a finite number"),
        ("daemon: {lease: .inf}\n", "F:1: daemon.lease: a duration must be a finite number"),
        ("http: {total_timeout: .inf}\n", "F:1: http.total_timeout: a duration must be a finite number"),
        ("defaults: {interval: .nan}\n", "F:1: defaults.interval: a duration must be a finite number"),
    ],
)
def test_numbers_must_be_finite(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "whsec_!!not base64!!", "c2VjcmV0", "whsec_c2Vj cmV0", "WHSEC_c2VjcmV0"]
)
def test_signing_secrets_are_whsec_and_base64(tmp_path: Path, secret: str) -> None:
    text = f"destinations:\n  - name: cms\n    kind: webhook\n    url: https://h.example/x\n    secret: '{secret}'\n"
    message = refused(tmp_path, text)
    assert "F:5: destinations[0].secret: must be a Standard Webhooks secret" in message
    if secret not in ("", "whsec_"):
        assert secret not in message.split("secret:", 1)[1].split("must be", 1)[1]  # never echoed


def test_a_good_signing_secret_loads(tmp_path: Path) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef").decode()
    text = (
        f"destinations:\n  - {{name: cms, kind: webhook, url: 'https://h.example/x', secret: '{secret}'}}\n"
    )
    assert load(write(tmp_path, text), environ={}).destinations[0].secret == secret


def test_a_secret_from_the_environment_is_checked_and_not_echoed(tmp_path: Path) -> None:
    text = "destinations:\n  - {name: cms, kind: webhook, url: 'https://h.example/x', secret: '${S}'}\n"
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, text), environ={"S": "whsec_TOPSECRET!"})
    assert "destinations[0].secret" in str(err.value) and "TOPSECRET" not in str(err.value)


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lol += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    message = refused(tmp_path, "\n".join(lol) + "\n")
    assert "invalid YAML: anchors and aliases (&name, *name) are not allowed" in message


def test_a_merge_key_alias_is_refused_too(tmp_path: Path) -> None:
    text = "defaults: {interval: 10m}\nfeeds:\n  - &f {url: 'https://a.example/rss'}\n  - <<: *f\n"
    assert "F:3: invalid YAML: anchors and aliases" in refused(tmp_path, text)


def test_the_file_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_CONFIG_BYTES", 1024)
    assert "larger than" in refused(tmp_path, "# " + "x" * 2000 + "\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feeds: []\nclaims: []\nfeeds: []\n", "F:3: duplicate key 'feeds' (first given on line 1)"),
        (
            "feeds:\n  - url: https://a.example/rss\n    outlet: A\n    outlet: B\n",
            "F:4: duplicate key 'outlet' (first given on line 3)",
        ),
        (
            "daemon:\n  tick: 5s\n  server: {port: 1, port: 2}\n",
            "F:3: duplicate key 'port' (first given on line 3)",
        ),
    ],
)
def test_duplicate_keys_name_both_lines(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://Example.ORG/rss", "https://example.org/rss"),
        ("http://example.org:80/rss", "http://example.org/rss"),
        ("https://example.org:443/rss", "https://example.org/rss"),
        ("https://example.org/rss/", "https://example.org/rss"),
        ("https://example.org", "https://example.org/"),
    ],
)
def test_the_same_feed_twice_names_both_lines(tmp_path: Path, first: str, second: str) -> None:
    text = f"feeds:\n  - url: '{first}'\n  - url: https://other.example/rss\n  - url: '{second}'\n"
    assert "F:4: feeds[2].url: the same feed as feeds[0] on line 2" in refused(tmp_path, text)


def test_different_ports_and_paths_are_different_feeds(tmp_path: Path) -> None:
    text = "feeds:\n  - url: http://a.example:8080/rss\n  - url: http://a.example/rss\n  - url: http://a.example/RSS\n"
    assert len(load(write(tmp_path, text), environ={}).feeds) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"claims:\n  - {{name: a, text: '{'NATO ' * 500}'}}\n",
            "F:2: claims[0].text: String should have at most",
        ),
        (
            f"claims:\n  - {{name: {'a' * 101}, text: NATO ammo}}\n",
            "F:2: claims[0].name: String should have at most",
        ),
        (
            "claims:\n  - {name: a, text: NATO ammo, keywords: [" + "k, " * 21 + "]}\n",
            "F:2: claims[0].keywords:",
        ),
        (
            f"claims:\n  - {{name: a, text: NATO ammo, keywords: [{'k' * 101}]}}\n",
            "F:2: claims[0].keywords[0]:",
        ),
        (
            f"feeds:\n  - url: 'https://a.example/{'x' * 2100}'\n",
            "F:2: feeds[0].url: String should have at most",
        ),
        (f"feeds:\n  - {{url: 'https://a.example/', outlet: {'o' * 201}}}\n", "F:2: feeds[0].outlet:"),
        ("claims:\n  - {name: '2', text: NATO ammo}\n", "F:2: claims[0].name: must not be all digits"),
        (
            "claims:\n  - {name: a, text: It was said that they were there}\n",
            "F:2: claims[0].text: the claim text has only stopwords",
        ),
    ],
)
def test_field_sizes_and_claims(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_the_number_of_feeds_is_capped(tmp_path: Path) -> None:
    text = "feeds:\n" + "".join(f"  - url: https://a.example/{i}\n" for i in range(config.MAX_FEEDS + 1))
    assert "F:2: feeds: List should have at most 50000 items" in refused(tmp_path, text)


def test_the_daemon_tick_defaults_to_5_seconds_as_the_readme_says(tmp_path: Path) -> None:
    assert DaemonSettings().tick_s == 5.0 == load(write(tmp_path, "{}\n"), environ={}).daemon.tick_s
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "every `daemon.tick`, default 5 s" in readme
