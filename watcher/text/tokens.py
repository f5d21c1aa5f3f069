"""Tokenisers: word and number tokens for matching, words and clause punctuation for framing."""

from __future__ import annotations

import re

# Numbers keep their value whatever the grouping convention ("1,000", "1.000" and "1000" are one
# key); words are runs of letters, so "Jong-un" and "tourist's" split at the punctuation. Capitals with
# dots ("U.S.", "D.C.", not "U.S.Global") come first and are one token: the word alternative would take
# their first letter alone. Of the others no alternative matches where another may (a word never starts
# with a digit, a number always does), so their order changes no match, only how soon one is found.
# At most six groups of three digits (below 10^21): unbounded, the grouped alternative would rescan a long
# run of groups from every position of it ("1.000.000..." over 20 KB took a second, 100 KB twelve).
WORD_OR_NUMBER = re.compile(
    r"[A-Z](?:\.[A-Z])+\.?(?![^\W\d_])|[^\W\d_]+|\d{1,3}(?:[.,\u00a0\u202f]\d{3}){1,6}(?![.,]?\d)|\d+(?:[.,]\d+)?"
)
# ASCII words that keep their inner hyphens and apostrophes ("so-called", "isn't"), and the
# punctuation that bounds a clause.
_CLAUSE_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*|[,;:()?]")


def tokens(text: str) -> list[str]:
    """The word and number tokens of ``text``, as written."""
    return WORD_OR_NUMBER.findall(text)


def clause_tokens(text: str) -> list[str]:
    """Words (case kept, curly apostrophes made straight) and the punctuation that bounds clauses."""
    return _CLAUSE_TOKEN.findall(text.replace("’", "'"))
