"""The fast path of html_to_text for simple markup gives exactly what the HTML parser gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.ingest import parse
from watcher.ingest.parse import html_to_text

FRAGMENTS = st.sampled_from(
    [
        "<p>", "</p>", "<P >", "</P\n>", "<br/>", "<br />", "<BR>", "<img src=\"x.jpg\" alt='a'/>", "<a href=x>",
        "<a href=x/>", "</a>", "<div class=\"c\">", "</div>", "<li>", "text", " ", "\n", "&amp;", "&nbsp;",
        "&#8220;", "&am", "&", ";", "<", ">", "<!-- c -->", "<script>x</script>", "<style>a</style>", "<svg>",
        "<title>", "é", "\x0b", "<a\x0bb>", "<3", "</>", "<!DOCTYPE x>", "word", "x" * 40, "&copy", "<p/>",
        "<a b=\"<\">", "<x-y>", "</ p>", "&#12", "<textarea>", "<noscript>",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(FRAGMENTS, max_size=30), limit=st.sampled_from([5, 40, 500, 20_000]))
def test_html_to_text_simple_path_matches_the_parser(parts: list[str], limit: int) -> None:
    markup = "".join(parts)
    fast = html_to_text(markup, limit)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(parse, "_simple_html_parts", lambda markup, limit: None)
        assert fast == html_to_text(markup, limit)
