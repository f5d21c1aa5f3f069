"""Matcher memory with many claims: peak RSS after compiling N FNC-1 headlines as claims and matching bodies.

Usage: python -m bench.claim_memory --data ../shared/data/fnc1 [--claims 1000] [--articles 300]

Each claim is compiled in its language (configured, else detected, else the default), and simplemma loads a
whole dictionary per lemmatised language, so a wrong guess costs memory as well as recall. Prints the languages
the claims were compiled in and the peak RSS. Runs on older trees too (no claim language field).
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/fnc1"))
    ap.add_argument("--claims", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=300)
    args = ap.parse_args()

    from watcher.domain import Article, Claim
    from watcher.match.lexical import compile_claim
    from watcher.match.matcher import Matcher, MatchSettings

    with (args.data / "train_stances.csv").open(encoding="utf-8") as f:
        headlines = list(dict.fromkeys(row["Headline"] for row in csv.DictReader(f)))[: args.claims]
    with (args.data / "train_bodies.csv").open(encoding="utf-8") as f:
        bodies = [row["articleBody"] for row in csv.DictReader(f)][: args.articles]
    claims = [Claim(id=i + 1, name=f"c{i}", text=text) for i, text in enumerate(headlines)]
    settings = MatchSettings(model=None)
    if (
        "languages" in MatchSettings.__dataclass_fields__
    ):  # the default config: English + the feeds' languages
        settings = MatchSettings(model=None, languages=frozenset({"en"}))
    base_rss = _rss_mib()
    started = time.perf_counter()
    matcher = Matcher(claims, settings)
    now = datetime.now(UTC)
    articles = [
        Article(
            id=i + 1, feed_id=1, story_id=i + 1, url="", canonical_url="", title=body.split("\n", 1)[0][:200],
            text=body, content_hash=str(i), published_at=None, first_seen_at=now, language="en", outlet="o",
            country="ZZ", leaning="unknown", ownership="unknown",
        )
        for i, body in enumerate(bodies)
    ]  # fmt: skip
    matches = sum(len(matcher.match(articles[i : i + 50])) for i in range(0, len(articles), 50))
    elapsed = time.perf_counter() - started
    peak = _rss_mib()  # before the languages are counted below (that compiles the claims again)
    languages = Counter(compile_claim(c, settings.default_language).lang for c in claims)
    print(f"command: python -m bench.claim_memory --claims {len(claims)} --articles {len(articles)}")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"claims compiled per language: {dict(languages.most_common())}")
    print(f"matches: {matches}; build + match: {elapsed:.1f} s")
    print(f"peak RSS: {peak:.0f} MiB (interpreter and imports: {base_rss:.0f} MiB)")


def _rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":
    main()
