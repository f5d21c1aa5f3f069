"""Logging set-up: text for people, JSON lines for log shippers; verbosity from -v.

Both formats hold to three rules whatever a message contains (a feed title, an exception from a library):
- one event is one line: text logs escape line breaks and other control characters, and indent traceback
  lines, so a feed title with a newline cannot forge a second log line; JSON logs are one valid object a line;
- credentials never appear: URL userinfo, credential query values, Slack and Discord hook paths, signing
  secrets, bearer tokens and the values of secret environment variables are blanked in messages, fields and
  tracebacks alike, as a last line of defence behind the call sites' own care;
- a failure repeated on every tick does not flood: a traceback already shown in the last ten minutes is
  replaced by one line naming the exception and how often it recurred.
"""

from __future__ import annotations

import json
import logging
import logging.config
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# The JSON fields every line has (plus "exc" and "stack" when present); an extra field of the same name is
# renamed "extra_NAME" rather than allowed to overwrite one.
CORE_FIELDS = ("ts", "level", "logger", "msg", "exc", "stack")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
TEXT_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"

# Docker's json-file driver splits lines over 16 KiB and many shippers cut long lines: a message or field is
# cut to this many characters, a traceback to TRACEBACK_CHARS (keeping its start and its end).
MESSAGE_CHARS = 16_000
TRACEBACK_CHARS = 32_000
LIST_ITEMS = 1_000
# A traceback is shown in full once per this many seconds for the same logger, message, exception type and
# raising line; in between, a one-line summary.
TRACEBACK_REPEAT_S = 600.0
_TRACEBACK_KEYS = 512

REDACTED = "…"

# Environment variables whose values are secrets: wherever such a value shows up, ${NAME} is logged instead.
_SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET|PASSW|WEBHOOK|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
_SECRET_ENV_MIN_CHARS = 8

# (a lowercase substring every match contains, pattern, replacement): a pattern runs only on text holding
# its substring, so a line with nothing like a credential costs a few substring searches.
_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # scheme://user:password@host (feed URLs, postgresql://...): the userinfo goes, up to the last "@".
    ("@", re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^\s/?#\"'<>]*@", re.IGNORECASE), r"\1"),
    # Query or form values of credential parameters (token, api_key, access_token, sig, password, ...).
    (
        "=",
        re.compile(
            r"([?&;][a-z0-9_.\-]*(?:token|secret|passw|key|auth|sig|credential)[a-z0-9_.\-]*=)[^&#\s\"'<>]*",
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
    # Webhook URLs whose path is the credential.
    ("hooks.slack", re.compile(r"(hooks\.slack(?:-gov)?\.com/)[^\s\"'<>]+", re.IGNORECASE), r"\1" + REDACTED),
    (
        "webhooks/",
        re.compile(r"(discord(?:app)?\.com/api/webhooks/)[^\s\"'<>]+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    # Standard Webhooks signing secrets and Slack tokens.
    ("whsec_", re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), "whsec_" + REDACTED),
    ("xox", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]+"), "xox" + REDACTED),
    # Authorization header values (any scheme), as a header line or in a dict's repr; then bare bearer tokens.
    (
        "authorization",
        re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    ("bearer", re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE), r"\1 " + REDACTED),
    ("basic", re.compile(r"\b(Basic)\s+[A-Za-z0-9+/=]{8,}"), r"\1 " + REDACTED),
    # password=... in DSNs, configuration dumps and environment listings.
    (
        "passw",
        re.compile(r"(passw(?:or)?d['\"]?\s*[=:]\s*['\"]?)[^\s'\",;&}]+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
)

_secret_values: re.Pattern[str] | None = None
_secret_names: dict[str, str] = {}


def remember_secrets(environ: Mapping[str, str]) -> None:
    """Blank the values of ``environ``'s secret variables (by name: *TOKEN*, *SECRET*, *PASSWORD*,
    *WEBHOOK*, *API_KEY*, ...) in every log line from now on."""
    global _secret_values
    names = {
        value: f"${{{name}}}"
        for name, value in environ.items()
        if _SECRET_ENV_NAME.search(name) and len(value.strip()) >= _SECRET_ENV_MIN_CHARS
    }
    _secret_names.clear()
    _secret_names.update(names)
    ordered = sorted(names, key=len, reverse=True)  # a value that contains another is replaced whole
    _secret_values = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


def redact(text: str) -> str:
    """``text`` without the credentials it may hold (see the module's docstring)."""
    if _secret_values is not None:
        text = _secret_values.sub(lambda m: _secret_names.get(m.group(0), REDACTED), text)
    lower = text.lower()
    for trigger, pattern, replacement in _PATTERNS:
        if trigger in lower:
            text = pattern.sub(replacement, text)
    return text


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{REDACTED} [{len(text) - limit} more characters]"


def _cut_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n{REDACTED} [{len(text) - 2 * half} characters]\n{text[-half:]}"


def _clean(text: str, limit: int = MESSAGE_CHARS) -> str:
    # Cut before redacting too, so that a huge message costs bounded time; then redact, then cut to size.
    return _cut(redact(text[: limit * 4]), limit)


# Characters that break a line or steer a terminal: line breaks (including NEL, LS and PS, which some
# readers split on), other C0 and C1 controls, bidirectional overrides, and lone surrogates.
_UNSAFE_TEXT = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def _one_line(text: str) -> str:
    return _UNSAFE_TEXT.sub(_escape, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_text(text: str, limit: int = MESSAGE_CHARS) -> str:
    # A lone surrogate (from bytes decoded with surrogateescape) cannot be encoded as UTF-8 and strict JSON
    # readers reject its \u escape: it becomes U+FFFD.
    text = _clean(text, limit)
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # bad arguments must not lose the line, nor print a "Logging error" traceback
        return f"{record.msg!r} (its arguments could not be formatted: {type(exc).__name__})"


class _Tracebacks:
    """Which tracebacks were shown lately, so that one repeated every tick is shown once per window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()  # key -> [first shown, repeats]

    def summary(self, record: logging.LogRecord) -> str | None:
        """None to show the traceback in full, else the line that stands for it."""
        exc_type, exc, tb = record.exc_info or (None, None, None)
        if exc_type is None:
            return None
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
        key = (record.name, str(record.msg), exc_type.__qualname__, where)
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or record.created - seen[0] >= TRACEBACK_REPEAT_S:
                self._seen[key] = [record.created, 0]
                self._seen.move_to_end(key)
                while len(self._seen) > _TRACEBACK_KEYS:
                    self._seen.popitem(last=False)
                return None
            seen[1] += 1
            shown, repeats = seen
        first = str(exc).splitlines()[0] if str(exc) else ""
        when = datetime.fromtimestamp(shown, UTC).isoformat(timespec="seconds")
        return (
            f"{exc_type.__qualname__}: {first} (traceback as logged at {when}; {int(repeats)} repeats since)"
        )

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


TRACEBACKS = _Tracebacks()


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback (or its one-line summary), redacted and cut to size; None if it has none."""
    if record.exc_info and record.exc_info[0] is not None:
        summary = TRACEBACKS.summary(record)
        text = summary if summary is not None else formatter.formatException(record.exc_info)
    elif record.exc_text:
        text = record.exc_text
    else:
        return None
    return _cut_middle(redact(_cut_middle(text, TRACEBACK_CHARS * 4)), TRACEBACK_CHARS)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE`` on one line; a traceback follows on lines indented by four spaces."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, TEXT_DATEFMT)

    def format(self, record: logging.LogRecord) -> str:
        try:
            head = (
                f"{self.formatTime(record, self.datefmt)} {record.levelname:<7} {record.name}: "
                f"{_one_line(_clean(_message(record)))}"
            )
            lines = [head]
            for extra in (_traceback(self, record), record.stack_info and redact(record.stack_info)):
                if extra:
                    lines += ("    " + _one_line(line) for line in extra.splitlines())
            return "\n".join(lines)
        except Exception as exc:
            return (
                f"{record.levelname} {record.name}: log record could not be formatted ({type(exc).__name__})"
            )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields at the top level.

    Fields: ts (ISO 8601, UTC), level, logger, msg, exc (a traceback) and stack when present, then the extras.
    Values that JSON cannot hold (NaN, objects, non-text keys) are written as text.
    """

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self._format(record)
        except Exception as exc:
            return json.dumps(
                {
                    "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                    "level": record.levelname.lower(),
                    "logger": record.name,
                    "msg": f"log record could not be formatted ({type(exc).__name__})",
                }
            )

    def _format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _json_text(_message(record)),
        }
        trace = _traceback(self, record)
        if trace:
            out["exc"] = _SURROGATE.sub("\ufffd", trace)
        if record.stack_info:
            out["stack"] = _json_text(record.stack_info, TRACEBACK_CHARS)
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                name = key if key.isascii() and key.isidentifier() else _json_text(str(key), 100)
                out[f"extra_{name}" if name in CORE_FIELDS else name] = _jsonable(value)
        line = json.dumps(out, ensure_ascii=False, allow_nan=False)
        # Valid JSON either way, but readers that split lines on NEL, LS or PS would cut the object in two.
        return line if line.isascii() else _LINE_BREAK.sub(_escape_json, line)


_LINE_BREAK = re.compile("[\x85\u2028\u2029]")


def _escape_json(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def _jsonable(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _json_text(value)
    if depth < 3 and isinstance(value, Mapping):
        items = list(value.items())
        return {_json_text(str(k), 100): _jsonable(v, depth + 1) for k, v in items[:LIST_ITEMS]}
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        out = [_jsonable(v, depth + 1) for v in items[:LIST_ITEMS]]
        if len(items) > LIST_ITEMS:
            out.append(f"{REDACTED} [{len(items) - LIST_ITEMS} more]")
        return out
    try:
        return _json_text(str(value))
    except Exception:
        return f"<{type(value).__name__}>"


def setup(verbosity: int = 0, fmt: str = "text", environ: Mapping[str, str] | None = None) -> None:
    """Configure the root logger: 0 = INFO, 1+ = DEBUG; quiet noisy libraries unless -vv.

    ``environ`` (default: the process's) names the secrets to blank in every line; see remember_secrets.
    """
    remember_secrets(os.environ if environ is None else environ)
    TRACEBACKS.clear()
    level = "DEBUG" if verbosity >= 1 else "INFO"
    formatter: dict[str, Any] = {"()": JsonFormatter} if fmt == "json" else {"()": TextFormatter}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"level": level, "handlers": ["stderr"]},
            "loggers": {
                # APScheduler warns on every tick that finds the previous run still going: expected here.
                "apscheduler": {"level": "DEBUG" if verbosity >= 2 else "ERROR"},
                # Their debug output prints SQL parameters (feed URLs with credentials): never shown.
                "aiosqlite": {"level": "WARNING"},
                "sqlalchemy.engine": {"level": "WARNING"},
                **{
                    name: {"level": "DEBUG" if verbosity >= 2 else "WARNING"}
                    for name in (
                        "aiohttp.access",
                        "sqlalchemy",
                        "alembic",
                        "sentence_transformers",
                        "httpx",
                        "urllib3",
                    )
                },
            },
        }
    )
