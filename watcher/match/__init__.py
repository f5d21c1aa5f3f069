"""Claim matching: a lexical stage on every article, a semantic stage on its candidates, one score."""

from __future__ import annotations

import logging

from watcher.match.matcher import Matcher, MatchSettings, ScoredPair
from watcher.match.scorer import DEFAULT_THRESHOLD
from watcher.match.semantic import (
    DEFAULT_MODEL,
    MULTILINGUAL_MODEL,
    Embedder,
    MatchError,
    SentenceTransformerEmbedder,
    load_embedder,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_THRESHOLD",
    "MULTILINGUAL_MODEL",
    "Embedder",
    "MatchError",
    "MatchSettings",
    "Matcher",
    "ScoredPair",
    "SentenceTransformerEmbedder",
    "load_embedder",
]
