"""Semantic stage: sentence embeddings (optional ``semantic`` extra) and claim-to-sentence cosine."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from watcher import errors

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# For claims tracked across languages: same size class, 50+ languages, one vector space.
MULTILINGUAL_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"

_lock = threading.Lock()
_loaded: dict[tuple[str, str | None], SentenceTransformerEmbedder] = {}
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

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            dim = int(self._model.get_sentence_embedding_dimension() or 0)
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(model: str | None, *, batch_size: int = 32, device: str | None = None) -> Embedder | None:
    """Load the sentence embedder for the semantic stage, or None when it is off.

    Returns None (and logs once; a warning only for a model other than the default) when ``model`` is
    None or the ``semantic`` extra is not installed; raises :class:`MatchError` naming the model when it
    cannot be loaded. A model is loaded once per process and shared.
    """
    if model is None:
        _log_once("off", logging.INFO, "semantic matching is off (no model configured); lexical only")
        return None
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        # The default model with the core install is the expected set-up (make run): say so quietly. A model
        # someone chose and cannot have is worth a warning.
        _log_once(
            "missing",
            logging.INFO if model == DEFAULT_MODEL else logging.WARNING,
            "semantic matching is off: sentence-transformers is not installed "
            "(pip install 'watcher[semantic]'); lexical only",
        )
        return None
    with _lock:
        found = _loaded.get((model, device))
        if found is None:
            logger.info("loading sentence embedding model %s", model)
            found = SentenceTransformerEmbedder(model, batch_size=batch_size, device=device)
            _loaded[model, device] = found
    return found


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
