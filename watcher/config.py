"""feeds.yaml and WATCHER_* environment: load, interpolate ${ENV}, validate into frozen Settings."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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

from watcher.domain import ClaimSpec, Destination, EventType, FeedSpec, Leaning, Ownership
from watcher.errors import ConfigError
from watcher.ingest.http import HttpSettings
from watcher.ingest.pool import IngestSettings
from watcher.ingest.urls import outlet_of
from watcher.match.matcher import MatchSettings
from watcher.shifts import ShiftSettingError, ShiftSettings

DEFAULT_CONFIG = "feeds.yaml"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///storage/watcher.db"

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h"`` or ``"2d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15m, 1h or 30s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 15m, 1h, 2d)")
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def _default(cls: type[Any], name: str) -> Any:
    """A dataclass field's default: the one source the YAML models take theirs from."""
    return cls.__dataclass_fields__[name].default


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSettings:
    """How the service schedules its work. Times are seconds."""

    tick_s: float = 10.0  # between polls of due feeds
    feed_batch: int = 500  # feeds leased per poll batch
    match_batch: int = 200  # articles leased per match batch (matching.batch_size)
    lease_s: float = 300.0  # how long a leased feed, article, claim or delivery stays ours
    shutdown_timeout_s: float = 8.0
    server_host: str = "127.0.0.1"
    server_port: int = 8080
    server_enabled: bool = True


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Defaults(_Model):
    interval: float = _default(FeedSpec, "interval_s")
    country: str = _default(FeedSpec, "country")
    language: str = _default(FeedSpec, "language")
    leaning: Leaning = _default(FeedSpec, "leaning")
    ownership: Ownership = _default(FeedSpec, "ownership")

    _interval = field_validator("interval", mode="before")(lambda v: parse_duration(v))


class _Feed(_Model):
    url: str
    outlet: str | None = None
    country: str | None = None
    language: str | None = None
    leaning: Leaning | None = None
    ownership: Ownership | None = None
    interval: float | None = None

    _interval = field_validator("interval", mode="before")(lambda v: None if v is None else parse_duration(v))

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.strip()

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z]{2}", v):
            raise ValueError("must be an ISO 3166 alpha-2 code such as US, UA or RU")
        return None if v is None else v.upper()

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?", v):
            raise ValueError("must be an ISO 639-1 code such as en, uk or ru")
        return None if v is None else re.split(r"[-_]", v)[0].lower()


class _Destination(_Model):
    name: str = Field(min_length=1)
    kind: Literal["slack", "webhook"]
    url: str
    secret: str | None = None
    events: list[EventType] | None = None
    digest: float = 0.0  # seconds; 0 = one message per event
    allow_private: bool = False

    _digest = field_validator("digest", mode="before")(
        lambda v: 0.0 if v in (0, None, "0") else parse_duration(v)
    )

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
        if v is not None and not v.startswith("whsec_"):
            raise ValueError('must be a Standard Webhooks secret starting with "whsec_"')
        return v


class _Claim(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    text: str = Field(min_length=3)
    keywords: list[str] = []
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    status: Literal["active", "paused"] = "active"


class _Http(_Model):
    """``http:`` in feeds.yaml; validated into :class:`HttpSettings` (field names as aliases)."""

    total_timeout_s: float = Field(default=_default(HttpSettings, "total_timeout_s"), alias="total_timeout")
    connect_timeout_s: float = Field(
        default=_default(HttpSettings, "connect_timeout_s"), alias="connect_timeout"
    )
    max_body_bytes: int = Field(default=_default(HttpSettings, "max_body_bytes"), gt=0)
    limit: int = Field(default=_default(HttpSettings, "limit"), gt=0, alias="concurrency")
    limit_per_host: int = Field(default=_default(HttpSettings, "limit_per_host"), gt=0, alias="per_host")
    allow_private: bool = _default(HttpSettings, "allow_private")
    full_fetch_every_s: float = Field(
        default=_default(HttpSettings, "full_fetch_every_s"), alias="full_fetch_every"
    )

    _durations = field_validator("total_timeout_s", "connect_timeout_s", "full_fetch_every_s", mode="before")(
        lambda v: parse_duration(v)
    )


class _Ingest(_Model):
    """``ingest:`` in feeds.yaml."""

    parse_workers: int | None = Field(default=_default(IngestSettings, "parse_workers"), ge=0)


class _Matching(_Model):
    model: str | None = _default(MatchSettings, "model")
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)  # None: the matcher's default
    batch_size: int = Field(default=_default(DaemonSettings, "match_batch"), gt=0)


class _Server(_Model):
    host: str = _default(DaemonSettings, "server_host")
    port: int = Field(default=_default(DaemonSettings, "server_port"), ge=0, le=65535)
    enabled: bool = _default(DaemonSettings, "server_enabled")


class _Daemon(_Model):
    tick: float = _default(DaemonSettings, "tick_s")
    feed_batch: int = Field(default=_default(DaemonSettings, "feed_batch"), gt=0)
    lease: float = _default(DaemonSettings, "lease_s")
    shutdown_timeout: float = _default(DaemonSettings, "shutdown_timeout_s")
    server: _Server = _Server()

    _durations = field_validator("tick", "lease", "shutdown_timeout", mode="before")(
        lambda v: parse_duration(v)
    )


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


if TYPE_CHECKING:

    class _Shifts(_Model): ...

else:
    # ``shifts:`` takes exactly the fields of ShiftSettings, as numbers; ShiftSettings checks their ranges.
    _Shifts = create_model(
        "_Shifts",
        __base__=_Model,
        **{f.name: (Annotated[Any, AfterValidator(_number)], f.default) for f in fields(ShiftSettings)},
    )


class _File(_Model):
    database: str | None = None
    defaults: _Defaults = _Defaults()
    feeds: list[_Feed] = []
    destinations: list[_Destination] = []
    claims: list[_Claim] = []
    http: _Http = _Http()
    ingest: _Ingest = _Ingest()
    matching: _Matching = _Matching()
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
    shifts: ShiftSettings = field(default_factory=ShiftSettings)
    daemon: DaemonSettings = DaemonSettings()


# --- YAML with line numbers -------------------------------------------------------------------


def _compose(text: str, path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    if node is None:
        return {}, None
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(node)
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
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _interpolate(
    data: Any, node: yaml.Node | None, environ: Mapping[str, str], path: Path, loc: tuple[Any, ...] = ()
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; a missing variable is an error."""
    if isinstance(data, dict):
        return {k: _interpolate(v, node, environ, path, (*loc, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(v, node, environ, path, (*loc, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

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


def _validation_message(exc: ValidationError, node: yaml.Node | None, path: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal[")))]
        msg = err["msg"].removeprefix("Value error, ")
        # Never echo destination values: they hold secrets.
        value = "" if "destinations" in loc or err["type"] == "missing" else f" (got {err['input']!r:.60})"
        lines.append(f"{path}{_line(_node_at(node, loc))}: {_dotted(loc)}: {msg}{value}")
    return "\n".join(lines)


# --- Settings ---------------------------------------------------------------------------------


def _feed_specs(doc: _File, path: Path) -> tuple[FeedSpec, ...]:
    d = doc.defaults
    seen: set[str] = set()
    specs = []
    for i, f in enumerate(doc.feeds):
        if f.url in seen:
            raise ConfigError(f"{path}: feeds[{i}].url: duplicate feed {f.url}")
        seen.add(f.url)
        specs.append(
            FeedSpec(
                url=f.url,
                outlet=f.outlet or outlet_of(f.url),
                country=f.country or d.country,
                language=f.language or d.language,
                leaning=f.leaning or d.leaning,
                ownership=f.ownership or d.ownership,
                interval_s=round(f.interval or d.interval),
            )
        )
    return tuple(specs)


def _destinations(doc: _File, path: Path) -> tuple[Destination, ...]:
    names = [d.name for d in doc.destinations]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{path}: destinations: duplicate name {sorted(dup)[0]!r}")
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


def _claims(doc: _File, path: Path) -> tuple[ClaimSpec, ...]:
    names = [c.name for c in doc.claims]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"{path}: claims: duplicate name {sorted(dup)[0]!r}")
    return tuple(
        ClaimSpec(
            name=c.name, text=c.text, keywords=tuple(c.keywords), threshold=c.threshold, status=c.status
        )
        for c in doc.claims
    )


def _server_address(server: _Server, env: Mapping[str, str]) -> tuple[str, int]:
    """daemon.server host and port; WATCHER_SERVER_HOST / WATCHER_SERVER_PORT win (containers bind 0.0.0.0)."""
    host = env.get("WATCHER_SERVER_HOST") or server.host
    raw = env.get("WATCHER_SERVER_PORT")
    if raw is None:
        return host, server.port
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"WATCHER_SERVER_PORT: {raw!r} is not a TCP port")
    return host, int(raw)


def _match_settings(m: _Matching) -> MatchSettings:
    if m.threshold is None:
        return MatchSettings(model=m.model)
    return MatchSettings(model=m.model, threshold=m.threshold)


def _shift_settings(doc: _File, node: yaml.Node | None, path: Path) -> ShiftSettings:
    """ShiftSettings from ``shifts:``; a value out of range is an error naming its line and key."""
    try:
        return ShiftSettings(**doc.shifts.model_dump())
    except ShiftSettingError as exc:
        at = _node_at(node, ("shifts", exc.field))
        raise ConfigError(f"{path}{_line(at)}: shifts.{exc.field}: {exc.problem}") from None


def _daemon_settings(doc: _File, env: Mapping[str, str]) -> DaemonSettings:
    d = doc.daemon
    host, port = _server_address(d.server, env)
    return DaemonSettings(
        tick_s=d.tick,
        feed_batch=d.feed_batch,
        match_batch=doc.matching.batch_size,
        lease_s=d.lease,
        shutdown_timeout_s=d.shutdown_timeout,
        server_host=host,
        server_port=port,
        server_enabled=d.server.enabled,
    )


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
    if cfg_path.exists():
        try:
            text = cfg_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None
        raw, node = _compose(text, cfg_path)
    elif explicit or required:
        raise ConfigError(f"{cfg_path}: config file not found")
    else:
        raw, node = {}, None
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path}:1: the top level must be a mapping (database, feeds, claims, ...)")
    raw = _interpolate(raw, node, env, cfg_path)
    try:
        doc = _File.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, node, cfg_path)) from None
    url = database_url or env.get("WATCHER_DATABASE_URL") or doc.database or DEFAULT_DATABASE_URL
    return Settings(
        database_url=url,
        config_path=cfg_path if cfg_path.exists() else None,
        feeds=_feed_specs(doc, cfg_path),
        destinations=_destinations(doc, cfg_path),
        claims=_claims(doc, cfg_path),
        http=HttpSettings(**doc.http.model_dump()),
        ingest=IngestSettings(**doc.ingest.model_dump()),
        matching=_match_settings(doc.matching),
        shifts=_shift_settings(doc, node, cfg_path),
        daemon=_daemon_settings(doc, env),
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
