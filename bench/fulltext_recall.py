"""What full text does to recall on title-only items: FNC-1 pairs scored on a body's first sentence vs the whole body.

Usage: python -m bench.fulltext_recall --data ../shared/data/fnc1 [--pairs 2000] [--seed 7]

Each FNC-1 headline stands for a claim and each body for an article page. A title-only feed item is played by
the body's first sentence (what feeds that carry "a title and a line" give), its full text by the whole body.
The lexical matcher (no semantic model) scores every sampled pair both ways, after learning term statistics from
all sampled bodies. Prints recall on related pairs (agree, disagree, discuss) and the match rate on unrelated
pairs (false positives), for the line and for the full text.
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from watcher.domain import Article, Claim
from watcher.match.matcher import Matcher, MatchSettings
from watcher.text.sentences import split_sentences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/fnc1"))
    ap.add_argument("--pairs", type=int, default=2000, help="related pairs sampled (as many unrelated ones)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with (args.data / "train_bodies.csv").open(encoding="utf-8") as f:
        bodies = {int(row["Body ID"]): row["articleBody"] for row in csv.DictReader(f)}
    with (args.data / "train_stances.csv").open(encoding="utf-8") as f:
        rows = [(r["Headline"], int(r["Body ID"]), r["Stance"]) for r in csv.DictReader(f)]
    rng = random.Random(args.seed)
    related = rng.sample([r for r in rows if r[2] != "unrelated"], args.pairs)
    unrelated = rng.sample([r for r in rows if r[2] == "unrelated"], args.pairs)
    headlines = sorted({h for h, _, _ in related + unrelated})
    claims = {h: Claim(id=i + 1, name=f"c{i}", text=h) for i, h in enumerate(headlines)}
    matcher = Matcher(list(claims.values()), MatchSettings(model=None, languages=frozenset({"en"})))
    now = datetime.now(UTC)

    def article(body_id: int, text: str) -> Article:
        return Article(
            id=body_id, feed_id=1, story_id=body_id, url="", canonical_url="", title="", text=text,
            content_hash=str(body_id), published_at=None, first_seen_at=now, language="en", outlet="o",
            country="ZZ", leaning="unknown", ownership="unknown",
        )  # fmt: skip

    ids = sorted({b for _, b, _ in related + unrelated})
    matcher.observe([article(b, bodies[b]) for b in ids])
    first = {b: next(iter(split_sentences(bodies[b], "en")), "") for b in ids}
    started = time.perf_counter()
    rates: dict[str, tuple[float, ...]] = {}
    for name, pairs in (("related", related), ("unrelated", unrelated)):
        line = [matcher.score(claims[h], article(b, first[b])).matched for h, b, _ in pairs]
        full = [matcher.score(claims[h], article(b, bodies[b])).matched for h, b, _ in pairs]
        # auto: the page is fetched when the line passes the prefilter against the pair's claim
        only = {
            h: Matcher([claims[h]], MatchSettings(model=None, languages=frozenset({"en"})))
            for h, _, _ in pairs
        }
        fetched = [only[h].is_candidate(article(b, first[b])) for h, b, _ in pairs]
        auto = [f if got else m for m, f, got in zip(line, full, fetched, strict=True)]
        n = len(pairs)
        rates[name] = (sum(line) / n, sum(full) / n, sum(auto) / n, sum(fetched) / n)
    elapsed = time.perf_counter() - started
    print(f"command: python -m bench.fulltext_recall --pairs {args.pairs} --seed {args.seed}")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"pairs: {len(related)} related, {len(unrelated)} unrelated; {len(claims)} claims; {elapsed:.1f} s")
    print(f"{'':<28}{'first sentence':>16}{'full body':>12}{'auto':>8}{'pages fetched':>15}")
    for label, key in (("recall (related matched)", "related"), ("false positives (unrelated)", "unrelated")):
        line, full, auto, fetched = rates[key]
        print(f"{label:<28}{line:>16.3f}{full:>12.3f}{auto:>8.3f}{fetched:>15.3f}")
    print(
        "auto: the full body only where the line passes the prefilter (Matcher.is_candidate), as in the daemon"
    )


if __name__ == "__main__":
    main()
