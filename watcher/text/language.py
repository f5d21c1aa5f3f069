"""Languages: ISO codes, detection (py3langid, offline), and which lemmatiser a language gets."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection
from functools import cache
from typing import Any

import simplemma

logger = logging.getLogger(__name__)

UNDETERMINED = "und"

# py3langid's probabilities are softmax-normalised over its 97 languages and calibrated for length;
# on short news titles correct answers score 0.7-1.0, while one-word or all-name titles score below 0.4.
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 12  # fewer letters than this is a name or a label, not a sentence in some language
MAX_CHARS = 2_000  # the start of a text says its language as well as the whole

_ISO_639_1 = re.compile(r"[a-z]{2}")
_DEPRECATED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}

_lock = threading.Lock()
_supported: dict[str, bool] = {}


def normalize_language(value: str | None) -> str | None:
    """An ISO 639-1 code ("en-US" → "en"), or None for anything that is not one ("und", "eng")."""
    if not value:
        return None
    primary = re.split(r"[-_\s]", value.strip().lower(), maxsplit=1)[0]
    primary = _DEPRECATED.get(primary, primary)
    return primary if _ISO_639_1.fullmatch(primary) else None


def detect_language(text: str, *, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the text's language, or None when the text is too short or the detector unsure.

    None means "unknown": callers fall back to the feed's declared or configured language, never to a guess.
    Thread-safe; the first call loads the model (about 1 s), so call it off the event loop.
    """
    from watcher.text.normalize import drop_invisible  # normalize imports this module

    # Soft hyphens or zero-width spaces inside every word made an English text Afrikaans, or unknown.
    sample = drop_invisible(text[:MAX_CHARS])
    if sum(1 for c in sample if c.isalpha()) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(sample)
    if confidence < min_confidence:
        return None
    return normalize_language(str(code))


def article_language(declared: str | None, text: str, fallback: str | None) -> str | None:
    """An article's language: what its feed item declares, else what the text confidently is, else ``fallback``.

    :param declared: the item's or channel's own language (not the configured feed language).
    :param fallback: the feed's configured language (None or "und" when unknown).
    """
    return normalize_language(declared) or detect_language(text) or normalize_language(fallback)


def claim_language(declared: str | None, text: str, default: str) -> str:
    """A claim's language: the configured one, else the detector's (with its floor), else ``default``."""
    return normalize_language(declared) or detect_language(text) or default


def analysis_language(lang: str | None, default: str) -> str:
    """The language to analyse a stored article in: its own, or ``default`` when undetermined."""
    return normalize_language(lang) or default


def lemma_language(lang: str | None, allowed: Collection[str] | None = None) -> str | None:
    """The language simplemma should lemmatise ``lang`` with, or None when it has no dictionary.

    :param allowed: the languages whose dictionaries may be loaded (``matching.languages``); None: any.
        simplemma loads a whole dictionary per language (Polish about 420 MiB), so a language outside
        this set is matched by its words as written.
    """
    code = normalize_language(lang)
    if code is None or (allowed is not None and code not in allowed):
        return None
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


def load_detector() -> None:
    """Load the detector's model now (about 1 s of CPU), e.g. before a poll rather than amid its fetches."""
    _identifier()


@cache
def _load() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _identifier() -> Any:
    with _lock:  # one load, even when the first articles arrive on several threads at once
        return _load()
