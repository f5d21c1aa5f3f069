"""The semantic stage under hostile set-ups: models that do not load, damaged or shared ONNX exports, huge
inputs, and scores that must not depend on the cache or the batch."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.match_corpus import BACKGROUND, DENIES, NATO_AMMO, NATO_SUMMIT, REPORTS
from tests.unit.test_match_semantic import model_path
from watcher.match import Embedder, Matcher, MatchError, MatchSettings, load_embedder
from watcher.match.semantic import (
    ONNX_MANIFEST,
    OnnxEmbedder,
    SentenceCache,
    export_onnx,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

pytestmark = pytest.mark.semantic

EVERY_CANDIDATE = MatchSettings(candidate_floor=0.01, semantic_ceiling=1.0)
HINT = "or to null for lexical-only matching"


@pytest.fixture(scope="module")
def minilm() -> Iterator[Embedder]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never reach for the network
    embedder = load_embedder(str(model_path()))
    assert embedder is not None
    yield embedder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export of the offline model, copied by the tests that change it."""
    if not os.environ.get("CI"):  # the test extra has it: in CI the ONNX tests run, never skip
        pytest.importorskip("onnxruntime")
    return export_onnx(str(model_path()), tmp_path_factory.mktemp("onnx") / "minilm")


GONE = "/nonexistent/minilm-moved-away"


@pytest.fixture
def orphan(exported: Path, tmp_path: Path) -> Path:
    """A copy of the export whose source model is gone: usable as it is, and not exportable again, so that a
    damaged copy shows whether it is loaded (it must not be)."""
    folder = Path(shutil.copytree(exported, tmp_path / "orphan"))
    manifest = json.loads((folder / ONNX_MANIFEST).read_text(encoding="utf-8"))
    (folder / ONNX_MANIFEST).write_text(json.dumps({**manifest, "source": GONE}), encoding="utf-8")
    return folder


# -- model loading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_folder_that_holds_no_model_is_one_line_naming_the_setting(
    minilm: Embedder, tmp_path: Path, backend: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(MatchError) as caught:
        load_embedder(str(tmp_path), backend=backend, onnx_dir=tmp_path / "export")
    message = str(caught.value)
    assert message.startswith(f"matching.model {str(tmp_path)!r} cannot be loaded: ")
    assert HINT in message and "\n" not in message
    assert not (tmp_path / "export").exists()


def test_an_empty_model_name_is_an_error_not_a_library_message() -> None:
    with pytest.raises(MatchError, match=r"^matching\.model is empty: set matching\.model"):
        load_embedder("  ")


def test_credentials_in_a_url_are_masked_in_the_error(minilm: Embedder) -> None:
    with pytest.raises(MatchError) as caught:
        load_embedder("https://bob:s3cret-token@mirror.example/org/model")
    assert "s3cret" not in str(caught.value) and "https://***@mirror.example" in str(caught.value)


# -- the ONNX export ----------------------------------------------------------------------------------------


def test_an_export_is_usable_without_its_source_model(orphan: Path) -> None:
    embedder = OnnxEmbedder(GONE, directory=orphan)
    assert embedder.encode(["NATO makes more shells than Russia"]).shape == (1, 384)


def _truncate(folder: Path) -> None:
    os.truncate(folder / "model.onnx", 1000)


def _flip_a_bit(folder: Path) -> None:
    with open(folder / "model.onnx", "r+b") as handle:
        handle.seek(40_000_000)
        byte = handle.read(1)[0]
        handle.seek(40_000_000)
        handle.write(bytes([byte ^ 1]))


def _manifest(change: dict[str, object]) -> object:
    def damage(folder: Path) -> None:
        manifest = json.loads((folder / ONNX_MANIFEST).read_text(encoding="utf-8"))
        (folder / ONNX_MANIFEST).write_text(json.dumps({**manifest, **change}), encoding="utf-8")

    return damage


def _list_manifest(folder: Path) -> None:
    (folder / ONNX_MANIFEST).write_text("[]", encoding="utf-8")


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip_a_bit,
        _list_manifest,
        _manifest({"max_tokens": None}),
        _manifest({"pooling": "max"}),
        _manifest({"dimension": 768}),
    ],
    ids=["truncated", "bit-flip", "manifest-list", "no-max-tokens", "pooling", "dimension"],
)
def test_a_damaged_export_is_never_loaded(orphan: Path, damage: object) -> None:
    assert callable(damage)
    damage(orphan)
    # The damage is seen, and as the source model is gone it cannot be exported again: an error, at start.
    with pytest.raises(MatchError, match=re.escape(f"matching.model '{GONE}' cannot be loaded")):
        OnnxEmbedder(GONE, directory=orphan)


def test_a_damaged_export_is_exported_again(
    minilm: Embedder, exported: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np

    folder = Path(shutil.copytree(exported, tmp_path / "copy"))
    os.truncate(folder / "model.onnx", 1000)  # a copy or a write cut short
    with caplog.at_level(logging.WARNING, logger="watcher.match.semantic"):
        embedder = OnnxEmbedder(str(model_path()), directory=folder)
    assert "model.onnx has 1000 bytes" in caplog.text
    texts = ["NATO has surpassed Russia in ammunition production", "Bread prize"]
    assert np.allclose(embedder.encode(texts), minilm.encode(texts), atol=1e-4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".copy.") and p.is_dir()]


def test_the_export_of_another_model_is_refused(exported: Path) -> None:
    with pytest.raises(MatchError, match=r"holds the ONNX export of .*, not of matching\.model 'org/other'"):
        OnnxEmbedder("org/other", directory=exported)


def test_a_folder_of_something_else_is_left_alone(minilm: Embedder, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(MatchError, match=r"holds no ONNX export: point matching\.onnx_dir at a new or empty"):
        OnnxEmbedder(str(model_path()), directory=tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(MatchError, match="is not a folder"):
        OnnxEmbedder(str(model_path()), directory=tmp_path / "file")


def test_a_cache_dir_that_cannot_be_created_names_the_settings(
    minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.setenv("WATCHER_CACHE_DIR", str(tmp_path / "file"))
    with pytest.raises(
        MatchError, match=re.escape("set matching.onnx_dir (or WATCHER_CACHE_DIR) to a folder")
    ):
        OnnxEmbedder(str(model_path()))


def test_exports_started_at_once_take_turns_and_leftovers_go(
    minilm: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "minilm"
    for leftover in (tmp_path / ".minilm.tmp-1-2", tmp_path / ".minilm.123.456"):  # exports killed half-way
        leftover.mkdir()
        (leftover / "model.onnx").write_bytes(b"\0" * 1000)
    results: list[object] = []

    def start(quantized: bool) -> None:
        try:
            results.append(OnnxEmbedder(str(model_path()), quantized=quantized, directory=folder))
        except Exception as exc:  # reported below, with the thread's result
            results.append(exc)

    # Each start opens the lock file itself, so threads contend for it as processes do.
    with caplog.at_level(logging.INFO, logger="watcher.match.semantic"):
        threads = [threading.Thread(target=start, args=(q,)) for q in (False, True, False)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert all(isinstance(r, OnnxEmbedder) for r in results), results
    assert sum("exported" in r.getMessage() for r in caplog.records) == 1  # the others found it made
    assert sorted(p.name for p in tmp_path.iterdir()) == [".minilm.lock", "minilm"]


# -- bounds -------------------------------------------------------------------------------------------------


def test_a_ten_megabyte_sentence_is_not_tokenised_whole(minilm: Embedder, exported: Path) -> None:
    import numpy as np

    huge = "NATO ammunition production in Russia " * 270_000  # 10 MB, no full stop
    for embedder in (minilm, OnnxEmbedder(str(model_path()), directory=exported)):
        started = time.perf_counter()
        vector = embedder.encode([huge])
        # Tokenising it whole takes over 10 s here; only what the model reads (256 tokens) is tokenised.
        assert time.perf_counter() - started < 3.0
        assert np.allclose(vector, embedder.encode([huge[:20_000]]), atol=1e-6)


def test_empty_blank_and_non_latin_sentences_get_unit_vectors(minilm: Embedder, exported: Path) -> None:
    import numpy as np

    texts = ["", "   \n\t", "北约的弹药产量已经超过俄罗斯", "НАТО обогнало Россию", "الناتو يتفوق على روسيا"]
    for embedder in (minilm, OnnxEmbedder(str(model_path()), directory=exported)):
        vectors = SentenceCache(4).encode(embedder, texts)
        assert vectors.shape == (5, 384) and np.isfinite(vectors).all()
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


class _Random:
    """Stands for a model where only the cache is measured: a fixed random vector per text."""

    name = "random"

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        rng = np.random.default_rng(len(texts))
        vectors = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_sentence_cache_keeps_its_bound_over_many_distinct_sentences() -> None:
    cache = SentenceCache(1_000)
    for start in range(0, 20_000, 500):
        cache.encode(_Random(), [f"sentence {i} about something" for i in range(start, start + 500)])
    assert len(cache) == 1_000 and cache._matrix is not None and cache._matrix.shape == (1_000, 384)
    assert cache.misses == 20_000
    # The largest capacity the settings allow reserves nothing up front.
    large = SentenceCache(10_000_000)
    large.encode(_Random(), ["one sentence", "another"])
    assert large._matrix is not None and large._matrix.nbytes <= 1024 * 384 * 4


# -- determinism --------------------------------------------------------------------------------------------


def _scores_alone_batched_and_cached(embedder: Embedder) -> list[float | None]:
    def fresh(settings: MatchSettings = EVERY_CANDIDATE) -> Matcher:
        matcher = Matcher([NATO_AMMO], settings, embedder)
        matcher.observe(BACKGROUND)
        return matcher

    alone = fresh().match([DENIES])
    batched_matcher = fresh()
    batched = [m for m in batched_matcher.match([REPORTS, DENIES, NATO_SUMMIT]) if m.article_id == DENIES.id]
    cached = batched_matcher.match([dataclasses.replace(DENIES, id=99)])  # every sentence a cache hit
    uncached = fresh(dataclasses.replace(EVERY_CANDIDATE, sentence_cache=0)).match([DENIES])
    return [m.semantic for m in (*alone, *batched, *cached, *uncached)]


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-int8"])
def test_an_article_scores_the_same_alone_in_a_batch_and_from_the_cache(
    minilm: Embedder, exported: Path, backend: str
) -> None:
    """int8 activations are quantised with one scale per inference call: each sentence runs in a call of its own,
    so its vector, and the article's score, do not depend on the sentences encoded with it."""
    embedder = (
        minilm
        if backend == "torch"
        else OnnxEmbedder(str(model_path()), quantized=backend == "onnx-int8", directory=exported)
    )
    scores = _scores_alone_batched_and_cached(embedder)
    assert len(scores) == 4 and scores[0] is not None and len(set(scores)) == 1


def test_a_name_to_download_fails_at_once_when_the_hub_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without network the library retries each file of the model for some 20 s: a minute and a half of warnings
    before the error. One connection attempt tells first, naming the host, not the endpoint's credentials."""
    from watcher.match.semantic import _load_sentence_transformer, hub_unreachable

    with socket.socket() as closed:  # a loopback port nobody listens on: the connection is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HF_HUB_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://bob:s3cret@127.0.0.1:{port}")
    calls: list[dict[str, object]] = []

    def cache_only(model: str, **options: object) -> str:
        calls.append(options)
        raise OSError("not in the cache")

    started = time.monotonic()
    with pytest.raises(
        MatchError, match=r"cannot be loaded: it is not in the local cache, and 127\.0\.0\.1 cannot be "
    ) as err:
        _load_sentence_transformer(cache_only, "sentence-transformers/all-MiniLM-L6-v2")
    assert calls == [{"local_files_only": True}] and time.monotonic() - started < 5
    assert "s3cret" not in str(err.value)
    # A folder is the library's to explain; behind a proxy only the library can tell.
    assert hub_unreachable("/models/minilm") is None and hub_unreachable("./minilm") is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the library says so at once itself
    assert hub_unreachable("sentence-transformers/all-MiniLM-L6-v2") is None
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert hub_unreachable("sentence-transformers/all-MiniLM-L6-v2") is None


def test_a_model_is_loaded_from_the_local_copy_first_and_downloaded_only_when_missing() -> None:
    """A start without network must not spend a minute on retries for a model already here; a name not here
    is loaded as the library would (a download, which cannot run here: the loader stands in for it)."""
    from watcher.match.semantic import _load_sentence_transformer

    calls: list[dict[str, object]] = []

    def here(model: str, **options: object) -> str:
        calls.append(options)
        return f"loaded {model}"

    assert _load_sentence_transformer(here, "m", device="cpu") == "loaded m"
    assert calls == [{"local_files_only": True, "device": "cpu"}]

    calls.clear()

    def downloadable(model: str, **options: object) -> str:
        calls.append(options)
        if options.get("local_files_only"):
            raise OSError("not in the cache")
        return f"downloaded {model}"

    reachable = {"unreachable": lambda model: None}  # the Hub answers (it cannot from here)
    assert _load_sentence_transformer(downloadable, "m", device="cpu", **reachable) == "downloaded m"
    assert calls == [{"local_files_only": True, "device": "cpu"}, {"device": "cpu"}]

    def nowhere(model: str, **options: object) -> str:
        raise OSError(f"{model} not found at https://bob:s3cret@hub.example/")

    with pytest.raises(MatchError, match=r"^matching\.model 'm' cannot be loaded: .*\*\*\*@hub") as err:
        _load_sentence_transformer(nowhere, "m", **reachable)
    assert "s3cret" not in str(err.value)
