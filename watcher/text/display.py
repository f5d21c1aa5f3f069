"""Feed text as shown to people: bidi controls dropped, an untitled article named by its first words."""

from __future__ import annotations

import re
from pathlib import Path

from watcher.domain import Article

# Explicit bidi embeddings, overrides and isolates, and the ALM/LRM/RLM marks (Unicode's Bidi_Control set): in feed
# text they only serve to make "report\u202efdp.exe" read as "reportexe.pdf", or to turn the numbers of a title
# around. Right-to-left text itself still renders as written.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What text from outside (a feed, an OPML file, a receiver's answer) may not bring into one line of a terminal or a
# log: C0 and C1 controls (line ends and escape sequences included), DEL, bidi controls and Unicode line separators.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")
# What a file name may not bring into a message: C0 and C1 controls (line ends and escape sequences included), bidi
# controls, Unicode line separators and lone surrogates (bytes of a name that are not UTF-8).
_UNSHOWABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
MAX_PATH_SHOWN = 200  # characters of a file name a message shows
UNTITLED_WORDS = 12  # an untitled article shows this many words of its text


def one_line(text: str) -> str:
    """``text`` safe to print or log as one line: each run of control characters becomes a space."""
    return _UNPRINTABLE.sub(" ", text)


def strip_bidi(text: str) -> str:
    """The text without bidi embedding, override and isolate controls or ALM/LRM/RLM marks."""
    return _BIDI_CONTROLS.sub("", text)


def display_title(article: Article) -> tuple[str, bool]:
    """What to show as an article's title, and whether it stands in for a missing one.

    An untitled article shows the first ``UNTITLED_WORDS`` words of its text (else its URL), never nothing.
    """
    title = " ".join(strip_bidi(article.title).split())
    if title:
        return title, False
    words = strip_bidi(article.text).split()
    if not words:
        return strip_bidi(article.url).strip() or "no text", True
    more = "…" if len(words) > UNTITLED_WORDS else ""
    return " ".join(words[:UNTITLED_WORDS]) + more, True


def counted(number: int, one: str, many: str) -> str:
    """``number`` with the noun it counts: "1 outlet", "5 outlets", "0 wire copies"."""
    return f"{number} {one if number == 1 else many}"


def display_path(path: str | Path) -> str:
    """A file name as a message shows it: control characters escaped as Python writes them (``\\n``, ``\\x1b``),
    so that a name cannot end a log line or drive the terminal; past MAX_PATH_SHOWN characters only its start and
    end, with how many characters were left out between them."""
    text = str(path)
    if len(text) > MAX_PATH_SHOWN:
        head, tail = text[: MAX_PATH_SHOWN * 3 // 5], text[-(MAX_PATH_SHOWN // 4) :]
        left_out = len(text) - len(head) - len(tail)
        return f"{_escaped(head)}...({left_out:,} characters left out)...{_escaped(tail)}"
    return _escaped(text)


def _escaped(text: str) -> str:
    """``text`` with what a file name may not bring into a message escaped as Python writes it (``\\n``)."""
    return _UNSHOWABLE.sub(lambda m: ascii(m.group())[1:-1], text)
