"""A small stance cross-encoder: the MiniLM the matcher ships, its top layers fine-tuned on claim/body pairs.

Usage: python -m bench.train_cross --train fnc=DIR [--train arc=DIR] [--eval NAME=DIR ...] [--out FILE]
       [--epochs 1] [--top-layers 3] [--max-tokens 128] [--limit N]

``--train`` and ``--eval`` name a data set and its folder: ``fnc`` (train_bodies.csv, train_stances.csv), ``arc``
(arc_bodies.csv, arc_stances_train.csv), or ``test`` (competition_test_bodies.csv, competition_test_stances.csv:
the FNC-1 competition test, or the ARC test split laid out the same way). Only related pairs are read; unrelated
ones are the matcher's business.

The input is the claim, then the body sentences that share most of its content words (CROSS_SENTENCES of
them and the lead, in document order), cut at ``--max-tokens``. The bottom layers stay as the shipped model
has them, so what is trained (and written to ``--out``, half precision) is the top ``--top-layers`` layers
and a three-way head over the mean of the last layer. Class weights are balanced. Prints the command, the
machine, the training time, and per-class P/R/F1, macro-F1, FNC score and confusion for each ``--eval`` set,
with the CPU milliseconds per pair of inference.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.cross_encoder import CLASSES, CrossEncoderStance, pair_text, pair_text_of
from bench.stance_data import FILES, ORDER, Pair, evaluate, format_report, load_pairs
from watcher.framing import analyse, decide, settle_analysed


def load(spec: str) -> list[Pair]:
    name, _, folder = spec.partition("=")
    if name not in FILES:
        raise SystemExit(f"unknown data set {name!r}: {', '.join(FILES)}")
    return load_pairs(name, Path(folder))


def compare(spec: str, pairs: Sequence[Pair], model: CrossEncoderStance) -> None:
    """The cross-encoder beside the shipped stance (rules and small model) on ``pairs``: its own choice, its
    probabilities settled under the rules' guards as the small model's are, and the two models' mean."""
    analyses = [analyse(p.headline, "", p.body) for p in pairs]
    cpu = time.process_time()
    probabilities = model.probabilities(
        [pair_text_of(a, p.headline, "") for a, p in zip(analyses, pairs, strict=True)]
    )
    ms = 1000 * (time.process_time() - cpu) / max(1, len(pairs))
    gold = [p.stance for p in pairs]
    decisions = [decide(a) for a in analyses]
    crossed = [dict(zip(CLASSES, row, strict=True)) for row in probabilities]
    mean = [
        {s: (d.probabilities[s] + c[s]) / 2 for s in CLASSES} if d.probabilities else c
        for d, c in zip(decisions, crossed, strict=True)
    ]
    runs = {
        "shipped (rules + small model)": [d.stance for d in decisions],
        "cross-encoder alone": [max(c, key=c.__getitem__) for c in crossed],
        "cross-encoder under the rules' guards": [
            settle_analysed(c, d.rule, a)[0] for a, d, c in zip(analyses, decisions, crossed, strict=True)
        ],
        "mean of both under the guards": [
            settle_analysed(m, d.rule, a)[0] for a, d, m in zip(analyses, decisions, mean, strict=True)
        ],
    }
    print(f"\n#### {spec}: {len(pairs)} related pairs; cross-encoder {ms:.1f} ms CPU per pair", flush=True)
    for name, predicted in runs.items():
        print(format_report(f"{spec}: {name}", evaluate(gold, predicted)), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.train_cross", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--train", action="append", default=[], help="NAME=DIR, repeatable")
    parser.add_argument("--eval", action="append", default=[], help="NAME=DIR, repeatable")
    parser.add_argument("--out", type=Path, help="where to write the trained layers (.safetensors)")
    parser.add_argument("--load", type=Path, help="evaluate these trained layers instead of training")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--top-layers", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--limit", type=int, default=0, help="at most this many training pairs (a quick run)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--eval-limit", type=int, default=0, help="a seeded sample of this many pairs per --eval set"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(
        f"command: {shlex.join(['python', '-m', 'bench.train_cross', *(sys.argv[1:] if argv is None else argv)])}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} logical cores, {platform.python_implementation()} "
        f"{platform.python_version()}, torch {torch.__version__} ({args.threads} threads); load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        flush=True,
    )
    if args.load:
        model = CrossEncoderStance.load(args.load)
    else:
        model = CrossEncoderStance.fresh(top_layers=args.top_layers, max_tokens=args.max_tokens)
        pairs = [p for spec in args.train for p in load(spec)]
        random.Random(args.seed).shuffle(pairs)
        if args.limit:
            pairs = pairs[: args.limit]
        counts = Counter(p.stance for p in pairs)
        print("training pairs: " + ", ".join(f"{s.value} {counts[s]}" for s in ORDER), flush=True)
        started, cpu = time.perf_counter(), time.process_time()
        texts = [pair_text(p.headline, "", p.body) for p in pairs]
        print(f"inputs built in {time.process_time() - cpu:.0f} s CPU", flush=True)
        model.train(texts, [p.stance for p in pairs], epochs=args.epochs, batch=args.batch, lr=args.lr)
        print(
            f"trained in {time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU",
            flush=True,
        )
        if args.out:
            model.save(args.out)
            print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    for spec in args.eval:
        pairs = load(spec)
        if args.eval_limit:
            pairs = random.Random(args.seed).sample(pairs, min(args.eval_limit, len(pairs)))
        compare(spec, pairs, model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
