"""Canonical article URLs and redacted URLs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.ingest.urls import canonicalize, display_url, is_tracking_param, redact_url, resolve

BASE = "https://feeds.example.org/world/rss.xml"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/A/B/", "https://example.com/A/B/"),  # paths are case-sensitive
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
    ],
)
def test_canonicalize_normalises_scheme_host_port_and_fragment(url: str, expected: str) -> None:
    assert canonicalize(url) == expected


def test_canonicalize_drops_tracking_parameters_and_sorts_the_rest() -> None:
    url = (
        "https://example.com/story?utm_source=rss&utm_medium=feed&UTM_Campaign=x&z=1&fbclid=a&gclid=b"
        "&mc_cid=c&mc_eid=d&igshid=e&ref=f&cmpid=g&ns_mchannel=h&_ga=i&a=2&m=%20x+y"
    )
    assert canonicalize(url) == "https://example.com/story?a=2&m=%20x+y&z=1"


def test_canonicalize_keeps_the_order_of_repeated_parameters() -> None:
    assert canonicalize("https://example.com/?tag=b&id=1&tag=a") == "https://example.com/?id=1&tag=b&tag=a"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/local/story", "https://feeds.example.org/local/story"),
        ("story", "https://feeds.example.org/world/story"),
        ("../up", "https://feeds.example.org/up"),
        ("//cdn.example.net/x", "https://cdn.example.net/x"),
        ("  https://other.example/x  ", "https://other.example/x"),
    ],
)
def test_canonicalize_resolves_relative_links_against_the_feed(url: str, expected: str) -> None:
    assert canonicalize(url, BASE) == expected


@pytest.mark.parametrize(
    "url",
    ["", "   ", "javascript:alert(1)", "mailto:desk@example.com", "ftp://example.com/a", "https://",
     "http://bad host/", "https://example.com:99999/", "urn:uuid:1234"],
)  # fmt: skip
def test_canonicalize_rejects_what_is_not_an_http_url(url: str) -> None:
    assert canonicalize(url) is None


def test_resolve_keeps_the_link_as_published() -> None:
    assert resolve("/a?utm_source=x#f", BASE) == "https://feeds.example.org/a?utm_source=x#f"
    assert resolve("data:text/html,hi", BASE) is None


def test_tracking_parameter_names() -> None:
    assert is_tracking_param("utm_content")
    assert is_tracking_param("FBCLID")
    assert not is_tracking_param("id")
    assert not is_tracking_param("page")


def test_redact_url_removes_credentials_and_query_values() -> None:
    redacted = redact_url("https://alice:s3cret@feeds.example.org:8443/rss?token=abc123&page=2#top")
    assert redacted == "https://feeds.example.org:8443/rss?token=…&page=…"
    assert "s3cret" not in redacted and "alice" not in redacted and "abc123" not in redacted


def test_redact_url_survives_garbage() -> None:
    assert redact_url("http://[broken") == "<invalid URL>"


_segments = st.text(alphabet="abcXYZ09-_.~%", min_size=0, max_size=8)
_params = st.lists(
    st.tuples(st.sampled_from(["a", "b", "utm_source", "fbclid", "ref", "id", "Z"]), _segments), max_size=6
)


@settings(max_examples=100, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}(\.[a-zA-Z]{2,5}){1,2}", fullmatch=True),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    path=st.lists(_segments, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    params=_params,
    fragment=st.sampled_from(["", "#x", "#!/route"]),
)
def test_canonicalize_is_idempotent_and_drops_tracking(
    scheme: str, host: str, port: str, path: str, params: list[tuple[str, str]], fragment: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host}{port}{path}{'?' + query if query else ''}{fragment}"
    once = canonicalize(url)
    assert once is not None
    assert canonicalize(once) == once
    assert "utm_source" not in once and "fbclid" not in once and "#" not in once
    assert once.split("://", 1)[1].split("/", 1)[0] == once.split("://", 1)[1].split("/", 1)[0].lower()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@example.org/rss?token=t&page=2", "https://example.org/rss?token=…&page=2"),
        (
            "https://example.org:8443/rss?Api_Key=1&apikey=2&key=3",
            "https://example.org:8443/rss?Api_Key=…&apikey=…&key=…",
        ),
        (
            "https://e.org/?access_token=a&auth=b&password=c&secret=d&sig=e&signature=f",
            "https://e.org/?access_token=…&auth=…&password=…&secret=…&sig=…&signature=…",
        ),
        ("https://example.org/rss?lang=en", "https://example.org/rss?lang=en"),
        ("https://example.org/rss", "https://example.org/rss"),
        ("https://user@[::1]:80/x", "https://[::1]:80/x"),
    ],
)
def test_display_url_hides_userinfo_and_credential_values(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_same_feed_key_reads_hosts_as_the_fetcher_asks_for_them() -> None:
    from watcher.ingest.urls import same_feed_key

    # One feed: host case and script, a default port, a trailing slash, a fragment.
    assert same_feed_key("https://Example.COM:443/rss/#top") == same_feed_key("https://example.com/rss")
    assert same_feed_key("http://müller.de/feed") == same_feed_key("http://xn--mller-kva.de/feed/")
    # Two feeds: IDNA 2008 keeps "ß" ("straße.de" is xn--strae-oqa.de, another domain than strasse.de), and an IPv6
    # literal keeps its brackets.
    assert same_feed_key("https://straße.de/rss") != same_feed_key("https://strasse.de/rss")
    assert same_feed_key("https://[::1]:8080/rss") != same_feed_key("https://[::1:8080]/rss")


@pytest.mark.parametrize(
    "url",
    ["https://x.example/a\x00b", "https://x.example/a\x01b", "https://x.example/a\x1fb", "https://x.example/a\x7fb",
     "/a\x00b", "https://x.example/?q=\x00"],
)  # fmt: skip
def test_a_url_with_a_control_character_is_none(url: str) -> None:
    # NUL (RSS "&#0;", JSON "\u0000") reached article URLs and keys, and PostgreSQL refuses to store it.
    assert resolve(url, BASE) is None
    assert canonicalize(url, BASE) is None


def test_a_base_with_a_control_character_resolves_nothing() -> None:
    assert resolve("/a", "https://x.example/\x00/") is None


def test_tab_and_newline_in_a_url_are_dropped_not_refused() -> None:
    assert resolve("https://x.example/a\n\tb", BASE) == "https://x.example/ab"
