"""What a claim's report costs to read and render: the summaries-plus-shown read beside the full read of every match.

Usage: python -m bench.report_read [--sizes 20000,100000] [--events 2000] [--seed 5]

For each size, a claim with that many matches is bulk-inserted into a fresh SQLite file (articles of ~2 KB text,
one in five with a page text, one in ten revised with its versions, cues and evidence on every match, ``--events``
events with story details). Each way of building the page then runs in a child process of its own:

- ``full``: every match and event read whole (``matches_for_claim``, ``events_for_claim``) and rendered, which
  is what ``build_report`` did before;
- ``summaries``: ``build_report`` as it is (match and event summaries, the rows and events shown read by id).

Reported per run: CPU seconds and wall seconds of the read and render, the CPU seconds of the render alone
(``render_report``, in its worker thread), growth of the peak RSS over the RSS before it, and tracemalloc's peak
in a second, traced run. Both runs' pages are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import header, table

T0 = datetime(2025, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WORDS = (
    "the minister said that production of shells rose sharply as factories opened across the alliance".split()
)


async def seed(url: str, n: int, events: int, seed: int) -> int:
    """Bulk-insert a claim of ``n`` matches; returns its id."""
    from sqlalchemy import insert

    from storage.sql import SqlStore, open_store
    from storage.tables import article_versions_t, articles_t, events_t, feeds_t, match_revisions_t, matches_t
    from tests.support.records import feed_row, stance_revision_row
    from watcher.domain import Claim

    rnd = random.Random(seed)
    store = await open_store(url, upgrade=True)
    assert isinstance(store, SqlStore)
    claim = await store.add_claim(
        Claim(id=0, name=f"bench-{n}", text="NATO outproduces Russia in shells"), now=T0
    )
    countries = ("US", "GB", "DE", "FR", "RU", "UA", "PL", "IT", "ZZ")
    leanings = ("left", "lean-left", "center", "lean-right", "right", "unknown")
    owners = ("private", "public", "state", "unknown")
    feeds = [
        feed_row(
            i,
            outlet=f"Outlet {i % 150}",
            country=countries[i % len(countries)],
            leaning=leanings[i % len(leanings)],
            ownership=owners[i % len(owners)],
            now=T0,
        )
        for i in range(1, 301)
    ]
    async with store.engine.begin() as conn:
        await conn.execute(insert(feeds_t), feeds)
    t = T0
    step = 5000
    for start in range(1, n + 1, step):
        articles, versions, matches, revisions = [], [], [], []
        for i in range(start, min(n, start + step - 1) + 1):
            t += timedelta(seconds=rnd.randrange(0, 300))
            copy_of = rnd.randrange(1, i) if i > 1 and rnd.random() < 0.1 else None
            text = " ".join(rnd.choice(WORDS) for _ in range(330))
            revised = rnd.random() < 0.1
            articles.append(
                {
                    "id": i,
                    "feed_id": rnd.randrange(1, 301),
                    "key": f"k{i}",
                    "url": f"https://news{i % 300}.example/2025/{i}/a-long-slug-for-the-story-{i}",
                    "canonical_url": f"https://news{i % 300}.example/2025/{i}/a-long-slug-for-the-story-{i}",
                    "title": f"Headline {copy_of or i}: NATO shells production",
                    "text": text,
                    "page_text": text + " " + text if rnd.random() < 0.2 else None,
                    "content_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                    "language": "en",
                    "published_at": t,
                    "published_at_basis": "published",
                    "first_seen_at": t + timedelta(minutes=2),
                    "story_id": copy_of or i,
                    "processed_at": t,
                    "version": 2 if revised else 1,
                }
            )
            if revised:
                versions += [
                    {
                        "article_id": i,
                        "version": v,
                        "title": f"Headline {i} v{v}",
                        "text": text if v == 2 else text[: len(text) // 2],
                        "content_hash": f"{i}-{v}",
                        "seen_at": t + timedelta(hours=v),
                    }
                    for v in (1, 2)
                ]
            stance = rnd.choice(("supports", "neutral", "disputes"))
            matches.append(
                {
                    "id": i,
                    "claim_id": claim.id,
                    "article_id": i,
                    "story_id": copy_of or i,
                    "score": rnd.choice((0.7, 0.8, 0.9)),
                    "lexical": 0.8,
                    "stance": stance,
                    "skepticism": rnd.random(),
                    "cues": [
                        {"kind": "distancing_verb", "text": "claimed"},
                        {"kind": "hedge", "text": "reportedly"},
                    ],
                    "evidence": [
                        f"NATO now makes more shells than Russia, the minister claimed ({copy_of or i}).",
                        "Moscow reportedly disputes the figures.",
                    ],
                    "matched_at": t,
                    "detected_at": t,
                }
            )
            if revised:
                revisions.append(
                    stance_revision_row(
                        matches[-1],
                        was="neutral" if stance != "neutral" else "supports",
                        revised_at=t + timedelta(hours=2),
                        diff={"text": [["+", " ".join(WORDS)]]},
                        content_hash=f"{i}-2",
                    )
                )
        async with store.engine.begin() as conn:
            await conn.execute(insert(articles_t), articles)
            await conn.execute(insert(matches_t), matches)
            if versions:
                await conn.execute(insert(article_versions_t), versions)
                await conn.execute(insert(match_revisions_t), revisions)
    story = {"outlet": "Outlet 1", "title": "Headline", "url": "https://news.example/x", "cues": []}
    rows = [
        {
            "id": f"evt_{i:08d}",
            "claim_id": claim.id,
            "type": rnd.choice(("coverage_spike", "new_segment", "framing_shift", "article_revised")),
            "dedupe_key": f"key-{i}",
            "summary": f"Event {i}: coverage moved",
            "details": {
                "trigger_at": (T0 + (t - T0) * rnd.random()).isoformat(),
                "stories": [story] * 5,
            },
            "match_ids": [rnd.randint(1, n) for _ in range(20)],
            "created_at": T0 + timedelta(minutes=i),
            "backfill": False,
        }
        for i in range(events)
    ]
    if rows:
        async with store.engine.begin() as conn:
            await conn.execute(insert(events_t), rows)
    await store.close()
    return claim.id


async def build(url: str, claim_id: int, way: str) -> tuple[str, float]:
    """The page, and the CPU seconds its render took (the worker thread's, so the read is not in it)."""
    from storage.sql import SqlStore, open_store
    from watcher import report

    real = report.render_report
    render_s = 0.0

    def render(*args: Any, **kwargs: Any) -> str:
        nonlocal render_s
        started = time.thread_time()
        try:
            return real(*args, **(kwargs | {"now": NOW}))
        finally:
            render_s += time.thread_time() - started

    store = await open_store(url)
    assert isinstance(store, SqlStore)
    report.render_report = render
    try:
        if way == "full":  # the read build_report did before: every match and event in full
            claim = await store.get_claim(claim_id, include_deleted=True)
            matches = await store.matches_for_claim(claim_id)
            events = await store.events_for_claim(claim_id)
            revisions = await store.revisions_for_claim(claim_id)
            page = await asyncio.to_thread(render, claim, matches, events, now=NOW, revisions=revisions)
        else:
            page = await report.build_report(store, claim_id)
        return page, render_s
    finally:
        report.render_report = real
        await store.close()


def child(url: str, claim_id: int, way: str) -> None:
    """One measured build, then one traced build; prints the figures as JSON."""
    import aiosqlite  # noqa: F401  (imports outside the figures)

    import storage.sql  # noqa: F401
    import watcher.report  # noqa: F401

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, wall0 = time.process_time(), time.perf_counter()
    page, render_s = asyncio.run(build(url, claim_id, way))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    tracemalloc.start()
    again, _ = asyncio.run(build(url, claim_id, way))
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert again == page
    digest = hashlib.sha256(page.encode()).hexdigest()
    print(
        json.dumps(
            {
                "cpu_s": cpu,
                "render_s": render_s,
                "wall_s": wall,
                "rss_kib": rss,
                "traced": traced,
                "sha": digest,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    header("bench.report_read", argv)
    out = [["matches", "read", "CPU s", "render CPU s", "wall s", "peak RSS +MiB", "traced peak MiB", "page"]]
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'report-{n}.db'}"
            claim_id = asyncio.run(seed(url, n, args.events, args.seed))
            digests = set()
            for way in ("full", "summaries"):
                cmd = [sys.executable, "-m", "bench.report_read", "--child", url, str(claim_id), way]
                got: dict[str, Any] = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
                digests.add(got["sha"])
                out.append(
                    [
                        f"{n:,}",
                        way,
                        f"{got['cpu_s']:.2f}",
                        f"{got['render_s']:.2f}",
                        f"{got['wall_s']:.2f}",
                        f"{got['rss_kib'] / 1024:.0f}",
                        f"{got['traced'] / 2**20:.0f}",
                        got["sha"][:12],
                    ]
                )
            if len(digests) != 1:
                raise SystemExit(f"{n} matches: the two reads rendered different pages")
    print(
        f"events per claim: {args.events}; SQLite file in a temp dir; peak RSS growth over the RSS before the read"
    )
    print(table(out, left=2))


if __name__ == "__main__":
    main()
