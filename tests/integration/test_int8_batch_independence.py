"""A sentence's vector on the ONNX backends depends on that sentence alone, never on the sentences encoded with
it: the int8 export quantises its activations with one scale per inference call, so it runs one text a call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.match_corpus import BACKGROUND, DENIES, NATO_SUMMIT, REPORTS
from tests.unit.test_match_semantic import model_path
from watcher.match.semantic import OnnxEmbedder, SentenceCache, export_onnx

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

pytestmark = pytest.mark.semantic

SHORT = "NATO has surpassed Russia in ammunition production."
# Long, and unlike SHORT in every way (numbers, symbols, vocabulary): its activations span another range.
LONG = (
    "Quarterly dividend reinvestment schedules for municipal water utilities were revised after the auditor "
    "flagged 1,274,908.55 in uncollected tariffs across 37 districts, prompting 9999 %%% $$$ emergency "
    "sessions, ¥€£ currency hedges and a lengthy appendix of tabulated sewage-treatment costs. "
) * 3
OTHERS = [
    LONG,
    "x",
    "Moscow dismissed the reports as wishful thinking.",
    *(a.text for a in (REPORTS, DENIES, NATO_SUMMIT, *BACKGROUND)),
]


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export of the offline model for the session."""
    if not os.environ.get("CI"):  # the test extra has it: in CI these tests run, never skip
        pytest.importorskip("onnxruntime")
    return export_onnx(str(model_path()), tmp_path_factory.mktemp("onnx") / "minilm")


def _embedder(exported: Path, *, quantized: bool, batch_size: int = 32) -> OnnxEmbedder:
    return OnnxEmbedder(str(model_path()), quantized=quantized, directory=exported, batch_size=batch_size)


def _run(embedder: OnnxEmbedder, texts: list[str]) -> NDArray[np.float32]:
    """The export's mean-pooled output for ``texts`` padded into one call, as encode ran int8 batches before."""
    import numpy as np

    encodings = embedder._tokenizer.encode_batch(texts)
    width = max(len(e.ids) for e in encodings)
    given = {n: np.zeros((len(texts), width), dtype=np.int64) for n in ("input_ids", "attention_mask")}
    given["token_type_ids"] = np.zeros((len(texts), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        given["input_ids"][row, : len(e.ids)] = e.ids
        given["attention_mask"][row, : len(e.ids)] = 1
    hidden = embedder._session.run(None, {n: given[n] for n in embedder._inputs})[0]
    mask = given["attention_mask"][:, :, None].astype(np.float32)
    pooled: NDArray[np.float32] = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    unit: NDArray[np.float32] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return unit


def test_the_int8_export_quantises_each_call_as_a_whole(exported: Path) -> None:
    """What the tests below guard against: one call over SHORT and LONG moves SHORT's vector."""
    import numpy as np

    embedder = _embedder(exported, quantized=True)
    alone, batched = _run(embedder, [SHORT])[0], _run(embedder, [SHORT, LONG])[0]
    assert not np.array_equal(alone, batched)
    assert float(alone @ batched) < 0.999  # 0.992 when measured: enough to move a decision near a threshold


@pytest.mark.parametrize("batch_size", [32, 2])
def test_an_int8_vector_is_the_same_bit_for_bit_alone_and_in_a_batch(exported: Path, batch_size: int) -> None:
    import numpy as np

    embedder = _embedder(exported, quantized=True, batch_size=batch_size)
    alone = embedder.encode([SHORT])
    for company in ([SHORT, LONG], [LONG, SHORT, "x"], [*OTHERS, SHORT]):
        vectors = embedder.encode(company)
        assert np.array_equal(vectors[company.index(SHORT)], alone[0])
    # Every sentence, not just SHORT: each row of one call is that sentence encoded on its own.
    vectors = embedder.encode([SHORT, *OTHERS])
    assert all(
        np.array_equal(v, embedder.encode([t])[0]) for t, v in zip([SHORT, *OTHERS], vectors, strict=True)
    )
    assert np.array_equal(vectors[0], _run(embedder, [SHORT])[0])  # as the export computes it alone


def test_an_int8_vector_from_the_cache_is_the_one_encoded_alone(exported: Path) -> None:
    """A vector kept by content must not depend on the batch in which it was first seen."""
    import numpy as np

    embedder = _embedder(exported, quantized=True)
    first_seen_with_long = SentenceCache(100).encode(embedder, [LONG, SHORT])[1]
    first_seen_alone = SentenceCache(100).encode(embedder, [SHORT])[0]
    assert np.array_equal(first_seen_with_long, first_seen_alone)


# An article's score alone, in a batch and from the cache: test_semantic_setup_and_bounds.py, on every backend.


def test_the_float_export_keeps_its_batches_and_gives_the_vector_alone(exported: Path) -> None:
    """Padding is masked out of attention and pooling, and float32 has no per-call scale: batches stay."""
    import numpy as np

    embedder = _embedder(exported, quantized=False)
    assert embedder._batch_size == 32
    vectors = embedder.encode([SHORT, *OTHERS])
    alone = np.stack([embedder.encode([t])[0] for t in [SHORT, *OTHERS]])
    assert np.allclose(vectors, alone, rtol=0, atol=1e-6)  # bit for bit when measured; rounding at most
