"""Bounds on what the daemon writes for operators: metric series, log lines, credentials, repeated tracebacks."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from watcher import logs, metrics
from watcher.domain import DeliveryStatus, EventType
from watcher.ingest.fetch import ErrorKind

# --- metrics ---------------------------------------------------------------------------------------------


def test_label_sets_follow_the_code() -> None:
    assert set(metrics.FETCH_ERROR_KINDS) == set(get_args(ErrorKind))
    assert set(metrics.EVENT_TYPES) == {t.value for t in EventType}
    assert set(metrics.DELIVERY_STATUSES) == {s.value for s in DeliveryStatus}


def test_every_labelled_metric_is_bounded() -> None:
    labelled = [m for m in vars(metrics).values() if getattr(m, "_labelnames", ())]
    assert labelled
    for metric in labelled:
        assert isinstance(metric, metrics.BoundedCounter | metrics.BoundedGauge), metric
        assert len(metric._labelnames) == 1 and metric._allowed


def test_unknown_label_values_count_as_other_and_the_page_stays_small(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    errors = metrics._with_values(
        metrics.BoundedCounter("t_fetch_errors", "test", ["kind"], registry=registry),
        metrics.FETCH_ERROR_KINDS,
    )
    before = len(generate_latest(registry))
    with caplog.at_level(logging.WARNING, logger="watcher.metrics"):
        for i in range(50_000):
            errors.labels(f"HTTP 503 from https://u:p@feeds.example.org/{i}/rss?token=t{i}").inc()
        errors.labels(kind="timeout").inc()
    page = generate_latest(registry).decode()
    assert len(page) - before < 100  # one series' value changed, none added
    assert 'kind="other"} 50000.0' in page and 'kind="timeout"} 1.0' in page
    assert "token" not in page and "example.org" not in page
    warnings = [r for r in caplog.records if r.name == "watcher.metrics"]
    assert len(warnings) == 1 and "example.org" not in warnings[0].getMessage()


def test_every_series_exists_from_the_start() -> None:
    page = generate_latest(metrics.REGISTRY).decode()
    for outcome in metrics.POLL_OUTCOMES:
        assert f'watcher_feeds_polled_total{{outcome="{outcome}"}}' in page
    for kind in metrics.FETCH_ERROR_KINDS:
        assert f'watcher_fetch_errors_total{{kind="{kind}"}}' in page
    for stage in metrics.STAGES:
        assert f'watcher_unexpected_errors_total{{stage="{stage}"}}' in page
    assert len(page) < 16_000


# --- logs: helpers ---------------------------------------------------------------------------------------


@pytest.fixture()
def capture() -> Iterator[Any]:
    """Runs logs.setup and returns a function giving what the handler wrote since."""
    stream = io.StringIO()

    def configure(fmt: str, verbosity: int = 0, environ: dict[str, str] | None = None) -> None:
        logs.setup(verbosity, fmt, environ=environ or {})
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)

    def written() -> str:
        text = stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return text

    yield configure, written
    logs.setup(0, "text", environ={})
    logs.remember_secrets({})


def _raise(message: str) -> None:
    raise RuntimeError(message)


def _log_exception(logger: logging.Logger, message: str) -> None:
    try:
        _raise(message)
    except RuntimeError:
        logger.exception("job failed")


def _strict_json(line: str) -> dict[str, Any]:
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    value = json.loads(line, parse_constant=no_constant)
    assert isinstance(value, dict)
    return value


FORGED = "Headline\n2026-01-01T00:00:00+0000 ERROR   watcher.daemon: database wiped"
HOSTILE = [
    FORGED,
    "carriage\rreturn",
    "next\x85line",
    "line\u2028separator and paragraph\u2029separator",
    "escape \x1b[2J\x1b]0;title\x07 and NUL \x00",
    "bidi \u202eevil\u202c",
    "lone surrogate \udcff and \ud800",
    "tab\tstays",
    "x" * 2_000_000,
]


# --- logs: one event a line --------------------------------------------------------------------------------


@pytest.mark.parametrize("message", HOSTILE, ids=range(len(HOSTILE)))
def test_text_lines_hold_one_event(capture: Any, message: str) -> None:
    configure, written = capture
    configure("text")
    logging.getLogger("watcher.pipeline").warning("poll feed=1 title=%s", message)
    out = written()
    assert out.endswith("\n") and len(out.splitlines()) == 1, out[:500]
    assert "database wiped" not in out or "\\n2026" in out
    assert len(out) < 17_000
    out.encode("utf-8")  # nothing a UTF-8 stream would refuse


@pytest.mark.parametrize("message", HOSTILE, ids=range(len(HOSTILE)))
def test_json_lines_are_valid_whatever_the_message(capture: Any, message: str) -> None:
    configure, written = capture
    configure("json")
    logging.getLogger("watcher.pipeline").warning(
        "poll feed=%s title=%s", 1, message, extra={"title": message, "feed_id": 1}
    )
    out = written()
    assert out.endswith("\n") and len(out.splitlines()) == 1
    record = _strict_json(out)
    assert list(record)[:4] == ["ts", "level", "logger", "msg"]
    assert record["level"] == "warning" and record["logger"] == "watcher.pipeline" and record["feed_id"] == 1
    assert len(out) < 40_000
    out.encode("utf-8")


def test_text_tracebacks_are_indented_under_their_line(capture: Any) -> None:
    configure, written = capture
    configure("text")
    _log_exception(logging.getLogger("watcher.daemon"), FORGED)
    lines = written().splitlines()
    assert lines[0].endswith("watcher.daemon: job failed")
    assert len(lines) > 3 and all(line.startswith("    ") for line in lines[1:])
    assert any("RuntimeError: Headline" in line for line in lines)


def test_json_fields_are_stable_and_values_always_encode(capture: Any) -> None:
    configure, written = capture
    configure("json")

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    logging.getLogger("watcher.x").info(
        "values",
        extra={
            "nan": float("nan"),
            "inf": float("-inf"),
            "tuple_keys": {(1, 2): 3},
            "obj": Unprintable(),
            "ids": list(range(5_000)),
            "level": "forged",
            "ts": "forged",
            "msg_": "kept",
        },
    )
    logging.getLogger("watcher.x").info("bad %d arguments", "not a number")
    _log_exception(logging.getLogger("watcher.x"), "boom")
    first, second, third = (_strict_json(line) for line in written().splitlines())
    assert first["level"] == "info" and first["ts"] != "forged"
    assert first["extra_level"] == "forged" and first["extra_ts"] == "forged" and first["msg_"] == "kept"
    assert first["nan"] == "nan" and first["inf"] == "-inf" and first["tuple_keys"] == {"(1, 2)": 3}
    assert first["obj"] == "<Unprintable>" and len(first["ids"]) == logs.LIST_ITEMS + 1
    assert "bad" in second["msg"] and "could not be formatted" in second["msg"]
    assert third["exc"].startswith("Traceback") and "RuntimeError: boom" in third["exc"]


def test_a_formatting_failure_prints_no_logging_error(
    capture: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    configure, written = capture
    configure("json")
    logging.getLogger("watcher.x").info("%s %s", "only one")
    assert _strict_json(written())["logger"] == "watcher.x"
    assert "Logging error" not in capsys.readouterr().err


# --- logs: credentials -------------------------------------------------------------------------------------

SECRETS = {
    "https://alice:pa55w0rd-feed@feeds.example.org/rss?token=tok3n-feed-123&lang=en": [
        "pa55w0rd-feed",
        "tok3n-feed",
    ],
    "postgresql+asyncpg://watcher:db-pa55-w0rd@postgres:5432/watcher": ["db-pa55-w0rd"],
    "https://hooks.slack.com/services/T0001/B0002/slackpathsecret0003": ["slackpathsecret0003", "B0002"],
    "https://discord.com/api/webhooks/123/discordsecret456": ["discordsecret456"],
    "signing secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    "headers {'Authorization': 'Bearer sk-live-000111222', 'Accept': '*/*'}": ["sk-live-000111222"],
    "Authorization: Token drf-token-777888": ["drf-token-777888"],
    "retrying with Bearer eyJhbGciOi.payload.sig999": ["eyJhbGciOi"],
    "slack token xoxb-1234-5678-abcdefgh": ["xoxb-1234", "abcdefgh"],
    "host=db user=watcher password=libpq-secret-1 dbname=watcher": ["libpq-secret-1"],
    "https://api.example.com/feed?api_key=k3y-v4lue-9&access_token=acc-t0k-9": ["k3y-v4lue-9", "acc-t0k-9"],
    "POST to https://cms.example.com/hooks/cms-path-secret-42 failed": ["cms-path-secret-42"],
}
ENVIRON = {"CMS_WEBHOOK_URL": "https://cms.example.com/hooks/cms-path-secret-42", "HOME": "/home/watcher"}


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("text", list(SECRETS), ids=range(len(SECRETS)))
def test_credentials_never_reach_a_line(capture: Any, fmt: str, text: str) -> None:
    configure, written = capture
    configure(fmt, verbosity=2, environ=ENVIRON)
    logger = logging.getLogger("watcher.ingest.fetch")
    logger.debug("fetch %s failed", text)
    logger.info(text)
    logger.warning("poll", extra={"feed_url": text, "detail": {"url": text}, "urls": [text]})
    _log_exception(logger, f"cannot reach {text}")
    logging.getLogger("aiohttp.client").debug("library line: %s", text)
    out = written()
    assert len(out.splitlines()) >= 5
    for secret in SECRETS[text]:
        assert secret not in out, (secret, out[:2000])
    if fmt == "json":
        for line in out.splitlines():
            _strict_json(line)


def test_what_redaction_keeps(capture: Any) -> None:
    configure, written = capture
    configure("text", environ=ENVIRON)
    logger = logging.getLogger("watcher.pipeline")
    logger.info(
        "poll feed=7 outlet='Example' url=https://feeds.example.org/rss?lang=en status=200 items=3 new=1"
    )
    logger.info("POST to %s failed", ENVIRON["CMS_WEBHOOK_URL"])
    logger.info("delivery evt_1 to newsroom: retry (HTTP 503)")
    lines = written().splitlines()
    assert lines[0].endswith("url=https://feeds.example.org/rss?lang=en status=200 items=3 new=1")
    assert lines[1].endswith("POST to ${CMS_WEBHOOK_URL} failed")
    assert lines[2].endswith("delivery evt_1 to newsroom: retry (HTTP 503)")


def test_short_or_unnamed_environment_values_are_left_alone() -> None:
    logs.remember_secrets({"SLACK_WEBHOOK_URL": "", "WATCHER_SERVER_TOKEN": "short", "EDITOR": "vim-editor"})
    try:
        assert logs.redact("short vim-editor") == "short vim-editor"
    finally:
        logs.remember_secrets({})


# --- logs: volume ------------------------------------------------------------------------------------------


def _exception_record(logger: str, message: str, created: float) -> logging.LogRecord:
    try:
        _raise("database is restarting")
    except RuntimeError:
        record = logging.getLogger(logger).makeRecord(
            logger, logging.ERROR, "f", 1, message, (), sys.exc_info()
        )
    record.created = created
    return record


@pytest.mark.parametrize("formatter", [logs.TextFormatter(), logs.JsonFormatter()], ids=["text", "json"])
def test_a_repeated_traceback_is_shown_once_per_window(formatter: logging.Formatter) -> None:
    logs.TRACEBACKS.clear()
    start = 1_800_000_000.0
    # The deliver job fails every second for 20 minutes.
    out = [
        formatter.format(_exception_record("watcher.daemon", "deliver job failed", start + s))
        for s in range(1200)
    ]
    full = [i for i, line in enumerate(out) if "Traceback (most recent call last)" in line]
    assert full == [0, int(logs.TRACEBACK_REPEAT_S)]
    assert all("deliver job failed" in line for line in out)  # every event is still logged, on one line
    assert "RuntimeError: database is restarting (traceback as logged at" in out[1]
    assert "599 repeats since" in out[599]
    assert sum(map(len, out)) < 1200 * 400 + 2 * len(out[0])
    # A different failure, or the same one from elsewhere, gets its own full traceback.
    other = formatter.format(_exception_record("watcher.outbox", "deliver job failed", start + 5))
    assert "Traceback (most recent call last)" in other
    logs.TRACEBACKS.clear()
