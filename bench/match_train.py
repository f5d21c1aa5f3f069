"""Fit the matcher's scorer (lexical and hybrid logistic models) and pick its operating points by
grouped cross-validation; write weights.json and thresholds.json for watcher/match.

Usage: python -m bench.match_train --pairs DIR [--train fnc1] [--out DIR] [--prefix flood_safe_] [--folds 5]
       [--target-fp 1.0]

DIR holds the .npz files of bench/match_extract.py: <set>_bodies.npz, <set>_title.npz, <set>_titleline.npz.
Folds are by story (a claim and an item are in the fold of their story), so no story is on both
sides. The operating point is the threshold with the most recall whose false matches per claim
per 10,000 unrelated articles stay under --target-fp on the pooled out-of-fold scores (all
items of other stories are the negatives, title-only ones included).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.match_data import story_fold

if TYPE_CHECKING:
    from numpy.typing import NDArray

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
LEXICAL = FEATURES
HYBRID = (*FEATURES, "semantic", "semantic_mean")
VARIANTS = ("bodies", "title", "titleline")


@dataclass(slots=True)
class Pairs:
    """Scored pairs of one variant of one data set, plus what is needed to count the pairs that
    share no key (never matched: misses when related, true negatives otherwise)."""

    name: str
    x: NDArray[np.float64]  # columns HYBRID
    label: NDArray[np.bool_]
    claim: NDArray[np.int32]
    item: NDArray[np.int32]
    claim_fold: NDArray[np.int64]
    item_fold: NDArray[np.int64]
    claim_story: NDArray[np.int64]
    item_story: NDArray[np.int64]
    own: NDArray[np.int64]  # claim index used as each item's title, -1 for bodies
    item_body: NDArray[np.int64]


def load_pairs(path: Path, folds: int) -> Pairs:
    z = np.load(path)
    x = np.column_stack([z["x"].astype(np.float64), z["semantic"], z["semantic_mean"]])
    claim_story, item_story = z["claim_story"], z["item_story"]
    claim_fold = np.array([story_fold(int(s), i, folds) for i, s in enumerate(claim_story)])
    item_fold = np.array(
        [story_fold(int(s), int(b), folds) for s, b in zip(item_story, z["item_body"], strict=True)]
    )
    return Pairs(
        path.stem,
        x,
        z["label"],
        z["claim"],
        z["item"],
        claim_fold,
        item_fold,
        claim_story,
        item_story,
        z["own"],
        z["item_body"],
    )


def totals(p: Pairs, claims: NDArray[np.bool_], items: NDArray[np.bool_]) -> tuple[int, int]:
    """Related and unrelated (claim, item) pairs among the selected claims and items, shared key or not."""
    cs = p.claim_story[claims]
    related = 0
    stories, counts = np.unique(p.item_story[items], return_counts=True)
    per_story = dict(zip(stories.tolist(), counts.tolist(), strict=True))
    for s in cs.tolist():
        if s >= 0:
            related += per_story.get(s, 0)
    all_pairs = int(claims.sum()) * int(items.sum())
    # a title-only item never counts against the claim that is its title
    sel_items = np.flatnonzero(items)
    own = p.own[sel_items]
    own_sel = own[(own >= 0)]
    own_sel = own_sel[claims[own_sel]]
    related -= int(sum(1 for c in own_sel.tolist() if p.claim_story[c] >= 0))
    all_pairs -= len(own_sel)
    return related, all_pairs - related


@dataclass(frozen=True, slots=True)
class Figures:
    recall: float
    fp_per_10k: float
    tp: int
    fp: int
    positives: int
    negatives: int

    def __str__(self) -> str:
        return (
            f"recall {self.recall:.4f} ({self.tp}/{self.positives})  "
            f"false matches/claim/10k unrelated {self.fp_per_10k:.2f} ({self.fp}/{self.negatives})"
        )


def figures(label: NDArray[np.bool_], hit: NDArray[np.bool_], positives: int, negatives: int) -> Figures:
    tp, fp = int((hit & label).sum()), int((hit & ~label).sum())
    return Figures(tp / max(positives, 1), 1e4 * fp / max(negatives, 1), tp, fp, positives, negatives)


def fit_logistic(x: NDArray[np.float64], y: NDArray[np.bool_], c: float = 1.0) -> NDArray[np.float64]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, y)
    values = [float(model.intercept_[0]), *(float(v) for v in model.coef_[0])]
    weights: NDArray[np.float64] = np.array(values, dtype=np.float64)
    return weights


def logits(w: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = w[0] + x @ w[1:]
    return out


def columns(names: tuple[str, ...]) -> list[int]:
    return [HYBRID.index(n) for n in names]


def pick_threshold(
    z: NDArray[np.float64], label: NDArray[np.bool_], negatives: int, target_fp: float
) -> float:
    """The lowest threshold whose false matches per 10k negatives stay at most target_fp."""
    order = np.argsort(-z)
    zs, ls = z[order], label[order]
    fp = np.cumsum(~ls)
    allowed = target_fp * negatives / 1e4
    ok = np.flatnonzero(fp <= allowed)
    if len(ok) == 0:
        return float(zs[0]) + 1e-6
    last = int(ok[-1])
    # a threshold between the last allowed score and the next one
    if last + 1 < len(zs):
        return float((zs[last] + zs[last + 1]) / 2.0)
    return float(zs[last]) - 1e-6


def semantic_share(p: Pairs, routed: NDArray[np.bool_], claims: int, draws: int, seed: int = 1) -> float:
    """Share of items with at least one routed pair, for random sets of ``claims`` claims."""
    rng = np.random.default_rng(seed)
    n_claims, n_items = len(p.claim_story), len(p.item_story)
    shares = []
    for _ in range(draws):
        chosen = np.zeros(n_claims, dtype=bool)
        chosen[rng.choice(n_claims, size=min(claims, n_claims), replace=False)] = True
        hit = routed & chosen[p.claim]
        shares.append(len(np.unique(p.item[hit])) / n_items)
    return float(np.mean(shares))


@dataclass(slots=True)
class Scored:
    """Out-of-fold (or test) log-odds of each pair of one variant, and the pair totals."""

    pairs: Pairs
    lexical: NDArray[np.float64]
    hybrid: NDArray[np.float64]
    keep: NDArray[np.bool_]
    positives: int
    negatives: int


def combined(s: Scored, floor: float, ceiling: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The matcher's decision score: lexical above the ceiling (+inf), hybrid in the band, -inf below."""
    lex, hyb = s.lexical[s.keep], s.hybrid[s.keep]
    routed = (lex >= floor) & (lex < ceiling)
    return np.where(lex >= ceiling, np.inf, np.where(routed, hyb, -np.inf)), routed


def out_of_fold(
    sets: dict[str, Pairs], folds: int
) -> tuple[dict[str, Scored], dict[str, NDArray[np.float64]]]:
    oof: dict[str, dict[str, NDArray[np.float64]]] = {
        m: {v: np.full(len(p.label), np.nan) for v, p in sets.items()} for m in ("lexical", "hybrid")
    }
    for name, cols in (("lexical", columns(LEXICAL)), ("hybrid", columns(HYBRID))):
        for k in range(folds):
            train_x, train_y = [], []
            for p in sets.values():
                tr = (p.claim_fold[p.claim] != k) & (p.item_fold[p.item] != k)
                train_x.append(p.x[tr][:, cols])
                train_y.append(p.label[tr])
            w = fit_logistic(np.concatenate(train_x), np.concatenate(train_y))
            for v, p in sets.items():
                te = (p.claim_fold[p.claim] == k) & (p.item_fold[p.item] == k)
                oof[name][v][te] = logits(w, p.x[te][:, cols])
    out: dict[str, Scored] = {}
    for v, p in sets.items():
        keep = ~np.isnan(oof["lexical"][v])
        pos = neg = 0
        for k in range(folds):
            r, n = totals(p, p.claim_fold == k, p.item_fold == k)
            pos += r
            neg += n
        out[v] = Scored(p, oof["lexical"][v], oof["hybrid"][v], keep, pos, neg)
    fitted = {}
    for name, cols in (
        ("lexical", columns(LEXICAL)),
        ("hybrid", columns(HYBRID)),
        ("semantic_only", columns(("semantic",))),
    ):
        fitted[name] = fit_logistic(
            np.concatenate([p.x[:, cols] for p in sets.values()]),
            np.concatenate([p.label for p in sets.values()]),
        )
    return out, fitted


def applied(sets: dict[str, Pairs], fitted: dict[str, NDArray[np.float64]]) -> dict[str, Scored]:
    """A fitted model's log-odds on every pair of another data set (no folds)."""
    out = {}
    for v, p in sets.items():
        everything = np.ones(len(p.claim_story), dtype=bool)
        pos, neg = totals(p, everything, np.ones(len(p.item_story), dtype=bool))
        out[v] = Scored(
            p,
            logits(fitted["lexical"], p.x[:, columns(LEXICAL)]),
            logits(fitted["hybrid"], p.x[:, columns(HYBRID)]),
            np.ones(len(p.label), dtype=bool),
            pos,
            neg,
        )
    return out


def pooled_threshold(
    scored: dict[str, Scored], which: str, target_fp: float, floor: float = 0.0, ceiling: float = 0.0
) -> float:
    """The lowest threshold at which every variant (bodies, title-only...) stays within target_fp."""
    picks = []
    for s in scored.values():
        z = s.lexical[s.keep] if which == "lexical" else combined(s, floor, ceiling)[0]
        picks.append(pick_threshold(z, s.pairs.label[s.keep], s.negatives, target_fp))
    return max(picks)


def report(
    scored: dict[str, Scored], title: str, lexical_t: float, floor: float, ceiling: float, hybrid_t: float
) -> None:
    print(f"\n{title}")
    for v, s in scored.items():
        label = s.pairs.label[s.keep]
        lex = s.lexical[s.keep] >= lexical_t
        z, routed = combined(s, floor, ceiling)
        print(f"  {v:10s} lexical: {figures(label, lex, s.positives, s.negatives)}")
        print(
            f"  {v:10s} hybrid:  {figures(label, z >= hybrid_t, s.positives, s.negatives)}; "
            f"semantic share, 100 claims: {semantic_share(s.pairs, _full(s, routed), 100, 5):.1%}"
        )


# The scorer of watcher/match as shipped before (weights.json then, PRIOR_SHIFT -4.5, the lexical
# thin penalty -3, band [0.15, 0.9) of the lexical score, threshold 0.5), for comparison.
BASE_LEXICAL = {
    "intercept": -2.949 - 4.5,
    "coverage": 6.592,
    "best": 6.745,
    "window": -5.976,
    "lead": 8.272,
    "cosine": 33.949,
    "share": -6.981,
    "thin": -3.0,
}
BASE_HYBRID = {
    "intercept": -9.324 - 4.5,
    "coverage": 5.983,
    "best": -0.701,
    "window": -0.735,
    "lead": 7.451,
    "cosine": 23.649,
    "share": -5.944,
    "semantic": 15.47,
    "semantic_mean": -1.231,
}


def _linear(p: Pairs, model: dict[str, float]) -> NDArray[np.float64]:
    z = np.full(len(p.label), model["intercept"])
    for name, coef in model.items():
        if name != "intercept":
            z = z + coef * p.x[:, HYBRID.index(name)]
    return z


def report_baseline(sets: dict[str, Pairs], positives: dict[str, int], negatives: dict[str, int]) -> None:
    print("\n[baseline: watcher/match as shipped, threshold 0.5]")
    floor, ceiling = float(np.log(0.15 / 0.85)), float(np.log(0.9 / 0.1))
    for v, p in sets.items():
        lex = _linear(p, BASE_LEXICAL)
        hyb = np.where(lex >= ceiling, lex, np.where(lex >= floor, _linear(p, BASE_HYBRID), -np.inf))
        print(f"  {v:10s} lexical: {figures(p.label, lex >= 0.0, positives[v], negatives[v])}")
        print(f"  {v:10s} hybrid:  {figures(p.label, hyb >= 0.0, positives[v], negatives[v])}")


def _full(s: Scored, routed: NDArray[np.bool_]) -> NDArray[np.bool_]:
    out = np.zeros(len(s.keep), dtype=bool)
    out[np.flatnonzero(s.keep)[routed]] = True
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--train", default="fnc1")
    parser.add_argument("--test", default=None, help="data set to apply the fitted models to")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target-fp", type=float, default=1.0)
    parser.add_argument(
        "--floor-margin", type=float, default=None, help="semantic floor below the lexical threshold"
    )
    parser.add_argument(
        "--ceiling-margin", type=float, default=2.0, help="semantic ceiling above the lexical threshold"
    )
    parser.add_argument("--out", type=Path, default=None, help="write weights.json and thresholds.json here")
    parser.add_argument(
        "--prefix", default="", help='key prefix of the operating point in thresholds.json ("flood_safe_")'
    )
    args = parser.parse_args()
    sets = {
        v: load_pairs(args.pairs / f"{args.train}_{v}.npz", args.folds)
        for v in VARIANTS
        if (args.pairs / f"{args.train}_{v}.npz").exists()
    }
    scored, fitted = out_of_fold(sets, args.folds)
    every = {
        v: totals(p, np.ones(len(p.claim_story), dtype=bool), np.ones(len(p.item_story), dtype=bool))
        for v, p in sets.items()
    }
    report_baseline(sets, {v: t[0] for v, t in every.items()}, {v: t[1] for v, t in every.items()})
    lexical_t = pooled_threshold(scored, "lexical", args.target_fp)
    ceiling = lexical_t + args.ceiling_margin
    margins = [args.floor_margin] if args.floor_margin is not None else [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    chosen = margins[0]
    for margin in margins:
        floor = lexical_t - margin
        hybrid_t = pooled_threshold(scored, "hybrid", args.target_fp, floor, ceiling)
        report(
            scored,
            f"[{args.train} out-of-fold] lexical t {lexical_t:.3f}; band [{floor:.3f}, {ceiling:.3f}); "
            f"hybrid t {hybrid_t:.3f}",
            lexical_t,
            floor,
            ceiling,
            hybrid_t,
        )
    floor = lexical_t - chosen
    hybrid_t = pooled_threshold(scored, "hybrid", args.target_fp, floor, ceiling)
    bodies = scored["bodies"]
    semantic_t = pick_threshold(
        logits(fitted["semantic_only"], bodies.pairs.x[bodies.keep][:, columns(("semantic",))]),
        bodies.pairs.label[bodies.keep],
        bodies.negatives,
        args.target_fp,
    )
    if args.test:
        test = {
            v: load_pairs(args.pairs / f"{args.test}_{v}.npz", args.folds)
            for v in VARIANTS
            if (args.pairs / f"{args.test}_{v}.npz").exists()
        }
        report(
            applied(test, fitted),
            f"[trained and calibrated on {args.train}, tested on {args.test}]",
            lexical_t,
            floor,
            ceiling,
            hybrid_t,
        )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        names = {"lexical": LEXICAL, "hybrid": HYBRID, "semantic_only": ("semantic",)}
        weights: dict[str, object] = {
            "_fitted_on": f"{args.train}: every pair sharing a match key, all items of other stories as negatives, "
            "bodies and title-only items; by bench/match_train.py",
        }
        for name, w in fitted.items():
            weights[name] = {"intercept": round(float(w[0]), 4)} | {
                n: round(float(c), 4) for n, c in zip(names[name], w[1:], strict=True)
            }
        (args.out / "weights.json").write_text(json.dumps(weights, indent=1, sort_keys=True) + "\n")
        point = {
            "lexical": round(lexical_t, 4),
            "hybrid": round(hybrid_t, 4),
            "semantic_only": round(semantic_t, 4),
            "semantic_floor": round(floor, 4),
            "semantic_ceiling": round(ceiling, 4),
        }
        # One operating point per run, merged into thresholds.json under --prefix ("" the default point,
        # "flood_safe_" the one matching.precision: high selects).
        target = args.out / "thresholds.json"
        points: dict[str, object] = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        points[f"_{args.prefix or 'default_'}chosen_by"] = (
            f"{args.folds}-fold cross-validation by story on {args.train}, at most {args.target_fp} "
            "false matches per claim per 10,000 unrelated articles (pooled out-of-fold scores)"
        )
        points |= {args.prefix + name: value for name, value in point.items()}
        target.write_text(json.dumps(points, indent=1) + "\n")
        print(f"wrote {args.out}/weights.json and thresholds.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
