"""Lexical throughput of the matcher importable as watcher.match: FNC-1 bodies against 100 claims.

Usage: python -m bench.match_throughput --fnc DIR [--claims 100] [--repeat 3]
Prints articles per wall second and per CPU second of this process (the latter is what a loaded,
shared machine distorts least), batches of 64 as the daemon sends them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from bench.match_data import body_items, load, to_article
from watcher.domain import Claim
from watcher.match import Matcher, MatchSettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = load(args.fnc, "fnc1")
    articles = [to_article(i) for i in body_items(data)]
    best_wall = best_cpu = 0.0
    for r in range(args.repeat):
        chosen = random.Random(r).sample(range(len(data.claims)), args.claims)
        claims = [Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen]
        matcher = Matcher(claims, MatchSettings(model=None))
        matcher.observe(articles)
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(articles), 64):
            matcher.match(articles[start : start + 64])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_wall, best_cpu = max(best_wall, len(articles) / wall), max(best_cpu, len(articles) / cpu)
    import watcher.match

    print(
        f"{Path(watcher.match.__file__).parent}: {best_wall:,.0f} articles/s wall, {best_cpu:,.0f} per CPU second "
        f"({len(articles)} bodies x {args.claims} claims, best of {args.repeat})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
