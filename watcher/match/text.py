"""Text normalisation for matching: sentences, tokens and language-aware match keys."""

from __future__ import annotations

import logging
import re
import unicodedata

import simplemma

from watcher.match.stopwords import STOPWORDS, stopwords

logger = logging.getLogger(__name__)

UNDETERMINED = "und"

# Numbers keep their value whatever the grouping convention ("1,000", "1.000" and "1000" are one
# key); words are runs of letters, so "Jong-un" and "tourist's" split at the punctuation.
_TOKEN = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?![.,]?\d)|\d+(?:[.,]\d+)?|[^\W\d_]+")
_GROUPED = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+")
# Cached keys per language; news vocabulary is large but bounded, and a reset is cheap.
_MAX_CACHE = 200_000

_supported: dict[str, bool] = {}


def lemma_language(lang: str | None) -> str | None:
    """The language simplemma should lemmatise ``lang`` with, or None when it has no dictionary."""
    if not lang or lang == UNDETERMINED:
        return None
    code = lang.split("-")[0].casefold()
    known = _supported.get(code)
    if known is None:
        try:
            simplemma.lemmatize("a", lang=code)
        except ValueError:
            known = False
            logger.info("no lemmatiser for language %s; matching its words as written", code)
        else:
            known = True
        _supported[code] = known
    return code if known else None


def article_language(lang: str | None, default: str) -> str:
    """The language to analyse an article in: its own, or ``default`` when undetermined."""
    if not lang or lang == UNDETERMINED:
        return default
    return lang.split("-")[0].casefold()


def guess_language(text: str, default: str) -> str:
    """Guess the language of a short text (a claim) from its function words.

    Claims carry no language field; their function words are a cheap and, for a whole sentence,
    reliable tell. Ties and texts with none fall back to ``default``.
    """
    words = [w.casefold() for w in _TOKEN.findall(text)]
    best, best_hits = default, 0
    for lang, stop in STOPWORDS.items():
        hits = sum(1 for w in words if w in stop)
        if hits > best_hits or (hits == best_hits and hits and lang == default):
            best, best_hits = lang, hits
    return best


def split_sentences(text: str, lang: str | None) -> list[str]:
    """Split ``text`` into sentences with simplemma's rules for ``lang`` (generic rules if unknown)."""
    code = lemma_language(lang)
    # str.split/join is several times faster than a regular expression here.
    return [" ".join(s.split()) for s in simplemma.split_sentences(text, lang=code) if s and not s.isspace()]


def tokens(text: str) -> list[str]:
    """The word and number tokens of ``text``, as written."""
    return _TOKEN.findall(text)


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

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._lemma_lang = lemma_language(lang)
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
        words = _TOKEN.findall(text)
        cache = self._cache
        found = [cache.get(w) for w in words]
        if None in found:
            found = [k if k is not None else self._learn(w) for w, k in zip(words, found, strict=True)]
        return [k for k in found if k]

    def key_set(self, text: str) -> set[str]:
        """The distinct match keys of ``text`` (the common case, and faster than :meth:`keys`)."""
        words = _TOKEN.findall(text)
        found = set(map(self._cache.get, words))
        if None in found:
            found = {self.key(w) for w in words}
        found.discard(None)
        found.discard("")
        return found  # type: ignore[return-value]

    def _learn(self, token: str) -> str:
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        key = self._compute(token) or ""
        self._cache[token] = key
        return key

    def _compute(self, token: str) -> str | None:
        if token[0].isdigit():
            return number_key(token)
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
