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


# What ends a piece of text in an abbreviation that is no sentence end: a title ("Mr.", "Gen."), a month ("Dec.") and
# the like, or an initialism ("U.S.", "U.N."). Case-sensitive. Not a single capital: "Plan B.", "Vitamin D." and
# "Gen Z." end sentences as often as an initial stands before a name.
_ABBREVIATED_END = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|Cpl|Adm|Maj|Cmdr|Rev|Hon|Pres|Supt|Insp|Det|Jr|Sr|"
    r"St|Mt|Ft|vs|Inc|Corp|Co|Ltd|Bros|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|"
    r"(?<![\w.])[A-Z](?:\.[A-Z])+)\.$"
)
# "No." before a number of one to three digits ("No. 4 economy"); not the answer "No." that a sentence of its own is.
_NUMBER_END = re.compile(r"(?<=\s)(?:No|Nos)\.$")
_NUMBER_START = re.compile(r"\d{1,3}\b")


def split_plain_sentences(text: str) -> list[str]:
    """Split on line breaks (not one that wraps a sentence: see _unwrapped_lines), then after sentence-final
    punctuation followed by a capital or a digit.

    No language rules; only a break after a common English abbreviation or an initialism ("Mr. Smith", "the U.S. Food
    and Drug Administration", "Dec. 8", "No. 10") is undone. Sentences are stripped, not collapsed.
    """
    sentences: list[str] = []
    for paragraph in _unwrapped_lines(text):
        # each sentence's parts, joined once (a run of "U.S. U.S. ..." stays linear)
        merged: list[list[str]] = []
        for part in _SENTENCE_BREAK.split(paragraph):
            part = part.strip()
            if not part:
                continue
            last = merged[-1][-1] if merged else ""
            if last.endswith(".") and (
                _ABBREVIATED_END.search(last[-6:])
                or (_NUMBER_END.search(last[-5:]) and _NUMBER_START.match(part))
            ):
                merged[-1].append(part)
            else:
                merged.append([part])
        sentences.extend(" ".join(parts) for parts in merged)
    return sentences


def _unwrapped_lines(text: str) -> list[str]:
    """The lines of ``text``, each joined to the line before it where that one breaks off inside a sentence.

    Text wrapped at a fixed width (a plain-text feed; a line break in the markup of an HTML paragraph) breaks its
    sentences across lines: a line that ends in a letter, a digit or a comma, followed by one that starts with a
    lower-case letter, is one sentence ("Moscow denied that NATO has" / "surpassed Russia ..."). A line that
    starts with a capital may start a sentence of its own after a heading, and stays a line.
    """
    lines: list[list[str]] = []
    last = ""
    for line in text.splitlines():
        if lines and line.lstrip()[:1].islower() and (last[-1:].isalnum() or last[-1:] == ","):
            lines[-1].append(line)
        else:
            lines.append([line])
        last = line.rstrip()
    return [" ".join(parts) for parts in lines]


def clip(sentence: str, limit: int = EVIDENCE_MAX_CHARS) -> str:
    """``sentence`` if it is at most ``limit`` characters long, else its words up to ``limit`` and " ..."."""
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 4].rsplit(" ", 1)[0] + " ..."
