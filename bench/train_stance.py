"""Train the learned stance layer on FNC-1 and ARC related pairs and write its weights as JSON.

Usage: python -m bench.train_stance --fnc DATA/fnc1 --arc DATA/arc [--out watcher/framing/model.json]
       [--cache bench/out/stance-cache]

Features come from framing.features, the function inference uses (claim-independent: cue sums by scope,
stance-vocabulary words by scope, claim-restatement statistics, body-wide refuting and hedging counts; no
topic words). Two learners: ``logistic`` (multinomial logistic regression, the weights exported as rows)
and ``trees`` (scikit-learn's histogram gradient boosting over the features found in at least MIN_SUPPORT
training pairs, every tree exported as flat node lists). The regularisation or the tree size, and the
class-prior multipliers, are chosen by 3-fold cross-validation grouped by claim (connected headline-body
story) on macro-F1; the model is then refitted on everything. Needs numpy, scikit-learn and threadpoolctl
(training only; inference is pure Python).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from bench.stance_data import CACHE, ORDER, Row, cached_rows, evaluate
from watcher.domain import Stance
from watcher.framing import SHORT_TEXT_SENTENCES, StanceModel, settle
from watcher.framing.lexicon import STANCE_VOCABULARY
from watcher.framing.model import Tree

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "watcher" / "framing" / "model.json"
INNER_FOLDS = 3
GRID_C = (0.1, 0.4)
GRID_MIN_GROUPS = (0,)  # 40 was tried: no gain on FNC-1 by-story CV, 20x slower fits
CLASS_WEIGHT = "balanced"
# Multipliers of the supports and disputes probabilities tried on out-of-fold predictions.
PRIOR_GRID = ((0.7, 1.0, 1.4), (0.7, 1.0, 1.4, 2.0))
MIN_WEIGHT = 1e-4  # rows whose weights are all smaller are left out of the JSON
# Boosted trees: (rounds, leaves per tree) tried; learning rate, leaf size and L2 fixed.
GRID_TREES = ((100, 15),)
LEARNING_RATE = 0.1
MIN_LEAF = 40
L2 = 1.0
MAX_BINS = 32
MIN_SUPPORT = 150  # a feature becomes a tree column when at least this many training pairs have it
# With one tree grid point, the trees' class-prior multipliers stay 1 (balanced class weights) unless this
# is set: their inner grouped CV costs three more fits per outer fold, too slow on two shared cores.
TREE_PRIOR_CV = False
LEARNERS = ("logistic", "trees")
DECIMALS = 4
LABEL_INDEX = {stance: i for i, stance in enumerate(ORDER)}


@dataclass(frozen=True, slots=True)
class Config:
    """One point of the hyper-parameter grid."""

    c: float
    class_weight: str | tuple[float, float, float]
    min_groups: int  # 0: stance-lexicon words only; else also words found in this many claims
    priors: tuple[float, float, float] = (1.0, 1.0, 1.0)
    learner: str = "logistic"
    rounds: int = 0  # trees: boosting rounds
    leaves: int = 0  # trees: leaves per tree

    def describe(self) -> str:
        """The grid point in a few words."""
        size = f"rounds={self.rounds} leaves={self.leaves}" if self.learner == "trees" else f"C={self.c}"
        return f"{self.learner} {size} k={self.min_groups} priors={self.priors}"

    def class_weights(self, labels: np.ndarray[Any, Any]) -> dict[int, float]:
        """Weight of each class index: balanced by the counts in ``labels`` or as configured."""
        if self.class_weight == "balanced":
            counts = np.bincount(labels, minlength=3).astype(float)
            return {i: len(labels) / (3 * max(1.0, counts[i])) for i in range(3)}
        return dict(enumerate(self.class_weight))

    def estimator(self, labels: np.ndarray[Any, Any]) -> LogisticRegression:
        """An unfitted logistic regression with this regularisation and class weighting."""
        return LogisticRegression(C=self.c, class_weight=self.class_weights(labels), max_iter=500, tol=1e-3)


def vocabulary(rows: Sequence[Row], min_groups: int) -> frozenset[str]:
    """The stance lexicon's words plus the words found in at least ``min_groups`` claims (stories) of
    ``rows``: words common to many stories carry stance and style, not topic."""
    if min_groups <= 0:
        return STANCE_VOCABULARY
    groups: dict[str, set[str]] = {}
    for row in rows:
        for name in row.feats:
            if name.startswith("v:"):
                groups.setdefault(name.split(":", 2)[2], set()).add(row.group)
    common = {word for word, found in groups.items() if len(found) >= min_groups}
    return STANCE_VOCABULARY | common


def _matrix(rows: Sequence[Row], vectorizer: DictVectorizer, fit: bool, words: frozenset[str]) -> Any:
    def keep(name: str) -> bool:
        return not name.startswith("v:") or name.split(":", 2)[2] in words

    dicts = [{name: value for name, value in row.feats.items() if keep(name)} for row in rows]
    return vectorizer.fit_transform(dicts) if fit else vectorizer.transform(dicts)


def _labels(rows: Sequence[Row]) -> np.ndarray[Any, Any]:
    return np.array([LABEL_INDEX[row.gold] for row in rows])


def fit(rows: Sequence[Row], config: Config, sample_weight: Sequence[float] | None = None) -> StanceModel:
    """Fit on ``rows`` and export as a pure-Python StanceModel (priors folded into the bias)."""
    if config.learner == "trees":
        return fit_trees(rows, config, sample_weight)
    vectorizer = DictVectorizer()
    x = _matrix(rows, vectorizer, True, vocabulary(rows, config.min_groups))
    y = _labels(rows)
    with threadpool_limits(1):
        model = config.estimator(y).fit(
            x, y, sample_weight=None if sample_weight is None else np.array(sample_weight)
        )
    names = vectorizer.get_feature_names_out()
    coef = model.coef_.T  # features x classes
    weights = {
        str(name): (round(float(r[0]), DECIMALS), round(float(r[1]), DECIMALS), round(float(r[2]), DECIMALS))
        for name, r in zip(names, coef, strict=True)
        if max(abs(float(v)) for v in r) >= MIN_WEIGHT
    }
    bias = tuple(
        round(float(b) + math.log(p), DECIMALS) for b, p in zip(model.intercept_, config.priors, strict=True)
    )
    meta = {
        "c": config.c,
        "class_weight": str(config.class_weight),
        "min_groups": config.min_groups,
        "priors": list(config.priors),
        "rows": len(rows),
    }
    return StanceModel(bias=(bias[0], bias[1], bias[2]), weights=weights, meta=meta)


def columns(rows: Sequence[Row], words: frozenset[str]) -> list[str]:
    """The tree columns: features found (non-zero) in at least MIN_SUPPORT of ``rows``; words only from
    ``words``."""
    support: dict[str, int] = {}
    for row in rows:
        for name, value in row.feats.items():
            if value:
                support[name] = support.get(name, 0) + 1
    keep = [
        name
        for name, found in support.items()
        if found >= MIN_SUPPORT and (not name.startswith("v:") or name.split(":", 2)[2] in words)
    ]
    return sorted(keep)


def fit_trees(
    rows: Sequence[Row], config: Config, sample_weight: Sequence[float] | None = None
) -> StanceModel:
    """Histogram gradient boosting over the dense columns, exported tree by tree (priors in the bias)."""
    names = columns(rows, vocabulary(rows, config.min_groups))
    x = np.array([[row.feats.get(name, 0.0) for name in names] for row in rows], dtype=np.float64)
    y = _labels(rows)
    by_class = config.class_weights(y)
    weight = np.array([by_class[int(label)] for label in y])
    if sample_weight is not None:
        weight = weight * np.array(sample_weight)
    estimator = HistGradientBoostingClassifier(
        learning_rate=LEARNING_RATE,
        max_iter=config.rounds,
        max_leaf_nodes=config.leaves,
        min_samples_leaf=MIN_LEAF,
        l2_regularization=L2,
        max_bins=MAX_BINS,
        early_stopping=False,
        random_state=0,
    )
    with threadpool_limits(1):
        estimator.fit(x, y, sample_weight=weight)
    baseline = np.asarray(estimator._baseline_prediction).ravel()
    trees = []
    for predictors in estimator._predictors:
        for cls, predictor in enumerate(predictors):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            trees.append(
                Tree(
                    cls,
                    tuple(-1 if leaf[i] else int(nodes["feature_idx"][i]) for i in range(len(nodes))),
                    tuple(  # thresholds exact: a rounded one can fall on a value the data holds
                        round(float(nodes["value"][i]), 6) if leaf[i] else float(nodes["num_threshold"][i])
                        for i in range(len(nodes))
                    ),
                    tuple(0 if leaf[i] else int(nodes["left"][i]) for i in range(len(nodes))),
                    tuple(0 if leaf[i] else int(nodes["right"][i]) for i in range(len(nodes))),
                )
            )
    exported = StanceModel(bias=(0.0, 0.0, 0.0), weights={}, names=tuple(names), trees=tuple(trees))
    check = min(len(rows), 200)
    expected = estimator.decision_function(x[:check]) - baseline
    for row, want in zip(rows[:check], expected, strict=True):
        if max(abs(a - b) for a, b in zip(exported.scores(row.feats), want, strict=True)) > 1e-3:
            raise AssertionError("exported trees disagree with the fitted estimator")
    bias = tuple(
        round(float(b) + math.log(p), DECIMALS) for b, p in zip(baseline, config.priors, strict=True)
    )
    meta = {
        "learner": "trees",
        "rounds": config.rounds,
        "leaves": config.leaves,
        "learning_rate": LEARNING_RATE,
        "min_leaf": MIN_LEAF,
        "l2": L2,
        "min_support": MIN_SUPPORT,
        "class_weight": str(config.class_weight),
        "min_groups": config.min_groups,
        "priors": list(config.priors),
        "rows": len(rows),
    }
    return StanceModel(
        bias=(bias[0], bias[1], bias[2]), weights={}, meta=meta, names=tuple(names), trees=tuple(trees)
    )


def predict(model: StanceModel, rows: Sequence[Row]) -> list[Stance]:
    """Predictions from cached features: the arithmetic of StanceModel.probabilities and framing.decide."""
    return [_decide(_scores(model, row), row) for row in rows]


def _decide(scores: Sequence[float], row: Row) -> Stance:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    probabilities = {stance: e / total for stance, e in zip(ORDER, exps, strict=True)}
    feats = row.feats
    return settle(
        probabilities,
        row.rule,
        governed=feats.get("governed", 0.0) > 0,
        debunks=feats.get("claim_debunks", 0.0) > 0 and not feats.get("debunk_denied", 0.0) > 0,
        short=round(math.expm1(feats.get("sentences", 0.0))) <= SHORT_TEXT_SENTENCES,  # framing.short_text
        asserted=feats.get("asserted", 0.0) > 0,
        asks=feats.get("k:claim:headline_question", 0.0) > 0,  # Analysis.headline_asks: only a title has one
        corrected=feats.get("corrected", 0.0) > 0,
    )[0]


def _weights(rows: Sequence[Row], weight_of: dict[str, float]) -> list[float]:
    return [weight_of.get(row.dataset, 1.0) for row in rows]


def grid(learner: str) -> list[Config]:
    """The base grid points (no prior shift) of one learner."""
    if learner == "trees":
        return [
            Config(0.0, CLASS_WEIGHT, k, learner="trees", rounds=r, leaves=n)
            for (r, n), k in itertools.product(GRID_TREES, GRID_MIN_GROUPS)
        ]
    return [Config(c, CLASS_WEIGHT, k) for c, k in itertools.product(GRID_C, GRID_MIN_GROUPS)]


def choose(
    rows: Sequence[Row],
    extra: Sequence[Row] = (),
    weight_of: dict[str, float] | None = None,
    learner: str = "logistic",
) -> tuple[Config, float]:
    """The grid point with the best inner grouped-CV macro-F1 on ``rows``; ``extra`` rows (another data set)
    are added to every inner training fold and never validated on."""
    weight_of = weight_of or {}
    groups = [row.group for row in rows]
    folds = list(GroupKFold(n_splits=INNER_FOLDS).split(list(range(len(rows))), groups=groups))
    best: tuple[float, Config] | None = None
    if learner == "trees" and not TREE_PRIOR_CV and len(grid(learner)) == 1:
        return grid(learner)[0], float("nan")
    for base in grid(learner):
        raw: dict[int, list[float]] = {}
        for train_idx, test_idx in folds:
            train = [rows[i] for i in train_idx] + list(extra)
            model = fit(train, base, _weights(train, weight_of))
            for i in test_idx:
                raw[i] = _scores(model, rows[i])
        gold = [row.gold for row in rows]
        for ps, pd in itertools.product(*PRIOR_GRID):
            shift = (math.log(ps), 0.0, math.log(pd))
            predicted = [
                _decide([a + b for a, b in zip(raw[i], shift, strict=True)], rows[i])
                for i in range(len(rows))
            ]
            score = evaluate(gold, predicted).macro_f1
            if best is None or score > best[0]:
                best = (score, replace(base, priors=(ps, 1.0, pd)))
    assert best is not None
    return best[1], best[0]


def _scores(model: StanceModel, row: Row) -> list[float]:
    return model.scores(row.feats)


def main(argv: Sequence[str] | None = None) -> int:
    """Choose hyper-parameters by inner grouped CV on FNC-1 + ARC, refit on all, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--fnc", type=Path, required=True, help="folder with train_bodies.csv, train_stances.csv"
    )
    parser.add_argument(
        "--arc", type=Path, required=True, help="folder with arc_bodies.csv, arc_stances_train.csv"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"feature cache folder (default {CACHE})")
    parser.add_argument("--arc-weight", type=float, default=0.5, help="sample weight of ARC rows")
    parser.add_argument("--learner", choices=LEARNERS, default="trees", help="trees: the shipped model")
    args = parser.parse_args(argv)
    start = time.time()
    rows = cached_rows("fnc", args.fnc, args.cache / "fnc.jsonl.gz") + cached_rows(
        "arc", args.arc, args.cache / "arc.jsonl.gz"
    )
    weight_of = {"arc": args.arc_weight}
    config, score = choose(rows, weight_of=weight_of, learner=args.learner)
    how = "one grid point: no inner CV" if math.isnan(score) else f"inner grouped CV macro-F1 {score:.3f}"
    print(f"chosen {config} ({how})", flush=True)
    model = fit(rows, config, _weights(rows, weight_of))
    meta = {
        **dict(model.meta or {}),
        "trained_on": "FNC-1 train + ARC train (related pairs)",
        "arc_weight": args.arc_weight,
    }
    StanceModel(model.bias, model.weights, meta, model.names, model.trees).save(args.out)
    size = args.out.stat().st_size
    print(
        f"wrote {args.out} ({len(model.weights)} weights, {len(model.trees)} trees, {size / 1e6:.2f} MB) "
        f"in {time.time() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
