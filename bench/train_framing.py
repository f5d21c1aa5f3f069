"""Train the learned framing layer on FNC-1 training bodies and write its weights as JSON.

Usage: python -m bench.train_framing --data ../shared/data/fnc1 [--out watcher/framing/model.json]

Only related pairs of the train split are used (crc32 of the Body ID, the split bench/framing.py
validates on). Features come from watcher.framing.model.features, the function inference uses. The
regularisation, the word vocabulary (how many stories a word must occur in) and the class priors are
chosen by 5-fold cross-validation grouped by Body ID inside the train split, by macro-F1 plus the FNC
score; the model is then refitted on the whole train split. Needs numpy and scikit-learn.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from bench.framing import ORDER, Pair, evaluate, load_pairs, split
from watcher.framing import Analysis, analyse, rule_stance
from watcher.framing.model import FramingModel, Vocabulary, features, word_features

logger = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "watcher" / "framing" / "model.json"
FOLDS = 5
GRID_C = (0.02, 0.05, 0.1)
# Extra weight on the rarer classes (supports, neutral, disputes): the macro-F1 rewards finding them,
# plain accuracy (and so the FNC score) does not.
CLASS_WEIGHT = (1.5, 1.0, 3.0)
# Multipliers of the supports and disputes probabilities tried on out-of-fold predictions; the chosen
# ones go into the exported bias as logarithms.
PRIOR_GRID = ((0.8, 1.0, 1.25, 1.5, 2.0), (1.0, 1.5, 2.0, 3.0, 4.0, 6.0))
DECIMALS = 4


@dataclass(frozen=True, slots=True)
class Config:
    c: float
    min_stories: int

    def fit(self, x: Any, y: np.ndarray[Any, Any]) -> LogisticRegression:
        weights = dict(enumerate(CLASS_WEIGHT))
        return LogisticRegression(C=self.c, class_weight=weights, max_iter=5000).fit(x, y)


@dataclass(frozen=True, slots=True)
class Scored:
    priors: tuple[float, float, float]
    macro_f1: float
    fnc_related: float

    def __str__(self) -> str:
        return f"priors {self.priors}, macro-F1 {self.macro_f1:.3f}, FNC related {self.fnc_related:.2f}"

    @property
    def objective(self) -> float:
        # Both figures the model is judged by, the FNC score as a fraction.
        return self.macro_f1 + self.fnc_related / 100


def stories(pairs: Sequence[Pair]) -> list[int]:
    """A story id per pair: connected components of the headline-body graph of related pairs."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in pairs:
        parent[find("h" + pair.headline)] = find("b" + pair.body_id)
    roots: dict[str, int] = {}
    return [roots.setdefault(find("b" + pair.body_id), len(roots)) for pair in pairs]


def vocabulary(analyses: Sequence[Analysis], story: Sequence[int], min_stories: int) -> Vocabulary:
    """Words seen in at least min_stories different stories: framing language, not one story's topic."""
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for analysis, story_id in zip(analyses, story, strict=True):
        for feature in word_features(analysis):
            seen[feature].add(story_id)
    kept: dict[str, set[str]] = defaultdict(set)
    for (prefix, word), ids in seen.items():
        if len(ids) >= min_stories:
            kept[prefix].add(word)
    return {prefix: frozenset(words) for prefix, words in kept.items()}


def design(
    analyses: Sequence[Analysis], known: Vocabulary, vectorizer: DictVectorizer | None = None
) -> tuple[Any, DictVectorizer]:
    rows = [features(analysis, rule_stance(analysis), known) for analysis in analyses]
    if vectorizer is None:
        vectorizer = DictVectorizer()
        return vectorizer.fit_transform(rows), vectorizer
    return vectorizer.transform(rows), vectorizer


def cross_validate(
    analyses: Sequence[Analysis],
    y: np.ndarray[Any, Any],
    groups: Sequence[Any],
    story: Sequence[int],
    configs: Sequence[Config],
) -> dict[Config, np.ndarray[Any, Any]]:
    """Out-of-fold class probabilities per config, folds grouped by ``groups``."""
    probabilities = {config: np.zeros((len(y), 3)) for config in configs}
    for train, test in GroupKFold(FOLDS).split(np.zeros(len(y)), y, groups):
        for min_stories in sorted({config.min_stories for config in configs}):
            known = vocabulary([analyses[i] for i in train], [story[i] for i in train], min_stories)
            x_train, vectorizer = design([analyses[i] for i in train], known)
            x_test, _ = design([analyses[i] for i in test], known, vectorizer)
            for config in (c for c in configs if c.min_stories == min_stories):
                probabilities[config][test] = config.fit(x_train, y[train]).predict_proba(x_test)
    return probabilities


def score(
    probabilities: np.ndarray[Any, Any], y: np.ndarray[Any, Any], priors: tuple[float, float, float]
) -> Scored:
    """Macro-F1 and FNC score of the predictions once the class probabilities are scaled by priors."""
    predicted = np.argmax(probabilities * np.array(priors), axis=1)
    report = evaluate([ORDER[k] for k in y], [ORDER[k] for k in predicted], 0)
    return Scored(priors, report.macro_f1, report.fnc_related)


def tune_priors(probabilities: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Scored:
    """The probability multipliers that score best on out-of-fold predictions."""
    tried = [score(probabilities, y, (s, 1.0, d)) for s, d in itertools.product(*PRIOR_GRID)]
    return max(tried, key=lambda scored: scored.objective)


def report_cv(
    title: str, probabilities: dict[Config, np.ndarray[Any, Any]], y: np.ndarray[Any, Any]
) -> dict[Config, Scored]:
    print(title, flush=True)
    scores = {config: tune_priors(out, y) for config, out in probabilities.items()}
    for config, scored in scores.items():
        print(f"  C={config.c:<5} min_stories={config.min_stories}: {scored}", flush=True)
    return scores


def export(
    model: LogisticRegression, vectorizer: DictVectorizer, priors: Sequence[float], meta: dict[str, Any]
) -> FramingModel:
    names = vectorizer.get_feature_names_out()
    weights = {}
    for j, name in enumerate(names):
        row = tuple(round(float(model.coef_[k, j]), DECIMALS) for k in range(3))
        if any(row):
            weights[str(name)] = (row[0], row[1], row[2])
    bias = tuple(
        round(float(b) + math.log(p), DECIMALS) for b, p in zip(model.intercept_, priors, strict=True)
    )
    return FramingModel(bias=(bias[0], bias[1], bias[2]), weights=weights, meta=meta)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with train_bodies.csv, train_stances.csv"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"weights JSON (default {DEFAULT_OUT})")
    parser.add_argument(
        "--min-stories",
        type=int,
        nargs="+",
        default=[4, 8],
        help="keep words seen in at least N stories; several values are tried (default 4 8)",
    )
    parser.add_argument(
        "--story-cv", action="store_true", help="also estimate accuracy on unseen stories (grouped by story)"
    )
    args = parser.parse_args(argv)
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpus")
    pairs = [pair for pair in split(load_pairs(args.data), validation=False) if pair.stance is not None]
    started = time.perf_counter()
    analyses = [analyse(pair.headline, "", pair.body) for pair in pairs]
    print(
        f"train split: {len(pairs)} related pairs, {len({p.body_id for p in pairs})} bodies; "
        f"analysed in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    y = np.array([ORDER.index(pair.stance) for pair in pairs if pair.stance is not None])
    story = stories(pairs)
    configs = [Config(c, n) for c in GRID_C for n in args.min_stories]
    # One BLAS thread: on a small shared machine more threads make the fits several times slower.
    with threadpool_limits(limits=1):
        folds = cross_validate(analyses, y, [pair.body_id for pair in pairs], story, configs)
        scores = report_cv(f"{FOLDS}-fold cross-validation grouped by Body ID (train split only):", folds, y)
        best = max(scores, key=lambda config: scores[config].objective)
        print(f"chosen: C={best.c}, min_stories={best.min_stories}, priors {scores[best].priors}")
        if args.story_cv:
            print(
                f"{FOLDS}-fold cross-validation grouped by story (claims never seen in training), chosen config:"
            )
            unseen = cross_validate(analyses, y, story, story, [best])[best]
            print(f"  {score(unseen, y, scores[best].priors)}", flush=True)
        known = vocabulary(analyses, story, best.min_stories)
        x, vectorizer = design(analyses, known)
        fitted = best.fit(x, y)
    meta = {
        "trained_on": "FNC-1 train_stances.csv related pairs, train split (crc32(Body ID) % 5 != 0)",
        "pairs": len(pairs),
        "C": best.c,
        "class_weight": list(CLASS_WEIGHT),
        "min_stories": best.min_stories,
        "priors": list(scores[best].priors),
        "cv_by_body": {
            "macro_f1": round(scores[best].macro_f1, 4),
            "fnc_related": round(scores[best].fnc_related, 2),
        },
    }
    model = export(fitted, vectorizer, scores[best].priors, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out}: {len(model.weights)} features, {args.out.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
