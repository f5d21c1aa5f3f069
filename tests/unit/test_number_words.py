"""Compound number words ("twenty-two", "Twenty Two") are one figure in the matcher's keys, claims' and articles'."""

from __future__ import annotations

import pytest

from tests.support.match_corpus import BACKGROUND, article
from watcher.domain import Claim
from watcher.match import Matcher, MatchSettings
from watcher.match.lexical import compile_claim
from watcher.text.normalize import Normalizer, clean_text, compound_number_key
from watcher.text.tokens import tokens

LEXICAL = MatchSettings(model=None)


@pytest.mark.parametrize(
    "written",
    [
        "twenty-two",
        "twenty two",
        "Twenty-Two",
        "TWENTY-TWO",
        "twenty\u2011two",  # non-breaking hyphen (NFKC makes it a hyphen, U+2010)
        "twenty\u2010two",
        "twenty\u2013two",  # en dash
        "twenty\u00a0two",
        "twenty  two",
    ],
)
def test_a_tens_word_and_a_unit_word_are_one_figure(written: str) -> None:
    text = clean_text(f"{written} bodies")
    assert Normalizer("en").keys(text) == ["22", "body"]
    assert list(Normalizer("en").key_set(text)) == ["22", "body"]
    assert tokens(text)[0] == text.removesuffix(" bodies")


def test_every_compound_from_twenty_one_to_ninety_nine() -> None:
    norm = Normalizer("en")
    tens = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
    units = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    for t, ten in enumerate(tens, start=2):
        for u, unit in enumerate(units, start=1):
            assert norm.keys(f"{ten}-{unit}") == [str(t * 10 + u)]
    # "one" alone stays a pronoun with no key; after a tens word it is a number
    assert norm.keys("no one came; twenty-one came") == ["come", "21", "come"]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("twenty\u2014two", ["20", "2"]),  # an em dash bounds a clause
        ("twenty\ntwo", ["20", "2"]),  # a line break is layout
        ("twenty" + " " * 5 + "two", ["20", "2"]),
        ("twenty, two", ["20", "2"]),
        ("twentytwo", ["twentytwo"]),
        ("twenty-twos", ["20", "two"]),
        ("Four dead, twelve hurt, twenty missing", ["4", "dead", "12", "hurt", "20", "miss"]),
        ("two-thirds", ["2", "third"]),
    ],
)
def test_other_number_words_read_as_before(text: str, keys: list[str]) -> None:
    assert Normalizer("en").keys(text) == keys


def test_a_compound_is_its_figure_in_any_language() -> None:
    # A token has one key; "twenty-two" in any text can only be the number.
    assert Normalizer("fr").keys("vingt-deux, twenty-two") == ["vingt", "deux", "22"]
    assert compound_number_key("Ninety-Nine") == "99"
    assert compound_number_key("ninety") is None
    assert compound_number_key("nine") is None


def test_a_claims_figure_matches_an_articles_compound_number_words() -> None:
    claim = Claim(id=41, name="iguala", text="Police find 22 bodies in a mass grave near Iguala")
    other = Claim(id=42, name="iguala-nine", text="Police find 9 bodies in a mass grave near Iguala")
    body = "Police found {} bodies in a mass grave near Iguala, the state prosecutor said on Sunday."
    spelled, written = article(41, "", body.format("twenty-two")), article(42, "", body.format("22"))
    matcher = Matcher([claim, other], LEXICAL)
    matcher.observe(BACKGROUND)
    found = matcher.score(claim, spelled)
    assert found.matched
    # the article in words scores as the one in figures, and better for 22 than for another figure
    assert found.score == pytest.approx(matcher.score(claim, written).score)
    assert found.score > matcher.score(other, spelled).score
    # and the other way round: a claim in words compiles to the figure
    in_words = Claim(
        id=43, name="iguala-words", text="Police find twenty-two bodies in a mass grave near Iguala"
    )
    assert compile_claim(in_words, "en").terms == compile_claim(claim, "en").terms
    assert matcher.score(in_words, written).score == pytest.approx(found.score)
