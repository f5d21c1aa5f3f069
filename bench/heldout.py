"""Held-out figures of the shipped defaults on public test sets that nothing here was trained or tuned on.

Usage: python -m bench.heldout [--fnc-test DIR] [--emergent CSV ...] [--stance-test DIR] [--model PATH] [--rules-only]

``--fnc-test``: the FNC-1 competition test split (``competition_test_bodies.csv`` and
``competition_test_stances.csv`` of github.com/FakeNewsChallenge/fnc-1): 25,413 headline-body pairs about
stories absent from the training split. Every pair runs through the shipped matcher (the headline is the
claim, the body the article; term statistics observed from the test bodies first, as a daemon learns
them from what it polls) and every matched pair through the shipped framing with the matcher's evidence,
exactly as the pipeline does. Printed: related/unrelated precision and recall, the official FNC score
(the same arithmetic as the challenge's scorer.py), four-class macro-F1, per-class F1 and the confusion
table; then the stance alone on the gold related pairs (as if matching were perfect).

``--emergent``: headline stance on Emergent (Ferreira & Vlachos 2016), CSV files with claimHeadline,
articleHeadline and y (for / against / observing), such as the two halves of their test split in
github.com/willferreira/mscproject, output/url-versions-2015-06-14-clean-test-{correct,errors}.csv
(524 headlines). The claim is claimHeadline, the article a title-only item (articleHeadline, no text);
for ~ supports, observing ~ neutral, against ~ disputes. Their mark: 73% three-class accuracy.
Emergent article headlines also appear as FNC-1 training headlines; stance is learnt from bodies, never
from them, so they are not seen as items, but the claims' topics overlap FNC-1's. An ``.xml`` file given to
``--emergent`` is read as the same repository's Excitement Open Platform results
(output/eop/fold-*/*.xml_results.xml: <t> the headline, <h> the claim, ``benchmark`` ENTAILMENT / UNKNOWN /
CONTRADICTION): its ten folds hold the Emergent training split (2,086 pairs over 240 claims), a development
set of headlines rather than a held-out one.

``--stance-test``: a folder in the FNC-1 competition test layout (``competition_test_bodies.csv``,
``competition_test_stances.csv``) whose stance alone is scored on its gold related pairs, matching skipped:
e.g. the ARC test split (``arc_bodies.csv`` and ``arc_stances_test.csv`` copied under those names).

Without ``--model`` the matcher is lexical only (a core install); with a sentence-transformers model path
the semantic stage runs too.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

from bench.common import header, offline_embedder
from bench.match_data import Item, to_article
from bench.stance_data import ORDER, evaluate, format_report, load_pairs, per_class
from watcher.domain import Claim, Stance
from watcher.framing import SHIPPED, frame
from watcher.match import Embedder, Matcher, MatchSettings

FNC_LABELS = ("agree", "disagree", "discuss", "unrelated")
FNC_OF = {Stance.SUPPORTS: "agree", Stance.NEUTRAL: "discuss", Stance.DISPUTES: "disagree"}
STANCE_OF = {"agree": Stance.SUPPORTS, "discuss": Stance.NEUTRAL, "disagree": Stance.DISPUTES}
EMERGENT_OF = {"for": Stance.SUPPORTS, "observing": Stance.NEUTRAL, "against": Stance.DISPUTES}
EOP_OF = {"ENTAILMENT": Stance.SUPPORTS, "UNKNOWN": Stance.NEUTRAL, "CONTRADICTION": Stance.DISPUTES}
PUBLISHED = "winner 82.02, 2nd 81.97, 3rd (TF-IDF + MLP) 81.72, official baseline 79.53"


def fnc_score(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The challenge's scorer: +0.25 for a right related/unrelated call, +0.75 more for a right stance on
    a related pair; as a percentage of the best possible score."""
    score = best = 0.0
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            score += 0.25
            if g != "unrelated":
                score += 0.50
        if g != "unrelated" and p != "unrelated":
            score += 0.25
        best += 0.25 if g == "unrelated" else 1.0
    return 100 * score / best


def four_class(gold: Sequence[str], predicted: Sequence[str]) -> str:
    confusion = Counter(zip(gold, predicted, strict=True))
    precision, recall, f1 = per_class(confusion, FNC_LABELS)
    lines = [f"  {'class':<10} {'P':>6} {'R':>6} {'F1':>6}"]
    for label in FNC_LABELS:
        lines.append(f"  {label:<10} {precision[label]:6.3f} {recall[label]:6.3f} {f1[label]:6.3f}")
    lines.append(f"  four-class macro-F1 {sum(f1.values()) / len(f1):.3f}")
    lines.append("  confusion (rows gold; columns predicted " + " ".join(FNC_LABELS) + ")")
    for g in FNC_LABELS:
        lines.append(f"    {g:<10}" + "".join(f"{confusion[(g, p)]:10d}" for p in FNC_LABELS))
    return "\n".join(lines)


def fnc_test(folder: Path, embedder: Embedder | None, settings: MatchSettings, rules_only: bool) -> None:
    csv.field_size_limit(sys.maxsize)
    with (folder / "competition_test_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(handle)}
    with (folder / "competition_test_stances.csv").open(encoding="utf-8", newline="") as handle:
        rows = [
            (" ".join(r["Headline"].split()), int(r["Body ID"]), r["Stance"]) for r in csv.DictReader(handle)
        ]
    claims = sorted({h for h, _, _ in rows})
    index = {h: i for i, h in enumerate(claims)}
    heads: dict[int, list[int]] = defaultdict(list)
    for h, b, _ in rows:
        heads[b].append(index[h])
    print(
        f"\n== FNC-1 competition test: {len(rows):,} pairs, {len(claims):,} headlines, {len(bodies):,} bodies"
    )
    model = None if rules_only else SHIPPED
    items = {b: to_article(Item(b, "", text, -1, b)) for b, text in sorted(bodies.items())}
    base = Matcher([], settings, embedder)
    base.observe(list(items.values()))
    matched: dict[tuple[int, int], tuple[str, ...]] = {}
    scores: dict[tuple[int, int], float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for done, (b, cs) in enumerate(sorted(heads.items()), 1):
        matcher = base.with_claims([Claim(id=c, name=f"c{c}", text=claims[c]) for c in dict.fromkeys(cs)])
        for pair in matcher.score_pairs([items[b]]):
            scores[(pair.claim.id, b)] = pair.score
            if pair.matched:
                matched[(pair.claim.id, b)] = pair.evidence
        if done % 200 == 0:
            print(f"  matched {done}/{len(heads)} bodies", flush=True)
    match_cpu = time.process_time() - cpu
    gold = [s for _, _, s in rows]
    related_gold = [s != "unrelated" for s in gold]
    hit = [(index[h], b) in matched for h, b, _ in rows]
    tp = sum(g and p for g, p in zip(related_gold, hit, strict=True))
    fp = sum(p and not g for g, p in zip(related_gold, hit, strict=True))
    fn = sum(g and not p for g, p in zip(related_gold, hit, strict=True))
    print(
        f"  matching: related P {tp / max(tp + fp, 1):.4f}  R {tp / max(tp + fn, 1):.4f}  "
        f"({tp} right, {fp} false, {fn} missed; {time.perf_counter() - started:.0f} s wall, "
        f"{match_cpu:.0f} s CPU)"
    )
    unrelated = len(gold) - sum(related_gold)
    for threshold in (0.5, 0.4, 0.3, 0.2, 0.1):
        above = [scores.get((index[h], b), 0.0) >= threshold for h, b, _ in rows]
        right = sum(g and a for g, a in zip(related_gold, above, strict=True))
        false = sum(a and not g for g, a in zip(related_gold, above, strict=True))
        print(
            f"    score >= {threshold:.1f}: P {right / max(right + false, 1):.4f}  R {right / sum(related_gold):.4f}  "
            f"false {false} ({1e4 * false / max(unrelated, 1):.1f} per 10k unrelated pairs)"
        )
    framed: dict[tuple[str, int], Stance] = {}
    cpu = time.process_time()
    for (c, b), evidence in matched.items():
        framed[(claims[c], b)] = frame(claims[c], "", bodies[b], evidence, model=model).stance
    for h, b, s in rows:  # the gold related pairs the matcher missed: stance as if matched
        if s != "unrelated" and (h, b) not in framed:
            framed[(h, b)] = frame(h, "", bodies[b], model=model).stance
    ms = 1000 * (time.process_time() - cpu) / max(1, len(framed))
    predicted = [
        FNC_OF[framed[(h, b)]] if ok else "unrelated" for (h, b, _), ok in zip(rows, hit, strict=True)
    ]
    print(f"  end to end (matcher, then framing; {ms:.2f} ms CPU per framed pair)")
    print(f"  FNC score {fnc_score(gold, predicted):.2f}%   (published on this split: {PUBLISHED})")
    print(four_class(gold, predicted))
    related = [(h, b, s) for h, b, s in rows if s != "unrelated"]
    report = evaluate([STANCE_OF[s] for _, _, s in related], [framed[(h, b)] for h, b, _ in related])
    print(format_report("FNC-1 competition test, stance alone on the gold related pairs", report))


def stance_test(folder: Path, rules_only: bool) -> None:
    """Stance alone on the gold related pairs of a folder in the FNC-1 competition test layout."""
    pairs = load_pairs("test", folder)
    model = None if rules_only else SHIPPED
    cpu = time.process_time()
    predicted = [frame(p.headline, "", p.body, model=model).stance for p in pairs]
    ms = 1000 * (time.process_time() - cpu) / max(1, len(pairs))
    print(f"\n== {folder}: stance on {len(pairs):,} gold related pairs; {ms:.2f} ms CPU each")
    report = evaluate([p.stance for p in pairs], predicted)
    print(format_report(f"{folder.name}, stance alone on the gold related pairs", report))


def emergent_matching(
    rows: Sequence[tuple[str, str, Stance]], embedder: Embedder | None, settings: MatchSettings
) -> None:
    """Every headline, as a title-only item, against every claim: recall on its own claim, and the false
    matches against the others (whose topics often overlap: several claims share a story)."""
    claims = sorted({c for c, _, _ in rows})
    matcher = Matcher([Claim(id=i, name=f"c{i}", text=c) for i, c in enumerate(claims)], settings, embedder)
    own = {c: i for i, c in enumerate(claims)}
    items = [to_article(Item(k, title, "", -1, k)) for k, (_, title, _) in enumerate(rows)]
    matcher.observe(items)
    found = {(m.claim_id, m.article_id) for m in matcher.match(items)}
    right = sum((own[c], k) in found for k, (c, _, _) in enumerate(rows))
    false = len(found) - right
    negatives = len(rows) * (len(claims) - 1)
    print(
        f"  matching, title-only: R {right / len(rows):.4f} ({right}/{len(rows)}); false matches {false} of "
        f"{negatives:,} other-claim pairs ({1e4 * false / max(negatives, 1):.1f} per 10k)"
    )


def eop_pairs(path: Path) -> list[tuple[str, str, Stance]]:
    """(claim, headline, stance) of an Emergent fold as the Excitement Open Platform results hold it."""
    root = ElementTree.parse(path).getroot()
    return [
        (
            (pair.findtext("h") or "").strip(),
            (pair.findtext("t") or "").strip(),
            EOP_OF[pair.get("benchmark", "")],
        )
        for pair in root.iter("pair")
    ]


def emergent(
    files: Sequence[Path],
    rules_only: bool,
    embedder: Embedder | None = None,
    settings: MatchSettings | None = None,
) -> None:
    rows: list[tuple[str, str, Stance]] = []
    for path in files:
        if path.suffix == ".xml":
            rows += eop_pairs(path)
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            rows += [
                (r["claimHeadline"], r["articleHeadline"], EMERGENT_OF[r["y"]])
                for r in csv.DictReader(handle)
            ]
    model = None if rules_only else SHIPPED
    cpu = time.process_time()
    predicted = [frame(claim, title, "", model=model).stance for claim, title, _ in rows]
    ms = 1000 * (time.process_time() - cpu) / max(1, len(rows))
    report = evaluate([g for _, _, g in rows], predicted)
    claims = len({c for c, _, _ in rows})
    print(
        f"\n== Emergent headlines: {len(rows)} (claim, headline) pairs over {claims} claims; {ms:.2f} ms CPU each"
    )
    print(
        format_report(
            "Emergent, title-only items (agree = for, discuss = observing, disagree = against)", report
        )
    )
    print(f"  three-class accuracy {report.accuracy:.3f}   (Ferreira & Vlachos 2016: 0.73)")
    counts = Counter(g for _, _, g in rows)
    print("  gold: " + ", ".join(f"{FNC_OF[s]} {counts[s]}" for s in ORDER))
    emergent_matching(rows, embedder, settings or MatchSettings(model=None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fnc-test", type=Path, help="folder with the FNC-1 competition test CSVs")
    parser.add_argument(
        "--emergent", type=Path, nargs="*", default=[], help="Emergent CSV files (or EOP fold XML files)"
    )
    parser.add_argument(
        "--stance-test", type=Path, help="folder in the FNC-1 test layout: stance on its gold related pairs"
    )
    parser.add_argument("--model", help="sentence-transformers model for the semantic stage (default: none)")
    parser.add_argument("--rules-only", action="store_true", help="stance from the rules alone")
    parser.add_argument("--floor", type=float, help="the matcher's candidate floor (default: shipped)")
    args = parser.parse_args(argv)
    header("bench.heldout", argv)
    embedder = offline_embedder(args.model)
    settings = MatchSettings(model=args.model)
    if args.floor is not None:
        settings = dataclasses.replace(settings, candidate_floor=args.floor)
    if args.emergent:
        emergent(args.emergent, args.rules_only, embedder, settings)
    if args.stance_test:
        stance_test(args.stance_test, args.rules_only)
    if args.fnc_test:
        fnc_test(args.fnc_test, embedder, settings, args.rules_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
