"""OPML subscription lists: every outline with a valid xmlUrl becomes a feed spec."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.parsers import expat

from watcher.config import CONTROL_CHARACTERS, feed_problem
from watcher.domain import FeedSpec
from watcher.errors import ConfigError
from watcher.ingest.urls import display_url, outlet_of, same_feed_key

logger = logging.getLogger(__name__)


def read_opml(
    path: Path, *, country: str, language: str, leaning: str, ownership: str, interval_s: int
) -> list[FeedSpec]:
    """Feed specs from an OPML file (nested folders included), each feed once, with the given metadata.

    An outline's title (else its text) names the outlet; without either, the URL's host does. An outline
    whose xmlUrl or outlet feeds.yaml would refuse is skipped with a warning naming its line; the others are
    read. URLs that feeds.yaml would take for the same feed (host case, trailing slash, fragment) are read
    once, the first. Raises ConfigError naming the file and line when the file is not XML or not OPML.
    """
    specs: dict[str, FeedSpec] = {}
    parser = expat.ParserCreate()
    root: list[str] = []

    def outline(tag: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(tag)
            if tag.lower() != "opml":
                # An RSS feed, an HTML page or other XML: saying "0 feeds" would hide the mistake.
                raise ConfigError(
                    f"{path}:{parser.CurrentLineNumber}: not an OPML file: the root element is "
                    f"<{tag[:40]}>, not <opml>"
                )
        if tag != "outline":
            return
        xml_url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not xml_url:
            return  # a folder
        # Another tool's title is data, not an operator's typing: a control character in it becomes a space
        # rather than losing the feed (feeds.yaml and the command line refuse one).
        outlet = CONTROL_CHARACTERS.sub(" ", attrs.get("title") or attrs.get("text") or "").strip()
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
            same_feed_key(xml_url),
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
