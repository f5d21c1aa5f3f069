"""Text that reads the same to a person but not, before, to matching and framing: invisible characters inside
words, what is typed for an apostrophe, lines wrapped inside a sentence, tokens of any length, capitals."""

from __future__ import annotations

import dataclasses
import re
import textwrap

import pytest

from tests.support.match_corpus import DENIES, NATO_AMMO, REPORTS
from watcher.domain import Stance
from watcher.framing import SHIPPED, explain
from watcher.match import Matcher, MatchSettings
from watcher.match.lexical import analyze_article
from watcher.text import normalize
from watcher.text.language import detect_language
from watcher.text.normalize import MAX_MARKS, MAX_WORD_CHARS, Normalizer, clean_text, light_stem
from watcher.text.sentences import split_plain_sentences

CLAIM = "NATO has surpassed Russia in ammunition production"
DENIAL = "Moscow denied that NATO has surpassed Russia in ammunition production, officials said."
BAKHMUT = "Rebels have captured the city of Bakhmut"

# Unicode's default-ignorable characters outside category Cf: the combining grapheme joiner, a variation selector
# and one of the supplement, Hangul fillers (full, halfwidth, choseong, jungseong), a Khmer inherent vowel, a
# Mongolian free variation selector; and the format characters that were dropped before.
INVISIBLE = [
    "\u034f",
    "\ufe0f",
    "\U000e0100",
    "\u3164",
    "\uffa0",
    "\u115f",
    "\u1160",
    "\u17b4",
    "\u180b",
    "\u200b",
    "\u200d",
    "\u00ad",
    "\u2060",
]


def inside_words(text: str, char: str) -> str:
    """``char`` between every two letters of ``text``."""
    return re.sub(r"(?<=[A-Za-z])(?=[A-Za-z])", char, text)


@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_inside_a_word_is_dropped(char: str) -> None:
    assert clean_text(f"NA{char}TO de{char}nied n{char}ot") == "NATO denied not"
    norm = Normalizer("en")
    assert norm.keys(clean_text(inside_words(DENIAL, char))) == norm.keys(DENIAL)


@pytest.mark.parametrize("char", ["\u034f", "\ufe0f", "\u3164"])
def test_invisible_characters_in_every_word_leave_the_stance_and_the_match_as_they_were(char: str) -> None:
    hidden = explain(CLAIM, "", inside_words(DENIAL, char), model=None)
    assert hidden.framing.stance is Stance.DISPUTES
    assert hidden.framing == explain(CLAIM, "", DENIAL, model=None).framing
    # Every word was cut in two, or made another word: the match keys were those of a text about nothing.
    masked = dataclasses.replace(
        REPORTS, title=inside_words(REPORTS.title, char), text=inside_words(REPORTS.text, char)
    )
    norm = Normalizer("en")
    assert analyze_article(masked, norm, 64).positions == analyze_article(REPORTS, norm, 64).positions
    matcher = Matcher([NATO_AMMO], MatchSettings(model=None))
    matcher.observe([DENIES])
    assert matcher.score(NATO_AMMO, masked).score == pytest.approx(matcher.score(NATO_AMMO, REPORTS).score)


@pytest.mark.parametrize("char", ["\u00ad", "\u200b", "\u034f"])
def test_invisible_characters_in_every_word_leave_the_language_as_it_was(char: str) -> None:
    # Soft hyphens made this English text Afrikaans, zero-width spaces made it unknown.
    text = f"{REPORTS.title}. {REPORTS.text}"
    assert detect_language(inside_words(text, char)) == detect_language(text) == "en"


def test_a_dropped_character_lets_a_letter_and_its_accent_compose_and_marks_apart_still_be_cut() -> None:
    assert clean_text("Pen\u200b\u0303a") == "Peña"  # one word, not "Pen" and "a" around a lone tilde
    flood = "a" + "\u0301\u034f\u0316\u034f" * 25_000  # joiners between marks of two classes, 100 KB
    assert len(clean_text(flood)) <= 1 + MAX_MARKS


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "`", "\u00b4", "\u2032", "\u02bc"])
@pytest.mark.parametrize("model", [SHIPPED, None])
def test_a_contraction_of_not_negates_whatever_is_typed_for_its_apostrophe(
    apostrophe: str, model: object
) -> None:
    # A backtick, an acute accent or a prime split "hasn`t" into "hasn" and "t": no negation, and the stance was
    # supports; U+02BC made "hasnʼt" a word that is no contraction.
    body = f"Bakhmut hasn{apostrophe}t been captured, Ukraine{apostrophe}s military said."
    framing = explain(BAKHMUT, "", body, model=model).framing  # type: ignore[arg-type]
    assert framing.stance is Stance.DISPUTES
    assert "hasn't been captured" in {cue.text for cue in framing.cues}


def test_apostrophe_stand_ins_are_read_only_between_letters() -> None:
    assert clean_text("hasn`t, won\u00b4t, Obama\u2032s") == "hasn\u2019t, won\u2019t, Obama\u2019s"
    # elsewhere they are quotes, accents and primes, read as before
    assert clean_text("a `quoted` word") == "a `quoted` word"
    assert clean_text("6\u20322 tall, 45\u2032 arc") == "6\u20322 tall, 45\u2032 arc"
    assert clean_text("\u00b4") == " \u0301"  # NFKC's reading of a lone acute accent


def test_the_modifier_letter_apostrophe_no_longer_makes_a_word_of_its_own() -> None:
    # U+02BC is a letter: "Russiaʼs" was one token, and the claim's "Russia" was not in the sentence.
    norm = Normalizer("en")
    assert "russia" in norm.keys(clean_text("Russia\u02bcs production"))
    assert clean_text("\u0441\u0456\u043c\u02bc\u044f") == "\u0441\u0456\u043c\u2019\u044f"  # as typed with ’
    assert clean_text("\u0149") == "\u2019n"  # NFKC makes U+02BC of it


@pytest.mark.parametrize(
    "text",
    [
        "NA\u034fTO hasn`t \u00b4 ﬁ \u3164 Pen\u200b\u0303a \u0149",
        "l\u2019OTAN « a surpassé » la Russie \u2026 \u1e69\u0323\u0307",
        "x" * 5_000 + "\ufe0f\u0301\u034f\u0316" * 100,
    ],
)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # Cyrillic A, T, O and e among Latin letters
        ("N\u0410\u0422\u041e d\u0435nied", "NATO denied"),
        # Cyrillic shha, Greek alpha and beta
        ("T\u04bbe \u0391\u0392C", "The ABC"),
        # Latin o, c and a in the Russian for Moscow
        ("\u041coc\u043a\u0432a", "\u041c\u043e\u0441\u043a\u0432\u0430"),
        # a Ukrainian "i" among Latin letters
        ("m\u0456sto", "misto"),
        # neither "b" nor the Cyrillic "be" has a look-alike: left alone
        ("ab\u0431", "ab\u0431"),
    ],
)
def test_a_word_of_two_scripts_is_read_in_the_one_its_look_alikes_stand_for(text: str, read: str) -> None:
    assert clean_text(text) == read


@pytest.mark.parametrize(
    "text",
    ["\u041d\u0410\u0422\u041e \u0437\u0430\u044f\u0432\u0438\u043b", "5 \u03bcg", "Caf\u00e9 \u0438 NATO"],
)
def test_words_of_one_script_are_read_as_written(text: str) -> None:
    assert clean_text(text) == text  # "НАТО" is Russian for NATO, not a spoof of it


def test_look_alike_letters_leave_the_stance_and_the_match_as_they_were() -> None:
    spoofed = DENIAL.replace("NATO", "N\u0410\u0422\u041e").replace("denied", "d\u0435nied")
    assert explain(CLAIM, "", spoofed, model=None).framing == explain(CLAIM, "", DENIAL, model=None).framing
    norm = Normalizer("en")
    assert norm.keys(clean_text(spoofed)) == norm.keys(DENIAL)


def test_a_token_longer_than_any_word_has_no_key_and_is_not_kept() -> None:
    norm = Normalizer("en")
    word = "a" * (MAX_WORD_CHARS + 1)
    assert norm.keys(f"NATO {word} {'1' * 1_000} Russia") == ["nato", "russia"]
    assert norm.key(word) is None and list(norm.key_set(word)) == []
    assert norm.key("b" * MAX_WORD_CHARS) == "b" * MAX_WORD_CHARS
    assert word not in norm._cache  # a cache entry would hold the whole token
    before = normalize._cached_stem.cache_info().currsize
    assert light_stem("x" * 10_000 + "ing") == "x" * 10_000
    assert normalize._cached_stem.cache_info().currsize == before


def test_lines_wrapped_inside_a_sentence_are_one_sentence() -> None:
    wrapped = textwrap.fill(DENIAL + " The figures show otherwise, analysts say.", 30)
    assert split_plain_sentences(wrapped) == [DENIAL, "The figures show otherwise, analysts say."]
    framing = explain(CLAIM, "", wrapped, model=None).framing
    assert framing == explain(CLAIM, "", " ".join(wrapped.split()), model=None).framing
    assert framing.stance is Stance.DISPUTES


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Breaking news\nNATO has surpassed Russia.", ["Breaking news", "NATO has surpassed Russia."]),
        ("It rose.\nanalysts said so.", ["It rose.", "analysts said so."]),  # the line before ends a sentence
        ("Key points:\nproduction rose", ["Key points:", "production rose"]),
        ("It rose,\n\nanalysts said.", ["It rose,", "analysts said."]),  # a blank line parts paragraphs
        ("  It rose by 3\n   percent  ", ["It rose by 3    percent"]),
    ],
)
def test_a_line_break_still_parts_a_heading_a_finished_sentence_and_a_paragraph(
    text: str, sentences: list[str]
) -> None:
    assert split_plain_sentences(text) == sentences


def test_many_wrapped_lines_are_joined_in_one_pass() -> None:
    assert split_plain_sentences("a\n" * 100_000) == [" ".join(["a"] * 100_000)]


@pytest.mark.parametrize(
    "body",
    [
        "RUSSIA DENIES THAT NATO HAS SURPASSED IT IN AMMUNITION PRODUCTION",
        "ＲＵＳＳＩＡ ＤＥＮＩＥＳ ＴＨＡＴ ＮＡＴＯ ＨＡＳ ＳＵＲＰＡＳＳＥＤ ＩＴ",  # fullwidth
        "NATO HAS NOT SURPASSED RUSSIA IN AMMUNITION PRODUCTION, OFFICIALS SAID.",
    ],
)
def test_capitals_and_fullwidth_letters_are_read_as_the_same_words(body: str) -> None:
    assert explain(CLAIM, "", body, model=None).framing.stance is Stance.DISPUTES
    assert explain(CLAIM.upper(), "", body, model=None).framing.stance is Stance.DISPUTES
    norm = Normalizer("en")
    assert norm.keys(clean_text(body)) == norm.keys(clean_text(body).lower())
