"""The fast path of html_to_text for simple markup gives exactly what the HTML parser gives."""

from __future__ import annotations

import tracemalloc

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


@pytest.mark.parametrize("unit", ["<a b ", "<p x="])
def test_a_long_unfinished_tag_is_read_in_memory_bounded_by_a_constant(unit: str) -> None:
    # 4 MB: the standard library's tag pattern kept about 200 bytes a character (15 MB took 3 GiB and 9 s).
    markup = "<p>lead</p>" + unit * (4_000_000 // len(unit))
    tracemalloc.start()
    try:
        assert html_to_text(markup) == "lead"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(markup)


def test_the_attributes_of_a_huge_tag_are_not_handed_to_lxml() -> None:
    # libxml2 checks each attribute against all the others: 690 KB of them took 13 s.
    tag = "<p " + " ".join(f"a{i}" for i in range(100_000)) + ">"
    assert parse._shorten_tags("x" + tag + "y" + tag) == "x<p>y<p>"
    assert parse._shorten_tags("x" + tag[:-1]) == "x"  # a tag that never ends yields no text
    assert html_to_text("<p>x</p><![x>" + tag + "y</p>") == "x\ny"
