"""Logging set-up: text for people, JSON lines for log shippers; verbosity from -v."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup(verbosity: int = 0, fmt: str = "text") -> None:
    """Configure the root logger: 0 = INFO, 1+ = DEBUG; quiet noisy libraries unless -vv."""
    level = "DEBUG" if verbosity >= 1 else "INFO"
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
    )
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
