"""A fast reader for plain, well-formed RSS 2.0 and Atom 1.0 that yields what feedparser would.

lxml reads the tree in C; this module maps the few elements ``parse_entries`` uses onto the dicts
feedparser builds, with feedparser's own rules (its date parser, URL join, whitespace and
mis-decoding fixes, the HTML guess for RSS text), so everything after the raw parse is shared. It
declines (returns None, and feedparser reads the body) on anything it does not map exactly: XML
that is not well-formed, an unknown root or element, ``xml:base``, ``xml:lang`` below the root,
XHTML or typed content other than text and html, repeated elements whose order feedparser
resolves in its own way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

_ATOM = "http://www.w3.org/2005/Atom"
_DC = "http://purl.org/dc/elements/1.1/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_SCOPED = frozenset({_XML_LANG, "{http://www.w3.org/XML/1998/namespace}base", "lang", "base"})

_local = threading.local()  # an lxml parser must not be used by two threads at once

# Elements feedparser reads into keys that parse_entries does not use: skipped, if they hold text only.
_RSS_CHANNEL_IGNORED = frozenset(
    {
        "link", "description", "lastbuilddate", "pubdate", "generator", "copyright", "managingeditor",
        "webmaster", "docs", "category", "rating", "atom:link", "sy:updateperiod", "sy:updatefrequency",
        "sy:updatebase", "dc:creator", "dc:subject", "dc:publisher", "dc:rights",
    }
)  # fmt: skip
_RSS_ITEM_IGNORED = frozenset(
    {
        "author", "category", "comments", "source", "dc:creator", "dc:subject", "dc:publisher", "dc:rights",
        "dc:type", "dc:format", "wfw:commentrss", "wfw:comment", "slash:comments",
    }
)  # fmt: skip
_RSS_ITEM_EMPTY = frozenset({"media:content", "media:thumbnail"})
# Namespaces whose elements may appear (feedparser's prefixes); any other namespace declines the body.
_RSS_NAMESPACES = {
    _DC: "dc",
    _CONTENT: "content",
    _ATOM.lower(): "atom",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://wellformedweb.org/commentapi/": "wfw",
    "http://purl.org/rss/1.0/modules/slash/": "slash",
    "http://purl.org/rss/1.0/modules/syndication/": "sy",
    "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
}
_RSS_IMAGE_PARTS = frozenset({"title", "url", "link", "width", "height", "description"})
_ATOM_FEED_IGNORED = frozenset({"subtitle", "id", "updated", "generator", "icon", "logo", "rights"})
_PERSON = frozenset({"author", "contributor"})
_PERSON_PARTS = frozenset({f"{{{_ATOM}}}name", f"{{{_ATOM}}}email", f"{{{_ATOM}}}uri"})
_ENTITY_FIX = re.compile("&([A-Za-z0-9_]+);")
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html


class Decline(Exception):
    """The body is not one this reader maps exactly: feedparser reads it."""


def parse_feed(data: bytes) -> dict[str, Any] | None:
    """A feedparser-shaped result (``version``, ``feed``, ``entries``) for ``data``, or None to decline.

    :param data: UTF-8 with no declarations before the root (``parse._to_safe_utf8``'s output).
    """
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if parser.error_log:
        return None  # a namespace or encoding problem libxml2 recovered from
    try:
        if root.tag == "rss":
            return _rss(root)
        if root.tag == f"{{{_ATOM}}}feed":
            return _atom(root)
    except Decline:
        return None
    return None


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        # No entity expansion, no DTD, no network, libxml2's limits on depth and text size.
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
    return parser


# -- RSS 2.0 --------------------------------------------------------------------------------------


def _rss(root: Any) -> dict[str, Any]:
    if root.get("version") not in ("2.0", "0.91", "0.92") or _attributes(root) - {"version", _XML_LANG}:
        raise Decline
    lang = _root_lang(root)
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        raise Decline
    feed: dict[str, Any] = {}
    if lang:
        feed["language"] = lang.replace("_", "-")
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for child in channels[0]:
        name = _rss_name(child)
        if name in ("title", "language", "ttl"):
            if name in seen or entries:
                raise Decline  # feedparser keeps the first title and the last of the others
            seen.add(name)
        if name == "item":
            entries.append(_rss_item(child, lang))
        elif name == "title":
            _rss_text(feed, "title", child, lang)
        elif name in ("language", "ttl"):
            _no_attributes(child)
            feed[name] = _text(child)
        elif name == "image":
            _rss_image(feed, child)
        elif name in _RSS_CHANNEL_IGNORED:
            _leaf(child)
        else:
            raise Decline
    return {"version": "rss20", "feed": feed, "entries": entries}


def _rss_item(item: Any, lang: str | None) -> dict[str, Any]:
    if item.attrib:
        raise Decline
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        name = _rss_name(child)
        read = _RSS_ITEM_READERS.get(name)
        if read is not None:
            if name in seen:
                raise Decline  # feedparser resolves repeats in ways of its own
            seen.add(name)
            read(entry, child, lang)
        elif name == "enclosure":
            _rss_enclosure(entry, child)
        elif name in _RSS_ITEM_IGNORED:
            _leaf(child)
        elif name in _RSS_ITEM_EMPTY:
            _leaf(child, text=False)
        else:
            raise Decline
    return entry


def _rss_title(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _rss_text(entry, "title", element, lang)


def _rss_link(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    # feedparser undoes what it takes for unknown entities in a link's query ("?a=1&b;=2").
    link = _resolve(_text(element)).replace("&amp;", "&")
    entry["link"] = _ENTITY_FIX.sub(r"&\g<1>", link)


def _rss_description(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    entry["summary"] = value = _text(element)
    entry["summary_detail"] = _detail("text/html", lang, value)


def _rss_content(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    value = _text(element)
    entry["content"] = [_detail("text/html", lang, value)]
    entry.setdefault("summary", value)  # feedparser copies content to a summary not yet read


def _rss_guid(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    if _attributes(element) - {"isPermaLink"}:
        raise Decline
    _guid(entry, element, element.get("isPermaLink", "true") == "true")


def _rss_published(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    _date(entry, "published", element)


def _rss_updated(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    _date(entry, "updated", element)


def _rss_origlink(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    entry["feedburner_origlink"] = _text(element)


_Reader = Callable[[dict[str, Any], Any, str | None], None]
_RSS_ITEM_READERS: dict[str, _Reader] = {
    "title": _rss_title,
    "link": _rss_link,
    "description": _rss_description,
    "content:encoded": _rss_content,
    "guid": _rss_guid,
    "pubdate": _rss_published,
    "dc:date": _rss_updated,
    "feedburner:origlink": _rss_origlink,
}


def _rss_enclosure(entry: dict[str, Any], element: Any) -> None:
    """Add the enclosure to ``entry["enclosures"]`` as feedparser does: attribute names lower-cased, ``rel`` and
    ``type`` values too, ``url`` as ``href`` (not resolved), in document order."""
    _leaf(element, text=False)
    attributes: dict[str, str] = {}
    for name, value in element.attrib.items():
        key = str(name).lower()
        if key.startswith("{") or key in attributes:
            raise Decline  # a namespaced attribute, or two names that differ in case: feedparser's own ways
        attributes[key] = str(value).lower() if key in ("rel", "type") else str(value)
    attributes.pop("rel", None)  # feedparser sets it to "enclosure" and leaves it out of ``enclosures``
    entry.setdefault("enclosures", []).append(_FeedParserMixin._enforce_href(attributes))


def _rss_image(feed: dict[str, Any], element: Any) -> None:
    # feedparser skips an image's title only after a channel title that is not empty.
    if not feed.get("title"):
        raise Decline
    _no_attributes(element)
    for part in element:
        if not isinstance(part.tag, str) or part.tag not in _RSS_IMAGE_PARTS:
            raise Decline
        _leaf(part)


def _rss_name(element: Any) -> str:
    """``name`` or ``prefix:name`` (feedparser's prefix for the namespace, names lowercased, as it reads them)."""
    tag = element.tag
    if not isinstance(tag, str):
        raise Decline
    if tag[0] != "{":
        if element.prefix:
            raise Decline
        return str(tag.lower())
    namespace, local = tag[1:].split("}", 1)
    prefix = _RSS_NAMESPACES.get(namespace.lower())
    if prefix is None:
        raise Decline  # feedparser reads unknown namespaces by the prefix the document gives them
    return f"{prefix}:{local.lower()}"


def _rss_text(context: dict[str, Any], key: str, element: Any, lang: str | None) -> None:
    _no_attributes(element)
    value = _text(element)
    kind = "text/html" if _looks_like_html(value) else "text/plain"
    context[key] = value
    context[key + "_detail"] = _detail(kind, lang, value)


# -- Atom 1.0 -------------------------------------------------------------------------------------


def _atom(root: Any) -> dict[str, Any]:
    if _attributes(root) - {_XML_LANG}:
        raise Decline
    lang = _root_lang(root)
    feed: dict[str, Any] = {}
    if lang:
        feed["language"] = lang.replace("_", "-")
    entries: list[dict[str, Any]] = []
    title_seen = False
    for child in root:
        name = _atom_name(child)
        if name == "entry":
            entries.append(_atom_entry(child, lang))
        elif name == "title":
            if title_seen or entries:
                raise Decline
            title_seen = True
            _atom_text(feed, "title", child, lang)
        elif name == "link":
            _atom_link(child)
        elif name in _PERSON:
            _person(child)
        elif name == "category":
            _leaf(child, text=False)
        elif name in _ATOM_FEED_IGNORED:
            _leaf(child)
        else:
            raise Decline
    return {"version": "atom10", "feed": feed, "entries": entries}


def _atom_entry(element: Any, lang: str | None) -> dict[str, Any]:
    if element.attrib:
        raise Decline
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in element:
        name = _atom_name(child)
        read = _ATOM_ENTRY_READERS.get(name)
        if read is not None:
            if name in seen:
                raise Decline
            seen.add(name)
            read(entry, child, lang)
        elif name == "link":
            link = _atom_link(child)
            if (href := _alternate_href(link)) is not None:
                entry["link"] = href  # the last alternate link wins, as in feedparser
            elif link["rel"] == "enclosure":
                entry.setdefault("enclosures", []).append({k: v for k, v in link.items() if k != "rel"})
        elif name in _PERSON:
            _person(child)
        elif name == "category":
            _leaf(child, text=False)
        elif name == "rights":
            _leaf(child)
        else:
            raise Decline
    return entry


def _atom_id(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    _guid(entry, element, True)  # feedparser reads an Atom id as a permalink GUID


def _atom_date(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _no_attributes(element)
    _date(entry, _atom_name(element), element)


def _atom_title(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _atom_text(entry, "title", element, lang)


def _atom_summary(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    _atom_text(entry, "summary", element, lang)


def _atom_name(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{_ATOM}}}"):
        raise Decline
    local: str = tag[len(_ATOM) + 2 :]
    if local != local.lower():
        raise Decline
    return local


def _atom_type(element: Any) -> str:
    kind = element.get("type", "text")
    if kind not in ("text", "html"):
        raise Decline  # xhtml and media types: feedparser rebuilds or decodes them its own way
    return "text/html" if kind == "html" else "text/plain"


def _atom_text(context: dict[str, Any], key: str, element: Any, lang: str | None) -> None:
    if _attributes(element) - {"type"}:
        raise Decline
    kind = _atom_type(element)
    context[key] = value = _text(element)
    context[key + "_detail"] = _detail(kind, lang, value)


def _atom_content(entry: dict[str, Any], element: Any, lang: str | None) -> None:
    if _attributes(element) - {"type"}:
        raise Decline
    kind = _atom_type(element)
    value = _text(element)
    entry["content"] = [_detail(kind, lang, value)]
    entry.setdefault("summary", value)


_ATOM_ENTRY_READERS: dict[str, _Reader] = {
    "title": _atom_title,
    "id": _atom_id,
    "updated": _atom_date,
    "published": _atom_date,
    "summary": _atom_summary,
    "content": _atom_content,
}


def _atom_link(element: Any) -> dict[str, str]:
    """The link's attributes as feedparser keeps them: ``rel`` and ``type`` lower-cased and defaulted, ``href``
    resolved."""
    if len(element) or (element.text or "").strip():
        raise Decline
    attributes = _attributes(element)
    if attributes - {"href", "rel", "type", "hreflang", "title", "length"} or "href" not in attributes:
        raise Decline
    link = {name: str(element.get(name)) for name in attributes}
    for name in ("rel", "type"):
        if name in link:
            link[name] = link[name].lower()
    link.setdefault("rel", "alternate")
    link.setdefault("type", "application/atom+xml" if link["rel"] == "self" else "text/html")
    link["href"] = _resolve(link["href"])
    return link


def _alternate_href(link: dict[str, str]) -> str | None:
    """The href of an alternate HTML link (what feedparser takes as the link), else None."""
    kind = _FeedParserMixin.map_content_type(link["type"])
    return link["href"] if link["rel"] == "alternate" and kind in _FeedParserMixin.html_types else None


def _person(element: Any) -> None:
    if element.attrib:
        raise Decline
    for part in element:
        if part.tag not in _PERSON_PARTS:
            raise Decline
        _leaf(part)


# -- shared ---------------------------------------------------------------------------------------


def _guid(entry: dict[str, Any], element: Any, is_link: bool) -> None:
    value = _text(element)
    if is_link:
        value = _resolve(value)
        entry.setdefault(
            "link", value
        )  # feedparser takes a permalink GUID as the link, unless one came first
    entry["id"] = value


def _date(entry: dict[str, Any], key: str, element: Any) -> None:
    entry[key] = value = _text(element)
    entry[key + "_parsed"] = _parse_date(value)


def _detail(kind: str, lang: str | None, value: str) -> dict[str, Any]:
    return {"type": kind, "language": lang.replace("_", "-") if lang else lang, "value": value}


def _text(element: Any) -> str:
    """The element's text as feedparser returns it: stripped, mis-decoded UTF-8 repaired, cp1252 mapped."""
    if len(element):
        raise Decline  # markup inside a text element: feedparser keeps it as escaped text
    output = (element.text or "").strip()
    if output.isascii():
        return output  # both repairs change only characters above U+007F
    try:
        output = output.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return output.translate(_cp1252)


def _resolve(uri: str) -> str:
    # No xml:base and no document address: feedparser joins against an empty base.
    return str(_urljoin("", uri))


def _leaf(element: Any, *, text: bool = True) -> None:
    """Check an element whose value is not used: no children (and no text, unless ``text``)."""
    _attributes(element)
    if len(element) or (not text and (element.text or "").strip()):
        raise Decline


def _no_attributes(element: Any) -> None:
    if element.attrib:
        raise Decline


def _attributes(element: Any) -> set[str]:
    """The element's attribute names; declines on the ones feedparser scopes (base, lang) below the root."""
    names = set(element.attrib)
    if element.getparent() is not None and names & _SCOPED:
        raise Decline
    return names


def _root_lang(root: Any) -> str | None:
    lang = root.get(_XML_LANG)
    return lang or None
