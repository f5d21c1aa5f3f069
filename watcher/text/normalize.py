"""Normalisation: clean text, match keys (lemma, casefold, accents stripped), number keys, and framing's light stems."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, KeysView
from functools import lru_cache

import simplemma

from watcher.text.demonyms import DEMONYMS
from watcher.text.language import lemma_language
from watcher.text.stopwords import stopwords
from watcher.text.tokens import COMPOUND_NUMBER, TENS_WORDS, UNIT_WORDS, tokens

_GROUPED = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+")
# Capitalised abbreviations whose lower case is a function word: a key of their own, never a stopword.
ACRONYMS = frozenset({"US", "UK", "UN", "EU"})
# English number words from two to ninety, keyed as their figures: headlines write "4 more graves", the
# story below "four more graves" (news style spells out one to nine). "one" is left out: it is mostly a
# pronoun ("no one", "one of them"), yet not after a tens word: "twenty-one" is 21, "twenty-two" 22
# (compound_number_key).
_UNITS = UNIT_WORDS[1:]
_TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
NUMBER_WORDS = {
    **{word: str(n) for n, word in enumerate(_UNITS, start=2)},
    **{word: str(n) for n, word in enumerate(_TEENS, start=10)},
    **{word: str(n) for n, word in enumerate(TENS_WORDS, start=2) for n in (n * 10,)},
}
_UNIT_VALUES = {word: n for n, word in enumerate(UNIT_WORDS, start=1)}
_NOT_LETTERS = re.compile("[^a-z]+")
# English headline abbreviations, keyed as the words the story below spells out ("$1.5bn" and "1.5 billion",
# "Gov. Cuomo" and "Governor Cuomo").
ABBREVIATIONS = {
    "bn": "billion",
    "tn": "trillion",
    "mn": "million",
    "pct": "percent",
    "gov": "governor",
    "govt": "government",
    "sen": "senator",
    "pres": "president",
    "dept": "department",
    "intl": "international",
}
# Cached keys per language; news vocabulary is large but bounded, and a reset is cheap.
_MAX_CACHE = 200_000
# The longest token that has a key: longer than any word of the lemmatiser's dictionaries (English's longest has
# 183 letters). A longer run of letters or digits is no word, and would match nothing but itself; yet the caches
# here and in the lemmatiser keep each token whole, and articles of long unique tokens held hundreds of megabytes.
MAX_WORD_CHARS = 200


# A character carries at most this many combining marks (Unicode's stream-safe format allows 30): NFKC sorts a
# run of marks out of canonical order in quadratic time (50,000 alternating marks took seconds), and no script
# needs more. Texts up to MARKS_CHECKED_FROM characters are not looked at: at worst they cost milliseconds.
MAX_MARKS = 30
MARKS_CHECKED_FROM = 4096
# Unicode's default-ignorable code points that are no format character (those are all dropped): the combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation selectors, variation selectors, and the
# unassigned code points Unicode sets aside for more of them. They render as nothing, and a reader no more sees one
# inside a word than a zero-width space; yet they would make two words of "NA\u034fTO", another word of "Mu\u3164sk".
IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]"
)
# What is typed for an apostrophe between two letters: a backtick, an acute accent, a prime ("hasn`t", "Obama\u2032s").
# Read as the typographic apostrophe, so that a contraction of "not" negates whichever was typed.
_APOSTROPHE_LIKE = re.compile("(?<=[^\\W\\d_])[`\u00b4\u2032](?=[^\\W\\d_])")
# The modifier letter apostrophe is a letter: left as it is, "Russia\u02bcs" is one word, never "Russia".
MODIFIER_APOSTROPHE = "\u02bc"
# Cyrillic and Greek letters that look like a Latin letter, and Latin letters that look like a Cyrillic one. A word
# that mixes Latin letters with Cyrillic or Greek ones is spelt to deceive ("N\u0410\u0422\u041e" with three
# Cyrillic letters, "d\u0435nied" with a Cyrillic "e") or typed on the wrong keyboard layout (a Latin "o" in a
# Russian word): its letters are read in one script where all of the others have a look-alike in it (_one_script).
_LATIN_LOOKALIKES = dict(
    zip(
        "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0405\u0406\u0408\u04ae"
        "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04bb\u04cf\u0501\u051b\u051d"
        "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
        "\u03bf\u03b9\u03bd\u03c1",
        "ABEKMHOPCTXSIJYaeopcyxijshldqwABEZHIKMNOPTYXoivp",
        strict=True,
    )
)
_CYRILLIC_LOOKALIKES = dict(
    zip(
        "ABEKMHOPCTXaeopcyxi",
        "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425"
        "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456",
        strict=True,
    )
)
_TO_LATIN = str.maketrans(_LATIN_LOOKALIKES)
_TO_CYRILLIC = str.maketrans(_CYRILLIC_LOOKALIKES)
_CYRILLIC_OR_GREEK = re.compile("[\u0370-\u03ff\u0400-\u052f]")
# A word with both a Latin letter and a Cyrillic or Greek one. Tried at the start of a word only, and each look-ahead
# reads to its end at most: linear in the text.
_MIXED_WORD = re.compile(
    "(?<![^\\W\\d_])(?=[^\\W\\d_]*[A-Za-z])(?=[^\\W\\d_]*[\u0370-\u03ff\u0400-\u052f])[^\\W\\d_]+"
)


@lru_cache(maxsize=1)
def _mark_runs() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Runs of more than MAX_MARKS combining characters (a non-zero canonical combining class, or a
    decomposition that begins with one; none lies outside U+0300..U+1FFFF): those of the Basic Multilingual
    Plane alone, and all of them (a character set with code points above U+FFFF is matched several times
    slower). Built on first use."""
    ranges: list[list[int]] = []
    for point in range(0x300, 0x20000):
        # Also the few of class 0 that decompose into marks (U+0F73, U+FF9E): NFKC sorts those too.
        if unicodedata.combining(unicodedata.normalize("NFKD", chr(point))[0]):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])

    def runs(chosen: list[list[int]]) -> re.Pattern[str]:
        marks = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in chosen)
        return re.compile(f"[{marks}]{{{MAX_MARKS + 1},}}")

    return runs([r for r in ranges if r[1] <= 0xFFFF]), runs(ranges)


def _cap_marks(text: str) -> str:
    """``text`` with every run of combining marks cut to MAX_MARKS."""
    basic, every = _mark_runs()
    # UTF-16 takes two units for a code point above U+FFFF: the cheapest test for one.
    runs = every if len(text.encode("utf-16-le", "surrogatepass")) > 2 * len(text) else basic
    return runs.sub(lambda run: run.group()[:MAX_MARKS], text)


def clean_text(text: str) -> str:
    """Text as matching and framing read it: NFKC-normalised, invisible characters dropped, runs of combining
    marks cut to MAX_MARKS, what is typed for an apostrophe inside a word read as one ("hasn`t"), and a word
    that mixes Latin letters with Cyrillic or Greek look-alikes read in one script.

    Soft hyphens, zero-width spaces and joiners, word joiners, bidi controls, the combining grapheme joiner,
    variation selectors and Hangul fillers are invisible on the page, yet they split words: "NA\u00adTO" and
    "NA\u034fTO" must read as "NATO", in claims and articles alike.
    """
    if text.isascii():
        return _APOSTROPHE_LIKE.sub("\u2019", text) if "`" in text else text
    # Dropped before NFKC, so that a letter and its accent compose across a dropped character, and a flood of
    # marks that invisible characters kept apart is still cut.
    text = drop_invisible(text)
    if len(text) > MARKS_CHECKED_FROM:
        text = _cap_marks(text)
    # Before NFKC, which makes an acute accent a space and a combining mark.
    if "`" in text or "\u00b4" in text or "\u2032" in text:
        text = _APOSTROPHE_LIKE.sub("\u2019", text)
    # NFKC makes nothing invisible of a visible character (of U+0149 it makes U+02BC and a letter).
    text = unicodedata.normalize("NFKC", text)
    if MODIFIER_APOSTROPHE in text:
        text = text.replace(MODIFIER_APOSTROPHE, "\u2019")
    return _MIXED_WORD.sub(_one_script, text) if _CYRILLIC_OR_GREEK.search(text) else text


def _one_script(word: re.Match[str]) -> str:
    """A word of Latin and Cyrillic or Greek letters in one script: Latin where each of its other letters looks like a
    Latin one, else Cyrillic where its other letters are Cyrillic and each Latin one looks like a Cyrillic one."""
    text = word.group()
    others = {c for c in text if not c.isascii()}
    if others <= _LATIN_LOOKALIKES.keys():
        return text.translate(_TO_LATIN)
    if (
        all("\u0400" <= c <= "\u052f" for c in others)
        and {c for c in text if c.isascii()} <= _CYRILLIC_LOOKALIKES.keys()
    ):
        return text.translate(_TO_CYRILLIC)
    return text


def drop_invisible(text: str) -> str:
    """``text`` without its invisible characters: format characters (Unicode category Cf) and IGNORABLE."""
    if text.isascii():
        return text
    # Look each distinct character up once, not each occurrence: a news text has few of them.
    drop = {ord(c): None for c in set(text) if not c.isascii() and _invisible(c)}
    return text.translate(drop) if drop else text


def _invisible(char: str) -> bool:
    """Whether ``char`` is default-ignorable: a format character (Unicode category Cf) or one of IGNORABLE."""
    return unicodedata.category(char) == "Cf" or IGNORABLE.match(char) is not None


def _fold(word: str) -> str:
    """Casefold and strip accents, so that "Peña" and "Pena" meet across spellings."""
    folded = word.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Normalizer:
    """Maps the tokens of one language to match keys: lemma, casefolded, accents stripped.

    Stopwords and one-letter words have no key. Keys are cached per token, since a news stream
    repeats the same few thousand words and lemmatisation would otherwise dominate the cost of
    the lexical stage.
    """

    __slots__ = ("_cache", "_lemma_lang", "_stop", "lang")

    def __init__(self, lang: str, allowed: Collection[str] | None = None) -> None:
        """:param allowed: languages whose lemmatiser may be loaded (see ``lemma_language``); None: any."""
        self.lang = lang
        self._lemma_lang = lemma_language(lang, allowed)
        self._stop = stopwords(lang)
        self._cache: dict[str, str] = {}  # token -> key, "" for no key

    def key(self, token: str) -> str | None:
        """The match key of one token, None for a token that does not count."""
        found = self._cache.get(token)
        if found is None:
            found = self._learn(token)
        return found or None

    def keys(self, text: str) -> list[str]:
        """The match keys of ``text`` in order, stopwords left out."""
        words = tokens(text)
        cache = self._cache
        found = [cache.get(w) for w in words]
        if None in found:
            found = [k if k is not None else self._learn(w) for w, k in zip(words, found, strict=True)]
        return [k for k in found if k]

    def key_set(self, text: str) -> KeysView[str]:
        """The distinct match keys of ``text`` in the order they first occur (the common case, and faster than
        :meth:`keys`). Ordered, not a set: what is summed over them (an article's norm) then adds up the same
        in every process, whatever the string hash seed."""
        words = tokens(text)
        found = dict.fromkeys(map(self._cache.get, words))
        if None in found:
            found = dict.fromkeys(map(self.key, words))
        found.pop(None, None)
        found.pop("", None)
        return found.keys()  # type: ignore[return-value]

    def _learn(self, token: str) -> str:
        if len(token) > MAX_WORD_CHARS:
            return ""  # not cached: see MAX_WORD_CHARS
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        key = self._compute(token) or ""
        self._cache[token] = key
        return key

    def _compute(self, token: str) -> str | None:
        if token[0].isdigit():
            return number_key(token)
        # In any language: the token is English, and a number whatever the text around it.
        compound = compound_number_key(token)
        if compound is not None:
            return compound
        if "." in token or token in ACRONYMS:  # "U.S." and "US" are the country, "us" the pronoun
            return token.replace(".", "").casefold()
        low = token.casefold()
        if self._lemma_lang == "en":
            if low in NUMBER_WORDS:
                return NUMBER_WORDS[low]
            low = ABBREVIATIONS.get(low, low)
        if len(low) < 2 or low in self._stop:
            return None
        if self._lemma_lang is not None:
            low = simplemma.lemmatize(low, lang=self._lemma_lang).casefold()
            if low in self._stop:
                return None
        if self._lemma_lang == "en":
            low = DEMONYMS.get(low, low)  # "Mexicans" and "Mexico" are one key
        return _fold(low)


def number_key(token: str) -> str:
    """One key per numeric value: group separators dropped, decimal comma read as a point."""
    if _GROUPED.fullmatch(token):
        return re.sub(r"[.,\u00a0\u202f]", "", token)
    return token.replace(",", ".")


def compound_number_key(token: str) -> str | None:
    """The figure of a compound of English number words ("twenty-two", "Twenty Two": "22"; see
    :data:`~watcher.text.tokens.COMPOUND_NUMBER`), None for any other token."""
    if not COMPOUND_NUMBER.fullmatch(token):
        return None
    tens, unit = _NOT_LETTERS.split(token.lower())
    return str(int(NUMBER_WORDS[tens]) + _UNIT_VALUES[unit])


def light_stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match "surpassed" with "surpasses".

    Lowercases, drops a final "'s", then one of "ing", "ed", "es", "s" (not the last of "ss") where four
    letters remain. The framing rules and the shipped framing model's word features are built on these stems.
    """
    # A word longer than MAX_WORD_CHARS is stemmed each time: the cache would keep it whole.
    return _cached_stem(word) if len(word) <= MAX_WORD_CHARS else _stem(word)


def _stem(word: str) -> str:
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            if suffix == "s" and word.endswith("ss"):
                break  # "surpass", "press": no plural to strip
            return word[: -len(suffix)]
    return word


_cached_stem = lru_cache(maxsize=1 << 16)(_stem)
