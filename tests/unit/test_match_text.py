"""Text normalisation for matching: tokens, numbers, lemmas per language, sentences."""

from __future__ import annotations

import logging

import pytest

from watcher.match.text import (
    Normalizer,
    article_language,
    guess_language,
    lemma_language,
    number_key,
    split_sentences,
    tokens,
)


def test_tokens_keep_numbers_whole_and_split_words_at_punctuation() -> None:
    assert tokens("Kim Jong-un's 1,500 shells (3.5%)") == ["Kim", "Jong", "un", "s", "1,500", "shells", "3.5"]


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("1,000,000", "1000000"),
        ("1.000.000", "1000000"),
        ("1000000", "1000000"),
        ("3,5", "3.5"),
        ("2025", "2025"),
    ],
)
def test_number_key_is_the_value_whatever_the_grouping(written: str, key: str) -> None:
    assert number_key(written) == key


def test_english_keys_are_lemmas_without_stopwords() -> None:
    norm = Normalizer("en")
    assert norm.keys("NATO has surpassed Russia in ammunition production") == [
        "nato",
        "surpass",
        "russia",
        "ammunition",
        "production",
    ]
    assert norm.key_set("Shells were produced") == {"shell", "produce"}


def test_french_inflections_meet_on_one_lemma() -> None:
    # French: its dictionary loads in a fraction of a second, unlike German or Polish.
    norm = Normalizer("fr")
    assert norm.key_set("Les alliés produisaient des obus") == norm.key_set("allié produire obus")
    assert "les" not in norm.key_set("les obus")


def test_accents_are_folded_so_spellings_meet() -> None:
    assert Normalizer("xx").key("Peña") == Normalizer("xx").key("PENA") == "pena"


def test_unknown_language_falls_back_to_the_words_as_written(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="watcher.match.text")
    assert lemma_language("tlh-Latn") is None
    assert Normalizer("tlh").keys("Qapla' batlh") == ["qapla", "batlh"]
    assert lemma_language("en-GB") == "en"
    assert lemma_language("und") is None


def test_article_language_uses_the_default_when_undetermined() -> None:
    assert article_language("und", "en") == "en"
    assert article_language(None, "de") == "de"
    assert article_language("pt-BR", "en") == "pt"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("NATO has surpassed Russia in ammunition production", "en"),
        ("Die NATO hat Russland bei der Munitionsproduktion überholt", "de"),
        ("L'OTAN a dépassé la Russie dans la production de munitions", "fr"),
        ("НАТО обогнало Россию по производству боеприпасов, и это важно", "ru"),
        ("Xyzzy plugh", "en"),
    ],
)
def test_guess_language_of_a_claim(text: str, lang: str) -> None:
    assert guess_language(text, "en") == lang


def test_split_sentences_handles_abbreviations_and_whitespace() -> None:
    text = "Mr. Stoltenberg spoke on Tuesday.\n\nOutput  rose\nsharply. Did it?"
    assert split_sentences(text, "en") == [
        "Mr. Stoltenberg spoke on Tuesday.",
        "Output rose sharply.",
        "Did it?",
    ]
    assert split_sentences("Erste Aussage. Zweite Aussage.", "xx") == ["Erste Aussage.", "Zweite Aussage."]
