"""Hostile article text: CPU time of each text path on malformed or pathological input, at growing sizes.

Usage: python -m bench.hostile_text [--sizes 10000,100000,1000000] [--limit 20]

Each family is an input an attacker controls after the feed is parsed (an item's HTML, its characters, its
sentences), run through the path that once read it in quadratic time: HTML to text (the standard library's
parser on unfinished markup, CVE-2025-6069, and a tag over many chunks), the number tokeniser on a long run of
digit groups, Unicode normalisation of a combining-mark flood (also one that invisible joiners keep apart), and
framing on a body that restates the claim in every sentence or attributes it thousands of times; and the paths
that read what a person reads the same whatever is typed (apostrophe stand-ins, lines wrapped inside a sentence,
one token longer than any word). Printed: CPU seconds per size and the growth from one size to
the next (about 10 for a tenfold size is linear, 100 quadratic). A family whose run passes ``--limit`` seconds is
stopped there, and the larger sizes skipped. Exits 1 when any run passed the limit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

from bench.common import header
from watcher.framing import explain
from watcher.ingest.parse import html_to_text
from watcher.text.normalize import Normalizer, clean_text
from watcher.text.tokens import tokens

CLAIM = "NATO has surpassed Russia in ammunition production"
DEADLINE_CLAIM = "NATO will surpass Russia in ammunition production by 2026"
DONE_CLAIM = "NATO has surpassed Russia in ammunition production"
FIGURE_CLAIM = "NATO makes more than 3 million shells a year"


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


FAMILIES: dict[str, Callable[[int], Callable[[], object]]] = {
    'html: "<a " repeated': lambda n: lambda: html_to_text(_repeat("<a ", n)),
    'html: "<!--x>" repeated': lambda n: lambda: html_to_text(_repeat("<!--x>", n)),
    "html: \"<div class='x' \" repeated": lambda n: lambda: html_to_text(_repeat("<div class='x' ", n)),
    "html: one tag of n characters": lambda n: lambda: html_to_text("<a" + _repeat(" b=c", n) + ">x</a>"),
    'html: "<svg>" then "<a " repeated': lambda n: lambda: html_to_text("<svg>" + _repeat("<a ", n)),
    "tokens: 1.000.000... digit groups": lambda n: lambda: tokens("1" + _repeat(".000", n) + ".0"),
    "clean_text: alternating combining marks": lambda n: lambda: clean_text("a" + _repeat("\u0301\u0316", n)),
    "clean_text: marks apart by invisible joiners": lambda n: (
        lambda: clean_text("a" + _repeat("\u0301\u034f\u0316\u034f", n))
    ),
    "clean_text: apostrophe stand-ins inside words": lambda n: (
        lambda: clean_text(_repeat("hasn`t won\u00b4t ", n))
    ),
    "keys: one token of n letters": lambda n: lambda: Normalizer("en").keys(_repeat("a", n)),
    "framing: a sentence wrapped at every word": lambda n: (
        lambda: explain(CLAIM, "", _repeat("NATO has\nsurpassed\n", n))
    ),
    "framing: the claim restated in every sentence": lambda n: (
        lambda: explain(CLAIM, "", _repeat(CLAIM + ". ", n))
    ),
    'framing: the claim then "said" repeated': lambda n: (
        lambda: explain(CLAIM, "", CLAIM + " " + _repeat("said ", n))
    ),
    'framing: "averts production" repeated': lambda n: (
        lambda: explain(CLAIM, "", "A deal " + _repeat("averts production ", n) + ".")
    ),
    'framing: "set to surpass Russia" repeated': lambda n: (
        lambda: explain(CLAIM, "", "NATO " + _repeat("set to surpass Russia ", n) + ".")
    ),
    'framing: "will not ... until 2030" repeated': lambda n: (
        lambda: explain(DEADLINE_CLAIM, "", _repeat("NATO will not surpass Russia until 2030 ", n) + ".")
    ),
    'framing: "denied that" then a clause of n characters': lambda n: (
        lambda: explain(CLAIM, "", "Officials denied that " + _repeat("costs rose ", n) + ".")
    ),
    'framing: "U.S. " repeated (sentences joined)': lambda n: lambda: explain(CLAIM, "", _repeat("U.S. ", n)),
    'framing: "NATO postponed surpassing" repeated': lambda n: (
        lambda: explain(DONE_CLAIM, "", _repeat("NATO postponed surpassing Russia ", n) + ".")
    ),
    'framing: "expect 2 million shells" repeated': lambda n: (
        lambda: explain(FIGURE_CLAIM, "", _repeat("analysts expect 2 million shells, ", n) + ".")
    ),
}


class _Late(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Late


def timed(run: Callable[[], object], limit: float) -> float | None:
    """CPU seconds of one run, or None when it passed ``limit`` seconds of wall time."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    start = time.process_time()
    try:
        run()
    except _Late:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return time.process_time() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="input sizes in characters")
    parser.add_argument("--limit", type=float, default=20.0, help="seconds a run may take")
    args = parser.parse_args(argv)
    header("bench.hostile_text", argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    explain(CLAIM, "", CLAIM)  # load the stance model outside the timing
    clean_text("é" * 5000)  # and build the character tables
    Normalizer("en").keys("load the lemmatiser")
    late = False
    print(f"{'family':48} " + " ".join(f"{size:>16,}" for size in sizes))
    for name, family in FAMILIES.items():
        cells, last = [], None
        for size in sizes:
            seconds = timed(family(size), args.limit)
            if seconds is None:
                late = True
                cells.append(f"{'> ' + format(args.limit, 'g') + ' s':>16}")
                break
            growth = f" (x{seconds / last:.0f})" if last and last > 1e-3 else ""
            cells.append(f"{f'{seconds:.3f} s{growth}':>16}")
            last = seconds
        print(f"{name:48} " + " ".join(cells), flush=True)
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main())
