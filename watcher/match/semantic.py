"""Semantic stage: sentence embeddings (optional ``semantic`` extra) and claim-to-sentence cosine.

Backends: ``torch`` (sentence-transformers as is), ``onnx`` and ``onnx-int8`` (ONNX Runtime on a model
exported once, offline, from the same sentence-transformers model; ``semantic-onnx`` extra). Sentence vectors
are cached by content (:class:`SentenceCache`), so wire copies and revisions re-embed nothing already seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable
from urllib.parse import urlsplit

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
        self._model: Any = _load_sentence_transformer(SentenceTransformer, model, device=device)
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
            _clipped(texts, int(self._model.max_seq_length or 512)),
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
    if not model.strip():
        # An empty name would otherwise reach the library and fail with an unrelated message.
        raise MatchError(f"matching.model is empty: {_MODEL_HINT}")
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


# What an operator can do about a model that does not load; every such error ends with it.
_MODEL_HINT = (
    "set matching.model to a sentence-transformers model name (already in the Hugging Face cache, or "
    "downloadable from this host) or to a folder holding such a model, or to null for lexical-only matching"
)
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s'\"]+@")
# Characters kept of a text before tokenising: far more than the tokens a model reads (its max_tokens),
# as no token is made of more than a few dozen characters, yet a 1 MB sentence without a full stop is not
# tokenised whole only to be truncated.
_CHARS_PER_TOKEN = 64


def _unloadable(model: str, exc: BaseException) -> MatchError:
    """A one-line error naming the setting, why the model did not load, and what to do."""
    return MatchError(f"matching.model {_shown(model)!r} cannot be loaded: {_reason(exc)}; {_MODEL_HINT}")


def _reason(exc: BaseException) -> str:
    """An exception's message on one line, short, with any credentials in URLs (a mirror's
    ``HF_ENDPOINT=https://user:token@...``) masked, as the message ends up in logs."""
    text = _shown(" ".join(str(exc).split()).rstrip(". ")) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _shown(text: str) -> str:
    """``text`` with the user and password of any URL in it masked."""
    return _CREDENTIALS.sub("***@", text)


def _clipped(texts: list[str], max_tokens: int) -> list[str]:
    """``texts`` cut to the characters their first ``max_tokens`` tokens can come from (the rest is
    truncated by the tokenizer anyway)."""
    limit = max(max_tokens, 1) * _CHARS_PER_TOKEN
    return [t if len(t) <= limit else t[:limit] for t in texts]


def _load_sentence_transformer(
    loader: Any, model: str, *, unreachable: Callable[[str], str | None] | None = None, **options: Any
) -> Any:
    """``loader(model, **options)`` (the SentenceTransformer class), from the local copy first: a folder, or a
    name already in the Hugging Face cache loads without a request, so that a start without network is not a
    minute of retries and a daemon runs the model it ran before; else as the library would (a download), once
    ``unreachable`` (default :func:`hub_unreachable`) has not found the Hub out of reach: without network the
    library retries each of the model's files for some 20 s before it gives up.
    Raises the one-line MatchError of :func:`_unloadable`."""
    try:
        return loader(model, local_files_only=True, **options)
    except Exception:  # not here: a name to download (or what the second try explains)
        logger.debug("model %r is not in the local cache; loading it as sentence-transformers would", model)
    why = (unreachable or hub_unreachable)(model)
    if why is not None:
        raise _unloadable(model, OSError(why))
    try:
        return loader(model, **options)
    except Exception as exc:  # the library raises OSError, ValueError, HTTP errors...
        raise _unloadable(model, exc) from exc


# A download's first connection may take this long; a host without network fails at once (no name resolves).
HUB_CONNECT_TIMEOUT_S = 5.0
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def hub_unreachable(model: str) -> str | None:
    """Why ``model``, not in the local cache, cannot be downloaded from the Hugging Face Hub (``HF_ENDPOINT``,
    by default huggingface.co) from this host, found with one connection attempt; None when it may be. Not
    checked for a path (a folder that is not there: the library says so), with ``HF_HUB_OFFLINE`` set (the
    library then fails at once, saying so) or behind a proxy, which the library goes through and a direct
    connection would not."""
    if (
        os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        or model.startswith((".", "~"))
        or Path(model).is_absolute()
        or any(os.environ.get(v) for v in _PROXY_VARIABLES)
    ):
        return None
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname
    if not host:
        return None
    try:
        port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
        socket.create_connection((host, port), timeout=HUB_CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:  # ValueError: a port out of range
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        return f"it is not in the local cache, and {host} cannot be reached from this host to download it ({reason})"
    return None


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
    source = _source_key(model)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", source.rstrip("/").rsplit("/", 1)[-1])[:60] or "model"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return onnx_cache_root() / f"{slug}-{digest}"


def _source_key(model: str) -> str:
    """A model as exports are told apart: a folder by its resolved path (however it is written), a name as is."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def export_onnx(model: str, directory: Path) -> Path:
    """Export a sentence-transformers model to ``directory``: ``model.onnx`` (float32), ``model_int8.onnx``
    (int8 weights, dynamic quantisation of the matrix products), its tokenizer and a manifest with the size
    and SHA-256 of each file.

    Runs offline on the model as sentence-transformers loads it (a path, or a name already in the local
    cache), and needs the ``semantic`` and ``semantic-onnx`` extras (torch, onnx, onnxruntime). Processes
    exporting into one folder take turns (a lock file beside it), and the folder appears whole or not at
    all: the export is built under another name and renamed into place. An older export in ``directory`` is
    replaced; a folder that holds something else is left alone (:class:`MatchError`). Returns ``directory``.
    """
    try:
        with _export_lock(directory):
            _export(model, directory)
    except OSError as exc:
        raise MatchError(_cache_error(model, directory, exc)) from exc
    return directory


def _cache_error(model: str, directory: Path, exc: OSError) -> str:
    return (
        f"cannot export {_shown(model)!r} to ONNX in {directory}: {_reason(exc)}; set matching.onnx_dir "
        "(or WATCHER_CACHE_DIR) to a folder this process can create and write"
    )


@contextlib.contextmanager
def _export_lock(directory: Path) -> Iterator[None]:
    """Held while this process exports into ``directory``: another one waits, then finds the export made."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "ab") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, but the rename still keeps readers from half an export
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export(model: str, directory: Path) -> None:
    """:func:`export_onnx` with its lock held."""
    _check_replaceable(directory)  # before minutes of work that could not be put in place
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MatchError(
            f"cannot export {model!r} to ONNX: {exc.name} is not installed "
            "(install the 'semantic' and 'semantic-onnx' extras)"
        ) from exc
    # Eager attention traces to plain operators that every ONNX Runtime build runs.
    st: Any = _load_sentence_transformer(
        SentenceTransformer, model, device="cpu", model_kwargs={"attn_implementation": "eager"}
    )
    pooling = _pooling_mode(st, model)
    _remove_leftovers(directory)
    scratch = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{threading.get_ident()}"
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
        try:
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
            _quantize(quantize_dynamic, QuantType.QInt8, scratch)
        except OSError:
            raise
        except Exception as exc:  # the exporter and the quantiser raise their own types
            raise MatchError(f"cannot export {model!r} to ONNX: {_reason(exc)}") from exc
        manifest = {
            "format": ONNX_FORMAT,
            "source": model,
            "inputs": inputs,
            "pooling": pooling,
            "max_tokens": int(st.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "dimension": int(st.encode(["a"]).shape[1]),
            "files": {name: _describe(scratch / name) for name in _CHECKED_FILES},
        }
        (scratch / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _install(scratch, directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    logger.info("exported %s to ONNX in %s", model, directory)


def _quantize(quantize_dynamic: Any, weight_type: Any, folder: Path) -> None:
    quiet = _DropFrom("onnxruntime")  # the quantiser logs a pre-processing hint through the root logger
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(folder / _ONNX_FILES[False]),
            str(folder / _ONNX_FILES[True]),
            weight_type=weight_type,
            op_types_to_quantize=["MatMul"],  # the embedding table stays float: int8 there costs accuracy
            per_channel=True,
            reduce_range=True,
        )
    finally:
        logging.getLogger().removeFilter(quiet)


def _check_replaceable(directory: Path) -> None:
    """Refuse to export into a path that holds something other than an export (or nothing): replacing it
    would delete what someone put there, such as a folder ``matching.onnx_dir`` was pointed at by mistake."""
    if not (directory.exists() or directory.is_symlink()):
        return
    if directory.is_dir() and (not any(directory.iterdir()) or (directory / ONNX_MANIFEST).is_file()):
        return
    what = "a folder that holds no ONNX export" if directory.is_dir() else "not a folder"
    raise MatchError(
        f"matching.onnx_dir {directory} is {what}: point matching.onnx_dir at a new or empty folder "
        "(the export is made there)"
    )


def _install(scratch: Path, directory: Path) -> None:
    """Rename the finished export ``scratch`` to ``directory``, replacing an older export there."""
    _check_replaceable(directory)
    if directory.exists():
        # Moved out of the way in one step and deleted afterwards, so that no reader sees half of it.
        aside = directory.parent / f".{directory.name}.old-{os.getpid()}-{threading.get_ident()}"
        directory.rename(aside)
        scratch.rename(directory)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        scratch.rename(directory)


def _remove_leftovers(directory: Path) -> None:
    """Delete what exports into ``directory`` that were killed half-way left beside it (the lock is held, so
    no export is running): each can be as large as the model."""
    leftover = re.compile(rf"\.{re.escape(directory.name)}\.(tmp-|old-|\d+\.\d+$)")
    for path in directory.parent.iterdir():
        if leftover.match(path.name) and path.is_dir() and not path.is_symlink():
            logger.info("removing %s, left by an interrupted ONNX export", path)
            shutil.rmtree(path, ignore_errors=True)


def _describe(path: Path) -> dict[str, Any]:
    return {"size": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    holds no export, and again when its export is incomplete or damaged (a file whose size or checksum is
    not the manifest's); refuses an export of another model. Encoding imports neither torch nor
    sentence-transformers.

    A text's vector depends on that text alone, not on the texts encoded with it: the float export runs
    ``batch_size`` texts at a time, padded and masked; the int8 export runs each text on its own
    (``batch_size`` is not used), as its activations are quantised with one scale per inference call.
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
        folder = directory if directory is not None else onnx_folder(model)
        # One thread per core this process may run on: ONNX Runtime's default counts the machine's
        # physical cores, which can be more than a process pinned to a few (a container's cpuset) may use.
        threads = threads or _usable_cores()
        try:
            manifest, session, tokenizer = _open_export(model, folder, quantized, threads)
        except _Unusable as why:
            manifest, session, tokenizer = _export_and_open(model, folder, quantized, threads, why)
        tokenizer.no_padding()
        tokenizer.enable_truncation(int(manifest["max_tokens"]))
        self._session: Any = session
        self._tokenizer = tokenizer
        self._max_tokens = int(manifest["max_tokens"])
        self._inputs: list[str] = list(manifest["inputs"])
        self._cls = manifest["pooling"] == "cls"
        self._pad = int(manifest["pad_id"])
        self._dimension = int(manifest["dimension"])
        self._name = f"{model} [onnx-int8]" if quantized else f"{model} [onnx]"
        # DynamicQuantizeLinear takes one scale and zero point over its whole input: in a batch, over every
        # text of it (and the padding), so a text's int8 vector would depend on its neighbours; and a
        # vector the sentence cache keeps, on the batch it was first seen in. One text a call: its own scale.
        self._batch_size = 1 if quantized else batch_size
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
        encodings = self._tokenizer.encode_batch(_clipped(texts, self._max_tokens))
        # Batches of similar lengths pad little (sentence-transformers does the same). On the float export
        # the mask keeps padding out of attention and pooling, so a text padded in a batch gets its vector
        # alone (bit for bit on FNC-1 sentences, at worst float rounding); the int8 export runs one at a time.
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


class _Unusable(Exception):
    """The export folder holds no usable export: none yet (``found`` false), or an old, incomplete or
    damaged one."""

    def __init__(self, reason: str, *, found: bool = True) -> None:
        super().__init__(reason)
        self.found = found


# Files whose size and checksum the manifest records, checked before each is loaded.
_CHECKED_FILES = (*_ONNX_FILES.values(), "tokenizer.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _export_and_open(
    model: str, folder: Path, quantized: bool, threads: int, why: _Unusable
) -> tuple[dict[str, Any], Any, Any]:
    """Export ``model`` into ``folder`` and open it; ``why``: what was wrong with the folder."""
    if why.found:
        logger.warning("the ONNX export in %s cannot be used (%s); exporting %s again", folder, why, model)
    try:
        with _export_lock(folder):
            try:  # another process may have made the export while this one waited for the lock
                return _open_export(model, folder, quantized, threads)
            except _Unusable:
                _export(model, folder)
            return _open_export(model, folder, quantized, threads)
    except _Unusable as exc:
        raise MatchError(
            f"cannot load the ONNX export of {model!r} from {folder}: {exc}; delete the folder to export "
            "again, or set matching.backend: torch"
        ) from exc
    except OSError as exc:
        raise MatchError(_cache_error(model, folder, exc)) from exc


def _open_export(model: str, folder: Path, quantized: bool, threads: int) -> tuple[dict[str, Any], Any, Any]:
    """The manifest, ONNX Runtime session and tokenizer of the export in ``folder``; raises :class:`_Unusable`
    when there is none or it is damaged, :class:`MatchError` when it is the export of another model."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    manifest = _read_manifest(folder)
    if _source_key(manifest["source"]) != _source_key(model):
        raise MatchError(
            f"{folder} holds the ONNX export of {_shown(manifest['source'])!r}, not of matching.model "
            f"{_shown(model)!r}: set matching.onnx_dir to another folder, or delete this one to export "
            f"{_shown(model)!r} into it"
        )
    name = _ONNX_FILES[quantized]
    _verify(folder, manifest, name)
    _verify(folder, manifest, "tokenizer.json")
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep rather than spin: the cores are shared with the event loop and the parsers.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # ONNX Runtime and tokenizers raise their own exception types
        raise _Unusable(_reason(exc)) from exc
    width = session.get_outputs()[0].shape[-1]
    if isinstance(width, int) and width != manifest["dimension"]:
        raise _Unusable(
            f"{name} gives vectors of {width} dimensions, its manifest says {manifest['dimension']}"
        )
    return manifest, session, tokenizer


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the export in ``folder``, its fields checked; raises :class:`_Unusable` when the folder
    holds no complete export of the current format."""
    try:
        manifest: Any = json.loads((folder / ONNX_MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise _Unusable("no export yet", found=False) from exc
    except NotADirectoryError as exc:
        raise _Unusable("not a folder", found=False) from exc
    except (OSError, ValueError) as exc:
        raise _Unusable(f"{ONNX_MANIFEST}: {_reason(exc)}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ONNX_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _Unusable(f"an export of format {found!r}, not {ONNX_FORMAT}")
    problem = _manifest_problem(manifest)
    if problem:
        raise _Unusable(f"{ONNX_MANIFEST}: {problem}")
    missing = [f for f in _ONNX_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise _Unusable(f"{missing[0]} is missing")
    return manifest


def _manifest_problem(manifest: dict[str, Any]) -> str:
    """What is wrong with a manifest's fields (as written by hand or damaged), or ""."""
    ints = {"max_tokens": 1, "pad_id": 0, "dimension": 1}  # field: least value
    for key, least in ints.items():
        value = manifest.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            return f"{key} is {value!r}"
    inputs = manifest.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(n in _INPUTS for n in inputs):
        return f"inputs is {inputs!r}"
    if manifest.get("pooling") not in ("mean", "cls"):
        return f"pooling is {manifest.get('pooling')!r}"
    if not isinstance(manifest.get("source"), str):
        return f"source is {manifest.get('source')!r}"
    files = manifest.get("files", {})  # absent from exports made before files were recorded
    if not isinstance(files, dict) or not all(
        isinstance(d, dict) and isinstance(d.get("size"), int) and isinstance(d.get("sha256"), str)
        for d in files.values()
    ):
        return "files is malformed"
    return ""


def _verify(folder: Path, manifest: dict[str, Any], name: str) -> None:
    """Raise :class:`_Unusable` when a file is not the one the export wrote: another size (a copy or a write
    cut short) or another checksum. Exports made before checksums were recorded rely on ONNX Runtime's
    own checks."""
    expected = manifest.get("files", {}).get(name)
    if expected is None:
        return
    path = folder / name
    try:
        size = path.stat().st_size
        if size != expected["size"]:
            raise _Unusable(f"{name} has {size} bytes, its manifest says {expected['size']}")
        if _sha256(path) != expected["sha256"]:
            raise _Unusable(f"{name} does not match the checksum in its manifest")
    except OSError as exc:
        raise _Unusable(f"{name}: {_reason(exc)}") from exc


# -- sentence cache -----------------------------------------------------------------------------------------


class SentenceCache:
    """Sentence vectors by content: at most ``capacity`` of them, the least recently used dropped first.

    The key is a hash of the embedder's name (model and backend) and the sentence with its whitespace
    normalised, so the same sentence in a wire copy, a revision or another batch is encoded once. Vectors
    are kept in one matrix, grown as the cache fills. Thread-safe.
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
            self._matrix = np.empty((min(self.capacity, 1024), vector.shape[0]), dtype=np.float32)
        if key in self._slots:
            slot = self._slots[key]
        elif len(self._slots) < self.capacity:
            slot = len(self._slots)
            if slot == len(self._matrix):
                # Grown as it fills, doubling: a large capacity (up to 10 million, 15 GiB) reserves memory
                # only as it is used, not all of it at the first sentence.
                grown = np.empty((min(self.capacity, 2 * slot), self._matrix.shape[1]), dtype=np.float32)
                grown[:slot] = self._matrix
                self._matrix = grown
        else:
            _, slot = self._slots.popitem(last=False)
        self._slots[key] = slot
        self._matrix[slot] = vector
