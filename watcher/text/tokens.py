"""Tokenisers: word and number tokens for matching, words and clause punctuation for framing."""

from __future__ import annotations

import re

# English tens and unit words. A tens word and a unit word joined by a hyphen or a dash, or by spaces on one
# line ("twenty-two", "Twenty Two", "thirty\u2011one"), are one number: one token (a few spaces at most:
# a longer run is layout, and a long token has no key).
TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
UNIT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash, small and fullwidth hyphen-minus; not the
# em dash, which bounds a clause.
_NUMBER_HYPHENS = "-\u2010\u2011\u2012\u2013\ufe63\uff0d"
# The tens word in lower case, capitalised or in capitals (only then can tokens() find it cheaply); the unit word
# in any case of ASCII letters, never with a dotless "\u0131" or a long "\u017f".
_TENS_AS_WRITTEN = frozenset(w for word in TENS_WORDS for w in (word, word.capitalize(), word.upper()))
_TENS = "|".join(sorted(_TENS_AS_WRITTEN))
_UNITS = "|".join(UNIT_WORDS)
_COMPOUND_NUMBER = rf"(?:{_TENS})(?:[{_NUMBER_HYPHENS}]|[^\S\r\n]{{1,4}})(?ai:{_UNITS})(?![^\W\d_])"
COMPOUND_NUMBER = re.compile(_COMPOUND_NUMBER)
# Numbers keep their value whatever the grouping convention ("1,000", "1.000" and "1000" are one
# key); words are runs of letters, so "Jong-un" and "tourist's" split at the punctuation. Capitals with
# dots ("U.S.", "D.C.", not "U.S.Global") come first and are one token: the word alternative would take
# their first letter alone; so do compound numbers (COMPOUND_NUMBER), whose tens word the word alternative
# would take alone. Of the others no alternative matches where another may (a word never starts
# with a digit, a number always does), so their order changes no match, only how soon one is found.
# At most six groups of three digits (below 10^21): unbounded, the grouped alternative would rescan a long
# run of groups from every position of it ("1.000.000..." over 20 KB took a second, 100 KB twelve).
_CAPITALS_WITH_DOTS = r"[A-Z](?:\.[A-Z])+\.?(?![^\W\d_])"
_WORD_OR_NUMBER = r"[^\W\d_]+|\d{1,3}(?:[.,\u00a0\u202f]\d{3}){1,6}(?![.,]?\d)|\d+(?:[.,]\d+)?"
WORD_OR_NUMBER = re.compile(f"{_CAPITALS_WITH_DOTS}|{_COMPOUND_NUMBER}|{_WORD_OR_NUMBER}")
# The same tokens but for compound numbers, found faster: most texts have no tens word (see tokens()).
_NO_COMPOUNDS = re.compile(f"{_CAPITALS_WITH_DOTS}|{_WORD_OR_NUMBER}")
# ASCII words that keep their inner hyphens and apostrophes ("so-called", "isn't"), and the
# punctuation that bounds a clause.
_CLAUSE_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*|[,;:()?]")


def tokens(text: str) -> list[str]:
    """The word and number tokens of ``text``, as written; a compound number ("twenty-two") is one.

    The same as ``WORD_OR_NUMBER.findall(text)``: a compound starts with a tens word as written, which the
    tokens without compounds hold too, so only a text with one is read again (the compound alternative
    costs every text some 45% more to tokenise; the check, about a tenth)."""
    words = _NO_COMPOUNDS.findall(text)
    return words if _TENS_AS_WRITTEN.isdisjoint(words) else WORD_OR_NUMBER.findall(text)


def clause_tokens(text: str) -> list[str]:
    """Words (case kept, curly apostrophes made straight) and the punctuation that bounds clauses."""
    return _CLAUSE_TOKEN.findall(text.replace("’", "'"))
