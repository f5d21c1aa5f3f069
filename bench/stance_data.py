"""FNC-1 and ARC stance pairs, claim-grouped folds, cached features and the stance metrics."""

from __future__ import annotations

import csv
import gzip
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from watcher.domain import Stance
from watcher.framing import analyse, features, rule_stance

LABELS = {"agree": Stance.SUPPORTS, "discuss": Stance.NEUTRAL, "disagree": Stance.DISPUTES}
ORDER = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)
FNC_NAME = {Stance.SUPPORTS: "agree", Stance.NEUTRAL: "discuss", Stance.DISPUTES: "disagree"}
FILES = {
    "fnc": ("train_bodies.csv", "train_stances.csv"),
    "arc": ("arc_bodies.csv", "arc_stances_train.csv"),
    # the FNC-1 competition test, or another split laid out the same way (the ARC test in the heldout bench)
    "test": ("competition_test_bodies.csv", "competition_test_stances.csv"),
}

L = TypeVar("L")  # a class label: a Stance, or a string of the FNC-1 test's four

CACHE = Path(__file__).resolve().parent / "out" / "stance-cache"  # regenerable, git-ignored


@dataclass(frozen=True, slots=True)
class Pair:
    """One related claim-body pair with its gold stance and its claim group (connected story)."""

    dataset: str
    headline: str
    body_id: str
    body: str
    stance: Stance
    group: str


def load_pairs(dataset: str, folder: Path) -> list[Pair]:
    """Related pairs of one data set; group = connected component of the headline-body graph (a story)."""
    csv.field_size_limit(sys.maxsize)
    bodies_file, stances_file = FILES[dataset]
    with (folder / bodies_file).open(encoding="utf-8", newline="") as handle:
        bodies = {row["Body ID"]: row["articleBody"] for row in csv.DictReader(handle)}
    with (folder / stances_file).open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Stance"] in LABELS]
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for row in rows:
        parent[find("h:" + row["Headline"])] = find("b:" + row["Body ID"])
    return [
        Pair(
            dataset,
            row["Headline"],
            row["Body ID"],
            bodies[row["Body ID"]],
            LABELS[row["Stance"]],
            f"{dataset}:{find('h:' + row['Headline'])}",
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Row:
    """A pair's cached features: what training and evaluation read."""

    dataset: str
    group: str
    gold: Stance
    rule: Stance
    feats: dict[str, float]


def featurise(pairs: Iterable[Pair]) -> tuple[list[Row], float]:
    """Features of every pair (body only: FNC and ARC have no article title) and mean ms per pair."""
    rows = []
    start = time.process_time()
    count = 0
    for pair in pairs:
        analysis = analyse(pair.headline, "", pair.body)
        rule = rule_stance(analysis)
        rows.append(Row(pair.dataset, pair.group, pair.stance, rule, features(analysis, rule)))
        count += 1
    return rows, 1000 * (time.process_time() - start) / max(1, count)


def cached_rows(dataset: str, folder: Path, cache: Path) -> list[Row]:
    """Rows from ``cache`` (gzipped JSON lines) when it exists, else computed and written there."""
    if cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as handle:
            return [
                Row(d["dataset"], d["group"], Stance(d["gold"]), Stance(d["rule"]), d["feats"])
                for d in map(json.loads, handle)
            ]
    rows, ms = featurise(load_pairs(dataset, folder))
    print(f"featurised {dataset}: {len(rows)} pairs, {ms:.2f} ms CPU per pair", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(cache, "wt", encoding="utf-8") as handle:
        for row in rows:
            record = {
                "dataset": row.dataset,
                "group": row.group,
                "gold": row.gold.value,
                "rule": row.rule.value,
            }
            handle.write(json.dumps({**record, "feats": row.feats}) + "\n")
    return rows


@dataclass(frozen=True, slots=True)
class Report:
    """Per-class precision, recall and F1, macro-F1, accuracy, FNC score on related pairs, confusion."""

    precision: dict[Stance, float]
    recall: dict[Stance, float]
    f1: dict[Stance, float]
    macro_f1: float
    accuracy: float
    fnc: float
    confusion: Counter[tuple[Stance, Stance]]
    count: int


def per_class(
    confusion: Counter[tuple[L, L]], labels: Sequence[L]
) -> tuple[dict[L, float], dict[L, float], dict[L, float]]:
    """Precision, recall and F1 of each label from a (gold, predicted) confusion count."""
    precision, recall, f1 = {}, {}, {}
    for label in labels:
        tp = confusion[(label, label)]
        fp = sum(confusion[(g, label)] for g in labels if g != label)
        fn = sum(confusion[(label, p)] for p in labels if p != label)
        precision[label] = tp / (tp + fp) if tp + fp else 0.0
        recall[label] = tp / (tp + fn) if tp + fn else 0.0
        f1[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def evaluate(gold: Sequence[Stance], predicted: Sequence[Stance]) -> Report:
    """Metrics over related pairs. FNC score: +0.25 per pair (relatedness taken as right), +0.75 per right
    agree/discuss/disagree label, as a percentage of the maximum."""
    confusion = Counter(zip(gold, predicted, strict=True))
    precision, recall, f1 = per_class(confusion, ORDER)
    right = sum(confusion[(s, s)] for s in ORDER)
    count = max(1, len(gold))
    return Report(
        precision,
        recall,
        f1,
        sum(f1.values()) / len(f1),
        right / count,
        100 * (0.25 * count + 0.75 * right) / count,
        confusion,
        len(gold),
    )


def format_report(name: str, report: Report) -> str:
    """A printable block: per-class P/R/F1, macro-F1, FNC score and the confusion table."""
    lines = [f"== {name}  ({report.count} related pairs)"]
    lines.append(f"  {'class':<9} {'P':>6} {'R':>6} {'F1':>6}")
    for s in ORDER:
        lines.append(
            f"  {FNC_NAME[s]:<9} {report.precision[s]:6.3f} {report.recall[s]:6.3f} {report.f1[s]:6.3f}"
        )
    lines.append(
        f"  macro-F1 {report.macro_f1:.3f}  accuracy {report.accuracy:.3f}  FNC score {report.fnc:.2f}%"
    )
    lines.append("  confusion (rows gold; columns predicted agree discuss disagree)")
    for g in ORDER:
        lines.append(f"    {FNC_NAME[g]:<9}" + "".join(f"{report.confusion[(g, p)]:7d}" for p in ORDER))
    return "\n".join(lines)
