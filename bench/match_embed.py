"""Embed every sentence the evaluation can need once (FNC-1 and ARC), cached on disk by sha1.

Usage: python -m bench.match_embed --fnc DIR --arc DIR --out DIR [--threads 1] [--max-sentences 80]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from watcher.text.sentences import split_sentences


def texts_of(folder: Path, bodies_name: str, stances_name: str, max_sentences: int) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    out: list[str] = []
    with (folder / stances_name).open(encoding="utf-8", newline="") as handle:
        out.extend(" ".join(r["Headline"].split()) for r in csv.DictReader(handle))
    with (folder / bodies_name).open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            out.extend(split_sentences(r["articleBody"], "en")[:max_sentences])
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--arc", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-sentences", type=int, default=80)
    args = parser.parse_args()
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    texts = texts_of(args.fnc, "train_bodies.csv", "train_stances.csv", args.max_sentences)
    texts += texts_of(args.arc, "arc_bodies.csv", "arc_stances_train.csv", args.max_sentences)
    unique = sorted(set(t for t in texts if t), key=len)
    print(f"{len(unique)} distinct sentences", flush=True)
    model = SentenceTransformer(args.model, device="cpu")
    started = time.perf_counter()
    chunks = []
    step = 2048
    for i in range(0, len(unique), step):
        chunks.append(
            model.encode(
                unique[i : i + step], batch_size=64, normalize_embeddings=True, convert_to_numpy=True
            )
        )
        done = i + step
        print(f"{min(done, len(unique))} in {time.perf_counter() - started:.0f} s", flush=True)
    vectors = np.concatenate(chunks).astype(np.float16)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "vectors.npy", vectors)
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in unique]
    (args.out / "keys.json").write_text(json.dumps(keys))
    print(f"rate {len(unique) / (time.perf_counter() - started):.1f} sentences/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
