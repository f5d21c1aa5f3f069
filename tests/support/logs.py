"""Log lookups: the records about a feed or a problem, whichever of message, extras or exception names it."""

from __future__ import annotations

import logging
from collections.abc import Sequence


def records_about(
    records: Sequence[logging.LogRecord], *, feed_id: int | None = None, text: str | None = None
) -> list[logging.LogRecord]:
    """Log records tied to a feed (its id in the record's ``feed_id`` extra) and/or containing ``text``.

    ``text`` is looked for, case-insensitively, in the message, in any string extra and in the
    formatted exception, so that a record qualifies whichever of them names the problem.
    """
    out = []
    for record in records:
        if feed_id is not None and getattr(record, "feed_id", None) != feed_id:
            continue
        if text is not None and text.lower() not in record_text(record).lower():
            continue
        out.append(record)
    return out


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    parts += [str(v) for k, v in vars(record).items() if k not in _STANDARD and isinstance(v, str)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
