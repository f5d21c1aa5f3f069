"""Normalisation: clean text, match keys (lemma, casefold, accents stripped), number keys, and framing's light stems."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, KeysView
from functools import lru_cache

import simplemma

from watcher.text.language import lemma_language
from watcher.text.stopwords import stopwords
from watcher.text.tokens import WORD_OR_NUMBER

_GROUPED = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+")
# Capitalised abbreviations whose lower case is a function word: a key of their own, never a stopword.
ACRONYMS = frozenset({"US", "UK", "UN", "EU"})
# Cached keys per language; news vocabulary is large but bounded, and a reset is cheap.
_MAX_CACHE = 200_000


def clean_text(text: str) -> str:
    """Text as matching and framing read it: NFKC-normalised, format characters (Unicode category Cf) dropped.

    Soft hyphens, zero-width spaces and joiners, word joiners and bidi controls are invisible on the page,
    yet they split words: "NA\u00adTO" must read as "NATO", in claims and articles alike.
    """
    if text.isascii():
        return text
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
        if len(low) < 2 or low in self._stop:
            return None
        if self._lemma_lang is not None:
            low = simplemma.lemmatize(low, lang=self._lemma_lang).casefold()
            if low in self._stop:
                return None
        return _fold(low)


def number_key(token: str) -> str:
    """One key per numeric value: group separators dropped, decimal comma read as a point."""
    if _GROUPED.fullmatch(token):
        return re.sub(r"[.,\u00a0\u202f]", "", token)
    return token.replace(",", ".")


@lru_cache(maxsize=1 << 16)
def light_stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match "surpassed" with "surpasses".

    Lowercases, drops a final "'s", then one of "ing", "ed", "es", "s" where four letters remain. The
    framing rules and the shipped framing model's word features are built on these stems.
    """
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word
