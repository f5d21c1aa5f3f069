"""End-to-end figures of the claim matcher importable as ``watcher.match`` (point PYTHONPATH at
the version to measure): live mixes, title-only items, labelled pairs, throughput, cost, memory.

Usage: python -m bench.match_eval --fnc DIR --arc DIR [--model PATH] [--vectors DIR] [--claims 100] [--draws 3]

Live mix: --claims random claims (headlines) of a data set against every item; a pair is related
when claim and item belong to the same story, and every item of another story is a negative (the
live base rate). Title-only items: one per body, the title a related headline of the body (never
counted against that headline's own claim), with and without the body's first sentence.
Labelled pairs: the data set's own (headline, body) pairs, related = agree/discuss/disagree.
Without --model the semantic stage is off (lexical only, as a core install). --vectors is the
embedding cache of bench/match_embed.py; sentences missing from it are encoded by the model. The
semantic stage's cost is measured by encoding, uncached, the sentences of --cost-articles items.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.match_data import DataSet, Item, VectorCache, body_items, load, title_items, to_article
from watcher.domain import Claim
from watcher.match import Embedder, Matcher, MatchSettings, load_embedder

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

BATCH = 64


class CachedEmbedder:
    """Vectors from the bench/match_embed.py cache; misses are encoded by the model (and timed)."""

    def __init__(self, inner: Embedder, cache: VectorCache | None) -> None:
        self.inner = inner
        self.cache = cache
        self.encoded = 0
        self.encode_s = 0.0

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        if self.cache is None:
            started = time.perf_counter()
            out = self.inner.encode(texts)
            self.encode_s += time.perf_counter() - started
            self.encoded += len(texts)
            return out
        before = self.cache.misses
        vectors = self.cache.get(texts)
        if self.cache.misses > before:
            missing = [i for i, row in enumerate(vectors) if not row.any()]
            started = time.perf_counter()
            vectors[missing] = self.inner.encode([texts[i] for i in missing])
            self.encode_s += time.perf_counter() - started
            self.encoded += len(missing)
        return np.asarray(vectors, dtype=np.float32)


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    negatives: int = 0
    articles: int = 0
    wall_s: float = 0.0
    semantic_articles: int = 0
    sentences: int = 0

    def line(self) -> str:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        f1 = 2 * p * r / max(p + r, 1e-12)
        return (
            f"P {p:.4f}  R {r:.4f}  F1 {f1:.4f}  false matches/claim/10k unrelated "
            f"{1e4 * self.fp / max(self.negatives, 1):.2f} ({self.fp}/{self.negatives}); "
            f"{self.articles / max(self.wall_s, 1e-9):,.0f} articles/s; semantic stage on "
            f"{self.semantic_articles / max(self.articles, 1):.1%} of articles"
        )


def live_scores(
    data: DataSet,
    items: Sequence[Item],
    own: Sequence[int],
    settings: MatchSettings,
    embedder: Embedder | None,
    claims: int,
    draws: int,
    seed: int,
    tally: Tally | None = None,
) -> tuple[list[float], list[float]]:
    """The live mix: ``claims`` random claims per draw against every item. Returns the scores of the related
    and of the unrelated (claim, item) pairs (0 for a pair below the floor); ``tally``, when given, also
    gets the matching time and the matcher's counters."""
    related: list[float] = []
    unrelated: list[float] = []
    warm = [to_article(i) for i in body_items(data)]
    for draw in range(draws):
        rng = random.Random(seed + draw)
        chosen = sorted(rng.sample(range(len(data.claims)), min(claims, len(data.claims))))
        matcher = Matcher(
            [Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen], settings, embedder
        )
        matcher.observe(warm)
        articles = [to_article(i) for i in items]
        started = time.perf_counter()
        found = {
            (p.claim.id, p.article_id): p.score
            for start in range(0, len(articles), BATCH)
            for p in matcher.score_pairs(articles[start : start + BATCH])
        }
        if tally is not None:
            tally.wall_s += time.perf_counter() - started
            stats = matcher.stats()
            tally.articles += stats["articles_seen"]
            tally.semantic_articles += stats["semantic_runs"]
            tally.sentences += stats["sentences_embedded"]
        for c in chosen:
            story = data.claim_story[c]
            for k, item in enumerate(items):
                if own[k] == c:
                    continue
                score = found.get((c, item.id), 0.0)
                (related if story >= 0 and item.story == story else unrelated).append(score)
    return related, unrelated


def live_mix(
    data: DataSet,
    items: Sequence[Item],
    own: Sequence[int],
    settings: MatchSettings,
    embedder: Embedder | None,
    claims: int,
    draws: int,
    seed: int,
) -> Tally:
    """Matches of the live mix at the settings' threshold (the claims here have none of their own)."""
    tally = Tally()
    related, unrelated = live_scores(data, items, own, settings, embedder, claims, draws, seed, tally)
    tally.tp = sum(s >= settings.threshold for s in related)
    tally.fn = len(related) - tally.tp
    tally.fp = sum(s >= settings.threshold for s in unrelated)
    tally.negatives = len(unrelated)
    return tally


def labelled_pairs(data: DataSet, settings: MatchSettings, embedder: Embedder | None) -> Tally:
    """Each body against its own labelled headlines (FNC-style pairs)."""
    heads: dict[int, list[int]] = defaultdict(list)
    for c, b, _ in data.pairs:
        heads[b].append(c)
    base = Matcher([], settings, embedder)
    base.observe([to_article(i) for i in body_items(data)])
    found: set[tuple[int, int]] = set()
    tally = Tally()
    started = time.perf_counter()
    for b, cs in sorted(heads.items()):
        claims = [Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in dict.fromkeys(cs)]
        matcher = base.with_claims(claims)
        item = Item(b, "", data.bodies[b], data.body_story.get(b, -1), b)
        found.update((m.claim_id, b) for m in matcher.match([to_article(item)]))
        tally.semantic_articles += matcher.stats()["semantic_runs"]
    tally.wall_s = time.perf_counter() - started
    tally.articles = len(heads)
    for c, b, related in data.pairs:
        hit = (c, b) in found
        tally.tp += related and hit
        tally.fn += related and not hit
        tally.fp += hit and not related
        tally.negatives += not related
    return tally


def semantic_cost(data: DataSet, settings: MatchSettings, embedder: Embedder, count: int, claims: int) -> str:
    """Uncached: ms per article the semantic stage adds, over the first ``count`` bodies."""
    rng = random.Random(99)
    chosen = sorted(rng.sample(range(len(data.claims)), min(claims, len(data.claims))))
    items = body_items(data)[:count]
    lexical = Matcher([Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen], settings, None)
    hybrid = Matcher([Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen], settings, embedder)
    warm = [to_article(i) for i in body_items(data)]
    lexical.observe(warm)
    hybrid.observe(warm)
    hybrid.score_pairs([to_article(items[0])])  # claim vectors, model warm-up
    articles = [to_article(i) for i in items]
    timings = []
    for matcher in (lexical, hybrid):
        started = time.perf_counter()
        for start in range(0, len(articles), BATCH):
            matcher.match(articles[start : start + BATCH])
        timings.append(time.perf_counter() - started)
    runs = hybrid.stats()["semantic_runs"] - 1
    extra = max(timings[1] - timings[0], 0.0)
    return (
        f"uncached, {len(articles)} bodies x {len(chosen)} claims: lexical {1e3 * timings[0] / len(articles):.2f} "
        f"ms/article, with the semantic stage {1e3 * timings[1] / len(articles):.2f} ms/article "
        f"({runs} articles embedded, {1e3 * extra / max(runs, 1):.0f} ms per embedded article)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--arc", type=Path, default=None)
    parser.add_argument("--model", default=None, help="sentence-transformers model path; none: lexical only")
    parser.add_argument("--vectors", type=Path, default=None, help="bench/match_embed.py output folder")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cost-articles", type=int, default=200)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: pairs,title,cost")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    import watcher.match

    print(f"matcher: {Path(watcher.match.__file__).parent}")
    sets = [load(args.fnc, "fnc1")] + ([load(args.arc, "arc")] if args.arc else [])
    embedder: Embedder | None = None
    inner: Embedder | None = None
    if args.model:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        inner = load_embedder(args.model)
        if inner is not None:
            embedder = CachedEmbedder(inner, VectorCache(args.vectors) if args.vectors else None)
    settings = MatchSettings(model=args.model)
    mode = "hybrid" if embedder is not None else "lexical only"
    print(
        f"mode: {mode}; band [{settings.candidate_floor:.4f}, {settings.semantic_ceiling:.4f}); threshold 0.5"
    )
    for data in sets:
        name = data.name
        print(
            f"\n== {name}: {len(data.claims)} claims, {len(data.bodies)} bodies, {len(data.pairs)} labelled pairs"
        )
        if "pairs" not in skip:
            print(f"  labelled pairs:          {labelled_pairs(data, settings, embedder).line()}")
        bodies = body_items(data)
        tally = live_mix(
            data, bodies, [-1] * len(bodies), settings, embedder, args.claims, args.draws, args.seed
        )
        print(f"  live mix, bodies:        {tally.line()}")
        if "title" not in skip:
            for with_line, label in ((True, "title + first sentence"), (False, "title only")):
                items, own = title_items(data, with_line=with_line)
                tally = live_mix(data, items, own, settings, embedder, args.claims, args.draws, args.seed)
                print(f"  live mix, {label + ':':22s}{tally.line()}")
    if embedder is not None and inner is not None and "cost" not in skip:
        print(
            f"\nsemantic stage cost, {semantic_cost(sets[0], settings, inner, args.cost_articles, args.claims)}"
        )
    print(f"\npeak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
