"""Score every (claim, item) pair that shares a match key, lexical features and semantic cosines.

Usage: python -m bench.match_extract --data DIR --name fnc1|arc --variant bodies|title|titleline --vectors DIR --out FILE

Writes an .npz: claim, item (indices), the lexical feature columns (FEATURES), semantic (best
claim-sentence cosine over the sentences the semantic stage would embed), semantic_mean, and
the label of each pair by story (related = same story).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from bench.match_data import Item, VectorCache, body_items, load, title_items, to_article
from watcher.domain import Claim
from watcher.match import Matcher, MatchSettings
from watcher.match.lexical import LexicalFeatures
from watcher.text.sentences import split_sentences

FEATURES = (
    "coverage",
    "best",
    "window",
    "lead",
    "cosine",
    "share",
    "pairs",
    "rare",
    "window_share",
    "inverse_terms",
    "thin",
)
SEMANTIC_SENTENCES = 16
LEAD = 3
TOP = 3


def row(f: LexicalFeatures) -> list[float]:
    return [float(getattr(f, n)) for n in FEATURES]


def sentences_of(item: Item, max_sentences: int = 80) -> list[str]:
    out = [item.title.strip()] if item.title.strip() else []
    out.extend(split_sentences(item.text, "en")[: max(max_sentences - len(out), 0)])
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--name", choices=("fnc1", "arc"), required=True)
    parser.add_argument("--variant", choices=("bodies", "title", "titleline"), required=True)
    parser.add_argument("--vectors", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = load(args.data, args.name)
    if args.variant == "bodies":
        items, own = body_items(data), [-1] * len(data.bodies)
    else:
        items, own = title_items(data, with_line=args.variant == "titleline")
    claims = [Claim(id=i, name=f"c{i}", text=t) for i, t in enumerate(data.claims)]
    matcher = Matcher(claims, MatchSettings(model=None, candidate_floor=0.0, threshold=0.0))
    matcher.observe([to_article(i) for i in body_items(data)])  # warm statistics: the set's bodies
    cache = VectorCache(args.vectors)
    claim_vectors = cache.get(data.claims)
    out_claim: list[int] = []
    out_item: list[int] = []
    rows: list[list[float]] = []
    sem: list[float] = []
    sem_mean: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(items), 64):
        chunk = items[start : start + 64]
        scored = matcher.score_pairs([to_article(i) for i in chunk])
        by_item: dict[int, list[tuple[int, LexicalFeatures]]] = {}
        for s in scored:
            by_item.setdefault(s.article_id, []).append((s.claim.id, s.features))
        for offset, item in enumerate(chunk):
            index = start + offset
            found = [(c, f) for c, f in by_item.get(item.id, []) if c != own[index]]
            if not found:
                continue
            vectors = cache.get(sentences_of(item))
            # The sentences the semantic stage embeds: the lead, then those the lexical stage
            # liked best for any candidate claim (as Matcher._choose_sentences does).
            best_score: dict[int, float] = {}
            for _, f in found:
                for i, v in f.sentence_scores:
                    if i >= LEAD and v > best_score.get(i, 0.0):
                        best_score[i] = v
            lead = list(range(min(len(vectors), LEAD)))
            ranked = sorted(best_score, key=lambda i: (-best_score[i], i))[: SEMANTIC_SENTENCES - LEAD]
            chosen = sorted(lead + ranked)
            claim_ids = [c for c, _ in found]
            cvec = claim_vectors[claim_ids]
            sub = vectors[chosen]
            sims = sub @ cvec.T  # chosen sentences x claims
            top = min(TOP, len(chosen))
            best_rows = (
                np.argpartition(-sims, top - 1, axis=0)[:top]
                if len(chosen) > top
                else np.tile(np.arange(len(chosen))[:, None], (1, len(found)))
            )
            centroids = sub[best_rows].mean(axis=0)  # claims x dim
            norms = np.linalg.norm(centroids, axis=1)
            means = np.einsum("ij,ij->i", centroids, cvec) / np.maximum(norms, 1e-9)
            maxes = sims.max(axis=0)
            for column, (c, f) in enumerate(found):
                out_claim.append(c)
                out_item.append(index)
                rows.append(row(f))
                sem.append(float(maxes[column]))
                sem_mean.append(float(means[column]))
        if start % 640 == 0:
            print(
                f"{start + len(chunk)} items, {len(rows)} pairs, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    claim_story = np.array(data.claim_story)
    item_story = np.array([i.story for i in items])
    c_arr, i_arr = np.array(out_claim, dtype=np.int32), np.array(out_item, dtype=np.int32)
    label = (claim_story[c_arr] == item_story[i_arr]) & (claim_story[c_arr] >= 0)
    np.savez_compressed(
        args.out,
        claim=c_arr,
        item=i_arr,
        x=np.array(rows, dtype=np.float32),
        semantic=np.array(sem, dtype=np.float32),
        semantic_mean=np.array(sem_mean, dtype=np.float32),
        label=label,
        claim_story=claim_story,
        item_story=item_story,
        item_body=np.array([i.body_id for i in items]),
        own=np.array(own),
    )
    print(
        f"done: {len(rows)} pairs, {int(label.sum())} related, cache misses {cache.misses}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
