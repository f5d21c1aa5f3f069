"""Configuration found wanting by a hostile review: secrets under misspelled keys, unfinished ${VAR}, unbounded
counts, streams without a size, URLs with spaces, YAML 1.1 numbers and key terms that could never be required."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.config_files import refused as config_refused
from watcher.config import MAX_BATCH, MAX_CONFIG_BYTES, load
from watcher.errors import ConfigError

TOKEN = "supersecrettoken-abcdef1234567890"
HOOK = "https://x.io/h/AbC123secret"
WHSEC = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
ENV = {"WATCHER_SERVER_TOKEN": TOKEN, "HOOK": HOOK, "CMS_SECRET": WHSEC}


def refused(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    return config_refused(tmp_path, text, ENV if environ is None else environ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "daemon:\n  server:\n    tokn: ${WATCHER_SERVER_TOKEN}\n",
            "F:3: daemon.server.tokn: Extra inputs are not permitted (did you mean 'token'?)",
        ),
        (
            "daemon:\n  server:\n    Token: " + TOKEN + "\n",
            "F:3: daemon.server.Token: Extra inputs are not permitted (did you mean 'token'?)",
        ),
        (
            "Destinations:\n  - {url: '${HOOK}', secret: '${CMS_SECRET}'}\n",
            "F:2: Destinations: Extra inputs are not permitted (did you mean 'destinations'?)",
        ),
        (
            "destination:\n  - {secret: " + WHSEC + "}\n",
            "F:2: destination: Extra inputs are not permitted (did you mean 'destinations'?)",
        ),
        (
            "feeds:\n  - url: https://a.example/rss\n    Secret: " + WHSEC + "\n",
            "F:3: feeds[0].Secret: Extra",
        ),
        # A value from the environment is never shown, whatever its key.
        (
            "feeds:\n  - url: https://a.org/rss\n    country: ${WATCHER_SERVER_TOKEN}\n",
            "F:3: feeds[0].country: must be an ISO 3166",
        ),
        ("daemon:\n  server: ${HOOK}\n", "F:2: daemon.server: must be a mapping"),
    ],
)
def test_secrets_are_not_echoed_whatever_the_spelling_of_their_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(expected), message
    for secret in (TOKEN, HOOK, WHSEC, "AbC123", "whsec_", "supersecret"):
        assert secret not in message, message
    assert "(got " not in message


def test_a_value_of_the_file_under_a_known_key_is_still_shown(tmp_path: Path) -> None:
    message = refused(tmp_path, "feeds:\n  - url: https://a.org/rss\n    country: Norway\n")
    assert message.endswith("(got 'Norway')"), message


def test_an_unknown_key_with_an_escape_is_shown_escaped(tmp_path: Path) -> None:
    message = refused(tmp_path, '"\\e[31mRED": 1\n')
    assert "\x1b" not in message and "\\x1b[31mRED: Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    ("value", "field", "line"),
    [
        ('"${WATCHER_SERVER_TOKEN"', "daemon.server.token", 3),
        ('"${WATCHER_SERVER_TOKEN:-x"', "daemon.server.token", 3),
        ('"abc${"', "daemon.server.token", 3),
        ('"${WATCHER_SERVER_TOKEN}${HOOK"', "daemon.server.token", 3),
    ],
)
def test_an_unfinished_environment_reference_is_refused(
    tmp_path: Path, value: str, field: str, line: int
) -> None:
    message = refused(tmp_path, f"daemon:\n  server:\n    token: {value}\n")
    assert (
        message
        == f"F:{line}: {field}: unfinished environment reference: write ${{NAME}} or ${{NAME:-default}}"
    )


def test_a_finished_reference_whose_value_holds_a_dollar_brace_is_taken_as_is(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("daemon:\n  server:\n    token: ${T}\n")
    assert load(path, environ={"T": "${not-a-reference-1234"}).daemon.server_token == "${not-a-reference-1234"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("matching:\n  batch_size: 100000000000000000000000\n", "F:2: matching.batch_size"),
        ("daemon:\n  feed_batch: 100001\n", "F:2: daemon.feed_batch"),
        ("http:\n  concurrency: 100000000000000000000000\n", "F:2: http.concurrency"),
        ("http:\n  per_host: 1001\n", "F:2: http.per_host"),
        ("http:\n  max_body_bytes: 1073741825\n", "F:2: http.max_body_bytes"),
        ("ingest:\n  parse_workers: 100000000\n", "F:2: ingest.parse_workers"),
        ("pages:\n  per_host: 100000\n", "F:2: pages.per_host"),
        ("pages:\n  max_text_chars: 100000000000\n", "F:2: pages.max_text_chars"),
        ("matching:\n  sentence_cache: 100000000000\n", "F:2: matching.sentence_cache"),
    ],
)
def test_counts_and_sizes_have_an_upper_bound(tmp_path: Path, text: str, field: str) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(f"{field}: Input should be less than or equal to"), message


def test_the_largest_batch_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"matching:\n  batch_size: {MAX_BATCH}\n")
    assert load(path, environ={}).daemon.match_batch == MAX_BATCH


def test_a_config_without_a_size_is_read_up_to_the_cap_only(tmp_path: Path) -> None:
    fifo = tmp_path / "feeds.yaml"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer: more than the cap, then nothing (a reader that stops early ends it by SIGPIPE)
        try:
            with open(fifo, "wb") as out:
                chunk = b"#" * 2**20 + b"\n"
                for _ in range(MAX_CONFIG_BYTES // len(chunk) + 2):
                    out.write(chunk)
        finally:
            os._exit(0)
    try:
        with pytest.raises(ConfigError, match="larger than 16 MiB"):
            load(fifo, environ={})
    finally:
        os.waitpid(pid, 0)


@pytest.mark.parametrize(
    "url", ["https://a.org/r ss", "https://a.org/rss\nX-Injected: 1", "https://a.org/rss\tx"]
)
def test_feed_urls_with_inner_spaces_or_line_breaks_are_refused(tmp_path: Path, url: str) -> None:
    message = refused(tmp_path, f"feeds:\n  - url: {url!r}\n".replace("'", '"'))
    assert message.startswith("F:2: feeds[0].url: must not hold spaces or line breaks"), message


@pytest.mark.parametrize(
    ("value", "seconds"), [("010", 10), ("90", 90), ("1_0", 10), ("0x10", 16), ("1.5", 2), ("10m", 600)]
)
def test_numbers_are_read_as_yaml_1_2_reads_them(tmp_path: Path, value: str, seconds: int) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - url: https://a.org/rss\n    interval: {value}\n")
    assert load(path, environ={}).feeds[0].interval_s == seconds


def test_a_base_60_number_is_not_a_duration(tmp_path: Path) -> None:
    message = refused(tmp_path, "feeds:\n  - url: https://a.org/rss\n    interval: 1:30\n")
    assert message.startswith("F:3: feeds[0].interval: '1:30' is not a duration"), message


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        ('["ammunition", "the"]', "F:4: claims[0].keywords[1]: the key term 'the' has only stopwords"),
        ('["", "ammunition"]', "F:4: claims[0].keywords[0]: a key term is empty"),
        ('["  "]', "F:4: claims[0].keywords[0]: a key term is empty"),
        ('["!!!"]', "F:4: claims[0].keywords[0]: the key term '!!!' has only stopwords or punctuation"),
        ('["ammo\\e[31m"]', "F:4: claims[0].keywords[0]: holds the control character U+001B"),
    ],
)
def test_key_terms_that_could_never_be_required_are_refused(
    tmp_path: Path, keywords: str, expected: str
) -> None:
    text = f"claims:\n  - name: a\n    text: NATO has surpassed Russia in ammunition production\n    keywords: {keywords}\n"
    message = refused(tmp_path, text)
    assert message.startswith(expected), message


def test_the_server_token_is_not_in_the_settings_repr(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("daemon:\n  server:\n    token: ${WATCHER_SERVER_TOKEN}\n")
    settings = load(path, environ=ENV)
    assert settings.daemon.server_token == TOKEN and TOKEN not in repr(settings)
