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
from watcher.text.tokens import WORD_OR_NUMBER

_GROUPED = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+")
# Capitalised abbreviations whose lower case is a function word: a key of their own, never a stopword.
ACRONYMS = frozenset({"US", "UK", "UN", "EU"})
# English number words from two to ninety, keyed as their figures: headlines write "4 more graves", the
# story below "four more graves" (news style spells out one to nine). "one" is left out: it is mostly a
# pronoun ("no one", "one of them").
_UNITS = ("two", "three", "four", "five", "six", "seven", "eight", "nine")
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
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = {
    **{word: str(n) for n, word in enumerate(_UNITS, start=2)},
    **{word: str(n) for n, word in enumerate(_TEENS, start=10)},
    **{word: str(n) for n, word in enumerate(_TENS, start=2) for n in (n * 10,)},
}
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


# A character carries at most this many combining marks (Unicode's stream-safe format allows 30): NFKC sorts a
# run of marks out of canonical order in quadratic time (50,000 alternating marks took seconds), and no script
# needs more. Texts up to MARKS_CHECKED_FROM characters are not looked at: at worst they cost milliseconds.
MAX_MARKS = 30
MARKS_CHECKED_FROM = 4096


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
    """Text as matching and framing read it: NFKC-normalised, format characters (Unicode category Cf) dropped,
    runs of combining marks cut to MAX_MARKS.

    Soft hyphens, zero-width spaces and joiners, word joiners and bidi controls are invisible on the page,
    yet they split words: "NA\u00adTO" must read as "NATO", in claims and articles alike.
    """
    if text.isascii():
        return text
    if len(text) > MARKS_CHECKED_FROM:
        text = _cap_marks(text)
    text = unicodedata.normalize("NFKC", text)
    # Look each distinct character up once, not each occurrence: a news text has few of them.
    drop = {ord(c): None for c in set(text) if not c.isascii() and unicodedata.category(c) == "Cf"}
    return text.translate(drop) if drop else text


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
        words = WORD_OR_NUMBER.findall(text)
        cache = self._cache
        found = [cache.get(w) for w in words]
        if None in found:
            found = [k if k is not None else self._learn(w) for w, k in zip(words, found, strict=True)]
        return [k for k in found if k]

    def key_set(self, text: str) -> KeysView[str]:
        """The distinct match keys of ``text`` in the order they first occur (the common case, and faster than
        :meth:`keys`). Ordered, not a set: what is summed over them (an article's norm) then adds up the same
        in every process, whatever the string hash seed."""
        words = WORD_OR_NUMBER.findall(text)
        found = dict.fromkeys(map(self._cache.get, words))
        if None in found:
            found = dict.fromkeys(map(self.key, words))
        found.pop(None, None)
        found.pop("", None)
        return found.keys()  # type: ignore[return-value]

    def _learn(self, token: str) -> str:
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        key = self._compute(token) or ""
        self._cache[token] = key
        return key

    def _compute(self, token: str) -> str | None:
        if token[0].isdigit():
            return number_key(token)
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


@lru_cache(maxsize=1 << 16)
def light_stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match "surpassed" with "surpasses".

    Lowercases, drops a final "'s", then one of "ing", "ed", "es", "s" (not the last of "ss") where four
    letters remain. The framing rules and the shipped framing model's word features are built on these stems.
    """
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            if suffix == "s" and word.endswith("ss"):
                break  # "surpass", "press": no plural to strip
            return word[: -len(suffix)]
    return word
