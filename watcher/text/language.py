"""Languages: which one to analyse a text in, a claim's guessed from its function words."""

from __future__ import annotations

import logging

import simplemma

from watcher.text.stopwords import STOPWORDS
from watcher.text.tokens import WORD_OR_NUMBER

logger = logging.getLogger(__name__)

UNDETERMINED = "und"

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
    words = [w.casefold() for w in WORD_OR_NUMBER.findall(text)]
    best, best_hits = default, 0
    for lang, stop in STOPWORDS.items():
        hits = sum(1 for w in words if w in stop)
        if hits > best_hits or (hits == best_hits and hits and lang == default):
            best, best_hits = lang, hits
    return best
