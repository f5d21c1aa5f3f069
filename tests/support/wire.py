"""A wire story, its reprints and a live blog, as feeds serve them: the alert and report tests' material."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

START = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)
ATOM_TYPE = "application/atom+xml; charset=utf-8"
WIRE_TITLE = "NATO has surpassed Russia in ammunition production, Rutte says"
WIRE_TEXT = (
    "NATO has surpassed Russia in ammunition production, Secretary General Mark Rutte said on Thursday. "
    "Allied factories now produce more artillery shells than Russia does, he told reporters in Brussels. "
    "{byline}"
)
WEATHER = "Rain and wind are expected across the region on Saturday, forecasters said."
# (path, outlet, country): the first is the outlet that broke the story; the rest reprint the wire.
OUTLETS = (
    ("/a.xml", "Alpha Wire", "GB"),
    ("/b.xml", "Bravo Post", "GB"),
    ("/c.xml", "Charlie Zeitung", "DE"),
    ("/d.xml", "Delta Journal", "FR"),
    ("/e.xml", "Echo Vesti", "RU"),
    ("/f.xml", "Foxtrot Daily", "IT"),
    ("/g.xml", "Golf Herald", "US"),
)


def rss(items: Sequence[tuple[str, str, str, datetime]]) -> bytes:
    """RSS 2.0 of (guid, title, description, publication date) items, each linked under its guid."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.example/{g}</link>"
        f"<description>{d}</description><pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        for g, t, d, when in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{body}</channel></rss>'.encode()


def live_atom(title: str, text: str, published: datetime, updated: datetime) -> bytes:
    """An Atom feed of one live blog entry, as last updated."""
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Live</title><id>urn:live</id>'
        "<updated>2025-11-06T00:00:00Z</updated><entry><id>urn:live:1</id>"
        f"<title>{title}</title><link href='https://news.example/live'/>"
        f"<published>{published.isoformat()}</published><updated>{updated.isoformat()}</updated>"
        f"<content type='text'>{text}</content></entry></feed>"
    ).encode()
