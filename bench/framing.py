"""Framing accuracy on FNC-1 related pairs (validation bodies): per-class F1, macro-F1 and FNC score.

Usage: python -m bench.framing --data ../shared/data/fnc1 [--model watcher/framing/model.json]

Pairs are split by Body ID (crc32 of the id, one body in five to validation), the same split that
bench/train_framing.py trains on, so no validation body is ever seen in training.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from watcher.domain import Stance
from watcher.framing import frame
from watcher.framing.model import FramingModel, load_shipped

logger = logging.getLogger(__name__)

LABELS = {"agree": Stance.SUPPORTS, "discuss": Stance.NEUTRAL, "disagree": Stance.DISPUTES}
ORDER = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)
FNC_NAME = {Stance.SUPPORTS: "agree", Stance.NEUTRAL: "discuss", Stance.DISPUTES: "disagree"}
VALIDATION_BUCKETS = 5  # one body in five goes to validation


@dataclass(frozen=True, slots=True)
class Pair:
    headline: str
    body_id: str
    body: str
    stance: Stance | None  # None = unrelated


def is_validation(body_id: str) -> bool:
    """The deterministic split: crc32 of the Body ID, independent of Python's hash seed."""
    return zlib.crc32(body_id.encode("utf-8")) % VALIDATION_BUCKETS == 0


def load_pairs(data: Path) -> list[Pair]:
    """All FNC-1 training pairs, unrelated ones with stance None."""
    csv.field_size_limit(sys.maxsize)
    with (data / "train_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = {row["Body ID"]: row["articleBody"] for row in csv.DictReader(handle)}
    with (data / "train_stances.csv").open(encoding="utf-8", newline="") as handle:
        return [
            Pair(row["Headline"], row["Body ID"], bodies[row["Body ID"]], LABELS.get(row["Stance"]))
            for row in csv.DictReader(handle)
        ]


def split(pairs: Sequence[Pair], validation: bool) -> list[Pair]:
    return [pair for pair in pairs if is_validation(pair.body_id) == validation]


@dataclass(frozen=True, slots=True)
class Report:
    f1: dict[Stance, float]
    macro_f1: float
    accuracy: float
    fnc_related: float  # related pairs only, relatedness assumed right
    fnc_four: float  # all pairs, unrelated ones assumed classified right
    confusion: Counter[tuple[Stance, Stance]]


def evaluate(gold: Sequence[Stance], predicted: Sequence[Stance], unrelated: int) -> Report:
    """Per-class F1, macro-F1 and the FNC score per the FNC-1 README.

    FNC score: +0.25 per pair whose related/unrelated call is right, +0.75 more per related pair with the
    right agree/discuss/disagree label, as a percentage of the best possible. Framing only sees related
    pairs, so every related/unrelated call is taken as right: fnc_related over related pairs only,
    fnc_four also counting the ``unrelated`` validation pairs at 0.25 each.
    """
    confusion = Counter(zip(gold, predicted, strict=True))
    f1 = {}
    for stance in ORDER:
        tp = confusion[(stance, stance)]
        fp = sum(confusion[(g, stance)] for g in ORDER if g != stance)
        fn = sum(confusion[(stance, p)] for p in ORDER if p != stance)
        f1[stance] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    right = sum(confusion[(s, s)] for s in ORDER)
    related = len(gold)
    return Report(
        f1=f1,
        macro_f1=sum(f1.values()) / len(f1),
        accuracy=right / related,
        fnc_related=100 * (0.25 * related + 0.75 * right) / related,
        fnc_four=100 * (0.25 * (related + unrelated) + 0.75 * right) / (0.25 * unrelated + related),
        confusion=confusion,
    )


def run(pairs: Sequence[Pair], predict: Callable[[Pair], Stance]) -> tuple[list[Stance], float]:
    """Predictions and mean CPU milliseconds per pair (CPU time: the machine may be shared)."""
    start = time.process_time()
    predicted = [predict(pair) for pair in pairs]
    return predicted, 1000 * (time.process_time() - start) / max(1, len(pairs))


def print_report(name: str, report: Report, ms: float) -> None:
    print(f"\n== {name}  ({ms:.2f} ms CPU per pair)")
    for stance in ORDER:
        print(f"  F1 {FNC_NAME[stance]:<8} ({stance.value:<8}) {report.f1[stance]:.3f}")
    print(f"  macro-F1 {report.macro_f1:.3f}   accuracy {report.accuracy:.3f}")
    print(f"  FNC score, related pairs only (relatedness taken as right): {report.fnc_related:.2f}")
    print(f"  FNC score, four classes (unrelated pairs taken as right):    {report.fnc_four:.2f}")
    print("  confusion (rows gold, columns predicted: agree discuss disagree)")
    for gold in ORDER:
        cells = " ".join(f"{report.confusion[(gold, p)]:6d}" for p in ORDER)
        print(f"    {FNC_NAME[gold]:<8} {cells}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with train_bodies.csv, train_stances.csv"
    )
    parser.add_argument("--model", type=Path, help="framing model JSON (default: the shipped one)")
    args = parser.parse_args(argv)
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpus")
    validation = split(load_pairs(args.data), validation=True)
    related = [pair for pair in validation if pair.stance is not None]
    unrelated = len(validation) - len(related)
    gold = [pair.stance for pair in related if pair.stance is not None]
    counts = Counter(FNC_NAME[s] for s in gold)
    bodies = len({pair.body_id for pair in validation})
    print(f"validation: {bodies} bodies, {len(related)} related pairs {dict(counts)}, {unrelated} unrelated")
    model = FramingModel.load(args.model) if args.model else load_shipped()

    def rules(pair: Pair) -> Stance:
        return frame(pair.headline, "", pair.body, model=None).stance

    def learned(pair: Pair) -> Stance:
        return frame(pair.headline, "", pair.body, model=model).stance

    def constant(pair: Pair) -> Stance:
        return Stance.NEUTRAL

    runs: list[tuple[str, Callable[[Pair], Stance]]] = [
        ("all discuss (reference)", constant),
        ("rules only", rules),
    ]
    if model is not None:
        runs.append(("rules + learned model", learned))
    for name, predict in runs:
        predicted, ms = run(related, predict)
        print_report(name, evaluate(gold, predicted, unrelated), ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
