"""The stance cross-encoder experiment (bench.cross_encoder, bench.train_cross) on the offline MiniLM: what it reads
of an article, that it learns, and that the layers it writes are the layers it loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cross_encoder import CLASSES, CrossEncoderStance, pair_text
from tests.unit.test_match_semantic import model_path
from watcher.domain import Stance

pytestmark = pytest.mark.semantic

CLAIM = "NATO has surpassed Russia in ammunition production"
SUPPORTS = "NATO now makes more shells than Russia, the alliance's figures show. Output tripled in two years."
DISPUTES = (
    "Moscow dismissed as nonsense the claim that NATO out-produces Russia. Russia still makes more shells."
)


def test_the_pair_is_the_claim_and_the_sentences_that_state_it_with_the_lead() -> None:
    body = (
        "The summit opened on Monday. Delegates arrived from 32 countries. The weather was mild. "
        "Lunch was served late. NATO has surpassed Russia in ammunition production, Rutte said. "
        "Analysts were surprised."
    )
    claim, text = pair_text(CLAIM, "Summit news", body)
    assert claim == CLAIM
    assert text.startswith("Summit news The summit opened on Monday.")  # the title, then the lead
    assert "NATO has surpassed Russia in ammunition production, Rutte said." in text
    assert "Lunch was served late." not in text  # shares none of the claim's words


def test_it_learns_and_the_written_layers_load_back(tmp_path: Path) -> None:
    import torch

    base = str(model_path())
    torch.manual_seed(0)  # the head's first weights and the dropout: one run, the same every time
    model = CrossEncoderStance.fresh(top_layers=1, max_tokens=48, base=base)
    texts = [pair_text(CLAIM, "", SUPPORTS), pair_text(CLAIM, "", DISPUTES)] * 4
    labels = [Stance.SUPPORTS, Stance.DISPUTES] * 4
    before = model.probabilities(texts[:2])
    model.train(texts, labels, epochs=6, batch=8, lr=1e-3, log_every=1000)
    after = model.probabilities(texts[:2])
    # Trained on the two texts, it tells them apart, which the untrained head did not.
    assert model.predict(texts[:2]) == [Stance.SUPPORTS, Stance.DISPUTES]
    assert after[0][0] > before[0][0] and after[1][2] > before[1][2]
    path = tmp_path / "cross.safetensors"
    model.save(path)
    loaded = CrossEncoderStance.load(path, base=base)
    assert (loaded.top_layers, loaded.max_tokens) == (1, 48)
    # Stored in half precision: the probabilities come back to within its rounding.
    for got, want in zip(loaded.probabilities(texts[:2]), after, strict=True):
        assert len(got) == len(CLASSES)
        assert all(abs(g - w) < 2e-2 for g, w in zip(got, want, strict=True))


def test_a_file_of_another_format_is_refused_naming_it(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "old.safetensors"
    save_file({"head.bias": torch.zeros(3)}, str(path), metadata={"watcher": '{"format": 0}'})
    with pytest.raises(ValueError, match=r"old\.safetensors: cross-encoder format 0"):
        CrossEncoderStance.load(path, base=str(model_path()))
    save_file({"head.bias": torch.zeros(3)}, str(path))  # no metadata at all: another tool's file
    with pytest.raises(ValueError, match=r"old\.safetensors: cross-encoder format None"):
        CrossEncoderStance.load(path, base=str(model_path()))
