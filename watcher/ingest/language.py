"""Detect an article's language offline (py3langid, model shipped in the package), or say nothing."""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

from watcher.ingest.parse import normalize_language

logger = logging.getLogger(__name__)

# py3langid's probabilities are softmax-normalised over its 97 languages and calibrated for length;
# on short news titles correct answers score 0.7-1.0, while one-word or all-name titles score below 0.4.
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 12  # fewer letters than this is a name or a label, not a sentence in some language
MAX_CHARS = 2_000  # the start of a text says its language as well as the whole

_lock = threading.Lock()


def detect_language(text: str, *, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the text's language, or None when the text is too short or the detector unsure.

    None means "unknown": callers fall back to the feed's declared or configured language, never to a guess.
    Thread-safe; the first call loads the model (about 1 s), so call it off the event loop.
    """
    sample = text[:MAX_CHARS]
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


@cache
def _load() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _identifier() -> Any:
    with _lock:  # one load, even when the first articles arrive on several threads at once
        return _load()
