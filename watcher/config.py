"""feeds.yaml and WATCHER_* environment: load, interpolate ${ENV}, validate into frozen Settings."""

from __future__ import annotations

import codecs
import difflib
import functools
import ipaddress
import logging
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from watcher.domain import ClaimSpec, Destination, EventType, FeedSpec, Leaning, Ownership, folded_name
from watcher.errors import ConfigError, NotifyError
from watcher.ingest.http import HttpSettings
from watcher.ingest.pages import FullTextMode, PageSettings
from watcher.ingest.pool import IngestSettings
from watcher.ingest.urls import display_url, outlet_of, same_feed_key
from watcher.match.lexical import compile_claim
from watcher.match.matcher import MatchSettings
from watcher.notify.webhook import decode_secret
from watcher.shifts import ShiftSettingError, ShiftSettings
from watcher.text.display import display_path

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "feeds.yaml"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///storage/watcher.db"
MIN_TOKEN_CHARS = 16  # daemon.server.token

# A BCP 47 language tag (RFC 5646; "_" is read as "-"): a language of two or three letters and up to three
# extended subtags, then optionally a script, a region, variants, extensions and a private use part.
_LANGUAGE_TAG = re.compile(
    r"(?P<language>[a-z]{2,3})(?:-[a-z]{3}){0,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))?"
    r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*(?:-[a-wyz\d](?:-[a-z\d]{2,8})+)*(?:-x(?:-[a-z\d]{1,8})+)?",
    re.IGNORECASE,
)
# What a configured language is, for error messages.
LANGUAGE_FORM = (
    "an ISO 639-1 code such as en, uk or ru, optionally with BCP 47 subtags as in en-US (read as en)"
)
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}

# Size caps: a config file is read whole, and every field ends up in the database and in alerts.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_FEEDS = 50_000
MAX_CLAIMS = 1_000
MAX_DESTINATIONS = 100
MAX_NAME = 100  # claim and destination names
MAX_CLAIM_TEXT = 2_000
MAX_KEYWORDS = 20
MAX_KEYWORD = 100
MAX_URL = 2_048
MAX_OUTLET = 200
MAX_LANGUAGE_TAG = 64
MAX_ERRORS_SHOWN = 20  # validation errors listed in one message
# Any duration (a feed's interval, timeouts, TTLs, windows): far beyond it a poll's next date leaves the calendar
# and the seconds leave SQLite's integers; a year is more than any setting here needs.
MAX_DURATION_S = 365 * 86400
# A feed's interval: a shorter one rounds to 0 s, which polls the feed on every tick and, on errors, never backs off.
MIN_FEED_INTERVAL_S = 1
# Counts and sizes: far beyond these a batch size overflows SQLite's LIMIT, a concurrency allocates a task per
# unit and a worker count starts that many processes.
MAX_BATCH = 100_000  # matching.batch_size, daemon.feed_batch
MAX_CONCURRENCY = 10_000  # http.concurrency
MAX_PER_HOST = 1_000  # http.per_host, pages.per_host
MAX_PARSE_WORKERS = 256
MAX_BODY_BYTES = 2**30  # http.max_body_bytes, pages.max_body_bytes: 1 GiB
MAX_TEXT_CHARS = 10_000_000  # pages.min_text_chars, pages.max_text_chars
MAX_SENTENCE_CACHE = 10_000_000
MAX_SERVER_CONNECTIONS = 100_000  # daemon.server.max_connections: more than any descriptor limit allows

CLAIM_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
INT64_MAX = 2**63 - 1


def claim_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a claim (feeds.yaml and CLI alike), or None when it can.

    Names become file names (``report NAME`` writes NAME.html) and are addressed like ids, so they hold
    letters, digits, ``_``, ``.`` and ``-`` only, start with a letter or digit, and are not all digits.
    """
    if not re.fullmatch(CLAIM_NAME_PATTERN, name):
        return "must start with a letter or digit and hold only letters, digits, '_', '.' and '-'"
    if name.isdigit():
        return "must not be all digits (it would be taken for a claim id)"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters"
    return None


# C0 and C1 control characters (Unicode's Cc) but tab and line breaks: NUL, which PostgreSQL refuses, and escapes.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or shown, or None: it holds one of CONTROL_CHARACTERS. Names the code point,
    never the text."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    return f"holds the control character U+{ord(found.group()):04X} (only tab and line breaks are allowed)"


def claim_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a claim's text, or None: too short, too long, control characters, or nothing but
    stopwords."""
    if len(text.strip()) < 3:
        return "the claim text is too short"
    if len(text) > MAX_CLAIM_TEXT:
        return f"the claim text must be at most {MAX_CLAIM_TEXT} characters"
    control = control_character_problem(text)
    if control:
        return f"the claim text {control}"
    if not any(c.isalnum() for c in text):
        return "the claim text has no words (no letter or digit): it could never match"
    from watcher.domain import Claim

    if not compile_claim(Claim(id=0, name="x", text=text), "en").terms:
        return "the claim text has only stopwords (words like 'the', 'has', 'it'): it could never match"
    return None


def keyword_problem(keyword: str, text: str | None = None, language: str | None = None) -> str | None:
    """Why ``keyword`` cannot be a key term of a claim with this text and language (feeds.yaml and CLI alike),
    or None: empty, control characters, or nothing a match could require (only stopwords or punctuation).

    A key term that reduces to nothing would be dropped by the matcher, silently lifting the filter.
    """
    if not keyword.strip():
        return "a key term is empty"
    if len(keyword) > MAX_KEYWORD:
        return f"a key term must be at most {MAX_KEYWORD} characters"
    control = control_character_problem(keyword)
    if control:
        return f"the key term {control}"
    from watcher.domain import Claim

    claim = Claim(id=0, name="x", text=text or keyword, keywords=(keyword,), language=language)
    if not compile_claim(claim, "en").keywords:
        return (
            f"the key term {keyword!r} has only stopwords or punctuation (words like 'the', 'has'): "
            "a match could never be required to hold it"
        )
    return None


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h"`` or ``"2d"``: positive, at most MAX_DURATION_S (365 days)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15m, 1h or 30s")
    too_long = f"a duration must be at most {MAX_DURATION_S // 86400}d ({MAX_DURATION_S} s)"
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            raise ValueError(too_long) from None
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{str(value)[:40]!r} is not a duration (use e.g. 30s, 15m, 1h, 2d)")
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        if math.isinf(seconds):  # digits beyond any float: written out, it is finite, only far too long
            raise ValueError(too_long)
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if seconds > MAX_DURATION_S:
        raise ValueError(too_long)
    return seconds


def duration_or_zero(value: object) -> float:
    """:func:`parse_duration`, where 0 in any unit (``0``, ``"0s"``, ``"0m"``) is also taken: 0.0 s."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    m = _DURATION_RE.match(value) if isinstance(value, str) else None
    if m is not None and float(m.group(1)) == 0:
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as exc:
        if str(exc) == "a duration must be positive":
            raise ValueError("a duration must be 0 or positive") from None
        raise


def feed_interval(value: object) -> int:
    """A feed's poll interval in whole seconds, as :func:`parse_duration` reads it: at least MIN_FEED_INTERVAL_S."""
    seconds = parse_duration(value)
    if seconds < MIN_FEED_INTERVAL_S:
        raise ValueError(f"a feed's interval must be at least {MIN_FEED_INTERVAL_S}s")
    return round(seconds)


COUNTRY_FORM = "an ISO 3166 alpha-2 code such as US, UA or RU"
UNKNOWN_COUNTRY = "ZZ"
# Codes CLDR lists as regions that ISO 3166-1 assigns to no country: exceptionally reserved ones (AC Ascension,
# CP Clipperton, DG Diego Garcia, EA Ceuta and Melilla, IC Canary Islands, TA Tristan da Cunha), CQ (Sark),
# groupings and pseudo-regions. XK (Kosovo, user-assigned but what the EU and CLDR use) and ZZ (unknown, the
# default) are taken all the same.
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "XA", "XB"})
_COUNTRY_GROUPS = frozenset({"EU", "EZ", "QO", "UN"})
# Well-known aliases beyond CLDR's deprecated codes (which include UK → GB): the EU's EL for Greece.
_COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}


@functools.cache
def _countries() -> tuple[frozenset[str], dict[str, str], dict[str, tuple[str, ...]]]:
    """The accepted codes, aliases of one country (UK → GB, ZR → CD) and former codes of several (YU, SU).

    From CLDR's territory data as babel ships it (installed with trafilatura), read once.
    """
    from babel.core import get_global

    regions = {code for code in get_global("territory_languages") if re.fullmatch("[A-Z]{2}", code)}
    codes = frozenset(regions - _NOT_COUNTRIES - _COUNTRY_GROUPS) | {UNKNOWN_COUNTRY}
    aliases = dict(_COUNTRY_ALIASES)
    split: dict[str, tuple[str, ...]] = {}
    for old, new in get_global("territory_aliases").items():
        successors = tuple(c for c in new if c in codes)
        if len(old) != 2 or old in codes or not successors:
            continue
        if len(successors) == 1:
            aliases.setdefault(old, successors[0])
        else:
            split[old] = successors
    return codes, aliases, split


def country_code(value: str) -> str | None:
    """The ISO 3166 alpha-2 code ``value`` names, upper-cased ("gb" → "GB"), an alias read as its country
    ("UK" → "GB"); None when it names no country (see :func:`country_problem`). ZZ is unknown."""
    code = value.upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        return None
    codes, aliases, _ = _countries()
    return code if code in codes else aliases.get(code)


def country_problem(value: str) -> str | None:
    """Why ``value`` is no country code feeds.yaml, ``feeds add`` and ``feeds import-opml`` take, or None.

    The text follows "must be" and never quotes the value (it may come from the environment).
    """
    if country_code(value) is not None:
        return None
    code = value.upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        return COUNTRY_FORM
    _, _, split = _countries()
    if code in split:
        return f"{COUNTRY_FORM}: this former code now stands for {', '.join(split[code])}; name one of them"
    if code in _COUNTRY_GROUPS:
        return f"{COUNTRY_FORM} ({UNKNOWN_COUNTRY} for unknown): this code stands for a group of countries"
    return f"{COUNTRY_FORM} ({UNKNOWN_COUNTRY} for unknown): no country has this code"


def _default(cls: type[Any], name: str) -> Any:
    """A dataclass field's default: the one source the YAML models take theirs from."""
    return cls.__dataclass_fields__[name].default


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    """How the service schedules its work. Times are seconds."""

    tick_s: float = 5.0  # between polls of due feeds
    feed_batch: int = 500  # feeds leased per poll batch
    match_batch: int = 200  # articles leased per match batch (matching.batch_size)
    lease_s: float = 300.0  # how long a leased feed, article, claim or delivery stays ours
    shutdown_timeout_s: float = 8.0
    server_host: str = "127.0.0.1"
    server_port: int = 8080
    server_enabled: bool = True
    # Where people reach this daemon's web server (e.g. https://watcher.example.org); alerts then link to
    # the claim's report page. None: alerts carry no link.
    public_url: str | None = None
    # Bearer token for everything but /healthz; required off loopback. Kept out of repr: it is a secret.
    server_token: str | None = field(default=None, repr=False)
    server_metrics_public: bool = False  # /metrics without the token
    # Connections the server holds at once; more are closed as they come, so that clients holding connections
    # cannot take every file descriptor (and with them feed polling and deliveries).
    server_max_connections: int = 256
    # Of those, what one peer address may hold, so that one client cannot lock out the health probe; None: three
    # quarters of server_max_connections (see watcher.web.ServerLimits for why).
    server_max_connections_per_client: int | None = None
    server_header_timeout_s: float = (
        10.0  # a connection sends its first request head within this, or is closed
    )
    server_keepalive_timeout_s: float = 15.0  # an idle connection between requests is closed after this


def language_subtag(tag: str) -> str | None:
    """The language of a well-formed BCP 47 tag, lower-cased ("en-US", "pt_BR", "zh-Hant-TW" → "en", "pt", "zh");
    None for anything else ("xx-yy-zz", "en-", "english"). The other subtags are checked, not kept."""
    found = _LANGUAGE_TAG.fullmatch(tag.strip().replace("_", "-")) if len(tag) <= MAX_LANGUAGE_TAG else None
    return found.group("language").lower() if found else None


def _country_field(v: str | None) -> str | None:
    if v is None:
        return None
    problem = country_problem(v)
    if problem is not None:
        raise ValueError(f"must be {problem}")
    return country_code(v)


def _iso_language(v: str | None) -> str | None:
    if v is None:
        return None
    code = language_subtag(v)
    if code is None:
        raise ValueError(f"must be {LANGUAGE_FORM}")
    return code


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Defaults(_Model):
    interval: float = _default(FeedSpec, "interval_s")
    country: str = _default(FeedSpec, "country")
    language: str = _default(FeedSpec, "language")
    leaning: Leaning = _default(FeedSpec, "leaning")
    ownership: Ownership = _default(FeedSpec, "ownership")
    full_text: FullTextMode = "auto"

    _interval = field_validator("interval", mode="before")(lambda v: feed_interval(v))
    _country = field_validator("country")(lambda v: _country_field(v))
    _language = field_validator("language")(lambda v: _iso_language(v))


class _Feed(_Model):
    url: str = Field(max_length=MAX_URL)
    outlet: str | None = Field(default=None, max_length=MAX_OUTLET)
    country: str | None = None
    language: str | None = None
    leaning: Leaning | None = None
    ownership: Ownership | None = None
    interval: float | None = None
    full_text: FullTextMode | None = None

    _interval = field_validator("interval", mode="before")(lambda v: None if v is None else feed_interval(v))

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        url = v.strip()  # as pasted: surrounding spaces are no part of it
        if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// URL")
        if re.search(r"[\s\x00-\x1f\x7f]", url):
            raise ValueError("must not hold spaces or line breaks (percent-encode them: %20)")
        scheme, rest = url.split("://", 1)
        return f"{scheme.lower()}://{rest}"

    @field_validator("outlet")
    @classmethod
    def _outlet(cls, v: str | None) -> str | None:
        problem = None if v is None else control_character_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    _country = field_validator("country")(lambda v: _country_field(v))
    _language = field_validator("language")(lambda v: _iso_language(v))


class _Destination(_Model):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    kind: Literal["slack", "webhook"]
    url: str = Field(max_length=MAX_URL)
    secret: str | None = None
    events: list[EventType] | None = None
    digest: float = 0.0  # seconds; 0 = one message per event
    allow_private: bool = False

    _digest = field_validator("digest", mode="before")(
        lambda v: 0.0 if v in (0, None, "0") else parse_duration(v)
    )

    @field_validator("digest")
    @classmethod
    def _whole_minutes(cls, v: float) -> float:
        # Digests are kept in whole minutes: "20s" would otherwise become 0, one message per event.
        if v and (v < 60 or v % 60):
            raise ValueError("must be 0 (one message per event) or whole minutes, at least 1m (e.g. 30m)")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        # The URL is a secret: never echo it back in the message.
        if not re.match(r"^https?://[^\s/]+", v.strip()):
            raise ValueError("must be an http:// or https:// URL")
        return v.strip()

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        # Signing's own rule (webhook.decode_secret), so that a secret loads exactly when it can sign. Its
        # message names a secret by position, never by value.
        if v is None:
            return v
        try:
            decode_secret(v)
        except NotifyError as exc:
            raise ValueError(
                f'must be a Standard Webhooks secret ("whsec_" followed by base64), or several separated by '
                f"spaces: {exc}"
            ) from None
        return v


class _Claim(_Model):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    text: str = Field(min_length=3, max_length=MAX_CLAIM_TEXT)
    keywords: list[Annotated[str, Field(max_length=MAX_KEYWORD)]] = Field(default=[], max_length=MAX_KEYWORDS)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    status: Literal["active", "paused"] = "active"
    language: str | None = None

    _language = field_validator("language")(lambda v: _iso_language(v))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        problem = claim_name_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        problem = claim_text_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class _Http(_Model):
    """``http:`` in feeds.yaml; validated into :class:`HttpSettings` (field names as aliases)."""

    total_timeout_s: float = Field(default=_default(HttpSettings, "total_timeout_s"), alias="total_timeout")
    connect_timeout_s: float = Field(
        default=_default(HttpSettings, "connect_timeout_s"), alias="connect_timeout"
    )
    max_body_bytes: int = Field(default=_default(HttpSettings, "max_body_bytes"), gt=0, le=MAX_BODY_BYTES)
    limit: int = Field(default=_default(HttpSettings, "limit"), gt=0, le=MAX_CONCURRENCY, alias="concurrency")
    limit_per_host: int = Field(
        default=_default(HttpSettings, "limit_per_host"), gt=0, le=MAX_PER_HOST, alias="per_host"
    )
    allow_private: bool = _default(HttpSettings, "allow_private")
    full_fetch_every_s: float = Field(
        default=_default(HttpSettings, "full_fetch_every_s"), alias="full_fetch_every"
    )

    _durations = field_validator("total_timeout_s", "connect_timeout_s", "full_fetch_every_s", mode="before")(
        lambda v: parse_duration(v)
    )


class _Ingest(_Model):
    """``ingest:`` in feeds.yaml."""

    parse_workers: int | None = Field(
        default=_default(IngestSettings, "parse_workers"), ge=0, le=MAX_PARSE_WORKERS
    )
    parser: Literal["feedparser", "fast"] = _default(IngestSettings, "parser")


class _Matching(_Model):
    model: str | None = _default(MatchSettings, "model")
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)  # None: the matcher's default
    precision: Literal["recall", "high"] = "recall"  # high: the flood-safe operating point
    # How sentences are embedded: sentence-transformers on torch, or ONNX Runtime on an export of the same
    # model made once, offline (the semantic-onnx extra), in float32 or with int8 weights.
    backend: Literal["torch", "onnx", "onnx-int8"] = _default(MatchSettings, "backend")
    onnx_dir: str | None = None  # where the ONNX export is kept; default: ~/.cache/watcher/onnx/<model>
    # sentences; 0: off
    sentence_cache: int = Field(
        default=_default(MatchSettings, "sentence_cache"), ge=0, le=MAX_SENTENCE_CACHE
    )
    batch_size: int = Field(default=_default(DaemonSettings, "match_batch"), gt=0, le=MAX_BATCH)
    # Lemmatiser languages (ISO 639-1); None: English and the configured feeds' and claims' languages.
    languages: list[str] | None = None

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [str(_iso_language(code)) for code in v]

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            # An empty name turned the stage off without a word; null says so.
            raise ValueError("must be a model name or path, not empty (null: lexical matching only)")
        return v


class _Pages(_Model):
    """``pages:`` in feeds.yaml (article pages fetched for their full text); validated into PageSettings."""

    per_host: int = Field(default=_default(PageSettings, "per_host"), gt=0, le=MAX_PER_HOST)
    min_interval_s: float = Field(
        default=_default(PageSettings, "min_interval_s"), ge=0, alias="min_interval"
    )
    max_body_bytes: int = Field(default=_default(PageSettings, "max_body_bytes"), gt=0, le=MAX_BODY_BYTES)
    robots_ttl_s: float = Field(default=_default(PageSettings, "robots_ttl_s"), ge=0, alias="robots_ttl")
    min_text_chars: int = Field(default=_default(PageSettings, "min_text_chars"), ge=0, le=MAX_TEXT_CHARS)
    max_text_chars: int = Field(default=_default(PageSettings, "max_text_chars"), gt=0, le=MAX_TEXT_CHARS)
    fast_extraction: bool = _default(PageSettings, "fast_extraction")

    # 0 is a setting of its own: no spacing between a host's requests (per_host and a robots.txt Crawl-delay still
    # hold), robots.txt read again for every page.
    _durations = field_validator("min_interval_s", "robots_ttl_s", mode="before")(
        lambda v: duration_or_zero(v)
    )


class _Server(_Model):
    host: str = _default(DaemonSettings, "server_host")
    port: int = Field(default=_default(DaemonSettings, "server_port"), ge=0, le=65535)
    enabled: bool = _default(DaemonSettings, "server_enabled")
    public_url: str | None = _default(DaemonSettings, "public_url")
    token: str | None = _default(DaemonSettings, "server_token")
    metrics_public: bool = _default(DaemonSettings, "server_metrics_public")
    max_connections: int = Field(
        default=_default(DaemonSettings, "server_max_connections"), gt=0, le=MAX_SERVER_CONNECTIONS
    )
    max_connections_per_client: int | None = Field(
        default=_default(DaemonSettings, "server_max_connections_per_client"), gt=0, le=MAX_SERVER_CONNECTIONS
    )
    header_timeout: float = _default(DaemonSettings, "server_header_timeout_s")
    keepalive_timeout: float = _default(DaemonSettings, "server_keepalive_timeout_s")

    _durations = field_validator("header_timeout", "keepalive_timeout", mode="before")(
        lambda v: parse_duration(v)
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        url = v.strip()
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url, re.IGNORECASE):
            raise ValueError("must be an http(s) URL such as https://watcher.example.org")
        return url.rstrip("/")


class _Daemon(_Model):
    tick: float = _default(DaemonSettings, "tick_s")
    feed_batch: int = Field(default=_default(DaemonSettings, "feed_batch"), gt=0, le=MAX_BATCH)
    lease: float = _default(DaemonSettings, "lease_s")
    shutdown_timeout: float = _default(DaemonSettings, "shutdown_timeout_s")
    server: _Server = _Server()

    _durations = field_validator("tick", "lease", "shutdown_timeout", mode="before")(
        lambda v: parse_duration(v)
    )


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _optional_duration(value: object) -> object:
    return value if value is None else duration_or_zero(value)


if TYPE_CHECKING:

    class _Shifts(_Model): ...

else:
    # ``shifts:`` takes exactly the fields of ShiftSettings, as numbers; ShiftSettings checks their ranges.
    _Shifts = create_model(
        "_Shifts",
        __base__=_Model,
        **{f.name: (Annotated[Any, AfterValidator(_number)], f.default) for f in fields(ShiftSettings)},
        # ``fresh_window: 24h`` is fresh_window_s as a duration (0 turns it off).
        fresh_window=(Annotated[Any, AfterValidator(_optional_duration)], None),
    )


class _File(_Model):
    database: str | None = None
    defaults: _Defaults = _Defaults()
    feeds: list[_Feed] = Field(default=[], max_length=MAX_FEEDS)
    destinations: list[_Destination] = Field(default=[], max_length=MAX_DESTINATIONS)
    claims: list[_Claim] = Field(default=[], max_length=MAX_CLAIMS)
    http: _Http = _Http()
    ingest: _Ingest = _Ingest()
    matching: _Matching = _Matching()
    pages: _Pages = _Pages()
    shifts: _Shifts = _Shifts()
    daemon: _Daemon = _Daemon()


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the daemon and CLI need, validated once at start-up and passed explicitly.

    Each stage takes its own part as is: ``http`` the ingest session and fetches, ``ingest`` the parsing,
    ``matching`` the matcher, ``shifts`` shift detection, ``daemon`` the scheduling of the pipeline and the daemon.
    """

    database_url: str = DEFAULT_DATABASE_URL
    config_path: Path | None = None
    feeds: tuple[FeedSpec, ...] = ()
    destinations: tuple[Destination, ...] = ()
    claims: tuple[ClaimSpec, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    matching: MatchSettings = field(default_factory=MatchSettings)
    pages: PageSettings = field(default_factory=PageSettings)
    shifts: ShiftSettings = field(default_factory=ShiftSettings)
    daemon: DaemonSettings = DaemonSettings()


# --- YAML with line numbers -------------------------------------------------------------------

# Replaced in _Composer by YAML 1.2's forms; timestamps are dropped (YAML 1.2 has none, and no setting is a date).
_YAML11_NUMBERS = (
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
)


class _Composer(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's parser when there
    """YAML 1.2 booleans and numbers. YAML 1.1 also reads yes/no/on/off as booleans, which turns
    ``country: NO`` (Norway) and ``language: no`` (Norwegian) into False; pydantic still reads ``yes`` or ``off``
    as a boolean where a field is one. It also reads ``1:30`` as 90 (base 60) and ``010`` as 8 (octal): here
    they stay text, so ``interval: 1:30`` is refused and ``interval: 010`` is 10 s. A date such as
    ``name: 2025-11-06`` stays text too (``!!timestamp`` still reads one)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_NUMBERS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Composer.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Composer.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Composer.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


# Tags of keys YAML reads as something other than text (``1:``, ``true:``, ``null:``): every key feeds.yaml takes is
# a name, and pydantic's "[1]: Keys should be strings" reads like a list index.
_NOT_TEXT_KEYS = frozenset(
    f"tag:yaml.org,2002:{kind}" for kind in ("int", "float", "bool", "null", "timestamp", "binary")
)
_MERGE = "tag:yaml.org,2002:merge"


def _check_nodes(node: yaml.Node, path: str) -> None:
    """Refuse aliases (a few hundred bytes of them expand to gigabytes) and a key given twice in one mapping
    (YAML would silently keep the last), naming the lines. An alias is a node reached a second time.

    Then the first key (by line) that is not text (``1:``, ``true:``, ``null:``, a list) or is a merge key
    (``<<:``). Merge keys are refused, not supported: they merge anchored mappings, and anchors are refused; and
    an inline one (``<<: {url: ...}`` beside ``url: ...``) would give a key twice with no duplicate found.
    """
    seen_nodes: set[int] = set()
    key_problem: tuple[int, str] | None = None
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(node, ())]
    while stack:
        n, loc = stack.pop()
        if id(n) in seen_nodes:
            raise ConfigError(
                f"{path}:{n.start_mark.line + 1}: invalid YAML: anchors and aliases (&name, *name) are not allowed"
            )
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: dict[object, int] = {}
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else id(k)
                line = k.start_mark.line + 1
                if key in keys:
                    raise ConfigError(
                        f"{path}:{line}: duplicate key {_repr(key):.80} (first given on line {keys[key]})"
                    )
                keys[key] = line
                problem = _key_problem(k, loc)
                if problem is not None and (key_problem is None or line < key_problem[0]):
                    key_problem = line, problem
                stack.extend(((k, loc), (v, (*loc, k.value if isinstance(k, yaml.ScalarNode) else "?"))))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((v, (*loc, i)) for i, v in enumerate(n.value))
    if key_problem is not None:
        line, problem = key_problem
        raise ConfigError(f"{path}:{line}: {problem}")


def _key_problem(key: yaml.Node, loc: tuple[int | str, ...]) -> str | None:
    """Why ``key``, a key of the mapping at ``loc``, cannot be one, or None: it is not text, or a merge key."""
    if key.tag == _MERGE:
        problem = "merge keys (<<) are not supported: write the keys out in the mapping itself"
    elif not isinstance(key, yaml.ScalarNode):
        problem = f"a key must be text, not {'a list' if isinstance(key, yaml.SequenceNode) else 'a mapping'}"
    elif key.tag in _NOT_TEXT_KEYS:
        if key.tag.endswith(":binary"):  # it may hold a secret: never shown
            problem = "a key must be text, not binary data (!!binary)"
        else:
            shown = display_path(str(key.value)[:80]) or "null"
            problem = f"key {shown} must be text (put quotes around it if it is meant as text)"
    else:
        return None
    return f"{_dotted(loc)}: {problem}" if loc else problem


# The sections whose length is capped, and their caps: checked on the YAML nodes, before a file of 400,000 feeds
# is built into objects and validated one by one (a minute, a GiB) only to be refused.
_SECTION_CAPS = {"feeds": MAX_FEEDS, "claims": MAX_CLAIMS, "destinations": MAX_DESTINATIONS}


def _check_counts(node: yaml.Node, path: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for k, v in node.value:
        cap = _SECTION_CAPS.get(k.value) if isinstance(k, yaml.ScalarNode) else None
        if cap is not None and isinstance(v, yaml.SequenceNode) and len(v.value) > cap:
            raise ConfigError(
                f"{path}:{v.start_mark.line + 1}: {k.value}: List should have at most {cap} items, not {len(v.value)}"
            )


class _Unreadable(yaml.YAMLError):  # type: ignore[misc]  # PyYAML ships no types
    """A value the safe constructor could not build: its node and why, in words that never hold the value."""

    def __init__(self, node: yaml.Node, problem: str, *, tagged: bool = True) -> None:
        super().__init__(problem)
        self.node, self.problem, self.tagged = node, problem, tagged


# What a tagged value must be, for the message when it is not: the value itself is never quoted (``secret: !!int
# whsec_...`` would put a signing key in the log).
_TAG_FORMS = {
    "tag:yaml.org,2002:int": "not an integer",
    "tag:yaml.org,2002:float": "not a number",
    "tag:yaml.org,2002:bool": "not true or false",
    "tag:yaml.org,2002:timestamp": "not a valid date or time (YYYY-MM-DD, optionally with a time)",
    "tag:yaml.org,2002:binary": "not base64",
}


def _too_many_digits(node: yaml.Node) -> _Unreadable:
    text = str(node.value).lstrip("+-").replace("_", "")
    hexadecimal = text[:2].lower() == "0x"
    digits = f"{len(text) - 2} hexadecimal digits" if hexadecimal else f"{len(text)} digits"
    return _Unreadable(
        node,
        f"a number of {digits}: far too large for any setting (integers of more than "
        f"{sys.get_int_max_str_digits()} decimal digits are not read)",
        tagged=False,
    )


class _Constructor(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """SafeLoader's constructor, whose failures on a value (``!!int abc``, ``!!timestamp 2020-02-31``, ``!!bool
    x``) name the value's line and field like every other YAML error, and never the value: it may be a secret."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            data = super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:
            if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
                raise _too_many_digits(node) from None
            # A bad literal fails in many ways (ValueError, KeyError for !!bool, AttributeError for !!timestamp,
            # binascii.Error for !!binary), each quoting the value: only the tag's form is said.
            raise _Unreadable(node, _TAG_FORMS.get(node.tag, "not a valid value of this tag")) from None
        if isinstance(data, int) and not isinstance(data, bool) and _int_too_long(data):
            # A hexadecimal integer has no digit limit, but its decimal form (every message, every repr) has.
            raise _too_many_digits(node)
        return data


def _int_too_long(value: int) -> bool:
    limit = sys.get_int_max_str_digits()
    # 10**limit has limit+1 digits; a bit length well below it cannot reach the limit.
    return limit > 0 and value.bit_length() > 3 * limit and abs(value) >= 10**limit


def _path_of(root: yaml.Node, target: yaml.Node) -> tuple[tuple[int | str, ...], bool] | None:
    """Where ``target`` is under ``root``: its location as pydantic writes one, and whether it is a key."""
    stack: list[tuple[yaml.Node, tuple[int | str, ...]]] = [(root, ())]
    while stack:
        n, loc = stack.pop()
        if n is target:
            return loc, False
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                if k is target:
                    return (*loc, key), True
                stack.append((v, (*loc, key)))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((v, (*loc, i)) for i, v in enumerate(n.value))
    return None


def _unreadable_error(exc: _Unreadable, root: yaml.Node, path: str) -> ConfigError:
    """``file:line: field: problem`` for a value the constructor could not build; the value is not shown."""
    found = _path_of(root, exc.node)
    field = "(top level)" if found is None else _dotted(found[0]) + (" (a key)" if found[1] else "")
    at = f"{path}:{exc.node.start_mark.line + 1}"
    if not exc.tagged:
        return ConfigError(f"{at}: {field}: {exc.problem}")
    tag = str(exc.node.tag)
    shown = tag if len(tag) <= 60 else f"{tag[:57]}..."
    return ConfigError(f"{at}: invalid YAML: cannot read {shown} value of {field}: {exc.problem}")


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> ConfigError:
    """``file:line: invalid YAML: problem`` for any YAML error: unknown tags, bad characters, bad syntax."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        lines = text.splitlines()
        line = lines[mark.line] if mark and mark.line < len(lines) else ""
        tab = " (a tab: YAML indents with spaces only)" if "\t" in line[: mark.column + 1] else ""
        problem = str(exc.problem or exc.context)
        if exc.problem and exc.context and exc.context.startswith("expected"):
            # "but found another document" alone does not say what was expected: a single document.
            problem = f"{exc.context}, {exc.problem}"
        if len(problem) > 200:  # an unknown tag is quoted whole, and may be as long as the file
            problem = f"{problem[:197]}..."
        return ConfigError(f"{where}: invalid YAML: {problem}{tab}")
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML does not allow (NUL, most control characters); position counts characters.
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return ConfigError(
            f"{path}:{line}: invalid YAML: character U+{code:04X} at position {exc.position} is not allowed "
            "(YAML text holds no NUL and no control characters but tab and line breaks)"
        )
    return ConfigError(f"{path}: invalid YAML: {exc}")


def _decode(raw: bytes, path: str) -> str:
    """The file's text: UTF-8, or UTF-16/32 with a byte-order mark (as YAML allows); else a clear error."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE starts both
        encoding = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1 if encoding == "utf-8" else 1
        raise ConfigError(
            f"{path}:{line}: not {encoding.upper()} text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            "(save the file as UTF-8)"
        ) from None


def _compose(text: str, path: str) -> tuple[Any, yaml.Node | None]:
    try:
        node = yaml.compose(text, Loader=_Composer)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    if node is None:
        return {}, None
    _check_nodes(node, path)
    _check_counts(node, path)
    loader = _Constructor("")
    try:
        data = loader.construct_document(node)
    except _Unreadable as exc:
        raise _unreadable_error(exc, node, path) from None
    except yaml.YAMLError as exc:
        # An unknown tag (``!!python/object/apply``, ``!foo``): the safe constructor knows none of them.
        raise _yaml_error(exc, text, path) from None
    finally:
        loader.dispose()
    return data, node


def _node_at(node: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """The deepest YAML node on ``loc`` (a pydantic error location), for its line number."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
            if nxt is None:
                # An unknown key: point at the key itself.
                nxt = next((k for k, _ in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            return node
        node = nxt
    return node


def _line(node: yaml.Node | None) -> str:
    return f":{node.start_mark.line + 1}" if node is not None else ""


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and "://" in part:
            part = display_url(part)  # an unknown key that is a URL (``- https://u:pw@host/rss: x``)
        if isinstance(part, str) and len(part) > 80:
            part = f"{part[:77]}..."  # an unknown key may be as long as the file
        if isinstance(part, str) and CONTROL_CHARACTERS.search(part):
            part = part.encode("unicode_escape").decode("ascii")  # an unknown key's escapes reach no terminal
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _interpolate(
    data: Any,
    node: yaml.Node | None,
    environ: Mapping[str, str],
    path: str,
    loc: tuple[Any, ...] = (),
    interpolated: set[tuple[Any, ...]] | None = None,
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; a missing variable or an unfinished reference
    (``${VAR`` without its ``}``) is an error. The locations of replaced values go into ``interpolated``."""
    if isinstance(data, dict):
        return {k: _interpolate(v, node, environ, path, (*loc, k), interpolated) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(v, node, environ, path, (*loc, i), interpolated) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data
    if "${" in _ENV_RE.sub("", data):
        # Taken literally, "${WATCHER_SERVER_TOKEN" would become the token itself.
        raise ConfigError(
            f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: unfinished environment reference: "
            "write ${NAME} or ${NAME:-default}"
        )
    if interpolated is not None:
        interpolated.add(loc)

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: environment variable {name} is not set"
        )

    return _ENV_RE.sub(repl, data)


def _surrogate_problem(text: str) -> str | None:
    """Why ``text`` is not text, or None: it holds a lone surrogate, which no database or JSON document takes.
    Python reads an environment variable's bytes that are not UTF-8 so (byte b as U+DC00 + b)."""
    found = re.search("[\ud800-\udfff]", text)
    if found is None:
        return None
    return (
        f"holds the lone surrogate U+{ord(found.group()):04X}, which is not text (an environment variable that "
        "is not UTF-8, or a \\u escape)"
    )


def _check_characters(data: Any, node: yaml.Node | None, path: str, loc: tuple[Any, ...] = ()) -> None:
    """Refuse a value holding a control character (from a ``"\\0"`` or ``"\\e"`` escape, or ${ENV}) or a lone
    surrogate: NUL would reach the database, escapes the terminal. The message names the line and key, never the
    value."""
    if isinstance(data, dict):
        for k, v in data.items():
            _check_characters(v, node, path, (*loc, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_characters(v, node, path, (*loc, i))
    elif isinstance(data, str):
        problem = control_character_problem(data) or _surrogate_problem(data)
        if problem:
            raise ConfigError(f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: {problem}")
    elif isinstance(data, bytes):
        # pydantic would take UTF-8 bytes as text, past the checks above: ``name: !!binary AAEC`` is a NUL.
        raise ConfigError(
            f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: a binary (!!binary) value: write the text itself"
        )


# Keys whose values may be secrets, in any letter case: a value under one is never echoed back. (A feed's URL is
# shown without its userinfo and credential query values, see _shown.)
_SECRET_KEY = re.compile(r"token|secret|passw|auth|cred|api.?key|hook|destination", re.IGNORECASE)


def _echoes(err: Any, loc: Sequence[int | str], interpolated: set[tuple[Any, ...]]) -> bool:
    """Whether an error may show the rejected value: never for an unknown key (a misspelled ``tokn`` holds the
    token), a value under a secret-looking key, or anything holding a value from ${ENV}."""
    if err["type"] in ("missing", "extra_forbidden"):
        return False
    if any(isinstance(p, str) and _SECRET_KEY.search(p) for p in loc):
        return False
    at = tuple(loc)
    return not any(where[: len(at)] == at for where in interpolated)


def _validation_message(
    exc: ValidationError, node: yaml.Node | None, path: str, interpolated: set[tuple[Any, ...]]
) -> str:
    lines = []
    errors = exc.errors()
    for err in errors[:MAX_ERRORS_SHOWN]:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal[")))]
        msg = _MESSAGES.get(err["type"]) or err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg += _did_you_mean(loc)
        value = f" (got {_repr(_shown(err['input'])):.60})" if _echoes(err, loc, interpolated) else ""
        lines.append(f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: {msg}{value}")
    if len(errors) > MAX_ERRORS_SHOWN:
        # A file of 20,000 bad feeds made a message of 20,000 lines: the first ones say what to fix.
        lines.append(f"{path}: ... and {len(errors) - MAX_ERRORS_SHOWN} more errors")
    return "\n".join(lines)


# pydantic's wording where it names a class of this module ("a valid dictionary or instance of _Feed").
_MESSAGES = {
    "model_type": "must be a mapping (key: value lines)",
    "model_attributes_type": "must be a mapping (key: value lines)",
    # ``token: 1234567890123456`` is a number to YAML: say how to keep it text.
    "string_type": "must be text (put quotes around a value YAML would read as a number or true/false)",
    "string_unicode": "must be text, not binary data",
}


def _did_you_mean(loc: Sequence[int | str]) -> str:
    """`` (did you mean 'interval'?)`` for an unknown key close to one its section takes, else ""."""
    model: Any = _File
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return ""
        model = info.annotation
        model = next((a for a in getattr(model, "__args__", ()) if hasattr(a, "model_fields")), model)
    fields = getattr(model, "model_fields", {})
    keys = [info.alias or name for name, info in fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_SHOWN_ITEMS = 8


def _repr(value: object) -> str:
    """``repr(value)``, or a word for a value Python cannot write out (an integer beyond the digit limit)."""
    try:
        return repr(value)
    except ValueError:
        return "a number too large to show"


def _shown(value: object) -> object:
    """A rejected value as an error may echo it: URLs, also inside lists and mappings, without userinfo or
    credential query values. Of a long list or mapping only the first items, all a message shows of it."""
    if isinstance(value, dict):
        return {_shown(k): _shown(v) for k, v in list(value.items())[:_SHOWN_ITEMS]}
    if isinstance(value, list):
        return [_shown(v) for v in value[:_SHOWN_ITEMS]]
    return display_url(value) if isinstance(value, str) and "://" in value else value


# --- Settings ---------------------------------------------------------------------------------


def feed_problem(url: str, outlet: str | None = None) -> str | None:
    """Why feeds.yaml would refuse a feed with this URL and outlet, as ``field: problem``, or None.

    The one check of a feed given elsewhere (an OPML outline): a URL that passes can be polled.
    """
    try:
        _Feed(url=url, outlet=outlet)
        same_feed_key(url)
    except ValidationError as exc:
        err = exc.errors()[0]
        return f"{_dotted(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
    except ValueError:
        return "url: not a valid URL"
    return None


def feed_url(url: str) -> str:
    """``url`` as feeds.yaml stores a feed's URL (surrounding spaces dropped, scheme lower-cased); ValueError
    when :func:`feed_problem` finds one."""
    problem = feed_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return _Feed(url=url).url


def _feed_specs(doc: _File, node: yaml.Node | None, path: str) -> tuple[FeedSpec, ...]:
    d = doc.defaults
    seen: dict[str, int] = {}
    specs = []
    for i, f in enumerate(doc.feeds):
        try:
            key = same_feed_key(f.url)
        except ValueError:
            raise ConfigError(
                f"{path}{_line(_node_at(node, ('feeds', i, 'url')))}: feeds[{i}].url: not a valid URL"
            ) from None
        if key in seen:
            first = _line(_node_at(node, ("feeds", seen[key], "url"))).lstrip(":") or "?"
            raise ConfigError(
                f"{path}{_line(_node_at(node, ('feeds', i, 'url')))}: feeds[{i}].url: the same feed as "
                f"feeds[{seen[key]}] on line {first} (host case, default port, trailing slash and fragment do not count)"
            )
        seen[key] = i
        specs.append(
            FeedSpec(
                url=f.url,
                outlet=f.outlet or outlet_of(f.url),
                country=f.country or d.country,
                language=f.language or d.language,
                leaning=f.leaning or d.leaning,
                ownership=f.ownership or d.ownership,
                interval_s=round(f.interval or d.interval),
                full_text=f.full_text or d.full_text,
            )
        )
    return tuple(specs)


def _destinations(doc: _File, node: yaml.Node | None, path: str) -> tuple[Destination, ...]:
    seen: dict[str, int] = {}
    for i, d in enumerate(doc.destinations):
        if d.name in seen:
            raise _duplicate_name(node, path, "destinations", i, seen[d.name], d.name)
        seen[d.name] = i
    return tuple(
        Destination(
            name=d.name,
            kind=d.kind,
            url=d.url,
            secret=d.secret,
            events=tuple(d.events) if d.events is not None else None,
            digest_minutes=round(d.digest / 60),
            allow_private=d.allow_private,
        )
        for d in doc.destinations
    )


def _claims(doc: _File, node: yaml.Node | None, path: str) -> tuple[ClaimSpec, ...]:
    # Names are compared as the store compares them (folded_name, ASCII letters in any case): "NATO-ammo" and
    # "nato-ammo" would share one report file where file names ignore case, and one name when typed.
    seen: dict[str, int] = {}
    for i, c in enumerate(doc.claims):
        for j, keyword in enumerate(c.keywords):
            problem = keyword_problem(keyword, c.text, c.language)
            if problem:
                at = _line(_node_at(node, ("claims", i, "keywords", j)))
                raise ConfigError(f"{path}{at}: claims[{i}].keywords[{j}]: {problem}")
        key = folded_name(c.name) or c.name
        if key in seen:
            raise _duplicate_name(node, path, "claims", i, seen[key], c.name, doc.claims[seen[key]].name)
        seen[key] = i
    return tuple(
        ClaimSpec(
            name=c.name,
            text=c.text,
            keywords=tuple(c.keywords),
            threshold=c.threshold,
            status=c.status,
            language=c.language,
        )
        for c in doc.claims
    )


def _duplicate_name(
    node: yaml.Node | None,
    path: str,
    section: str,
    i: int,
    first: int,
    name: str,
    first_name: str | None = None,
) -> ConfigError:
    """``file:line: section[i].name: duplicate name ...``, naming the line of the first one too."""
    at = _line(_node_at(node, (section, i, "name")))
    first_line = _line(_node_at(node, (section, first, "name"))).lstrip(":") or "?"
    same = (
        ""
        if first_name in (None, name)
        else f"the same as {first_name!r}: names are compared ignoring case; "
    )
    return ConfigError(
        f"{path}{at}: {section}[{i}].name: duplicate name {name!r} ({same}first given as {section}[{first}].name "
        f"on line {first_line})"
    )


def _server_address(server: _Server, env: Mapping[str, str]) -> tuple[str, int]:
    """daemon.server host and port; WATCHER_SERVER_HOST / WATCHER_SERVER_PORT win (containers bind 0.0.0.0)."""
    host = env.get("WATCHER_SERVER_HOST") or server.host
    raw = env.get("WATCHER_SERVER_PORT")
    if raw is None:
        return host, server.port
    # At most 5 significant digits before int(): a string of 5,000 is beyond int()'s digit limit.
    if not (raw.isascii() and raw.isdigit() and len(raw.lstrip("0")) <= 5) or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"WATCHER_SERVER_PORT: {raw[:40]!r} is not a TCP port")
    return host, int(raw)


def _match_settings(m: _Matching, feeds: Sequence[FeedSpec], claims: Sequence[ClaimSpec]) -> MatchSettings:
    if m.languages is not None:
        languages = frozenset(m.languages)
    else:
        used = {f.language for f in feeds} | {c.language or "en" for c in claims} | {"en"}
        languages = frozenset(used - {"und"})
    settings = MatchSettings(
        model=m.model,
        languages=languages,
        backend=m.backend,
        onnx_dir=m.onnx_dir,
        sentence_cache=m.sentence_cache,
    )
    if m.precision == "high":
        settings = settings.flood_safe()
    if m.threshold is None:
        return settings
    return replace(settings, threshold=m.threshold)


def _check_together(doc: _File, node: yaml.Node | None, path: str) -> None:
    """Settings that are each valid but not together; the error names the line of the first one."""
    if doc.pages.min_text_chars > doc.pages.max_text_chars:
        at = _node_at(node, ("pages", "min_text_chars"))
        raise ConfigError(
            f"{path}{_line(at)}: pages.min_text_chars: must not exceed pages.max_text_chars, or every page would "
            f"read as a stub (got {doc.pages.min_text_chars} and {doc.pages.max_text_chars})"
        )


def _warn_together(doc: _File, node: yaml.Node | None, path: str) -> None:
    """Settings that work together but not well: a warning, since tests and trials set them so on purpose."""
    lease, timeout = doc.daemon.lease, doc.http.total_timeout_s
    if lease <= timeout:
        key = ("daemon", "lease") if "lease" in doc.daemon.model_fields_set else ("http", "total_timeout")
        logger.warning(
            "%s%s: daemon.lease (%s s) is not longer than http.total_timeout (%s s): a feed still being fetched "
            "may be leased again by another worker and polled twice; make daemon.lease longer",
            path,
            _line(_node_at(node, key)),
            _seconds(lease),
            _seconds(timeout),
        )


def _seconds(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _shift_settings(doc: _File, node: yaml.Node | None, path: str) -> ShiftSettings:
    """ShiftSettings from ``shifts:``; a value out of range is an error naming its line and key."""
    values = doc.shifts.model_dump()
    fresh_window = values.pop("fresh_window")
    if fresh_window is not None:
        if "fresh_window_s" in doc.shifts.model_fields_set:
            at = _node_at(node, ("shifts", "fresh_window"))
            raise ConfigError(
                f"{path}{_line(at)}: shifts.fresh_window: give it or shifts.fresh_window_s, not both"
            )
        values["fresh_window_s"] = round(fresh_window)
    try:
        return ShiftSettings(**values)
    except ShiftSettingError as exc:
        at = _node_at(node, ("shifts", exc.field))
        raise ConfigError(f"{path}{_line(at)}: shifts.{exc.field}: {exc.problem}") from None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _server_token(
    server: _Server, host: str, env: Mapping[str, str], node: yaml.Node | None, path: str
) -> str | None:
    """daemon.server.token ($WATCHER_SERVER_TOKEN wins); required when the server binds beyond loopback."""
    from_env = env.get("WATCHER_SERVER_TOKEN")
    token = from_env or server.token or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        # Name where the short token came from: the variable wins over the file, and is then the one to fix.
        at = _line(_node_at(node, ("daemon", "server", "token")))
        source = "WATCHER_SERVER_TOKEN" if from_env else f"{path}{at}: daemon.server.token"
        raise ConfigError(f"{source}: must be at least {MIN_TOKEN_CHARS} characters")
    if token is None and server.enabled and not _is_loopback(host):
        raise ConfigError(
            f"{path}: daemon.server.token: required when daemon.server.host is {host[:100]!r} (not loopback): set "
            "WATCHER_SERVER_TOKEN or token: ${WATCHER_SERVER_TOKEN} (e.g. openssl rand -hex 32)"
        )
    return token


def _daemon_settings(doc: _File, node: yaml.Node | None, env: Mapping[str, str], path: str) -> DaemonSettings:
    d = doc.daemon
    host, port = _server_address(d.server, env)
    token = _server_token(d.server, host, env, node, path)
    return DaemonSettings(
        tick_s=d.tick,
        feed_batch=d.feed_batch,
        match_batch=doc.matching.batch_size,
        lease_s=d.lease,
        shutdown_timeout_s=d.shutdown_timeout,
        server_host=host,
        server_port=port,
        server_enabled=d.server.enabled,
        public_url=d.server.public_url,
        server_token=token,
        server_metrics_public=d.server.metrics_public,
        server_max_connections=d.server.max_connections,
        server_max_connections_per_client=d.server.max_connections_per_client,
        server_header_timeout_s=d.server.header_timeout,
        server_keepalive_timeout_s=d.server.keepalive_timeout,
    )


def _config_exists(path: Path) -> bool:
    """Whether the config file is there; a name the system cannot look up (too long) is an error naming it."""
    try:
        return path.exists()
    except OSError as exc:
        raise ConfigError(
            f"{display_path(path)}: cannot read: {exc.strerror or type(exc).__name__}"
        ) from None


def load(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
    required: bool = False,
) -> Settings:
    """Load settings from ``path`` (else $WATCHER_CONFIG, else ./feeds.yaml) and WATCHER_* variables.

    A missing default config file yields empty settings unless ``required``; an explicitly named one must
    exist. ``database_url`` (the --database flag) beats $WATCHER_DATABASE_URL, which beats the file.
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or "WATCHER_CONFIG" in env
    cfg_path = Path(path if path is not None else env.get("WATCHER_CONFIG", DEFAULT_CONFIG))
    exists = _config_exists(cfg_path)
    # The name as every message shows it: a name given on the command line may hold line breaks or escapes.
    where = display_path(cfg_path)
    if exists:
        try:
            # Read at most one byte past the cap: a FIFO, /dev/stdin or /dev/zero has no size to check first.
            with cfg_path.open("rb") as file:
                raw_bytes = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read: {exc.strerror or type(exc).__name__}") from None
        if len(raw_bytes) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES // 2**20} MiB")
        raw, node = _compose(_decode(raw_bytes, where), where)
    elif explicit or required:
        raise ConfigError(f"{where}: config file not found")
    else:
        raw, node = {}, None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}:1: the top level must be a mapping (database, feeds, claims, ...)")
    interpolated: set[tuple[Any, ...]] = set()
    raw = _interpolate(raw, node, env, where, interpolated=interpolated)
    _check_characters(raw, node, where)
    try:
        doc = _File.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, node, where, interpolated)) from None
    url = database_url or env.get("WATCHER_DATABASE_URL") or doc.database or DEFAULT_DATABASE_URL
    _check_together(doc, node, where)
    _warn_together(doc, node, where)
    feeds, claims = _feed_specs(doc, node, where), _claims(doc, node, where)
    return Settings(
        database_url=url,
        config_path=cfg_path if exists else None,
        feeds=feeds,
        destinations=_destinations(doc, node, where),
        claims=claims,
        http=HttpSettings(**doc.http.model_dump()),
        ingest=IngestSettings(**doc.ingest.model_dump()),
        matching=_match_settings(doc.matching, feeds, claims),
        pages=PageSettings(**doc.pages.model_dump()),
        shifts=_shift_settings(doc, node, where),
        daemon=_daemon_settings(doc, node, env, where),
    )


__all__ = [
    "ClaimSpec",
    "DaemonSettings",
    "HttpSettings",
    "IngestSettings",
    "MatchSettings",
    "Settings",
    "ShiftSettings",
    "load",
    "parse_duration",
]
