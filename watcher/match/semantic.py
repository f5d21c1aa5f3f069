"""Semantic stage: sentence embeddings (optional ``semantic`` extra) and claim-to-sentence cosine.

Backends: ``torch`` (sentence-transformers as is), ``onnx`` and ``onnx-int8`` (ONNX Runtime on a model
exported once, offline, from the same sentence-transformers model; ``semantic-onnx`` extra). Sentence vectors
are cached by content (:class:`SentenceCache`), so wire copies and revisions re-embed nothing already seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from watcher import errors

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# For claims tracked across languages: same size class, 50+ languages, one vector space.
MULTILINGUAL_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)
# Sentences whose vectors a matcher keeps (MatchSettings.sentence_cache): about 1.5 KiB each at 384 dimensions.
DEFAULT_SENTENCE_CACHE = 20_000

_lock = threading.Lock()
_loaded: dict[tuple[str, str | None, str, str | None], Embedder] = {}
_logged: set[str] = set()


class MatchError(errors.MatchError, ValueError):
    """The claim matcher could not be set up (a bad setting, or a model that cannot be loaded)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; the semantic stage needs nothing else.

    ``encode`` returns a float32 array of shape ``(len(texts), dim)`` whose rows have norm 1,
    so that a dot product is the cosine similarity. It must accept an empty list.
    """

    @property
    def name(self) -> str: ...

    def encode(self, texts: list[str]) -> NDArray[np.float32]: ...


class SentenceTransformerEmbedder:
    """An :class:`Embedder` backed by a sentence-transformers model, loaded by name or path."""

    def __init__(self, model: str, *, batch_size: int = 32, device: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MatchError(
                f"cannot load model {model!r}: sentence-transformers is not installed "
                "(install the 'semantic' extra)"
            ) from exc
        try:
            self._model: Any = SentenceTransformer(model, device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HTTP errors...
            raise MatchError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self._name = model
        self._batch_size = batch_size
        self.encoded = 0  # texts encoded since creation

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            dim = int(self._model.get_sentence_embedding_dimension() or 0)
            return np.zeros((0, dim), dtype=np.float32)
        self.encoded += len(texts)
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(
    model: str | None,
    *,
    batch_size: int = 32,
    device: str | None = None,
    backend: str = "torch",
    onnx_dir: str | Path | None = None,
) -> Embedder | None:
    """Load the sentence embedder for the semantic stage, or None when it is off.

    Returns None (and logs once; a warning only for a model other than the default) when ``model`` is
    None or the extra the backend needs is not installed; raises :class:`MatchError` naming the model when it
    cannot be loaded. A model is loaded once per process (and backend) and shared.

    :param backend: ``torch``, ``onnx`` or ``onnx-int8`` (see :class:`OnnxEmbedder`).
    :param onnx_dir: where the ONNX export of the model is kept; default: a folder per model under
        :func:`onnx_cache_root`.
    """
    if backend not in BACKENDS:
        raise MatchError(f"unknown semantic backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if model is None:
        _log_once("off", logging.INFO, "semantic matching is off (no model configured); lexical only")
        return None
    if backend == "torch":
        missing = _missing("sentence_transformers")
        extra = "semantic"
    else:
        missing = _missing("onnxruntime", "tokenizers", "numpy")
        extra = "semantic-onnx"
    if missing:
        # The default model with the core install is the expected set-up (make run): say so quietly. A model
        # someone chose and cannot have is worth a warning.
        _log_once(
            "missing",
            logging.INFO if model == DEFAULT_MODEL and backend == "torch" else logging.WARNING,
            f"semantic matching is off: {missing} is not installed (pip install 'watcher[{extra}]'); "
            "lexical only",
        )
        return None
    folder = str(onnx_dir) if onnx_dir is not None else None
    with _lock:
        found = _loaded.get((model, device, backend, folder))
        if found is None:
            logger.info("loading sentence embedding model %s (%s)", model, backend)
            if backend == "torch":
                found = SentenceTransformerEmbedder(model, batch_size=batch_size, device=device)
            else:
                found = OnnxEmbedder(
                    model,
                    quantized=backend == "onnx-int8",
                    directory=Path(onnx_dir).expanduser() if onnx_dir is not None else None,
                    batch_size=batch_size,
                )
            _loaded[model, device, backend, folder] = found
    return found


def _missing(*modules: str) -> str:
    """The first of ``modules`` that cannot be imported, or ""."""
    import importlib.util

    for name in modules:
        if importlib.util.find_spec(name) is None:
            return name.replace("_", "-")
    return ""


def _log_once(key: str, level: int, message: str) -> None:
    if key not in _logged:
        _logged.add(key)
        logger.log(level, message)


class ClaimVectors:
    """Claim embeddings, computed once per claim text and kept for the matcher's lifetime."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._vectors: dict[str, NDArray[np.float32]] = {}

    def get(self, texts: Sequence[str]) -> list[NDArray[np.float32]]:
        """The vector of each text, encoding the missing ones in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._embedder.encode(missing), strict=True):
                self._vectors[text] = vector
        return [self._vectors[t] for t in texts]


# -- ONNX backend -------------------------------------------------------------------------------------------

ONNX_MANIFEST = "watcher-onnx.json"
ONNX_FORMAT = 1  # bump when the export changes: older folders are exported again
_ONNX_FILES = {False: "model.onnx", True: "model_int8.onnx"}


def onnx_cache_root() -> Path:
    """Where exported models go by default: ``$WATCHER_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/watcher/onnx``
    (``~/.cache/watcher/onnx``)."""
    base = os.environ.get("WATCHER_CACHE_DIR")
    if base:
        return Path(base).expanduser() / "onnx"
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "watcher" / "onnx"


def onnx_folder(model: str) -> Path:
    """The default export folder of a model (a name or a path): one per model, under :func:`onnx_cache_root`."""
    source = str(Path(model).expanduser().resolve()) if Path(model).expanduser().exists() else model
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", source.rstrip("/").rsplit("/", 1)[-1])[:60] or "model"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return onnx_cache_root() / f"{slug}-{digest}"


def export_onnx(model: str, directory: Path) -> Path:
    """Export a sentence-transformers model to ``directory``: ``model.onnx`` (float32), ``model_int8.onnx``
    (int8 weights, dynamic quantisation of the matrix products), its tokenizer and a manifest.

    Runs offline on the model as sentence-transformers loads it (a path, or a name already in the local
    cache), and needs the ``semantic`` and ``semantic-onnx`` extras (torch, onnx, onnxruntime). The folder
    appears whole or not at all, so processes that export at once never read half an export.
    Returns ``directory``.
    """
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MatchError(
            f"cannot export {model!r} to ONNX: {exc.name} is not installed "
            "(install the 'semantic' and 'semantic-onnx' extras)"
        ) from exc
    try:
        # Eager attention traces to plain operators that every ONNX Runtime build runs.
        st: Any = SentenceTransformer(model, device="cpu", model_kwargs={"attn_implementation": "eager"})
    except Exception as exc:  # the library raises OSError, ValueError, HTTP errors...
        raise MatchError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
    pooling = _pooling_mode(st, model)
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = directory.parent / f".{directory.name}.{os.getpid()}.{threading.get_ident()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        tokenizer = st.tokenizer
        tokenizer.save_pretrained(str(scratch))
        if not (scratch / "tokenizer.json").exists():
            raise MatchError(f"cannot export {model!r} to ONNX: its tokenizer has no tokenizer.json")
        sample = tokenizer(["a sentence to trace", "another"], padding=True, return_tensors="pt")
        inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class _Encoder(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *args: Any) -> Any:
                return self.inner(**dict(zip(inputs, args, strict=True))).last_hidden_state

        axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "hidden"]}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's and the exporter's own notes
            torch.onnx.export(
                _Encoder(st[0].auto_model).eval(),
                tuple(sample[n] for n in inputs),
                str(scratch / _ONNX_FILES[False]),
                input_names=inputs,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        quiet = _DropFrom("onnxruntime")  # the quantiser logs a pre-processing hint through the root logger
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(
                str(scratch / _ONNX_FILES[False]),
                str(scratch / _ONNX_FILES[True]),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],  # the embedding table stays float: int8 there costs accuracy
                per_channel=True,
                reduce_range=True,
            )
        finally:
            logging.getLogger().removeFilter(quiet)
        manifest = {
            "format": ONNX_FORMAT,
            "source": model,
            "inputs": inputs,
            "pooling": pooling,
            "max_tokens": int(st.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "dimension": int(st.encode(["a"]).shape[1]),
        }
        (scratch / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)  # an export of an older format
        try:
            scratch.rename(directory)
        except OSError:
            if not (directory / ONNX_MANIFEST).exists():  # not another process's export that won the race
                raise
    except OSError as exc:
        raise MatchError(f"cannot export {model!r} to ONNX in {directory}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("exported %s to ONNX in %s", model, directory)
    return directory


class _DropFrom(logging.Filter):
    """Drops the records logged from a package's files."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self._part = f"{os.sep}{package}{os.sep}"

    def filter(self, record: logging.LogRecord) -> bool:
        return self._part not in record.pathname


def _pooling_mode(st: Any, model: str) -> str:
    """Mean or CLS pooling, read from the model's modules; the export covers nothing else."""
    modules = list(st)
    kinds = [type(m).__name__ for m in modules]
    if len(modules) < 2 or kinds[1] != "Pooling" or any(k not in ("Normalize",) for k in kinds[2:]):
        raise MatchError(
            f"cannot export {model!r} to ONNX: modules {kinds} (expected a transformer and pooling)"
        )
    config = modules[1].get_config_dict()
    mode = config.get("pooling_mode")
    if mode is None:  # older sentence-transformers: one flag per mode
        mode = "cls" if config.get("pooling_mode_cls_token") else "mean"
        if not (config.get("pooling_mode_cls_token") or config.get("pooling_mode_mean_tokens")):
            mode = "unsupported"
    if mode not in ("mean", "cls"):
        raise MatchError(f"cannot export {model!r} to ONNX: pooling {mode!r} (mean or cls only)")
    return str(mode)


class OnnxEmbedder:
    """An :class:`Embedder` that runs a sentence-transformers model exported to ONNX (:func:`export_onnx`)
    on ONNX Runtime; ``quantized``: the int8 export. Exports the model on first use when ``directory``
    holds no export. Encoding imports neither torch nor sentence-transformers.
    """

    def __init__(
        self,
        model: str,
        *,
        quantized: bool = False,
        directory: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = directory if directory is not None else onnx_folder(model)
        manifest = _read_manifest(folder)
        if manifest is None:
            export_onnx(model, folder)
            manifest = _read_manifest(folder)
            if manifest is None:
                raise MatchError(f"cannot load the ONNX export of {model!r} from {folder}")
        try:
            options = ort.SessionOptions()
            # One thread per core this process may run on: ONNX Runtime's default counts the machine's
            # physical cores, which can be more than a process pinned to a few (a container's cpuset) may use.
            options.intra_op_num_threads = threads or _usable_cores()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Idle threads sleep rather than spin: the cores are shared with the event loop and the parsers.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session: Any = ort.InferenceSession(
                str(folder / _ONNX_FILES[quantized]), options, providers=["CPUExecutionProvider"]
            )
            tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # ONNX Runtime raises its own exception types
            raise MatchError(f"cannot load the ONNX export of {model!r} from {folder}: {exc}") from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(int(manifest["max_tokens"]))
        self._tokenizer = tokenizer
        self._inputs: list[str] = list(manifest["inputs"])
        self._cls = manifest["pooling"] == "cls"
        self._pad = int(manifest["pad_id"])
        self._dimension = int(manifest["dimension"])
        self._name = f"{model} [onnx-int8]" if quantized else f"{model} [onnx]"
        self._batch_size = batch_size
        self.directory = folder
        self.encoded = 0  # texts encoded since creation

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        self.encoded += len(texts)
        encodings = self._tokenizer.encode_batch(texts)
        # Batches of similar lengths pad little (sentence-transformers does the same).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                e = encodings[i]
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
                types[r, : len(e.ids)] = e.type_ids
            given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._session.run(None, {n: given[n] for n in self._inputs})[0]
            if self._cls:
                pooled: NDArray[np.float32] = hidden[:, 0, :]
            else:
                weights = mask[:, :, None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out


def _usable_cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """An export's manifest, or None when the folder holds no complete export of the current format."""
    try:
        manifest: dict[str, Any] = json.loads((folder / ONNX_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("format") != ONNX_FORMAT or not all((folder / f).exists() for f in _ONNX_FILES.values()):
        return None
    return manifest


# -- sentence cache -----------------------------------------------------------------------------------------


class SentenceCache:
    """Sentence vectors by content: at most ``capacity`` of them, the least recently used dropped first.

    The key is a hash of the embedder's name (model and backend) and the sentence with its whitespace
    normalised, so the same sentence in a wire copy, a revision or another batch is encoded once. Vectors
    are kept in one preallocated matrix. Thread-safe.
    """

    def __init__(self, capacity: int = DEFAULT_SENTENCE_CACHE) -> None:
        if capacity < 1:
            raise MatchError(f"sentence cache capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._slots: OrderedDict[bytes, int] = OrderedDict()
        self._matrix: NDArray[np.float32] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._slots)

    def encode(self, embedder: Embedder, texts: Sequence[str]) -> NDArray[np.float32]:
        """The vector of each text, as ``embedder.encode`` would give it; only texts not seen are encoded."""
        import numpy as np

        if not texts:
            return embedder.encode([])
        prefix = embedder.name.encode() + b"\0"
        keys = [
            hashlib.blake2b(prefix + " ".join(t.split()).encode(), digest_size=16).digest() for t in texts
        ]
        out: NDArray[np.float32] | None = None
        missing: dict[bytes, list[int]] = {}  # key -> rows of ``texts``
        with self._lock:
            for row, key in enumerate(keys):
                slot = self._slots.get(key)
                if slot is None:
                    missing.setdefault(key, []).append(row)
                    continue
                assert self._matrix is not None
                if out is None:
                    out = np.empty((len(texts), self._matrix.shape[1]), dtype=np.float32)
                self._slots.move_to_end(key)
                out[row] = self._matrix[slot]
            self.hits += len(texts) - sum(len(rows) for rows in missing.values())
            self.misses += len(missing)
        if not missing:
            assert out is not None
            return out
        fresh = embedder.encode([texts[rows[0]] for rows in missing.values()])
        if out is None:
            out = np.empty((len(texts), fresh.shape[1]), dtype=np.float32)
        with self._lock:
            for (key, rows), vector in zip(missing.items(), fresh, strict=True):
                out[rows] = vector
                self._store(key, vector)
        return out

    def _store(self, key: bytes, vector: NDArray[np.float32]) -> None:
        import numpy as np

        if self._matrix is None:
            self._matrix = np.empty((self.capacity, vector.shape[0]), dtype=np.float32)
        if key in self._slots:
            slot = self._slots[key]
        elif len(self._slots) < self.capacity:
            slot = len(self._slots)
        else:
            _, slot = self._slots.popitem(last=False)
        self._slots[key] = slot
        self._matrix[slot] = vector
