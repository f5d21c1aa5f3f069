"""feeds.yaml loading: defaults, ${ENV} interpolation, and errors that name file, line and field."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from watcher.config import (
    DEFAULT_DATABASE_URL,
    DaemonSettings,
    HttpSettings,
    MatchSettings,
    ShiftSettings,
    load,
    parse_duration,
)
from watcher.domain import EventType, Feed, FeedSpec, unsaved_feed
from watcher.errors import ConfigError
from watcher.ingest.pages import PageSettings

GOOD = """\
database: sqlite+aiosqlite:///tmp/x.db
defaults: {interval: 10m, country: GB}
feeds:
  - url: https://example.org/rss
    outlet: Example Times
    country: us
    language: en-US
    leaning: center
    ownership: private
    interval: 1h
  - url: https://other.example/atom
destinations:
  - name: newsroom
    kind: slack
    url: ${SLACK_URL}
  - name: cms
    kind: webhook
    url: ${CMS_URL:-https://cms.example/hook}
    secret: ${CMS_SECRET}
    events: [first_seen, framing_shift]
claims:
  - name: nato-ammo
    text: NATO has surpassed Russia in ammunition production
    keywords: [NATO]
shifts:
  spike_min_stories: 4
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "feeds.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_loads_a_full_config(tmp_path: Path) -> None:
    env = {"SLACK_URL": "https://hooks.slack.com/services/T/B/secret", "CMS_SECRET": "whsec_dGVzdA=="}
    s = load(write(tmp_path, GOOD), environ=env)
    assert s.database_url == "sqlite+aiosqlite:///tmp/x.db"
    first, second = s.feeds
    assert (first.country, first.language, first.interval_s, first.outlet) == (
        "US",
        "en",
        3600,
        "Example Times",
    )
    assert (second.country, second.interval_s, second.outlet, second.leaning) == (
        "GB",
        600,
        "other.example",
        "unknown",
    )
    slack, cms = s.destinations
    assert slack.url == env["SLACK_URL"] and slack.events is None
    assert cms.url == "https://cms.example/hook" and cms.secret == env["CMS_SECRET"]
    assert cms.events == (EventType.FIRST_SEEN, EventType.FRAMING_SHIFT)
    assert s.claims[0].keywords == ("NATO",)
    assert s.shifts.spike_min_stories == 4 and s.shifts.spike_window_s == 3600


def test_loading_yields_the_settings_the_stages_take(tmp_path: Path) -> None:
    s = load(
        write(tmp_path, "http: {concurrency: 7, per_host: 2, total_timeout: 1m}\nmatching: {model: null}\n")
    )
    assert s.http == HttpSettings(limit=7, limit_per_host=2, total_timeout_s=60.0)
    assert s.matching == MatchSettings(model=None, languages=frozenset({"en"}))
    assert s.shifts == ShiftSettings() and s.daemon == DaemonSettings()
    assert load(write(tmp_path, "ingest: {parse_workers: 0}\n")).ingest.workers() == 0
    assert load(write(tmp_path, "ingest: {parser: feedparser}\n")).ingest.parser == "feedparser"
    empty = load(write(tmp_path, "{}\n"), environ={})
    assert empty.ingest.parse_workers is None and empty.ingest.workers() == (os.cpu_count() or 1)
    assert empty.ingest.parser == "fast"
    assert (empty.http, empty.matching) == (HttpSettings(), MatchSettings(languages=frozenset({"en"})))
    strict = load(write(tmp_path, "matching: {model: null, precision: high}\n"), environ={})
    assert strict.matching == MatchSettings(model=None, languages=frozenset({"en"})).flood_safe()
    pinned = load(write(tmp_path, "matching: {precision: high, threshold: 0.9}\n"), environ={})
    assert pinned.matching == dataclasses.replace(
        MatchSettings(languages=frozenset({"en"})).flood_safe(), threshold=0.9
    )


def test_the_semantic_backend_and_sentence_cache_are_settings(tmp_path: Path) -> None:
    chosen = load(
        write(tmp_path, "matching: {backend: onnx-int8, onnx_dir: /srv/models, sentence_cache: 500}\n"),
        environ={},
    ).matching
    assert (chosen.backend, chosen.onnx_dir, chosen.sentence_cache) == ("onnx-int8", "/srv/models", 500)
    assert load(write(tmp_path, "{}\n"), environ={}).matching.backend == "torch"
    with pytest.raises(
        ConfigError, match=r"feeds\.yaml:3: matching\.backend: Input should be 'torch', 'onnx'"
    ):
        load(write(tmp_path, "matching:\n  model: null\n  backend: int8\n"), environ={})
    with pytest.raises(
        ConfigError, match=r"feeds\.yaml:2: matching\.sentence_cache: .*greater than or equal to 0"
    ):
        load(write(tmp_path, "matching:\n  sentence_cache: -1\n"), environ={})


def test_full_text_mode_per_feed_and_page_settings(tmp_path: Path) -> None:
    feeds = (
        "feeds:\n  - {url: 'https://a.example/rss', full_text: always}\n  - {url: 'https://b.example/rss'}\n"
    )
    s = load(write(tmp_path, feeds + "pages: {per_host: 1, min_interval: 2s}\n"))
    assert [f.full_text for f in s.feeds] == ["always", "auto"]
    assert s.pages == PageSettings(per_host=1, min_interval_s=2.0)
    never = load(write(tmp_path, "defaults: {full_text: never}\n" + feeds))
    assert [f.full_text for f in never.feeds] == ["always", "never"]
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.full_text"):
        load(write(tmp_path, "feeds:\n  - {url: 'https://a.example/rss', full_text: sometimes}\n"))


def test_lemmatiser_languages_default_to_those_in_use_and_are_capped_by_config(tmp_path: Path) -> None:
    feeds = "feeds:\n  - {url: 'https://a.example/rss', language: uk}\n  - {url: 'https://b.example/rss'}\n"
    claims = "claims:\n  - {name: c, text: 'Die NATO hat Russland überholt', language: de-AT}\n"
    s = load(write(tmp_path, feeds + claims))
    assert s.matching.languages == frozenset({"en", "uk", "de"})
    assert s.claims[0].language == "de"
    capped = load(write(tmp_path, feeds + "matching: {languages: [en, PL]}\n"))
    assert capped.matching.languages == frozenset({"en", "pl"})


def test_missing_env_variable_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as err:
        load(path, environ={"CMS_SECRET": "whsec_x"})
    assert str(err.value) == f"{path}:15: destinations[0].url: environment variable SLACK_URL is not set"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feeds:\n  - url: ftp://x.org/rss\n", ":2: feeds[0].url: must be an http:// or https:// URL"),
        (
            "feeds:\n  - url: https://x.org/rss\n    leaning: far-out\n",
            ":3: feeds[0].leaning: Input should be",
        ),
        (
            "feeds:\n  - url: https://x.org/rss\n    country: Russia\n",
            ":3: feeds[0].country: must be an ISO 3166",
        ),
        (
            "feeds:\n  - url: https://x.org/rss\n    interval: soon\n",
            ":3: feeds[0].interval: 'soon' is not a duration",
        ),
        (
            "feeds:\n  - url: https://x.org/rss\n    colour: red\n",
            ":3: feeds[0].colour: Extra inputs are not permitted",
        ),
        ("feeds:\n  - outlet: X\n", ":2: feeds[0].url: Field required"),
        (
            "claims:\n  - name: a b\n    text: troops moved\n",
            ":2: claims[0].name: must start with a letter or digit",
        ),
        (
            "shifts:\n  spike_min_stories: 4\n  spike_windw_s: 60\n",
            ":3: shifts.spike_windw_s: Extra inputs are not",
        ),
        ("shifts:\n  spike_window_s: 0\n", ":2: shifts.spike_window_s: must be > 0, got 0"),
        ("shifts:\n  spike_min_ratio: yes\n", ":2: shifts.spike_min_ratio: must be a number (got 'yes')"),
        (
            "shifts: {spike_baseline_s: 3600}\n",
            ":1: shifts.spike_min_baseline_s: must not exceed shifts.spike_baseline_s",
        ),
        ("http:\n  per_host: 0\n", ":2: http.per_host: Input should be greater than 0"),
        ("shifts:\n  fresh_window: soon\n", ":2: shifts.fresh_window: 'soon' is not a duration"),
        (
            "daemon:\n  server:\n    public_url: ftp://watcher.example\n",
            ":3: daemon.server.public_url: must be an http(s) URL",
        ),
        (
            "ingest:\n  parse_workers: -1\n",
            ":2: ingest.parse_workers: Input should be greater than or equal to 0",
        ),
        ("ingest:\n  parser: lxml\n", ":2: ingest.parser: Input should be 'feedparser' or 'fast'"),
        ("feeds: [\n", ":2: invalid YAML: "),
        ("- just\n- a list\n", ":1: the top level must be a mapping"),
    ],
)
def test_errors_name_the_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    assert f"{path}{expected}" in str(err.value)


def test_destination_errors_never_echo_secrets(tmp_path: Path) -> None:
    text = "destinations:\n  - name: x\n    kind: webhook\n    url: https://h.example/x?token=SEKRIT\n    secret: SEKRIT2\n"
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, text), environ={})
    assert "destinations[0].secret" in str(err.value)
    assert "SEKRIT" not in str(err.value)


@pytest.mark.parametrize("digest", ["20s", "89s", "150s"])
def test_a_digest_is_whole_minutes(tmp_path: Path, digest: str) -> None:
    # "20s" was rounded to 0 minutes: one message per event, and no word said.
    text = (
        f"destinations:\n  - name: x\n    kind: slack\n    url: https://h.example/x\n    digest: {digest}\n"
    )
    with pytest.raises(ConfigError, match=r":5: destinations\[0\].digest: .*whole minutes, at least 1m"):
        load(write(tmp_path, text), environ={})
    ok = text.replace(digest, "2m")
    assert [d.digest_minutes for d in load(write(tmp_path, ok), environ={}).destinations] == [2]


def test_duplicates_are_refused(tmp_path: Path) -> None:
    text = "feeds:\n  - url: https://x.org/rss\n  - url: https://x.org/rss\n"
    with pytest.raises(ConfigError, match=r":3: feeds\[1\].url: the same feed as feeds\[0\] on line 2"):
        load(write(tmp_path, text), environ={})
    claims = 'claims:\n  - {name: nato-ammo, text: "NATO leads"}\n  - {name: NATO-Ammo, text: "NATO leads"}\n'
    with pytest.raises(
        ConfigError, match="duplicate name 'NATO-Ammo' \\(the same as 'nato-ammo': names are compared"
    ):
        load(write(tmp_path, claims), environ={})


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "database: sqlite:///from-file.db\n")
    assert load(path, environ={}).database_url == "sqlite:///from-file.db"
    assert (
        load(path, environ={"WATCHER_DATABASE_URL": "postgresql://e/db"}).database_url == "postgresql://e/db"
    )
    assert load(path, environ={"WATCHER_DATABASE_URL": "x"}, database_url="flag").database_url == "flag"
    assert load(environ={"WATCHER_CONFIG": str(path)}).database_url == "sqlite:///from-file.db"


def test_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load(environ={}).database_url == DEFAULT_DATABASE_URL  # no ./feeds.yaml: defaults
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.yaml", environ={})


def test_the_example_config_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "feeds.yaml"
    s = load(example, environ={})
    assert len(s.feeds) >= 5 and s.claims == ()  # the README session adds nato-ammo with the CLI


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800)]
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "-5m", 0, True])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_server_address_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "daemon: {server: {host: 127.0.0.1, port: 8080}}\n")
    env = {"WATCHER_SERVER_HOST": "0.0.0.0", "WATCHER_SERVER_PORT": "9090", "WATCHER_SERVER_TOKEN": "t" * 32}
    s = load(path, environ=env)
    assert (s.daemon.server_host, s.daemon.server_port) == ("0.0.0.0", 9090)
    for port in ("http", "\u00b2", "\u0668\u0660"):  # "²" and "٨٠" pass str.isdigit()
        with pytest.raises(ConfigError, match="WATCHER_SERVER_PORT"):
            load(path, environ={"WATCHER_SERVER_PORT": port})


def test_server_limits(tmp_path: Path) -> None:
    d = load(write(tmp_path, "daemon: {server: {}}\n"), environ={}).daemon
    assert (d.server_max_connections, d.server_header_timeout_s, d.server_keepalive_timeout_s) == (
        256,
        10,
        15,
    )
    text = "daemon: {server: {max_connections: 32, header_timeout: 2s, keepalive_timeout: 1m}}\n"
    d = load(write(tmp_path, text), environ={}).daemon
    assert (d.server_max_connections, d.server_header_timeout_s, d.server_keepalive_timeout_s) == (32, 2, 60)
    for bad, field in (
        ("max_connections: 0", "max_connections"),
        ("header_timeout: 0", "header_timeout"),
        ("keepalive_timeout: soon", "keepalive_timeout"),
    ):
        with pytest.raises(ConfigError, match=rf"daemon\.server\.{field}"):
            load(write(tmp_path, f"daemon: {{server: {{{bad}}}}}\n"), environ={})


def test_fresh_window_and_public_url(tmp_path: Path) -> None:
    text = "shifts: {fresh_window: 12h}\ndaemon:\n  server: {public_url: 'https://watcher.example.org/'}\n"
    settings = load(write(tmp_path, text), environ={})
    assert settings.shifts.fresh_window_s == 12 * 3600
    assert settings.daemon.public_url == "https://watcher.example.org"
    defaults = load(write(tmp_path, "feeds: []\n"), environ={})
    assert defaults.shifts.fresh_window_s == 86400 and defaults.daemon.public_url is None
    assert load(write(tmp_path, "shifts: {fresh_window: 0}\n"), environ={}).shifts.fresh_window_s == 0


def test_errors_do_not_echo_feed_credentials(tmp_path: Path) -> None:
    bad = "feeds:\n  - url: 'ftp://user:pw-secret@host.example/rss?token=t0ken&x=1'\n"
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, bad), environ={})
    assert "pw-secret" not in str(err.value) and "t0ken" not in str(err.value)
    assert "feeds[0].url" in str(err.value) and "host.example" in str(err.value)
    dup = (
        "feeds:\n  - url: 'https://u:pw-secret@a.example/rss'\n  - url: 'https://u:pw-secret@a.example/rss'\n"
    )
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, dup), environ={})
    assert "the same feed as" in str(err.value) and "pw-secret" not in str(err.value)


def test_binding_beyond_loopback_needs_a_server_token(tmp_path: Path) -> None:
    path = write(tmp_path, "daemon: {server: {host: 0.0.0.0}}\n")
    with pytest.raises(ConfigError, match=r"feeds\.yaml: daemon\.server\.token: required"):
        load(path, environ={})
    token = "a" * 32
    assert load(path, environ={"WATCHER_SERVER_TOKEN": token}).daemon.server_token == token
    via_yaml = write(tmp_path, "daemon: {server: {host: '::', token: '${TOK}', metrics_public: true}}\n")
    settings = load(via_yaml, environ={"TOK": token}).daemon
    assert (settings.server_token, settings.server_metrics_public) == (token, True)
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert (
            load(
                write(tmp_path, f"daemon: {{server: {{host: '{loopback}'}}}}\n"), environ={}
            ).daemon.server_token
            is None
        )
    assert load(write(tmp_path, "daemon: {server: {host: 0.0.0.0, enabled: false}}\n"), environ={})
    with pytest.raises(ConfigError, match="at least 16") as err:
        load(write(tmp_path, "daemon: {server: {token: short-s3cret}}\n"), environ={})
    assert "short-s3cret" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, "daemon: {server: {token: [s3cret-in-a-list]}}\n"), environ={})
    assert "s3cret-in-a-list" not in str(err.value)


def test_an_unsaved_feed_keeps_every_setting_of_its_spec() -> None:
    """A feed checked before it is stored (feeds check, discovery, dry runs) behaves as the stored one will."""
    spec = FeedSpec(
        url="https://news.example/rss", outlet="Example", country="UA", language="uk", leaning="left",
        ownership="public", interval_s=600, full_text="always",
    )  # fmt: skip
    feed = unsaved_feed(spec)
    shared = {f.name for f in dataclasses.fields(FeedSpec)} & {f.name for f in dataclasses.fields(Feed)}
    assert shared == {f.name for f in dataclasses.fields(FeedSpec)}
    assert {name: getattr(feed, name) for name in shared} == {name: getattr(spec, name) for name in shared}
