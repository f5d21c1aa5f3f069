"""Sentence splitting: language-aware for matching, a plain punctuation rule for framing."""

from __future__ import annotations

import re

import simplemma

from watcher.text.language import normalize_language

# The longest evidence sentence stored and shown; a longer one is cut at a word (clip()).
EVIDENCE_MAX_CHARS = 400
# After sentence-final punctuation (and any closing quote or bracket), before a capital or a digit.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")


def split_sentences(text: str, lang: str | None) -> list[str]:
    """Split ``text`` into sentences with simplemma's rules for ``lang`` (generic rules if unknown).

    Whitespace inside a sentence is collapsed to single spaces.
    """
    code = normalize_language(lang)  # the rules load no dictionary, so any language may have them
    try:
        found = simplemma.split_sentences(text, lang=code)
    except ValueError:  # a language simplemma does not know
        found = simplemma.split_sentences(text)
    # str.split/join is several times faster than a regular expression here.
    return [" ".join(s.split()) for s in found if s and not s.isspace()]


def split_plain_sentences(text: str) -> list[str]:
    """Split on line breaks, then after sentence-final punctuation followed by a capital.

    No language rules and no abbreviations: "Mr. Smith" is split. Sentences are stripped, not collapsed.
    """
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(part.strip() for part in _SENTENCE_BREAK.split(paragraph) if part.strip())
    return sentences


def clip(sentence: str, limit: int = EVIDENCE_MAX_CHARS) -> str:
    """``sentence`` if it is at most ``limit`` characters long, else its words up to ``limit`` and " ..."."""
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 4].rsplit(" ", 1)[0] + " ..."
