"""Without the semantic extra, the default model is a quiet note and a chosen model a warning."""

from __future__ import annotations

import logging
import sys

import pytest

from watcher.match import semantic
from watcher.match.semantic import DEFAULT_MODEL, load_embedder


@pytest.mark.parametrize(
    ("model", "level"), [(DEFAULT_MODEL, logging.INFO), ("org/other-model", logging.WARNING)]
)
def test_missing_extra_warns_only_for_a_chosen_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, model: str, level: int
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # what the core install looks like
    monkeypatch.setattr(semantic, "_logged", set())
    with caplog.at_level(logging.INFO, logger="watcher.match.semantic"):
        assert load_embedder(model) is None
    [record] = [r for r in caplog.records if "not installed" in r.getMessage()]
    assert record.levelno == level
