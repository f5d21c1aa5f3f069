"""The text toolkit: tokens, numbers, lemmas and light stems, stopwords, sentences, language."""

from __future__ import annotations

import logging

import pytest

from watcher.text.language import analysis_language, claim_language, lemma_language
from watcher.text.normalize import Normalizer, clean_text, light_stem, number_key
from watcher.text.sentences import split_plain_sentences, split_sentences
from watcher.text.stopwords import ENGLISH_CORE, stopwords
from watcher.text.tokens import clause_tokens, tokens


def test_tokens_keep_numbers_whole_and_split_words_at_punctuation() -> None:
    assert tokens("Kim Jong-un's 1,500 shells (3.5%)") == ["Kim", "Jong", "un", "s", "1,500", "shells", "3.5"]


def test_clause_tokens_keep_inner_punctuation_and_clause_breaks() -> None:
    assert clause_tokens("Kim Jong-un’s so-called 1,500 shells (denied)?") == [
        "Kim",
        "Jong-un's",
        "so-called",
        "1",
        ",",
        "500",
        "shells",
        "(",
        "denied",
        ")",
        "?",
    ]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("surpassed", "surpass"),
        ("Surpasses", "surpass"),
        ("NATO's", "nato"),
        ("uses", "uses"),
        ("sing", "sing"),
    ],
)
def test_light_stem_strips_one_suffix_where_four_letters_remain(word: str, stem: str) -> None:
    assert light_stem(word) == stem


def test_matching_and_framing_keep_their_own_english_stopwords() -> None:
    assert "according" in stopwords("en") and "according" not in ENGLISH_CORE
    assert "it's" in ENGLISH_CORE
    assert stopwords("tlh") == frozenset()


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


def test_the_country_abbreviated_is_a_key_and_the_pronoun_is_not() -> None:
    norm = Normalizer("en")
    assert tokens("U.S.-Mexico border, U.S.Global, R.I.P.") == [
        "U.S.",
        "Mexico",
        "border",
        "U.S",
        "Global",
        "R.I.P.",
    ]
    assert norm.keys("The U.S. and the US, the U.K., the UN and the EU, and us") == [
        "us",
        "us",
        "uk",
        "un",
        "eu",
    ]
    assert norm.keys("D.C. police") == ["dc", "police"]


def test_an_english_demonym_is_its_countrys_key() -> None:
    norm = Normalizer("en")
    assert norm.keys("Mexican police arrest Nigerians in Mexico") == [
        "mexico",
        "police",
        "arrest",
        "nigeria",
        "mexico",
    ]
    assert norm.keys("Syrians, Iraqis and the French") == ["syria", "iraq", "france"]
    assert norm.keys("Filipino nurses, Europeans, a Saudi prince") == [
        "philippines",
        "nurse",
        "europe",
        "saudi",
        "prince",
    ]
    # words that name much else besides keep their own key
    assert norm.keys("American and British officials") == ["american", "british", "official"]
    # other languages keep theirs
    assert Normalizer("fr").keys("les Mexicains du Mexique") == ["mexicain", "mexique"]


def test_english_number_words_from_two_to_ninety_are_their_figures() -> None:
    norm = Normalizer("en")
    assert norm.keys("Four dead, twelve hurt, 4 missing; ninety shells") == [
        "4",
        "dead",
        "12",
        "hurt",
        "4",
        "miss",
        "90",
        "shell",
    ]
    # "one" is mostly a pronoun; other languages keep their words
    assert norm.keys("no one came") == ["come"]
    assert Normalizer("fr").keys("quatre obus") == ["quatre", "obus"]


def test_english_headline_abbreviations_are_the_words_spelled_out() -> None:
    norm = Normalizer("en")
    assert norm.keys("Gov. Cuomo signs $1.5bn deal") == norm.keys("Governor Cuomo signs 1.5 billion deal")
    assert norm.keys("govt, Sen., Pres., Dept., intl, 3tn, 4 pct") == [
        "government",
        "senator",
        "president",
        "department",
        "international",
        "3",
        "trillion",
        "4",
        "percent",
    ]


def test_french_inflections_meet_on_one_lemma() -> None:
    # French: its dictionary loads in a fraction of a second, unlike German or Polish.
    norm = Normalizer("fr")
    assert norm.key_set("Les alliés produisaient des obus") == norm.key_set("allié produire obus")
    assert "les" not in norm.key_set("les obus")


def test_accents_are_folded_so_spellings_meet() -> None:
    assert Normalizer("xx").key("Peña") == Normalizer("xx").key("PENA") == "pena"


def test_unknown_language_falls_back_to_the_words_as_written(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="watcher.text.language")
    assert lemma_language("tlh-Latn") is None
    assert Normalizer("tlh").keys("Qapla' batlh") == ["qapla", "batlh"]
    assert lemma_language("en-GB") == "en"
    assert lemma_language("und") is None


def test_analysis_language_uses_the_default_when_undetermined() -> None:
    assert analysis_language("und", "en") == "en"
    assert analysis_language(None, "de") == "de"
    assert analysis_language("pt-BR", "en") == "pt"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("NATO has surpassed Russia in ammunition production", "en"),
        ("Die NATO hat Russland bei der Munitionsproduktion überholt", "de"),
        ("L'OTAN a dépassé la Russie dans la production de munitions", "fr"),
        ("НАТО обогнало Россию по производству боеприпасов, и это важно", "ru"),
        ("Pentagon confirms al-Shabab commander killed in Somalia", "en"),
        ("Xyzzy plugh", "en"),
    ],
)
def test_claim_language_is_detected_with_a_floor(text: str, lang: str) -> None:
    assert claim_language(None, text, "en") == lang


def test_claim_language_declared_wins_and_unsure_falls_back_to_the_default() -> None:
    assert claim_language("de", "NATO has surpassed Russia in ammunition production", "en") == "de"
    assert claim_language(None, "Xyzzy plugh", "uk") == "uk"


def test_lemma_language_is_capped_by_the_allowed_languages() -> None:
    assert lemma_language("pl", allowed={"en", "de"}) is None
    assert lemma_language("de", allowed={"en", "de"}) == "de"


def test_split_sentences_handles_abbreviations_and_whitespace() -> None:
    text = "Mr. Stoltenberg spoke on Tuesday.\n\nOutput  rose\nsharply. Did it?"
    assert split_sentences(text, "en") == [
        "Mr. Stoltenberg spoke on Tuesday.",
        "Output rose sharply.",
        "Did it?",
    ]
    assert split_sentences("Erste Aussage. Zweite Aussage.", "xx") == ["Erste Aussage.", "Zweite Aussage."]


def test_plain_sentences_split_on_lines_and_before_capitals() -> None:
    text = 'Mr. Smith said "It grew." then left.\nOutput  rose. 2025 was a record! (And more.)'
    assert split_plain_sentences(text) == [
        'Mr. Smith said "It grew." then left.',
        "Output  rose.",
        "2025 was a record!",
        "(And more.)",
    ]


def test_plain_sentences_do_not_end_at_an_abbreviation_or_an_initial() -> None:
    text = (
        "An earlier version incorrectly said the U.S. Food and Drug Administration had approved it; a decision is "
        "due by Dec. 8. Gen. Smith met Mr. Jones at No. 10 Downing St. On Monday the U.N. Security Council met. "
        "Sales rose 5 percent. It was a record."
    )
    assert split_plain_sentences(text) == [
        "An earlier version incorrectly said the U.S. Food and Drug Administration had approved it; a decision is "
        "due by Dec. 8.",
        "Gen. Smith met Mr. Jones at No. 10 Downing St. On Monday the U.N. Security Council met.",
        "Sales rose 5 percent.",
        "It was a record.",
    ]
    # A single capital ends a sentence ("Plan B.", "Gen Z."), and so do the answer "No." and lower-case words.
    assert split_plain_sentences(
        "There was no Plan B. Then they left. Will it move? No. 2028 is the target."
    ) == [
        "There was no Plan B.",
        "Then they left.",
        "Will it move?",
        "No.",
        "2028 is the target.",
    ]
    assert split_plain_sentences("They said no. Then it was gen. Z.") == [
        "They said no.",
        "Then it was gen.",
        "Z.",
    ]


def test_clean_text_drops_format_characters_and_applies_nfkc() -> None:
    assert clean_text("NA\u00adTO NA\u200bTO NA\u2060TO \u202eexe\u202c \ufeffx") == "NATO NATO NATO exe x"
    assert clean_text("ＮＡＴＯ ﬁnance") == "NATO finance"
    assert clean_text("plain ASCII stays") == "plain ASCII stays"
    # Visible non-ASCII text is untouched.
    assert clean_text("Peña, Київ, 東京") == "Peña, Київ, 東京"
