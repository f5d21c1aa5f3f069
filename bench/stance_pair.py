"""The embedding stance layer, measured: MiniLM pair features over cached vectors, fitting, grouped CV, cost.

Run through ``python -m bench.stance`` (after ``python -m bench.stance_embed`` has cached the vectors).

The claim and the few body sentences that best state it (the CANDIDATES sharing most of its words, and the
lead) are embedded; a pair reads claim-conditioned features of those vectors (v, the mean of the NEAREST
candidates to the claim u: v, u*v, |u - v|; the cosines), the rule cues in a window around the sentence
nearest the claim, and the sparse rule features of the small model (framing.features). ``--pair-blocks
scalars`` drops the three 384-wide blocks and keeps the cosines and the window cues. Fitting needs numpy,
scikit-learn and threadpoolctl; a fitted PairModel is numpy arithmetic, so the cost per article measured
here (analysis + embedding the candidates + the model) is what the daemon would pay.
"""

from __future__ import annotations

import itertools
import math
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse as sp
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from bench.stance_data import ORDER, Pair, evaluate, load_pairs
from bench.stance_embed import EMBED_CACHE, load_vectors
from watcher.domain import Stance
from watcher.framing import Analysis, analyse, features, resolve, rule_stance
from watcher.framing.lexicon import DIRECTIONS, STANCE_VOCABULARY, STRENGTH
from watcher.text.normalize import clean_text

CANDIDATES = 3  # body sentences that state the claim best by its words; the lead is embedded with them
NEAREST = 2  # of those, the ones nearest the claim in embedding space are averaged
WINDOW = 1  # sentences either side of the nearest one whose rule cues are read
DIM = 384
KINDS = tuple(sorted(DIRECTIONS))
# Which dense features a run reads: all, all but the three embedding blocks, none (sparse rule features only).
BLOCKS = {"full": slice(None), "scalars": slice(3 * DIM, None), "none": slice(0, 0)}
INNER_FOLDS = 3
# One point: balanced class weights and no prior shift. A grid here is searched by inner grouped CV (3 fits
# per point on the training part); on two shared CPUs a single point keeps every run under minutes.
GRID_C = (0.05,)
PRIOR_GRID: tuple[tuple[float, ...], tuple[float, ...]] = ((1.0,), (1.0,))
OTHER_WEIGHT = 0.5  # sample weight of the other data set's rows when it is added to training
LABEL_INDEX = {stance: i for i, stance in enumerate(ORDER)}


def candidates(analysis: Analysis) -> list[int]:
    """Indices of the body sentences to embed: the CANDIDATES that share most of the claim's words, and
    the lead, in document order."""
    overlaps = analysis.overlaps
    ranked = sorted(range(len(overlaps)), key=lambda i: (-overlaps[i], i))[:CANDIDATES]
    if overlaps and 0 not in ranked:
        ranked.append(0)
    return sorted(ranked)


def dense_features(
    analysis: Analysis,
    claim: np.ndarray[Any, Any],
    vectors: np.ndarray[Any, Any],
    indices: Sequence[int],
) -> np.ndarray[Any, Any]:
    """Claim-conditioned features of one pair; training and inference both call this.

    v is the mean of the NEAREST candidate sentences to the claim u: v, u*v, |u - v|; then the cosines
    (best, mean, least, lead's), the word overlap of the nearest sentence, and the rule cues by kind in the
    window around it (and the dispute, distance and endorsement weights in the nearest sentence itself).
    """
    dim = claim.shape[0]
    if not indices:
        return np.zeros(3 * dim + 6 + len(KINDS) + 3)
    u = claim.astype(np.float64)
    vs = vectors.astype(np.float64)
    cosines = vs @ u
    order = np.argsort(-cosines, kind="stable")
    v = vs[order[:NEAREST]].mean(axis=0)
    best = indices[int(order[0])]
    lead = float(cosines[0]) if indices[0] == 0 else float(cosines.mean())
    scalars = [
        float(cosines.max()),
        float(cosines.mean()),
        float(cosines.min()),
        lead,
        analysis.overlaps[best],
        math.log1p(len(analysis.body)),
    ]
    window = dict.fromkeys(KINDS, 0.0)
    own = [0.0, 0.0, 0.0]
    for hit in analysis.hits:
        if hit.sentence < 0 or abs(hit.sentence - best) > WINDOW:
            continue
        window[hit.kind] += STRENGTH[hit.kind]
        if hit.sentence == best:
            dispute, distance = DIRECTIONS[hit.kind]
            own[0] += STRENGTH[hit.kind] * dispute
            own[1] += STRENGTH[hit.kind] * distance
            own[2] += STRENGTH[hit.kind] * (hit.kind == "endorsement")
    cues = [math.log1p(window[kind]) for kind in KINDS] + [math.log1p(x) for x in own]
    return np.concatenate([v, u * v, np.abs(u - v), np.array(scalars + cues)])


@dataclass(frozen=True, slots=True)
class PairModel:
    """Softmax over standardised dense pair features plus sparse rule features (supports, neutral,
    disputes)."""

    mean: np.ndarray[Any, Any]
    scale: np.ndarray[Any, Any]
    dense: np.ndarray[Any, Any]  # dense features x 3
    bias: np.ndarray[Any, Any]  # 3
    sparse: dict[str, tuple[float, float, float]]

    def scores(self, dense: np.ndarray[Any, Any], sparse: dict[str, float]) -> np.ndarray[Any, Any]:
        """Class scores (log-odds up to a constant) of one pair."""
        scores = ((dense - self.mean) / self.scale) @ self.dense + self.bias
        for name, value in sparse.items():
            row = self.sparse.get(name)
            if row is not None:
                scores = scores + value * np.asarray(row)
        return np.asarray(scores, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PairRow:
    """One related pair as the pair model reads it."""

    dataset: str
    group: str
    gold: Stance
    rule: Stance
    governed: bool
    dense: np.ndarray[Any, Any]
    feats: dict[str, float]


def pair_rows(dataset: str, folder: Path, cache: Path = EMBED_CACHE) -> list[PairRow]:
    """Rows of one data set, cached in ``cache``/pairs-``dataset``.pkl (delete it after changing rules)."""
    path = cache / f"pairs-{dataset}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            rows: list[PairRow] = pickle.load(handle)
        return rows
    vectors = load_vectors(dataset, cache)
    rows = []
    started = time.process_time()
    for pair in load_pairs(dataset, folder):
        analysis = analyse(pair.headline, "", pair.body)
        rule = rule_stance(analysis)
        indices = candidates(analysis)
        claim = vectors.claims[clean_text(pair.headline)]
        body = vectors.bodies[pair.body_id]
        if len(body) != len(analysis.body):
            raise SystemExit(f"{dataset} body {pair.body_id}: cached sentences differ from the rules' split")
        dense = dense_features(analysis, claim, body[indices], indices).astype(np.float32)
        rows.append(
            PairRow(
                dataset, pair.group, pair.stance, rule, analysis.governed, dense, features(analysis, rule)
            )
        )
    print(f"pair rows {dataset}: {len(rows)}, {time.process_time() - started:.0f} s CPU", flush=True)
    with path.open("wb") as handle:
        pickle.dump(rows, handle)
    return rows


@dataclass(frozen=True, slots=True)
class Config:
    """One point of the grid."""

    c: float
    priors: tuple[float, float, float] = (1.0, 1.0, 1.0)


def _keep(name: str) -> bool:
    return not name.startswith("v:") or name.split(":", 2)[2] in STANCE_VOCABULARY


def fit(rows: Sequence[PairRow], config: Config, weights: Sequence[float] | None = None) -> PairModel:
    """Logistic regression over standardised dense features and sparse rule features, balanced classes."""
    dense = np.stack([r.dense for r in rows]).astype(np.float64)
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale < 1e-6] = 1.0
    vectorizer = DictVectorizer()
    sparse = vectorizer.fit_transform([{k: v for k, v in r.feats.items() if _keep(k)} for r in rows])
    x = sp.hstack([sp.csr_matrix((dense - mean) / scale), sparse]).tocsr()
    y = np.array([LABEL_INDEX[r.gold] for r in rows])
    counts = np.bincount(y, minlength=3).astype(float)
    class_weight = {i: len(y) / (3 * max(1.0, counts[i])) for i in range(3)}
    estimator = LogisticRegression(C=config.c, class_weight=class_weight, max_iter=300, tol=1e-3)
    with threadpool_limits(1):
        estimator.fit(x, y, sample_weight=None if weights is None else np.array(weights))
    coef = estimator.coef_.T  # features x classes
    width = dense.shape[1]
    names = vectorizer.get_feature_names_out()
    sparse_rows = {
        str(n): (float(r[0]), float(r[1]), float(r[2]))
        for n, r in zip(names, coef[width:], strict=True)
        if np.abs(r).max() >= 1e-4
    }
    bias = estimator.intercept_ + np.log(np.array(config.priors))
    return PairModel(mean, scale, coef[:width].copy(), bias, sparse_rows)


def scores(model: PairModel, rows: Sequence[PairRow]) -> np.ndarray[Any, Any]:
    """Class scores of every row, by the model's own arithmetic."""
    return np.stack([model.scores(r.dense.astype(np.float64), r.feats) for r in rows])


def decide(
    raw: np.ndarray[Any, Any], rows: Sequence[PairRow], shift: Sequence[float] = (0, 0, 0)
) -> list[Stance]:
    """framing.decide's arithmetic on class scores: softmax, then the dispute guard (resolve)."""
    out = []
    for row_scores, row in zip(raw, rows, strict=True):
        s = row_scores + np.asarray(shift)
        e = np.exp(s - s.max())
        p = e / e.sum()
        probabilities = {stance: float(p[i]) for i, stance in enumerate(ORDER)}
        out.append(resolve(probabilities, row.governed, row.rule is Stance.DISPUTES)[0])
    return out


def _weights(rows: Sequence[PairRow], weight_of: dict[str, float]) -> list[float]:
    return [weight_of.get(r.dataset, 1.0) for r in rows]


def choose(
    rows: Sequence[PairRow], extra: Sequence[PairRow] = (), weight_of: dict[str, float] | None = None
) -> tuple[Config, float]:
    """The grid point with the best inner grouped-CV macro-F1 on ``rows`` (``extra`` only trains)."""
    weight_of = weight_of or {}
    if len(GRID_C) == 1 and all(len(grid) == 1 for grid in PRIOR_GRID):
        return Config(GRID_C[0], (PRIOR_GRID[0][0], 1.0, PRIOR_GRID[1][0])), math.nan
    folds = list(
        GroupKFold(n_splits=INNER_FOLDS).split(list(range(len(rows))), groups=[r.group for r in rows])
    )
    gold = [r.gold for r in rows]
    best: tuple[float, Config] | None = None
    for c in GRID_C:
        raw = np.zeros((len(rows), 3))
        for train_idx, test_idx in folds:
            train = [rows[i] for i in train_idx] + list(extra)
            model = fit(train, Config(c), _weights(train, weight_of))
            raw[test_idx] = scores(model, [rows[i] for i in test_idx])
        for ps, pd in itertools.product(*PRIOR_GRID):
            shift = (math.log(ps), 0.0, math.log(pd))
            score = evaluate(gold, decide(raw, rows, shift)).macro_f1
            if best is None or score > best[0]:
                best = (score, Config(c, (ps, 1.0, pd)))
    assert best is not None
    return best[1], best[0]


def grouped_cv(
    rows: Sequence[PairRow], extra: Sequence[PairRow], folds: int
) -> tuple[list[Stance], list[str]]:
    """Out-of-fold predictions over ``rows`` (``extra``, another data set, added to every training fold)."""
    weight_of = {extra[0].dataset: OTHER_WEIGHT} if extra else {}
    predicted: list[Stance] = [Stance.NEUTRAL] * len(rows)
    chosen = []
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(
        list(range(len(rows))), groups=[r.group for r in rows]
    ):
        train = [rows[i] for i in train_idx]
        config, _ = choose(train, extra, weight_of)
        everything = train + list(extra)
        model = fit(everything, config, _weights(everything, weight_of))
        test = [rows[i] for i in test_idx]
        for i, stance in zip(test_idx, decide(scores(model, test), test), strict=True):
            predicted[i] = stance
        chosen.append(f"C={config.c} priors={config.priors}")
        print(f"    fold done: {chosen[-1]}", flush=True)
    return predicted, chosen


def cross(train: Sequence[PairRow], test: Sequence[PairRow]) -> tuple[list[Stance], str]:
    """Train on one data set (hyper-parameters by inner grouped CV on it), predict the other."""
    config, _ = choose(train)
    model = fit(train, config)
    return decide(scores(model, test), test), f"C={config.c} priors={config.priors}"


def select(rows: Sequence[PairRow], blocks: str) -> list[PairRow]:
    """``full`` rows as they are; ``scalars`` without the three embedding blocks (v, u*v, |u - v|);
    ``none`` with the sparse rule features only (the small model's inputs, through this fitter)."""
    return [
        PairRow(r.dataset, r.group, r.gold, r.rule, r.governed, r.dense[BLOCKS[blocks]], r.feats)
        for r in rows
    ]


def latency(model: PairModel, pairs: Sequence[Pair], encoder: Any, blocks: str) -> tuple[float, float, float]:
    """Mean and 95th-percentile CPU ms per article of analysis + embedding the candidates + the model (the
    claims embedded beforehand, as a daemon keeps them), and the mean number of sentences embedded."""
    claims = {p.headline: encoder.encode([clean_text(p.headline)])[0] for p in pairs}
    times, embedded = [], 0
    for pair in pairs:
        start = time.process_time()
        analysis = analyse(pair.headline, "", pair.body)
        rule = rule_stance(analysis)
        indices = candidates(analysis)
        vectors = encoder.encode([analysis.body[i] for i in indices])
        dense = dense_features(analysis, claims[pair.headline], vectors, indices)
        model.scores(dense[BLOCKS[blocks]], features(analysis, rule))
        times.append(1000 * (time.process_time() - start))
        embedded += len(indices)
    times.sort()
    return float(np.mean(times)), times[int(0.95 * (len(times) - 1))], embedded / max(1, len(pairs))
