"""OPML subscription lists: every outline with a valid xmlUrl becomes a feed spec."""

from __future__ import annotations

import logging
from pathlib import Path
from xml.parsers import expat

from watcher.config import CONTROL_CHARACTERS, MAX_OUTLET, feed_url
from watcher.domain import FeedSpec
from watcher.errors import ConfigError
from watcher.ingest.urls import display_url, outlet_of, same_feed_key

logger = logging.getLogger(__name__)

ELLIPSIS = "…"


def outline_outlet(attrs: dict[str, str]) -> str:
    """The outlet an outline names: its title, else its text, control characters made spaces; "" for none.

    Another tool's title is data, not an operator's typing: a control character becomes a space rather than
    losing the feed (feeds.yaml and the command line refuse one).
    """
    for name in ("title", "text"):
        outlet = CONTROL_CHARACTERS.sub(" ", attrs.get(name) or "").strip()
        if outlet:
            return outlet
    return ""


def shorten_outlet(outlet: str) -> str:
    """``outlet`` cut to MAX_OUTLET characters, at a space where one is near the end, ending in "…"."""
    if len(outlet) <= MAX_OUTLET:
        return outlet
    cut = outlet[: MAX_OUTLET - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= MAX_OUTLET // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def read_opml(
    path: Path, *, country: str, language: str, leaning: str, ownership: str, interval_s: int
) -> list[FeedSpec]:
    """Feed specs from an OPML file (nested folders included), each feed once, with the given metadata.

    Attribute names are read in any letter case (``xmlUrl``, ``xmlurl``, ``XMLURL``). An outline's title (else
    its text) names the outlet; without either, the URL's host does; a title longer than MAX_OUTLET characters
    is shortened, with a warning naming the line. An outline whose xmlUrl feeds.yaml would refuse is skipped,
    and so is a second outline of a feed already read (URLs that feeds.yaml would take for the same feed: host
    case, trailing slash, fragment), each with a warning naming its line; the others are read. Raises ConfigError
    naming the file and line when the file is not XML or not OPML.
    """
    specs: dict[str, FeedSpec] = {}
    lines: dict[str, int] = {}
    parser = expat.ParserCreate()
    root: list[str] = []

    def warn(what: str, xml_url: str) -> None:
        line = parser.CurrentLineNumber
        logger.warning(
            "%s:%d: %s (xmlUrl %.100r)",
            path,
            line,
            what,
            display_url(xml_url),
            extra={"opml": str(path), "line": line},
        )

    def outline(tag: str, raw: dict[str, str]) -> None:
        if not root:
            root.append(tag)
            if tag.lower() != "opml":
                # An RSS feed, an HTML page or other XML: saying "0 feeds" would hide the mistake.
                raise ConfigError(
                    f"{path}:{parser.CurrentLineNumber}: not an OPML file: the root element is "
                    f"<{tag[:40]}>, not <opml>"
                )
        if tag.lower() != "outline":
            return
        attrs = {name.lower(): value for name, value in raw.items()}
        xml_url = (attrs.get("xmlurl") or "").strip()
        if not xml_url:
            return  # a folder
        # feeds.yaml's own check: an imported feed is one the file could have listed.
        try:
            url = feed_url(xml_url)
        except ValueError as problem:
            warn(f"outline skipped: {problem}", xml_url)
            return
        key = same_feed_key(xml_url)
        if key in specs:
            warn(f"outline skipped: the same feed as line {lines[key]}", xml_url)
            return
        outlet = outline_outlet(attrs)
        if len(outlet) > MAX_OUTLET:
            outlet = shorten_outlet(outlet)
            warn(f"outline title shortened to {MAX_OUTLET} characters", xml_url)
        lines[key] = parser.CurrentLineNumber
        specs[key] = FeedSpec(
            url=url,
            outlet=outlet or outlet_of(xml_url),
            country=country,
            language=language,
            leaning=leaning,
            ownership=ownership,
            interval_s=interval_s,
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
