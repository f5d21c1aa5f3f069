"""Claim matcher on FNC-1: related/unrelated accuracy, throughput, semantic share and memory.

Usage: python bench/match.py --data ../shared/data/fnc1 [--limit N] [--model PATH_OR_NAME] [--cache DIR]

Headlines are claims and bodies are articles. Bodies are split by crc32 of the Body ID into a
calibration half and a validation half: thresholds (and, with --fit, the scorer's coefficients)
come from the calibration half only; every reported figure comes from the validation half.
Sentence embeddings are cached on disk under --cache, so a second run does not re-encode.
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
import resource
import shlex
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.domain import Article, Claim
from watcher.match import Embedder, Matcher, MatchSettings, load_embedder
from watcher.match.matcher import ScoredPair

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

BATCH = 64  # articles per match() call, as the daemon batches them
MIX_CLAIMS = 100
MIX_HEADLINES_PER_STORY = 5
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
    story: dict[str, int]  # headline -> story (connected component of related pairs)
    body_story: dict[int, int]


@dataclass(frozen=True, slots=True)
class Prf:
    precision: float
    recall: float
    f1: float

    def __str__(self) -> str:
        return f"P {self.precision:.4f}  R {self.recall:.4f}  F1 {self.f1:.4f}"


# -- data -------------------------------------------------------------------------------------


def is_validation(body_id: int) -> bool:
    """The split: crc32 of the Body ID, so it is the same on every machine and every run."""
    return zlib.crc32(str(body_id).encode()) % 2 == 1


def load_data(path: Path) -> Data:
    csv.field_size_limit(sys.maxsize)
    with (path / "train_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(handle)}
    with (path / "train_stances.csv").open(encoding="utf-8", newline="") as handle:
        pairs = [
            Pair(r["Headline"], int(r["Body ID"]), r["Stance"] != "unrelated") for r in csv.DictReader(handle)
        ]
    story, body_story = _stories(pairs)
    return Data(bodies, pairs, story, body_story)


def _stories(pairs: Sequence[Pair]) -> tuple[dict[str, int], dict[int, int]]:
    """Stories are the connected components of the related pairs: one FNC claim and its bodies."""
    parent: dict[tuple[str, object], tuple[str, object]] = {}

    def find(x: tuple[str, object]) -> tuple[str, object]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        if p.related:
            parent[find(("h", p.headline))] = find(("b", p.body_id))
    roots: dict[tuple[str, object], int] = {}
    story: dict[str, int] = {}
    body_story: dict[int, int] = {}
    for node in list(parent):
        number = roots.setdefault(find(node), len(roots))
        if node[0] == "h":
            story[str(node[1])] = number
        else:
            body_story[int(str(node[1]))] = number
    return story, body_story


def article(body_id: int, text: str) -> Article:
    return Article(
        id=body_id, feed_id=1, story_id=body_id, url=f"https://fnc.example/{body_id}",
        canonical_url=f"https://fnc.example/{body_id}", title="", text=text, content_hash=str(body_id),
        published_at=NOW, first_seen_at=NOW, language="en", outlet="FNC", country="ZZ",
        leaning="unknown", ownership="unknown",
    )  # fmt: skip


def batches(items: Sequence[Article], size: int = BATCH) -> Iterable[Sequence[Article]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- embeddings cache -------------------------------------------------------------------------


class CachingEmbedder:
    """An Embedder that keeps every vector on disk, keyed by the model and the sentence."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        import numpy as np

        self.inner = inner
        digest = hashlib.sha1(inner.name.encode()).hexdigest()[:12]
        self._dir = directory / f"watcher-match-bench-{digest}"
        self._vectors: dict[str, NDArray[np.float32]] = {}
        self.encoded = 0
        self.encode_s = 0.0
        keys_file, vectors_file = self._dir / "keys.json", self._dir / "vectors.npy"
        if keys_file.exists() and vectors_file.exists():
            keys = json.loads(keys_file.read_text())
            vectors = np.load(vectors_file)
            self._vectors = dict(zip(keys, vectors, strict=True))
        self._saved = len(self._vectors)

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._vectors))
        if missing:
            started = time.perf_counter()
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._vectors[hashlib.sha1(text.encode()).hexdigest()] = vector
            self.encode_s += time.perf_counter() - started
            self.encoded += len(missing)
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


# -- scoring ----------------------------------------------------------------------------------


def score_fnc_pairs(
    base: Matcher, data: Data, body_ids: Sequence[int], claims: dict[str, Claim]
) -> dict[tuple[str, int], ScoredPair]:
    """Score exactly the FNC pairs of these bodies: one matcher per body over its own headlines,
    sharing the base matcher's statistics and caches (the daemon path, claim set per body)."""
    by_body: dict[int, list[str]] = defaultdict(list)
    for p in data.pairs:
        by_body[p.body_id].append(p.headline)
    out: dict[tuple[str, int], ScoredPair] = {}
    for body_id in body_ids:
        heads = list(dict.fromkeys(by_body[body_id]))
        matcher = base.with_claims([claims[h] for h in heads])
        for scored in matcher.score_pairs([article(body_id, data.bodies[body_id])]):
            out[scored.claim.text, body_id] = scored
    return out


def prf(labels: Sequence[bool], predicted: Sequence[bool]) -> Prf:
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if p and not y)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Prf(precision, recall, f1)


def best_threshold(labels: Sequence[bool], scores: Sequence[float]) -> float:
    return max(THRESHOLDS, key=lambda t: (prf(labels, [s >= t for s in scores]).f1, -abs(t - 0.5)))


def labelled(
    data: Data, body_ids: set[int], scored: dict[tuple[str, int], ScoredPair]
) -> tuple[list[bool], list[float]]:
    labels, scores = [], []
    for p in data.pairs:
        if p.body_id in body_ids:
            labels.append(p.related)
            found = scored.get((p.headline, p.body_id))
            scores.append(found.score if found is not None else 0.0)
    return labels, scores


# -- logistic fit (calibration) ---------------------------------------------------------------


def fit_logistic(
    rows: list[list[float]], labels: list[bool], offset: list[float] | None = None
) -> list[float]:
    """Newton's method with a small ridge; returns [intercept, *coefficients]."""
    import numpy as np

    x = np.column_stack([np.ones(len(rows)), np.array(rows, dtype=float)])
    y = np.array(labels, dtype=float)
    off = np.zeros(len(rows)) if offset is None else np.array(offset)
    w = np.zeros(x.shape[1])
    ridge = 1e-3 * np.eye(x.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w + off)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return [float(v) for v in w]


def fit(data: Data, cal: Sequence[int], claims: dict[str, Claim], embedder: Embedder | None) -> None:
    """Print scorer coefficients fitted on the calibration half (every pair with a shared term)."""
    settings = MatchSettings(model=None, candidate_floor=0.0, semantic_ceiling=1.0, threshold=0.0)
    base = Matcher([], settings, embedder)
    base.observe([article(b, data.bodies[b]) for b in cal])
    scored = score_fnc_pairs(base, data, cal, claims)
    rows, semantic, labels, thin = [], [], [], []
    for p in data.pairs:
        found = scored.get((p.headline, p.body_id))
        if p.body_id not in set(cal) or found is None:
            continue
        f = found.features
        rows.append([f.coverage, f.best, f.window, f.lead])
        thin.append(1.0 if f.thin else 0.0)
        semantic.append(found.semantic if found.semantic is not None else 0.0)
        labels.append(p.related)
    from watcher.match import scorer

    lexical = fit_logistic(rows, labels, offset=[scorer.LEXICAL.thin * t for t in thin])
    print("fit LEXICAL   intercept, coverage, best, window, lead:", [round(v, 3) for v in lexical])
    if embedder is None:
        return
    hybrid = fit_logistic([r + [t, s] for r, t, s in zip(rows, thin, semantic, strict=True)], labels)
    print(
        "fit HYBRID    intercept, coverage, best, window, lead, thin, semantic:",
        [round(v, 3) for v in hybrid],
    )
    only = fit_logistic([[s] for s in semantic], labels)
    print("fit SEMANTIC_ONLY intercept, semantic:", [round(v, 3) for v in only])


# -- the benchmark ----------------------------------------------------------------------------


def accuracy(
    name: str, data: Data, cal: Sequence[int], val: Sequence[int], claims: dict[str, Claim],
    settings: MatchSettings, embedder: Embedder | None,
) -> None:  # fmt: skip
    # Threshold 0 keeps every pair's score (the candidate floor drops pairs below the threshold
    # otherwise); the semantic stage still runs only on the pairs the settings send it.
    base = Matcher([], replace(settings, threshold=0.0), embedder)
    base.observe([article(b, data.bodies[b]) for b in cal])
    started = time.perf_counter()
    cal_scored = score_fnc_pairs(base, data, cal, claims)
    val_scored = score_fnc_pairs(base, data, val, claims)
    elapsed = time.perf_counter() - started
    cal_labels, cal_scores = labelled(data, set(cal), cal_scored)
    val_labels, val_scores = labelled(data, set(val), val_scored)
    threshold = best_threshold(cal_labels, cal_scores)
    semantic_pairs = sum(1 for s in val_scored.values() if s.semantic is not None)
    print(f"\n[{name}] FNC-1 related vs unrelated, validation half ({len(val_labels)} pairs, "
          f"{sum(val_labels)} related); scored both halves in {elapsed:.1f} s")  # fmt: skip
    print(
        f"  calibrated threshold {threshold:.2f} (best F1 on the calibration half): {prf(val_labels, [s >= threshold for s in val_scores])}"
    )
    default = settings.threshold
    print(
        f"  default threshold    {default:.2f}:                                    {prf(val_labels, [s >= default for s in val_scores])}"
    )
    print(f"  validation pairs the semantic stage scored: {semantic_pairs} of {len(val_labels)}")


def realistic_mix(
    data: Data, val: Sequence[int], seed: int
) -> tuple[list[Claim], list[int], set[tuple[int, int]]]:
    """100 claims from a few stories (up to 5 headlines each) against every validation body:
    most bodies are about none of them, as in a newsroom's feed."""
    rng = random.Random(seed)
    by_story: dict[int, list[str]] = defaultdict(list)
    for headline, story in sorted(data.story.items()):
        by_story[story].append(headline)
    stories = sorted(by_story)
    rng.shuffle(stories)
    heads: list[str] = []
    for story in stories:
        if len(heads) >= MIX_CLAIMS:
            break
        chosen = sorted(by_story[story])
        rng.shuffle(chosen)
        heads.extend(chosen[:MIX_HEADLINES_PER_STORY])
    heads = heads[:MIX_CLAIMS]
    claims = [Claim(id=i, name=f"c{i}", text=h) for i, h in enumerate(heads)]
    related = {
        (c.id, b) for c in claims for b in val if data.body_story.get(b, -1) == data.story[c.text]
    }  # fmt: skip
    return claims, list(val), related


def mix_run(
    name: str, data: Data, cal: Sequence[int], claims: list[Claim], bodies: Sequence[int],
    related: set[tuple[int, int]], settings: MatchSettings, embedder: Embedder | None, repeat_until_s: float,
) -> tuple[float, Matcher, float]:  # fmt: skip
    """Match the mix in daemon-sized batches; returns articles/s, the matcher, lexical seconds."""
    articles = [article(b, data.bodies[b]) for b in bodies]
    matcher = Matcher(claims, settings, embedder)
    matcher.observe([article(b, data.bodies[b]) for b in cal])
    matches: list[tuple[int, int]] = []
    rounds, started = 0, time.perf_counter()
    while True:
        for batch in batches(articles):
            matches.extend((m.claim_id, m.article_id) for m in matcher.match(batch))
        rounds += 1
        elapsed = time.perf_counter() - started
        if elapsed >= repeat_until_s or embedder is not None:
            break
    rate = rounds * len(articles) / elapsed
    stats = matcher.stats()
    first = set(matches[: len(matches) // rounds]) if rounds else set()
    related_articles = len({b for _, b in related})
    tp = len(first & related)
    print(f"\n[{name}] realistic mix: {len(claims)} claims from {len({data.story[c.text] for c in claims})} stories "
          f"x {len(articles)} validation bodies ({related_articles} about one of the claims, "
          f"{len(articles) - related_articles} about none)")  # fmt: skip
    print(
        f"  throughput {rate:,.0f} articles/s against {len(claims)} claims ({rounds} pass(es), {elapsed:.2f} s)"
    )
    precision = tp / len(first) if first else 0.0
    recall = tp / len(related) if related else 0.0
    print(f"  matches {len(first)}: pair precision {precision:.3f}, pair recall {recall:.3f}")
    runs = stats["semantic_runs"] / max(stats["articles_seen"], 1)
    print(f"  semantic stage ran on {stats['semantic_runs']} of {stats['articles_seen']} articles ({runs:.1%}); "
          f"sentences embedded {stats['sentences_embedded']}; lexical candidates {stats['lexical_candidates']}")  # fmt: skip
    return rate, matcher, elapsed


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with train_bodies.csv and train_stances.csv"
    )
    parser.add_argument("--limit", type=int, default=0, help="use at most N bodies per half (quick runs)")
    parser.add_argument(
        "--model", default=None, help="sentence-transformers name or path [default: the matcher's]"
    )
    parser.add_argument("--no-semantic", action="store_true", help="lexical figures only")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp"), help="embedding cache folder [default: /tmp]"
    )
    parser.add_argument("--seed", type=int, default=7, help="which stories the realistic mix tracks")
    parser.add_argument(
        "--fit", action="store_true", help="print scorer coefficients fitted on the calibration half"
    )
    parser.add_argument("--floor", type=float, default=None, help="override MatchSettings.candidate_floor")
    parser.add_argument("--ceiling", type=float, default=None, help="override MatchSettings.semantic_ceiling")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    data = load_data(args.data)
    halves: tuple[list[int], list[int]] = ([], [])
    for body_id in sorted(data.bodies):
        halves[is_validation(body_id)].append(body_id)
    cal, val = (h[: args.limit] if args.limit else h for h in halves)
    claims = {
        h: Claim(id=i, name=f"h{i}", text=h) for i, h in enumerate(sorted({p.headline for p in data.pairs}))
    }
    print(
        f"data: {len(data.bodies)} bodies, {len(data.pairs)} pairs; calibration {len(cal)} bodies, validation {len(val)}"
    )
    settings = MatchSettings()
    if args.floor is not None:
        settings = replace(settings, candidate_floor=args.floor)
    if args.ceiling is not None:
        settings = replace(settings, semantic_ceiling=args.ceiling)
    lexical = replace(settings, model=None)
    mix_claims, mix_bodies, mix_related = realistic_mix(data, val, args.seed)

    if args.fit:
        fit(data, cal, claims, None)
    accuracy("lexical", data, cal, val, claims, lexical, None)
    mix_run("lexical", data, cal, mix_claims, mix_bodies, mix_related, lexical, None, repeat_until_s=5.0)
    print(f"\npeak RSS, lexical only: {peak_rss_mib():.0f} MiB")
    if args.no_semantic:
        return 0

    model = args.model or settings.model
    loaded = load_embedder(model)
    if loaded is None:
        print("semantic stage unavailable (sentence-transformers not installed); hybrid figures skipped")
        return 0
    embedder = CachingEmbedder(loaded, args.cache)
    hybrid = replace(settings, model=model)
    try:
        if args.fit:
            fit(data, cal, claims, embedder)
            embedder.save()
        accuracy("hybrid", data, cal, val, claims, hybrid, embedder)
        embedder.save()
        every = replace(hybrid, candidate_floor=0.0, semantic_ceiling=1.0)
        accuracy("hybrid, semantic stage on every pair", data, cal, val, claims, every, embedder)
        embedder.save()
        encoded_before, encode_s_before = embedder.encoded, embedder.encode_s
        rate, matcher, elapsed = mix_run(
            "hybrid", data, cal, mix_claims, mix_bodies, mix_related, hybrid, embedder, repeat_until_s=0.0
        )
    finally:
        embedder.save()
    sentence_rate = encoder_rate(loaded)
    embedded = matcher.stats()["sentences_embedded"]
    cold = len(mix_bodies) / (elapsed - (embedder.encode_s - encode_s_before) + embedded / sentence_rate)
    print(f"  encoder: {sentence_rate:.0f} sentences/s measured on this machine; "
          f"with no embedding cache the mix would run at about {cold:,.1f} articles/s "
          f"({embedder.encoded - encoded_before} sentences were not cached this run)")  # fmt: skip
    print(f"\npeak RSS, with the model: {peak_rss_mib():.0f} MiB")
    return 0


def encoder_rate(embedder: Embedder, count: int = 128) -> float:
    """Sentences per second the bare model encodes (fresh sentences of news length)."""
    rng = random.Random(1)
    words = "the minister said on tuesday that production of artillery shells had doubled since".split()
    texts = [" ".join(rng.choice(words) for _ in range(24)) + f" {i}" for i in range(count)]
    started = time.perf_counter()
    embedder.encode(texts)
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
