"""Claim matcher on FNC-1: related/unrelated accuracy, throughput, semantic share and memory.

Usage: python -m bench.match --data ../shared/data/fnc1 [--limit N] [--model PATH_OR_NAME] [--cache DIR]
       python -m bench.match --data ../shared/data/fnc1 --write-df watcher/match/df.json

Headlines are claims and bodies are articles. Bodies are split by crc32 of the Body ID into a
calibration half and a validation half: thresholds come from the calibration half only; every
reported figure comes from the validation half.

Two settings are measured. FNC pairs: the labelled (headline, body) pairs, 27% related. The
realistic mix: 100 claims (up to 5 headlines from each of ~20 stories) against every validation
body, so most articles are about none of the claims and under 1% of pairs are related, as in a
newsroom's feed; a pair is related when headline and body belong to the same FNC story (the
connected components of the related pairs). Figures on the mix are summed over --mixes draws.

The semantic band of the settings is placed around the default threshold, set for a live feed;
on FNC pairs (27% related, a far lower operating threshold) the hybrid run moves the same band,
in log-odds, to the lexical FNC threshold chosen on the calibration half, and prints both.

--write-df writes the reference document frequencies the matcher ships with (the bodies of the
calibration half are the reference corpus) and exits. The scorer's models and operating points are
fitted by bench/match_train.py and measured end to end by bench/match_eval.py.

Sentence embeddings are cached on disk under --cache, so a second run does not re-encode; the
no-cache throughput is then estimated from the encoder speed measured on this machine.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import math
import os
import platform
import random
import shlex
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.memory import peak_rss_mb
from watcher.domain import Article, Claim
from watcher.match import Embedder, Matcher, MatchSettings, ScoredPair, load_embedder, scorer
from watcher.match.lexical import analyze_article
from watcher.text.normalize import Normalizer

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

BATCH = 64  # articles per match() call, as the daemon batches them
MIX_CLAIMS = 100
MIX_HEADLINES_PER_STORY = 5
DF_TERMS = 50_000  # keys kept in the reference table, most frequent first
THRESHOLDS = [1.0 / (1.0 + math.exp(-z / 10.0)) for z in range(-90, 91)]  # logit-spaced
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Pair:
    headline: str
    body_id: int
    related: bool


@dataclass(frozen=True, slots=True)
class Data:
    bodies: dict[int, str]
    pairs: list[Pair]
    story: dict[str, int]  # headline -> FNC story
    body_story: dict[int, int]


@dataclass(frozen=True, slots=True)
class Prf:
    precision: float
    recall: float
    f1: float

    def __str__(self) -> str:
        return f"P {self.precision:.4f}  R {self.recall:.4f}  F1 {self.f1:.4f}"


def prf(tp: int, fp: int, fn: int) -> Prf:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Prf(precision, recall, f1)


def prf_at(labels: Sequence[bool], scores: Sequence[float], threshold: float) -> Prf:
    tp = fp = fn = 0
    for related, score in zip(labels, scores, strict=True):
        hit = score >= threshold
        tp += related and hit
        fp += hit and not related
        fn += related and not hit
    return prf(tp, fp, fn)


# -- data -------------------------------------------------------------------------------------


def is_validation(body_id: int) -> bool:
    """The split: crc32 of the Body ID, the same on every machine and every run."""
    return zlib.crc32(str(body_id).encode()) % 2 == 1


def load_data(path: Path) -> Data:
    csv.field_size_limit(sys.maxsize)
    with (path / "train_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(handle)}
    with (path / "train_stances.csv").open(encoding="utf-8", newline="") as handle:
        pairs = [
            Pair(r["Headline"], int(r["Body ID"]), r["Stance"] != "unrelated") for r in csv.DictReader(handle)
        ]
    story, body_story = stories(pairs)
    return Data(bodies, pairs, story, body_story)


def stories(pairs: Sequence[Pair]) -> tuple[dict[str, int], dict[int, int]]:
    """FNC stories: the connected components of the related (headline, body) pairs."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for p in pairs:
        if p.related:
            parent[find(("h", p.headline))] = find(("b", str(p.body_id)))
    number: dict[tuple[str, str], int] = {}
    story: dict[str, int] = {}
    body_story: dict[int, int] = {}
    for node in list(parent):
        root = number.setdefault(find(node), len(number))
        if node[0] == "h":
            story[node[1]] = root
        else:
            body_story[int(node[1])] = root
    return story, body_story


def article(body_id: int, text: str) -> Article:
    url = f"https://fnc.example/{body_id}"
    return Article(
        id=body_id,
        feed_id=1,
        story_id=body_id,
        url=url,
        canonical_url=url,
        title="",  # FNC bodies come without their headline
        text=text,
        content_hash=str(body_id),
        published_at=NOW,
        first_seen_at=NOW,
        language="en",
        outlet="FNC",
        country="ZZ",
        leaning="unknown",
        ownership="unknown",
    )


def batches(items: Sequence[Article], size: int = BATCH) -> Iterable[Sequence[Article]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- embedding cache --------------------------------------------------------------------------


class CachingEmbedder:
    """An Embedder that keeps every vector on disk, keyed by model name and sentence."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        import numpy as np

        self.inner = inner
        digest = hashlib.sha1(inner.name.encode()).hexdigest()[:12]
        self._dir = directory / f"watcher-match-bench-{digest}"
        self._vectors: dict[str, NDArray[np.float32]] = {}
        self.encoded = 0  # sentences the model encoded (cache misses)
        self.encode_s = 0.0
        keys_file, vectors_file = self._dir / "keys.json", self._dir / "vectors.npy"
        if keys_file.exists() and vectors_file.exists():
            self._vectors = dict(zip(json.loads(keys_file.read_text()), np.load(vectors_file), strict=True))
        self._saved = len(self._vectors)

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}
        if missing:
            started = time.perf_counter()
            vectors = self.inner.encode(list(missing.values()))
            self.encode_s += time.perf_counter() - started
            self.encoded += len(missing)
            self._vectors.update(zip(missing, vectors, strict=True))
        if not texts:
            return self.inner.encode([])
        return np.stack([self._vectors[k] for k in keys])

    def save(self) -> None:
        import numpy as np

        if len(self._vectors) == self._saved:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        np.save(self._dir / "vectors.npy", np.stack([self._vectors[k] for k in keys]))
        (self._dir / "keys.json").write_text(json.dumps(keys))
        self._saved = len(keys)


def encoder_rate(embedder: Embedder, count: int = 96) -> float:
    """Sentences per second the bare model encodes, on fresh sentences of news length."""
    rng = random.Random(1)
    words = "the minister said on tuesday that output of artillery shells had doubled since spring".split()
    texts = [" ".join(rng.choice(words) for _ in range(24)) + f" {i}." for i in range(count)]
    started = time.perf_counter()
    embedder.encode(texts)
    return count / (time.perf_counter() - started)


# -- FNC pairs --------------------------------------------------------------------------------


def score_fnc_pairs(
    base: Matcher, data: Data, body_ids: Sequence[int], claims: dict[str, Claim]
) -> dict[tuple[str, int], ScoredPair]:
    """Score exactly the FNC pairs of these bodies: per body, a matcher over its own headlines
    that shares the base matcher's term statistics and caches."""
    heads: dict[int, list[str]] = defaultdict(list)
    for p in data.pairs:
        heads[p.body_id].append(p.headline)
    out: dict[tuple[str, int], ScoredPair] = {}
    for body_id in body_ids:
        matcher = base.with_claims([claims[h] for h in dict.fromkeys(heads[body_id])])
        for scored in matcher.score_pairs([article(body_id, data.bodies[body_id])]):
            out[scored.claim.text, body_id] = scored
    return out


def labelled(
    data: Data, body_ids: Sequence[int], scored: dict[tuple[str, int], ScoredPair]
) -> tuple[list[bool], list[float]]:
    wanted = set(body_ids)
    labels, scores = [], []
    for p in data.pairs:
        if p.body_id in wanted:
            found = scored.get((p.headline, p.body_id))
            labels.append(p.related)
            scores.append(found.score if found is not None else 0.0)
    return labels, scores


def fnc_accuracy(
    name: str,
    data: Data,
    halves: tuple[list[int], list[int]],
    claims: dict[str, Claim],
    settings: MatchSettings,
    embedder: Embedder | None,
    errors: int = 0,
) -> float:
    """Score the FNC pairs of both halves, print the validation figures; return the threshold
    with the best F1 on the calibration half."""
    cal, val = halves
    # Threshold 0 keeps every pair's score (pairs below the threshold are dropped otherwise);
    # the semantic stage still runs only on the pairs the settings send it.
    base = Matcher([], replace(settings, threshold=0.0), embedder)
    base.observe([article(b, data.bodies[b]) for b in cal])
    started = time.perf_counter()
    cal_labels, cal_scores = labelled(data, cal, score_fnc_pairs(base, data, cal, claims))
    val_scored = score_fnc_pairs(base, data, val, claims)
    val_labels, val_scores = labelled(data, val, val_scored)
    elapsed = time.perf_counter() - started
    best = max(THRESHOLDS, key=lambda t: prf_at(cal_labels, cal_scores, t).f1)
    embedded = sum(1 for s in val_scored.values() if s.semantic is not None)
    print(f"\n[{name}] FNC pairs, validation half: {len(val_labels)} pairs, {sum(val_labels)} related")
    print(f"  threshold {best:.4f} (best F1 on the calibration half): {prf_at(val_labels, val_scores, best)}")
    print(
        f"  threshold {settings.threshold:.4f} (the default, set for a live feed): "
        f"{prf_at(val_labels, val_scores, settings.threshold)}"
    )
    print(f"  pairs the semantic stage scored: {embedded}; both halves scored in {elapsed:.1f} s")
    if errors:
        show_errors(data, val, val_scored, best, errors)
    return best


def band_at(settings: MatchSettings, threshold: float) -> MatchSettings:
    """The settings with the semantic band moved, in log-odds, from the default threshold (set
    for a live feed, where under 1% of pairs are related) to ``threshold`` (FNC pairs, 27%
    related): the stage is meant for the pairs the words leave undecided at the threshold in use."""
    shift = scorer.logit(threshold) - scorer.logit(settings.threshold)
    return replace(
        settings,
        candidate_floor=scorer.sigmoid(scorer.logit(settings.candidate_floor) + shift),
        semantic_ceiling=scorer.sigmoid(scorer.logit(settings.semantic_ceiling) + shift),
    )


def show_errors(
    data: Data,
    body_ids: Sequence[int],
    scored: dict[tuple[str, int], ScoredPair],
    threshold: float,
    count: int,
) -> None:
    """Print misclassified validation pairs, the highest-scoring false matches and the
    lowest-scoring misses first, with their features."""
    wanted = set(body_ids)
    fps, fns = [], []
    for p in data.pairs:
        if p.body_id not in wanted:
            continue
        found = scored.get((p.headline, p.body_id))
        score = found.score if found is not None else 0.0
        if p.related and score < threshold:
            fns.append((score, p, found))
        elif not p.related and score >= threshold:
            fps.append((score, p, found))
    for name, rows in (
        ("false matches", sorted(fps, key=lambda r: -r[0])),
        ("misses", sorted(fns, key=lambda r: r[0])),
    ):
        print(f"  {len(rows)} {name}:")
        for score, p, found in rows[:count]:
            f = found.features if found is not None else None
            detail = (
                f"cov {f.coverage:.2f} best {f.best:.2f} lead {f.lead:.2f} cos {f.cosine:.2f} share {f.share:.2f}"
                if f is not None
                else "no shared term"
            )
            sem = f" sem {found.semantic:.2f}" if found is not None and found.semantic is not None else ""
            body = " ".join(data.bodies[p.body_id].split())[:160]
            print(f"    {score:.3f} [{detail}{sem}] {p.headline!r} <- {p.body_id}: {body!r}")


def write_df(data: Data, cal: Sequence[int], path: Path) -> None:
    """Write the reference document frequencies: the calibration half's bodies as the corpus."""
    norm = Normalizer("en")
    settings = MatchSettings(model=None)
    df: dict[str, int] = defaultdict(int)
    for body_id in cal:
        for key in analyze_article(
            article(body_id, data.bodies[body_id]), norm, settings.max_sentences
        ).vocabulary:
            df[key] += 1
    kept = sorted((k for k, v in df.items() if v > 1), key=lambda k: (-df[k], k))[:DF_TERMS]
    table = {
        "_source": "FNC-1 train split, bodies of the calibration half (crc32(Body ID) even); "
        "keys with a document frequency of at least 2; written by bench/match.py --write-df",
        "docs": len(cal),
        "df": {k: df[k] for k in kept},
    }
    path.write_text(json.dumps(table, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}: {len(kept)} keys from {len(cal)} documents, {path.stat().st_size / 1e6:.2f} MB")


# -- the realistic mix ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mix:
    claims: list[Claim]
    related: set[tuple[int, int]]  # (claim id, body id)
    stories: int


def draw_mix(data: Data, bodies: Sequence[int], seed: int) -> Mix:
    """100 claims, up to 5 headlines from each of a few random stories."""
    rng = random.Random(seed)
    by_story: dict[int, list[str]] = defaultdict(list)
    for headline, story in sorted(data.story.items()):
        by_story[story].append(headline)
    order = sorted(by_story)
    rng.shuffle(order)
    heads: list[str] = []
    used = 0
    for story in order:
        if len(heads) >= MIX_CLAIMS:
            break
        chosen = sorted(by_story[story])
        rng.shuffle(chosen)
        heads.extend(chosen[:MIX_HEADLINES_PER_STORY])
        used += 1
    claims = [Claim(id=i, name=f"c{i}", text=h) for i, h in enumerate(heads[:MIX_CLAIMS])]
    related = {(c.id, b) for c in claims for b in bodies if data.body_story.get(b) == data.story[c.text]}
    return Mix(claims, related, used)


@dataclass(slots=True)
class MixTotals:
    articles: int = 0
    related_articles: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    encode_s: float = 0.0
    stats: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def run_mixes(
    data: Data,
    halves: tuple[list[int], list[int]],
    seeds: Sequence[int],
    settings: MatchSettings,
    embedder: Embedder | None,
) -> MixTotals:
    """Match every validation body against each drawn mix, in daemon-sized batches."""
    cal, val = halves
    articles = [article(b, data.bodies[b]) for b in val]
    warm = [article(b, data.bodies[b]) for b in cal]
    totals = MixTotals()
    for seed in seeds:
        mix = draw_mix(data, val, seed)
        matcher = Matcher(mix.claims, settings, embedder)
        matcher.observe(warm)  # a daemon that has been running: term statistics are warm
        encode_before = embedder.encode_s if isinstance(embedder, CachingEmbedder) else 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        found = {(m.claim_id, m.article_id) for batch in batches(articles) for m in matcher.match(batch)}
        totals.wall_s += time.perf_counter() - wall
        totals.cpu_s += time.process_time() - cpu
        if isinstance(embedder, CachingEmbedder):
            totals.encode_s += embedder.encode_s - encode_before
        totals.articles += len(articles)
        totals.related_articles += len({b for _, b in mix.related})
        totals.tp += len(found & mix.related)
        totals.fp += len(found - mix.related)
        totals.fn += len(mix.related - found)
        for key, value in matcher.stats().items():
            totals.stats[key] += value
    return totals


def report_mix(name: str, totals: MixTotals, draws: int) -> None:
    s = totals.stats
    print(
        f"\n[{name}] realistic mix: {draws} draws of 100 claims x {totals.articles // draws} validation bodies; "
        f"{totals.related_articles / totals.articles:.1%} of articles are about one of the claims"
    )
    print(f"  pairs at the default threshold: {prf(totals.tp, totals.fp, totals.fn)}")
    print(
        f"  throughput {totals.articles / totals.wall_s:,.0f} articles/s against 100 claims "
        f"({totals.articles / totals.cpu_s:,.0f} per CPU second; {totals.articles} articles in {totals.wall_s:.1f} s)"
    )
    print(
        f"  semantic stage ran on {s['semantic_runs']} of {s['articles_seen']} articles "
        f"({s['semantic_runs'] / max(s['articles_seen'], 1):.1%}), {s['sentences_embedded']} sentences embedded; "
        f"{s['lexical_candidates']} lexical candidate pairs"
    )


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="folder with the FNC-1 training CSV files")
    parser.add_argument("--limit", type=int, default=0, help="use at most N bodies per half (quick runs)")
    parser.add_argument(
        "--model", default=None, help="sentence-transformers name or path [default: the matcher's]"
    )
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp"), help="embedding cache folder [default: /tmp]"
    )
    parser.add_argument("--no-semantic", action="store_true", help="lexical figures only")
    parser.add_argument("--mixes", type=int, default=5, help="realistic mixes to draw [default: 5]")
    parser.add_argument("--seed", type=int, default=1, help="first mix seed [default: 1]")
    parser.add_argument("--floor", type=float, default=None, help="override MatchSettings.candidate_floor")
    parser.add_argument("--ceiling", type=float, default=None, help="override MatchSettings.semantic_ceiling")
    parser.add_argument(
        "--write-df", type=Path, default=None, help="write reference document frequencies to this file, exit"
    )
    parser.add_argument("--errors", type=int, default=0, help="print N false matches and N misses")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    data = load_data(args.data)
    split: tuple[list[int], list[int]] = ([], [])
    for body_id in sorted(data.bodies):
        split[is_validation(body_id)].append(body_id)
    halves = (split[0][: args.limit or None], split[1][: args.limit or None])
    claims = {
        h: Claim(id=i, name=f"h{i}", text=h) for i, h in enumerate(sorted({p.headline for p in data.pairs}))
    }
    print(
        f"data: {len(data.bodies)} bodies, {len(data.pairs)} pairs; halves of {len(halves[0])}, {len(halves[1])}"
    )
    settings = MatchSettings(model=args.model or MatchSettings().model)
    if args.floor is not None:
        settings = replace(settings, candidate_floor=args.floor)
    if args.ceiling is not None:
        settings = replace(settings, semantic_ceiling=args.ceiling)
    seeds = range(args.seed, args.seed + args.mixes)

    lexical = replace(settings, model=None)
    if args.write_df is not None:
        write_df(data, halves[0], args.write_df)
        return 0
    fnc_threshold = fnc_accuracy("lexical", data, halves, claims, lexical, None, args.errors)
    report_mix("lexical", run_mixes(data, halves, seeds, lexical, None), len(seeds))
    print(f"\npeak RSS, lexical only: {peak_rss_mb():.0f} MiB")
    if args.no_semantic:
        return 0
    loaded = load_embedder(settings.model)
    if loaded is None:
        print("sentence-transformers is not installed: no hybrid figures")
        return 0
    embedder = CachingEmbedder(loaded, args.cache)
    try:
        hybrid(args, data, halves, claims, settings, embedder, seeds, fnc_threshold)
    finally:
        embedder.save()
    print(f"\npeak RSS, with the model: {peak_rss_mb():.0f} MiB")
    return 0


def hybrid(
    args: argparse.Namespace,
    data: Data,
    halves: tuple[list[int], list[int]],
    claims: dict[str, Claim],
    settings: MatchSettings,
    embedder: CachingEmbedder,
    seeds: Sequence[int],
    fnc_threshold: float,
) -> None:
    fnc = band_at(settings, fnc_threshold)
    print(
        f"\nsemantic band [{settings.candidate_floor:.4f}, {settings.semantic_ceiling:.4f}) around the default "
        f"threshold {settings.threshold:.4f}; on FNC pairs moved to [{fnc.candidate_floor:.4f}, "
        f"{fnc.semantic_ceiling:.4f}) around the lexical FNC threshold {fnc_threshold:.4f}"
    )
    fnc_accuracy("hybrid", data, halves, claims, fnc, embedder, args.errors)
    every = replace(settings, candidate_floor=0.0, semantic_ceiling=1.0)
    fnc_accuracy("hybrid, semantic stage on every pair", data, halves, claims, every, embedder)
    embedder.save()
    totals = run_mixes(data, halves, seeds, settings, embedder)
    report_mix("hybrid", totals, len(seeds))
    rate = encoder_rate(embedder.inner)
    cold_s = totals.wall_s - totals.encode_s + totals.stats["sentences_embedded"] / rate
    print(
        f"  encoder: {rate:.0f} sentences/s on this machine; without the embedding cache the mix runs at "
        f"about {totals.articles / cold_s:,.0f} articles/s ({embedder.encoded} sentences were not cached this run)"
    )


if __name__ == "__main__":
    sys.exit(main())
