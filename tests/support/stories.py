"""The pipeline scenario shared across tiers: one claim, three stories, an RSS builder, a webhook secret.

Kyiv Post states the claim (STRAIGHT), TASS disputes it (DENIAL) and reports something else (UNRELATED).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from watcher.config import ClaimSpec

SECRET = "whsec_" + base64.b64encode(b"pipeline-test-secret-0123456789").decode()
CLAIM = ClaimSpec(
    name="nato-ammo", text="NATO has surpassed Russia in ammunition production", keywords=("NATO",)
)


def rss(title: str, items: list[tuple[str, str, str]], *, pub_date: str | None = None) -> bytes:
    """An RSS 2.0 document; items are (guid, title, description), dated ``pub_date`` (RFC 822) if given.

    Undated items count as published when first seen, and on a feed's first poll they are its backlog: quiet.
    Items that must be news on a first poll carry :func:`fresh` as their date.
    """
    date = f"<pubDate>{pub_date}</pubDate>" if pub_date else ""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.example/{g}?utm_source=rss</link>"
        f"<description>{d}</description>{date}</item>"
        for g, t, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def fresh(minutes: float = 1.0) -> str:
    """An RFC 822 date ``minutes`` before now: an item of a feed's first poll dated so is news, not backlog."""
    return format_datetime(datetime.now(UTC) - timedelta(minutes=minutes), usegmt=True)


STRAIGHT = (
    "kyiv-1",
    "NATO has surpassed Russia in ammunition production, Rutte says",
    "NATO has surpassed Russia in ammunition production, Secretary General Mark Rutte said on Thursday. "
    "Allied factories now produce more artillery shells than Russia does, he told reporters in Brussels.",
)
DENIAL = (
    "tass-1",
    "Moscow rejects NATO ammunition claim",
    "The Kremlin dismissed as nonsense the claim by NATO that it has surpassed Russia in ammunition production. "
    "There is no evidence for the assertion, a spokesman said, insisting Russian output is far higher.",
)
UNRELATED = (
    "tass-2",
    "Wheat harvest hits record",
    "Farmers in the south gathered a record wheat harvest this year.",
)
