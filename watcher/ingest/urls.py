"""URL helpers: canonical article URLs for deduplication and redacted URLs for logs and errors."""

from __future__ import annotations

import logging
import re
from typing import Literal
from urllib.parse import parse_qs, unquote_plus, urljoin, urlsplit, urlunsplit

from yarl import URL

logger = logging.getLogger(__name__)

HTTP_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that identify a campaign, a click or a share, never the resource itself.
# Compared lower-cased; prefixes cover families such as utm_source / utm_medium / utm_campaign.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc",
        "__hsfp", "hsctatracking", "mkt_tok", "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp",
        "icid", "ocid", "s_cid", "spm", "share", "xtor", "ito", "soc_src", "soc_trk", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "wickedid", "rb_clickid", "guccounter", "guce_referrer",
        "guce_referrer_sig", "sr_share", "smid", "smtyp", "at_medium", "at_campaign",
    }
)  # fmt: skip
_BAD_HOST_CHARS = re.compile(r"[\s<>\"'\\^`{|}]")
TRACKING_PREFIXES = ("utm_", "ns_", "mtm_", "pk_", "piwik_", "matomo_", "at_custom")


def canonicalize(url: str, base: str | None = None) -> str | None:
    """Return the canonical form of an http(s) URL, or None when it is not one.

    Relative URLs are resolved against ``base``. The canonical form has a lower-case scheme and
    host, no userinfo, no default port, no fragment, no tracking parameters and the remaining
    query parameters sorted by name (values keep their original encoding and relative order).
    An AMP copy of a page canonicalises as the page itself (see :func:`_without_amp`), and a link
    through an AMP cache or Google's AMP viewer as the publisher's (see :func:`amp_origin`).
    """
    absolute = resolve(url, base)
    if absolute is None:
        return None
    while (origin := amp_origin(absolute)) is not None:  # each is shorter: the loop ends
        absolute = origin
    parts = urlsplit(absolute)
    host = _host(parts.hostname)
    if not host:
        return None
    port = parts.port  # resolve() has rejected malformed ports
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    # A cache's or viewer's link that amp_origin did not take keeps its path: stripped, it could become one.
    if not _amp_host(host):
        path = _without_amp(path)
    return urlunsplit((parts.scheme, netloc, path, _clean_query(parts.query), ""))


# A lone surrogate (JSON may escape one: "\ud800") is no character, and a control character (NUL from "&#0;" or
# JSON's "\u0000", which PostgreSQL refuses to store) has no place in a URL: no URL holds either. Tab, CR and LF
# are not among them: urlsplit drops them, as browsers do.
_NOT_IN_URL = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def resolve(url: str, base: str | None = None) -> str | None:
    """Resolve ``url`` against ``base``; None unless the result is an absolute http(s) URL.

    A URL with a lone surrogate or a control character other than white space in it is none.
    """
    url = url.strip()
    if not url or _NOT_IN_URL.search(url) or (base and _NOT_IN_URL.search(base)):
        return None
    try:
        absolute = urljoin(base, url) if base else url
        parts = urlsplit(absolute)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.hostname or _BAD_HOST_CHARS.search(parts.hostname):
        return None
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


# Links that only redirect to the article, named by host and path, and the query parameters that may hold the
# article's link: Google Alerts feeds wrap every link in google.com/url, Bing News in its click counter.
_REDIRECTORS = {
    ("www.google.com", "/url"): ("url", "q"),
    ("google.com", "/url"): ("url", "q"),
    ("news.google.com", "/news/url"): ("url",),
    ("www.bing.com", "/news/apiclick.aspx"): ("url",),
    ("bing.com", "/news/apiclick.aspx"): ("url",),
}


def unwrap_redirect(url: str) -> str:
    """The article link a known redirector's link carries (an absolute http(s) URL), else ``url`` itself.

    The same story reached through Google Alerts and through its outlet's own feed has one link, and the page
    fetched for its text is the article, not the redirector's. An AMP cache's or Google's AMP viewer's link
    counts as a redirector's: it serves a copy of the publisher's page (see :func:`amp_origin`).
    """
    target = _redirect_target(url) or url
    return amp_origin(target) or target


def _redirect_target(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        names = _REDIRECTORS.get(((parts.hostname or "").rstrip("."), parts.path), ())
    except ValueError:
        return None
    query = parse_qs(parts.query)
    for target in (value for name in names for value in query.get(name, [])):
        if absolute := resolve(target):
            return absolute
    return None


# AMP (Accelerated Mobile Pages) copies of an article, in the forms publishers and Google use. Only these: "amp"
# as a whole path segment or a ".amp" extension, never as part of a word (/camping/, /amp-stadium-opens), and
# nothing site-specific (an "amp." host names no rule for its non-AMP host).
#
# AMP caches serve a publisher's page at https://<host with dots as dashes>.cdn.ampproject.org/c/s/<host>/<path>
# ("v" for the viewer, "s/" for https), and Google's viewer at https://www.google.com/amp/s/<host>/<path>. Images
# and resources ("i", "r") are not pages.
_AMP_CACHE_SUFFIX = ".cdn.ampproject.org"
_AMP_CACHE_PATH = re.compile(r"/[cv]/(s/)?([^/]*\.[^/]*)(/.*)?", re.DOTALL)
_AMP_VIEWER_HOSTS = frozenset({"www.google.com", "google.com"})
_AMP_VIEWER_PATH = re.compile(r"/amp/(s/)?([^/]*\.[^/]*)(/.*)?", re.DOTALL)
# Query parameters the cache and the viewer add to the publisher's (script version, referrer, sharing state).
_AMP_VIEWER_PARAMS = frozenset(
    {"amp_js_v", "amp_gsa", "amp_tf", "amp_ct", "amp_r", "usqp", "ampshare", "aoh"}
)
# "/amp/<path>", "<path>/amp" and "<path>/amp/" (WordPress pairs "/story/" with "/story/amp/"), "<name>.amp" and
# "<name>.amp.html" (the non-AMP page is "<name>.html"). Each needs a path besides the marker: "/amp" alone is a
# site's AMP home page, which no rule maps.
_AMP_EXTENSION = re.compile(r"(.*?[^.])(?:\.amp)+(\.html?)?", re.DOTALL)
MAX_AMP_PATH_CHARS = 2048  # a longer path is left as it is: no article's is, and the work stays small
# Query parameters that ask for the AMP copy, by name and the values that do ("?amp=0" asks for the page).
_AMP_PARAMS = {"amp": frozenset({"", "1", "true"}), "outputtype": frozenset({"amp"})}


def amp_origin(url: str) -> str | None:
    """The publisher's URL of a page served through an AMP cache or Google's AMP viewer, else None.

    ``https://www-example-com.cdn.ampproject.org/c/s/www.example.com/story`` and
    ``https://www.google.com/amp/s/www.example.com/story`` are ``https://www.example.com/story``.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    if parts.scheme.lower() not in HTTP_SCHEMES or not (kind := _amp_host(host)):
        return None
    match = (_AMP_CACHE_PATH if kind == "cache" else _AMP_VIEWER_PATH).fullmatch(parts.path)
    if match is None:
        return None
    secure, origin_host, path = match.groups()
    scheme = "https" if secure else "http"
    query = "&".join(
        segment
        for segment in parts.query.split("&")
        if segment and unquote_plus(segment.split("=", 1)[0]).lower() not in _AMP_VIEWER_PARAMS
    )
    origin = urlunsplit((scheme, origin_host, path or "/", query, ""))
    # The segment must be a host: "/c/s/user@host" hides one behind userinfo.
    return None if "@" in origin_host else resolve(origin)


def _amp_host(host: str) -> Literal["cache", "viewer", ""]:
    """Whether ``host`` (lower case, no trailing dot) is an AMP cache's, the AMP viewer's, or neither ("")."""
    if host.endswith(_AMP_CACHE_SUFFIX) and len(host) > len(_AMP_CACHE_SUFFIX):
        return "cache"
    return "viewer" if host in _AMP_VIEWER_HOSTS else ""


def _without_amp(path: str) -> str:
    """``path`` (absolute) without its AMP markers: leading "amp" segments, trailing ones and ".amp" extensions of
    its last segment, all of them, so that canonicalising twice changes nothing ("/amp/story/amp/" is "/story/")."""
    if "amp" not in path or len(path) > MAX_AMP_PATH_CHARS:
        return path
    segments = path.split("/")[1:]
    slash = segments[-1] == ""
    if slash:
        segments.pop()
    words = [k for k, segment in enumerate(segments) if segment]
    first, last = 0, len(segments) - 1
    while words and first < words[-1] and segments[first] == "amp":
        first += 1
    while last >= first:
        segment = segments[last]
        if segment == "amp" and last > first and segments[last - 1]:
            last -= 1
        elif match := _AMP_EXTENSION.fullmatch(segment):
            segments[last] = match.group(1) + (match.group(2) or "")
        else:
            break
    return "/" + "/".join(segments[first : last + 1]) + ("/" if slash else "")


def redact_url(url: str) -> str:
    """The URL with its userinfo removed and every query value blanked, for logs and error text.

    Credentials travel in userinfo and API tokens in the query, so neither may reach a log line,
    the database's last_error or a metrics label.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "&".join(f"{segment.split('=', 1)[0]}=…" for segment in parts.query.split("&") if segment)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


# Query parameters whose values are credentials: shown as "…" wherever a feed URL is displayed.
SECRET_PARAMS = frozenset(
    {"token", "key", "api_key", "apikey", "access_token", "auth", "password", "secret", "sig", "signature"}
)


def display_url(url: str) -> str:
    """The URL as listings show it: no userinfo, and the values of credential parameters blanked.

    Unlike :func:`redact_url` the other query values stay, so feeds that differ by them remain
    distinguishable. Compares parameter names case-insensitively (``?Token=`` is a token too).
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if "@" not in parts.netloc and not parts.query:
        return url
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    query = "&".join(
        f"{name}=…" if unquote_plus(name).lower() in SECRET_PARAMS else segment
        for segment in parts.query.split("&")
        if segment
        for name in (segment.split("=", 1)[0],)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a known tracking parameter."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def outlet_of(url: str) -> str:
    """The name a feed without a configured outlet goes by: its URL's host."""
    return urlsplit(url).hostname or url


def _host(hostname: str | None) -> str:
    # urlsplit already lower-cases hostname; a trailing dot names the same host.
    host = (hostname or "").rstrip(".")
    return f"[{host}]" if ":" in host else host


def _clean_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for segment in query.split("&"):
        if not segment:
            continue
        name = unquote_plus(segment.split("=", 1)[0])
        if not (is_tracking_param(name) or _asks_for_amp(name, segment)):
            kept.append((name, segment))
    # A stable sort: repeated parameters (arrays) keep their relative order.
    kept.sort(key=lambda item: item[0])
    return "&".join(segment for _, segment in kept)


def _asks_for_amp(name: str, segment: str) -> bool:
    """Whether the query parameter ``segment`` (named ``name``) asks for a page's AMP copy (``amp=1``, ``amp``,
    ``outputType=amp``)."""
    values = _AMP_PARAMS.get(name.lower())
    return values is not None and unquote_plus(segment.partition("=")[2]).strip().lower() in values


def same_feed_key(url: str) -> str:
    """What makes two feed URLs the same feed: host case and script (an IDN or its punycode), a default port, a
    trailing slash and a fragment do not count. Raises ValueError for a URL that cannot be split.

    The host is the one the fetcher asks for (yarl's, IDNA 2008): "straße.de" is "xn--strae-oqa.de", another domain
    than "strasse.de" (IDNA 2003 folds the two), and an IPv6 literal keeps its brackets ("[::1]:8080" is not
    "[::1:8080]")."""
    parts = urlsplit(url)
    try:
        host = URL(url).host_subcomponent or ""
    except (ValueError, UnicodeError):
        host = (parts.hostname or "").lower()  # a name IDNA cannot encode (an over-long label): as written
    port = parts.port if parts.port not in (None, DEFAULT_PORTS.get(parts.scheme.lower())) else None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}:{parts.password or ''}@{netloc}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), parts.query, ""))


def stored_feed_key(url: str) -> str:
    """:func:`same_feed_key` of a URL already stored or checked, never raising: one that cannot be split (stored by
    an older release, or taken from a server's redirect) is its own key."""
    try:
        return same_feed_key(url)
    except ValueError:
        return url
