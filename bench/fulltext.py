"""Full text cost: fetch and extract N article pages (default 1,000 candidate items) from a local server.

Usage: python -m bench.fulltext [--pages 1000] [--concurrency 8] [--page-kb 120] [--seed 7] [--fast]

A child process serves N synthetic news pages (an article inside navigation, related links, a large inline
script and a footer, padded to about --page-kb KiB; robots.txt allows everything) on 127.0.0.1. This process
fetches every page through watcher's PageFetcher (the shared session, robots.txt, body cap, extraction with
trafilatura in threads, language detection) with --concurrency pages in flight, then extracts the same bodies
again without HTTP. All pages live on one host, so the per-host interval is 0 and the per-host limit is the
concurrency (real candidates spread over many hosts, each with its own interval). Prints pages/s, CPU ms per
page (this process, all threads), peak RSS, and checks that every page yielded its article text.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib.metadata
import multiprocessing
import os
import platform
import random
import resource
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from aiohttp import web

from tests.support.article_pages import article_page
from watcher.ingest.http import HttpSettings, make_session
from watcher.ingest.pages import PageFetcher, PageSettings, extract_page

WORDS = "allies production shells factory minister budget contract capacity report frontline supply".split()


def page_body(n: int, page_kb: int, seed: int) -> bytes:
    """Article ``n``: a real-looking article, padded with page chrome to about ``page_kb`` KiB."""
    rng = random.Random(seed * 100_003 + n)
    title = f"Story {n}: " + " ".join(rng.choice(WORDS) for _ in range(6))
    lead = " ".join(rng.choice(WORDS) for _ in range(25)).capitalize() + "."
    body = article_page(title, lead, paragraphs=rng.randint(6, 14), seed=n)
    chrome: list[str] = []
    size = len(body)
    while size < page_kb * 1024:
        links = "".join(
            f'<li><a href="/s/{rng.randint(1, 10**6)}">{html.escape(rng.choice(WORDS))}</a></li>'
            for _ in range(40)
        )
        script = "var cfg = " + repr([rng.random() for _ in range(80)]) + ";"
        chunk = f'<nav class="more"><ul>{links}</ul></nav><script>{script}</script>'
        chrome.append(chunk)
        size += len(chunk)
    return body.replace(b"</body>", "".join(chrome).encode() + b"</body>")


def serve(pages: int, page_kb: int, seed: int, ready: Connection) -> None:
    """The page server (runs in a child process until terminated)."""
    bodies = [page_body(n, page_kb, seed) for n in range(pages)]

    async def article(request: web.Request) -> web.Response:
        return web.Response(
            body=bodies[int(request.match_info["n"])], content_type="text/html", charset="utf-8"
        )

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/a/{n:\\d+}", article)
        app.router.add_get("/robots.txt", robots)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready.send((runner.addresses[0][1], sum(map(len, bodies))))
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fetch_all(
    base: str, pages: int, concurrency: int, fast: bool
) -> tuple[float, float, list[int], list[bytes]]:
    """(wall s, CPU s, extracted text lengths, bodies for the offline pass) of fetching every page."""
    http = HttpSettings(allow_private=True, limit_per_host=concurrency, total_timeout_s=60.0)
    settings = PageSettings(per_host=concurrency, min_interval_s=0.0, fast_extraction=fast)
    gate = asyncio.Semaphore(concurrency)
    async with make_session(http) as session:
        fetcher = PageFetcher(session, http, settings)
        await fetcher.fetch_page(f"{base}/a/0")  # warm-up: imports, model load, robots.txt
        started, cpu = time.perf_counter(), cpu_s()

        async def one(n: int) -> int:
            async with gate:
                result = await fetcher.fetch_page(f"{base}/a/{n}")
            return len(result.text or "")

        lengths = await asyncio.gather(*(one(n) for n in range(pages)))
        wall, used = time.perf_counter() - started, cpu_s() - cpu
        sample = []
        for n in range(min(pages, 100)):
            async with session.get(f"{base}/a/{n}") as response:
                sample.append(await response.read())
    return wall, used, lengths, sample


def extract_only(bodies: Sequence[bytes], fast: bool) -> float:
    """CPU ms per page of extraction alone (no HTTP), on one thread."""
    now = datetime.now(UTC)
    started = cpu_s()
    for n, body in enumerate(bodies):
        extract_page(body, f"https://news.example/a/{n}", now=now, fast=fast)
    return (cpu_s() - started) * 1000 / max(len(bodies), 1)


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("trafilatura", "htmldate", "lxml", "py3langid", "aiohttp")
    )
    return [
        ("command", shlex.join([sys.executable, "-m", "bench.fulltext", *sys.argv[1:]])),
        ("platform", platform.platform()),
        ("cpu", f"{cpu}, {os.cpu_count()} logical cores"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("libraries", versions),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fulltext", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=1000, help="candidate items whose pages are fetched")
    parser.add_argument("--concurrency", type=int, default=8, help="pages in flight")
    parser.add_argument("--page-kb", type=int, default=120, help="approximate page size in KiB")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fast", action="store_true", help="PageSettings.fast_extraction: no fallback extractors"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for key, value in machine():
        print(f"{key:10} {value}")
    baseline = rss_mib()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(args.pages, args.page_kb, args.seed, child), daemon=True
    )
    server.start()
    try:
        port, total_bytes = parent.recv()
        wall, cpu, lengths, sample = asyncio.run(
            fetch_all(f"http://127.0.0.1:{port}", args.pages, args.concurrency, args.fast)
        )
    finally:
        server.terminate()
        server.join()
    extraction_ms = extract_only(sample, args.fast)
    failures = sum(1 for n in lengths if n == 0)
    print(
        f"pages      {args.pages} × {total_bytes / args.pages / 1024:.0f} KiB, concurrency {args.concurrency}"
    )
    print(f"wall       {wall:.2f} s  →  {args.pages / wall:.1f} pages/s")
    print(f"cpu        {cpu * 1000 / args.pages:.1f} ms/page (fetch + extract + language, all threads)")
    print(
        f"extract    {extraction_ms:.1f} ms/page CPU (trafilatura + htmldate + language, no HTTP, one thread)"
    )
    print(
        f"text       {sum(lengths) / max(len(lengths), 1):.0f} chars/page on average; {failures} pages without text"
    )
    print(f"rss        peak {rss_mib():.0f} MiB (before the first page {baseline:.0f} MiB)")
    print(f"per 1,000  {1000 / (args.pages / wall):.0f} s wall, {cpu * 1000 / args.pages:.0f} s CPU")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
