"""Lexical matching with the claim index against scoring every pair, FNC-1 bodies against 10 to 1,000 claims.

Usage: python -m bench.match_index --fnc ../shared/data/fnc1 [--claims 10,100,300,1000] [--repeat 3]

FNC-1 headlines are the claims (a seeded sample per repeat) and the bodies the articles, sent in
batches of 64 as the daemon sends them, to a lexical-only matcher that has first observed them all
(warm term statistics). Each repeat runs "all pairs" (Matcher(all_pairs=True): every article's
sentences scored against every claim, the baseline) and "indexed" (the claim index, the default)
on the same claims, one after the other, and checks that both give the same scored pairs.

Prints articles per wall second and per CPU second of this process (the best of the repeats; the
CPU figure is what a loaded, shared machine distorts least) and the pairs whose sentences were
scored. Exits 1 if the two ever disagree.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.match_data import body_items, load, to_article
from watcher.domain import Article, Claim, MatchScore
from watcher.match import Matcher, MatchSettings, ScoredPair

BATCH = 64


@dataclass(slots=True)
class Run:
    wall: float = 0.0  # best articles per wall second
    cpu: float = 0.0  # best articles per CPU second
    pairs: int = 0  # pairs whose sentences were scored, per pass over the articles


def timed(
    matcher: Matcher, articles: Sequence[Article], run: Run, *, matches: bool = False
) -> list[ScoredPair | MatchScore]:
    """Every batch through ``score_pairs`` (every pair above the candidate floor), or with ``matches``
    through ``match`` (the matches only: the daemon's call)."""
    matcher.observe(articles)
    before = matcher.stats()["pairs_scored"]
    wall, cpu = time.perf_counter(), time.process_time()
    call = matcher.match if matches else matcher.score_pairs
    scored = [p for start in range(0, len(articles), BATCH) for p in call(articles[start : start + BATCH])]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    run.wall = max(run.wall, len(articles) / wall)
    run.cpu = max(run.cpu, len(articles) / cpu)
    run.pairs = matcher.stats()["pairs_scored"] - before
    return scored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.match_index", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument(
        "--fnc", type=Path, required=True, help="the FNC-1 folder (train_bodies.csv, train_stances.csv)"
    )
    parser.add_argument("--claims", default="10,100,300,1000", help="claim counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per claim count; the best is printed")
    args = parser.parse_args(argv)
    data = load(args.fnc, "fnc1")
    articles = [to_article(i) for i in body_items(data)]
    counts = [int(c) for c in args.claims.split(",")]
    print(
        f"command: {shlex.join(['python', '-m', 'bench.match_index', *(sys.argv[1:] if argv is None else argv)])}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} logical cores, "
        f"{platform.python_implementation()} {platform.python_version()}; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(
        f"data: {len(articles)} FNC-1 bodies, batches of {BATCH}; claims: FNC-1 headlines, best of {args.repeat}"
    )
    print()
    print(
        f"{'':>7} | {'every pair above the candidate floor (score_pairs)':^76} | {'matches only (match)':^76}"
    )
    header = f"{'all pairs art/s':>20} {'pairs scored':>13} | {'indexed art/s':>20} {'pairs scored':>13} | {'CPU':>4}"
    print(f"{'claims':>7} | {header} | {header}")
    unit = f"{'wall':>9} {'CPU':>10} {'':>13} | {'wall':>9} {'CPU':>10} {'':>13} | {'':>4}"
    print(f"{'':>7} | {unit} | {unit}")
    failed = False
    for count in counts:
        runs = [Run() for _ in range(4)]  # score_pairs: all pairs, indexed; match: all pairs, indexed
        for r in range(args.repeat):
            chosen = random.Random(r).sample(range(len(data.claims)), min(count, len(data.claims)))
            claims = [Claim(id=c + 1, name=f"c{c + 1}", text=data.claims[c]) for c in chosen]
            settings = MatchSettings(model=None)
            expected = timed(Matcher(claims, settings, all_pairs=True), articles, runs[0])
            if timed(Matcher(claims, settings), articles, runs[1]) != expected:
                failed = True
                print(f"{count} claims, repeat {r}: the index and every pair disagree", file=sys.stderr)
            matched = [p.to_match_score() for p in expected if isinstance(p, ScoredPair) and p.matched]
            for run, all_pairs in ((runs[2], True), (runs[3], False)):
                if (
                    timed(Matcher(claims, settings, all_pairs=all_pairs), articles, run, matches=True)
                    != matched
                ):
                    failed = True
                    print(
                        f"{count} claims, repeat {r}: match (all pairs: {all_pairs}) differs from the matched pairs "
                        "of score_pairs",
                        file=sys.stderr,
                    )
        cells = [
            f"{every.wall:>9,.0f} {every.cpu:>10,.0f} {every.pairs:>13,} | "
            f"{indexed.wall:>9,.0f} {indexed.cpu:>10,.0f} {indexed.pairs:>13,} | {indexed.cpu / every.cpu:>3.1f}x"
            for every, indexed in (runs[:2], runs[2:])
        ]
        print(f"{count:>7} | {cells[0]} | {cells[1]}")
    print()
    print(
        "decisions: "
        + (
            "DIFFERENT"
            if failed
            else "identical (same scored pairs, scores, evidence; match gives the matched ones, with or without the index)"
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
