"""The title-only boost: how far to raise the scores of title-only items so that they spend the false-match
budget bodies already spend at the default operating point.

Usage: python -m bench.title_boost --fnc ../shared/data/fnc1 [--model PATH] [--claims 100] [--draws 2]

Live mix as bench/match_eval.py builds it (--claims random FNC-1 headlines as claims, every item of another
story a negative), once with the bodies and once with title-only items (a related headline of each body as
its title, never counted against that headline's own claim), scored with the boost off. For each cut of the
score it prints recall and false matches per claim per 10,000 unrelated items; the boost is the log-odds gap
between 0.5 and the lowest cut at which title-only items stay at or under the bodies' false-match rate at 0.5.
Without --model the matcher is lexical only (scorer.TITLE_ONLY_BOOST_LEXICAL); with the offline MiniLM the
hybrid (scorer.TITLE_ONLY_BOOST_HYBRID).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import header, offline_embedder
from bench.match_data import body_items, load, title_items
from bench.match_eval import live_scores
from watcher.match import MatchSettings
from watcher.match.scorer import logit

CUTS = (0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05)
SEED = 1  # the draws of bench/match_eval.py's default


def rates(related: Sequence[float], unrelated: Sequence[float], cut: float) -> tuple[float, float]:
    recall = sum(s >= cut for s in related) / max(1, len(related))
    return recall, 1e4 * sum(s >= cut for s in unrelated) / max(1, len(unrelated))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--model", help="sentence-transformers model (default: lexical only)")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--draws", type=int, default=2)
    args = parser.parse_args(argv)
    header("bench.title_boost", argv)
    embedder = offline_embedder(args.model)
    settings = dataclasses.replace(MatchSettings(model=args.model), title_only_boost=False)
    data = load(args.fnc, "fnc1")
    bodies = body_items(data)
    body_related, body_unrelated = live_scores(
        data, bodies, [-1] * len(bodies), settings, embedder, args.claims, args.draws, SEED
    )
    titles, own = title_items(data, with_line=False)
    title_related, title_unrelated = live_scores(
        data, titles, own, settings, embedder, args.claims, args.draws, SEED
    )
    print(f"mode: {'hybrid' if embedder else 'lexical only'}; {args.claims} claims x {args.draws} draws")
    print(f"{'cut':>5}  {'bodies R':>8} {'FP/10k':>7}  {'titles R':>8} {'FP/10k':>7}")
    for cut in CUTS:
        br, bf = rates(body_related, body_unrelated, cut)
        tr, tf = rates(title_related, title_unrelated, cut)
        print(f"{cut:5.2f}  {br:8.3f} {bf:7.1f}  {tr:8.3f} {tf:7.1f}")
    budget = rates(body_related, body_unrelated, 0.5)[1]
    within = [cut for cut in CUTS if rates(title_related, title_unrelated, cut)[1] <= budget]
    cut = min(within)
    print(
        f"bodies spend {budget:.1f} false matches per claim per 10k at 0.5; title-only items stay within it down to "
        f"{cut}: boost {logit(0.5) - logit(cut):.2f} log-odds (recall {rates(title_related, title_unrelated, 0.5)[0]:.3f}"
        f" -> {rates(title_related, title_unrelated, cut)[0]:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
