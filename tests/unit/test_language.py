"""Language detection: right on short news titles, silent when unsure, never over the declared language."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.text.language import article_language, detect_language

TITLES = Path(__file__).parent.parent / "data" / "news_titles.tsv"


def _titles() -> list[tuple[str, str]]:
    rows = [line.split("\t", 1) for line in TITLES.read_text("utf-8").splitlines() if line]
    return [(language, title) for language, title in rows]


def test_short_news_titles_in_eleven_languages() -> None:
    titles = _titles()
    wrong = [(language, title, detect_language(title)) for language, title in titles]
    wrong = [row for row in wrong if row[0] != row[2]]
    # A wrong answer is worse than none: allow a few abstentions but no confident mistakes.
    assert all(found is None for _, _, found in wrong), wrong
    assert len(wrong) <= 2, wrong


@pytest.mark.parametrize(
    "text", ["", "Trump", "Live updates", "12:30 — 14:00", "Sport", "COVID-19", "Photos"]
)
def test_too_little_text_says_nothing(text: str) -> None:
    assert detect_language(text) is None


def test_the_floor_is_adjustable() -> None:
    title = "Breaking news from the capital"
    assert detect_language(title, min_confidence=0.0) == "en"
    assert detect_language(title, min_confidence=1.01) is None


def test_long_text_is_sampled() -> None:
    assert detect_language("Der Bundestag hat heute beschlossen, dass " * 5_000) == "de"


def test_declared_language_wins_then_detection_then_the_fallback() -> None:
    german = "Die Bundesregierung einigt sich auf einen neuen Haushalt"
    assert article_language("fr-FR", german, "en") == "fr"
    assert article_language(None, german, "en") == "de"
    assert article_language("und", german, "en") == "de"
    assert article_language(None, "Trump", "en") == "en"
    assert article_language(None, "Trump", "und") is None
