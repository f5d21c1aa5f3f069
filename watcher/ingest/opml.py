"""OPML subscription lists: every outline with a valid xmlUrl becomes a feed spec."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.parsers import expat

from watcher.config import feed_problem
from watcher.domain import FeedSpec
from watcher.errors import ConfigError
from watcher.ingest.urls import display_url, outlet_of

logger = logging.getLogger(__name__)


def read_opml(
    path: Path, *, country: str, language: str, leaning: str, ownership: str, interval_s: int
) -> list[FeedSpec]:
    """Feed specs from an OPML file (nested folders included), each URL once, with the given metadata.

    An outline's title (else its text) names the outlet; without either, the URL's host does. An outline
    whose xmlUrl or outlet feeds.yaml would refuse is skipped with a warning naming its line; the others are
    read. Raises ConfigError naming the file and line when the file is not XML.
    """
    specs: dict[str, FeedSpec] = {}
    parser = expat.ParserCreate()

    def outline(tag: str, attrs: dict[str, str]) -> None:
        if tag != "outline":
            return
        xml_url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not xml_url:
            return  # a folder
        outlet = (attrs.get("title") or attrs.get("text") or "").strip()
        # feeds.yaml's own check: an imported feed is one the file could have listed.
        problem = feed_problem(xml_url, outlet or None)
        if problem is not None:
            logger.warning(
                "%s:%d: outline skipped: %s (xmlUrl %.100r)",
                path,
                parser.CurrentLineNumber,
                problem,
                display_url(xml_url),
                extra={"opml": str(path), "line": parser.CurrentLineNumber},
            )
            return
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

    parser.StartElementHandler = outline
    try:
        with path.open("rb") as f:
            parser.ParseFile(f)
    except expat.ExpatError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid OPML: {expat.ErrorString(exc.code)}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return list(specs.values())
