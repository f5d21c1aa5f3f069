"""OPML subscription lists: every outline with an xmlUrl becomes a feed spec."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from watcher.domain import FeedSpec
from watcher.errors import ConfigError
from watcher.ingest.urls import outlet_of


def read_opml(
    path: Path, *, country: str, language: str, leaning: str, ownership: str, interval_s: int
) -> list[FeedSpec]:
    """Feed specs from an OPML file (nested folders included), each URL once, with the given metadata.

    An outline's title (else its text) names the outlet; without either, the URL's host does. Raises
    ConfigError naming the file and line when the file is not XML.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise ConfigError(f"{path}:{line}: not valid OPML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    specs: dict[str, FeedSpec] = {}
    for outline in root.iter("outline"):
        xml_url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not xml_url.startswith(("http://", "https://")):
            continue
        outlet = (outline.get("title") or outline.get("text") or "").strip()
        specs.setdefault(
            xml_url,
            FeedSpec(
                url=xml_url,
                outlet=outlet or outlet_of(xml_url),
                country=country,
                language=language,
                leaning=leaning,
                ownership=ownership,
                interval_s=interval_s,
            ),
        )
    return list(specs.values())
