"""Pure parts of full text: when to fetch a page, and what a page's HTML yields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.article_pages import article_page, paywall_page
from watcher.ingest.pages import SHORT_FEED_TEXT_CHARS, extract_page, wants_full_text

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
SHORT = "x" * (SHORT_FEED_TEXT_CHARS - 1)
LONG = "x" * SHORT_FEED_TEXT_CHARS


@pytest.mark.parametrize(
    ("mode", "feed_text", "candidate", "wanted"),
    [
        ("never", "", True, False),
        ("always", LONG, False, True),
        ("auto", SHORT, True, True),
        ("auto", "  a title only  ", True, True),
        ("auto", LONG, True, False),
        ("auto", SHORT, False, False),
        ("auto", "", False, False),
    ],
)
def test_wants_full_text(mode: str, feed_text: str, candidate: bool, wanted: bool) -> None:
    assert wants_full_text(mode, feed_text, candidate) is wanted  # type: ignore[arg-type]


def test_wants_full_text_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="never, auto or always"):
        wants_full_text("sometimes", "", True)  # type: ignore[arg-type]


def test_extract_an_article() -> None:
    body = article_page("A headline", "The lead paragraph of the story.", author="Ann Author", lang="en")
    extracted = extract_page(body, "https://news.example/2025/11/a", now=NOW)
    assert extracted is not None
    assert extracted.title == "A headline" and extracted.author == "Ann Author"
    assert extracted.published_at == datetime(2025, 11, 5, tzinfo=UTC)
    assert extracted.language == "en"
    assert "The lead paragraph of the story." in extracted.text and "Most read" not in extracted.text


def test_extraction_caps_the_text_and_strips_controls() -> None:
    body = article_page("T\x07itle", "Lead \x00with\x1b controls.", paragraphs=400)
    extracted = extract_page(body, "https://news.example/a", now=NOW, max_text_chars=5_000)
    assert extracted is not None
    assert len(extracted.text) <= 5_000
    assert extracted.title == "Title" and "Lead with controls." in extracted.text


def test_a_future_or_ancient_date_is_dropped() -> None:
    for published in ("2031-01-01T00:00:00Z", "1901-01-01T00:00:00Z"):
        extracted = extract_page(
            article_page("t", "lead", published=published), "https://n.example/a", now=NOW
        )
        assert extracted is not None and extracted.published_at is None


def test_a_footer_copyright_year_is_not_a_publication_date() -> None:
    extracted = extract_page(paywall_page("Paid", "Teaser."), "https://news.example/p", now=NOW)
    assert extracted is not None and extracted.published_at is None


@pytest.mark.parametrize(
    "body", [b"", b"\x00\xff\xfe", b"<html></html>", b"plain text, no markup", b"<" * 10_000]
)
def test_pages_without_text_yield_nothing(body: bytes) -> None:
    assert extract_page(body, "https://news.example/a", now=NOW) is None
