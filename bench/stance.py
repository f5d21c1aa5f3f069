"""Stance benchmark: claim-grouped validation on FNC-1 and ARC, cross-data-set figures, probe, latency.

Usage: python -m bench.stance --fnc DATA/fnc1 --arc DATA/arc [--cache bench/out/stance-cache]
       [--probe tests/data/stance_probe.yaml]
       [--model watcher/framing/model.json] [--folds 5] [--skip-cv] [--no-small]
       [--learner logistic|trees ...]
       [--no-pair] [--pair-blocks full|scalars|none] [--embed-cache /tmp/stance_cache]

Three paths side by side: the rules alone, the rules + the small pure-Python model (model.json, shipped)
and the embedding layer (MiniLM pair features, bench/stance_pair.py; measured, not shipped). The embedding
layer reads the vectors ``python -m bench.stance_embed`` caches: run it once first.

Every learned figure is out-of-fold: folds are grouped by claim (connected headline-body story), and the
hyper-parameters of each outer fold are chosen by inner grouped CV on its training part only
(train_stance.choose). "+ARC" runs add every ARC pair (weight 0.5) to FNC training folds (and vice versa):
the other data set never shares a claim with the test fold. ``--learner`` picks the small model's learner(s)
(train_stance.LEARNERS; repeat it for several). Latency is CPU time per article on one core:
frame() (analysis + pure-Python model), or analysis + embedding the candidate sentences + the pair model.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from sklearn.model_selection import GroupKFold

from bench import stance_pair
from bench.stance_data import CACHE, Pair, Row, cached_rows, evaluate, format_report, load_pairs
from bench.stance_embed import EMBED_CACHE, default_model
from bench.train_stance import LEARNERS, _weights, choose, fit, predict
from watcher.domain import Stance
from watcher.framing import StanceModel, explain, frame, load_shipped

ARC_WEIGHT = 0.5
PROBE = Path(__file__).resolve().parents[1] / "tests" / "data" / "stance_probe.yaml"


def grouped_cv(
    rows: Sequence[Row], extra: Sequence[Row], folds: int, learner: str = "logistic"
) -> tuple[list[Stance], list[str]]:
    """Out-of-fold predictions over ``rows`` (``extra`` added to every training fold) and the configs."""
    predicted: list[Stance | None] = [None] * len(rows)
    chosen = []
    weight_of = (
        {"arc": ARC_WEIGHT} if extra and extra[0].dataset == "arc" else {"fnc": ARC_WEIGHT} if extra else {}
    )
    splitter = GroupKFold(n_splits=folds)
    for train_idx, test_idx in splitter.split(list(range(len(rows))), groups=[r.group for r in rows]):
        train = [rows[i] for i in train_idx]
        config, _ = choose(train, extra, weight_of, learner)
        chosen.append(config.describe())
        everything = train + list(extra)
        model = fit(everything, config, _weights(everything, weight_of))
        for i, stance in zip(test_idx, predict(model, [rows[i] for i in test_idx]), strict=True):
            predicted[i] = stance
        print(f"    fold done: {chosen[-1]}", flush=True)
    return [p if p is not None else Stance.NEUTRAL for p in predicted], chosen


def cross(train: Sequence[Row], test: Sequence[Row], learner: str = "logistic") -> tuple[list[Stance], str]:
    """Train on one data set (hyper-parameters by inner grouped CV on it), predict the other."""
    config, _ = choose(train, learner=learner)
    return predict(fit(train, config), test), config.describe()


def latency(pairs: Sequence[Pair], model: StanceModel | None) -> tuple[float, float]:
    """Mean and 95th-percentile CPU ms of frame() per article."""
    times = []
    for pair in pairs:
        start = time.process_time()
        frame(pair.headline, "", pair.body, model=model)
        times.append(1000 * (time.process_time() - start))
    times.sort()
    return statistics.fmean(times), times[int(0.95 * (len(times) - 1))]


def probe(path: Path, model: StanceModel | None) -> tuple[float, list[str]]:
    """Accuracy on the hand-written probe set and the misses."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    right, misses = 0, []
    for item in data["items"]:
        claim = data["claims"][item["claim"]]
        got = explain(claim, item["title"], item["text"], model=model).framing.stance
        if got.value == item["stance"]:
            right += 1
        else:
            misses.append(f"{item['claim']}: gold {item['stance']} got {got.value}: {item['title']}")
    return right / len(data["items"]), misses


def main(argv: Sequence[str] | None = None) -> int:
    """Print every figure of the stance benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--arc", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"feature cache folder (default {CACHE})")
    parser.add_argument("--probe", type=Path, default=PROBE)
    parser.add_argument("--model", type=Path, help="model JSON for latency and probe (default: shipped)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true", help="only rules, latency and probe")
    parser.add_argument("--no-small", action="store_true", help="skip the small model's CV runs")
    parser.add_argument(
        "--learner", action="append", choices=LEARNERS, help="small-model learner(s) to validate (logistic)"
    )
    parser.add_argument("--no-pair", action="store_true", help="skip the embedding layer")
    parser.add_argument("--pair-blocks", choices=("full", "scalars", "none"), default="full")
    parser.add_argument("--embed-cache", type=Path, default=EMBED_CACHE, help="bench.stance_embed's folder")
    args = parser.parse_args(argv)
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpus")
    started = time.time()
    fnc = cached_rows("fnc", args.fnc, args.cache / "fnc.jsonl.gz")
    arc = cached_rows("arc", args.arc, args.cache / "arc.jsonl.gz")
    for name, rows in (("FNC-1", fnc), ("ARC", arc)):
        print(f"\n{name}: {len(rows)} related pairs, {len({r.group for r in rows})} claim groups")
        gold = [r.gold for r in rows]
        print(format_report(f"{name} all discuss (reference)", evaluate(gold, [Stance.NEUTRAL] * len(rows))))
        print(format_report(f"{name} rules only", evaluate(gold, [r.rule for r in rows])))
    if not args.skip_cv and not args.no_small:
        runs: tuple[tuple[str, list[Row], list[Row]], ...] = (
            ("FNC-1 by-story CV, trained FNC-1 + ARC", fnc, arc),
            ("ARC by-claim CV, trained ARC + FNC-1", arc, fnc),
        )
        for learner in args.learner or ["logistic"]:
            for name, rows, extra in runs:
                predicted, _ = grouped_cv(rows, extra, args.folds, learner)
                report = evaluate([r.gold for r in rows], predicted)
                print(format_report(f"{learner}: {name}", report), flush=True)
            for name, train, test in (
                ("cross: train FNC-1 -> test ARC", fnc, arc),
                ("cross: train ARC -> test FNC-1", arc, fnc),
            ):
                predicted, config = cross(train, test, learner)
                report = evaluate([r.gold for r in test], predicted)
                print(format_report(f"{learner}: {name} ({config})", report), flush=True)
    if not args.no_pair:
        pair_layer(args)
    model = StanceModel.load(args.model) if args.model else load_shipped()
    sample = load_pairs("fnc", args.fnc)[::25] + load_pairs("arc", args.arc)[::25]
    for name, chosen in (("rules only", None), ("rules + model", model)):
        mean, p95 = latency(sample, chosen)
        print(
            f"\nlatency {name}: {mean:.2f} ms mean, {p95:.2f} ms p95 CPU per article ({len(sample)} articles)"
        )
        accuracy, misses = probe(args.probe, chosen)
        print(f"probe {name}: accuracy {accuracy:.3f}")
        for miss in misses:
            print("   miss", miss)
    print(f"\nbench wall time {time.time() - started:.0f} s")
    return 0


def pair_layer(args: argparse.Namespace) -> None:
    """The embedding layer: claim-grouped CV, cross-data-set runs and its CPU cost per article."""
    fnc = stance_pair.select(stance_pair.pair_rows("fnc", args.fnc, args.embed_cache), args.pair_blocks)
    arc = stance_pair.select(stance_pair.pair_rows("arc", args.arc, args.embed_cache), args.pair_blocks)
    label = f"embedding layer ({args.pair_blocks})"
    if not args.skip_cv:
        for name, rows, extra in (
            ("FNC-1 by-story CV, trained FNC-1 + ARC", fnc, arc),
            ("ARC by-claim CV, trained ARC + FNC-1", arc, fnc),
        ):
            predicted, _ = stance_pair.grouped_cv(rows, extra, args.folds)
            print(format_report(f"{label}: {name}", evaluate([r.gold for r in rows], predicted)), flush=True)
        for name, train, test in (
            ("cross: train FNC-1 -> test ARC", fnc, arc),
            ("cross: train ARC -> test FNC-1", arc, fnc),
        ):
            predicted, config = stance_pair.cross(train, test)
            report = evaluate([r.gold for r in test], predicted)
            print(format_report(f"{label}: {name} ({config})", report), flush=True)
    if args.pair_blocks == "none":
        return  # nothing is embedded: the cost is the small model's
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    encoder = SentenceTransformer(default_model(), device="cpu")

    class Encode:
        def encode(self, texts: list[str]) -> object:
            return encoder.encode(texts, normalize_embeddings=True, show_progress_bar=False)

    model = stance_pair.fit(fnc + arc, stance_pair.Config(stance_pair.GRID_C[0]))
    sample = load_pairs("fnc", args.fnc)[::25] + load_pairs("arc", args.arc)[::25]
    mean, p95, embedded = stance_pair.latency(model, sample, Encode(), args.pair_blocks)
    print(
        f"\nlatency {label}: {mean:.2f} ms mean, {p95:.2f} ms p95 CPU per article, one thread "
        f"({len(sample)} articles, {embedded:.1f} sentences embedded each, claims embedded beforehand)"
    )


if __name__ == "__main__":
    sys.exit(main())
