"""Differential check of the fast feed reader against feedparser: agreed, declined and differing bodies.

Example: python -m bench.parse_diff --corpus /path/to/feedparser/tests
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from watcher.ingest import fastfeed
from watcher.ingest.parse import ParseResult, _to_safe_utf8, parse_entries

BASE_URL = "https://feeds.example/feed.xml"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def compare(body: bytes, url: str = BASE_URL) -> tuple[str, str]:
    """("agreed" | "declined" | "differing", detail) for one body."""
    warnings: list[str] = []
    data = _to_safe_utf8(body, None, warnings)
    if warnings or fastfeed.parse_feed(data) is None:
        return "declined", ""  # as in parse_entries: a body that needed repairs goes to feedparser
    slow = parse_entries(body, url, now=NOW, parser="feedparser")
    fast = parse_entries(body, url, now=NOW, parser="fast")
    if _record(slow) == _record(fast):
        return "agreed", ""
    return "differing", _difference(slow, fast)


def _record(result: ParseResult) -> tuple[object, ...]:
    return (result.articles, result.ttl_s, result.title)


def _difference(slow: ParseResult, fast: ParseResult) -> str:
    if (slow.ttl_s, slow.title) != (fast.ttl_s, fast.title):
        return f"feed: feedparser {(slow.ttl_s, slow.title)!r} fast {(fast.ttl_s, fast.title)!r}"
    if len(slow.articles) != len(fast.articles):
        return f"{len(slow.articles)} articles from feedparser, {len(fast.articles)} from fast"
    for a, b in zip(slow.articles, fast.articles, strict=True):
        if a != b:
            fields = [f for f in a.__dataclass_fields__ if getattr(a, f) != getattr(b, f)]
            return "; ".join(f"{f}: {getattr(a, f)!r} vs {getattr(b, f)!r}" for f in fields)[:400]
    return "?"


def corpus_files(root: Path) -> Iterable[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".rss", ".atom", ".rdf") and p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", required=True, help="folder of feed files")
    parser.add_argument("--show", type=int, default=50, help="differences to print")
    args = parser.parse_args(argv)
    print("command:", " ".join([sys.executable, "-m", "bench.parse_diff", *sys.argv[1:]]))
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    counts = {"agreed": 0, "declined": 0, "differing": 0}
    differences: list[str] = []
    started = time.perf_counter()
    for root in args.corpus:
        for path in corpus_files(root):
            outcome, detail = compare(path.read_bytes())
            counts[outcome] += 1
            if outcome == "differing":
                differences.append(f"{path}: {detail}")
    total = sum(counts.values())
    print(f"files: {total} in {time.perf_counter() - started:.1f} s")
    for name, count in counts.items():
        print(f"{name}: {count}")
    for line in differences[: args.show]:
        print("  ", line)
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
