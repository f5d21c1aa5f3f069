"""Data sets for claim matching: FNC-1-format folders (FNC-1, ARC) as claims, items and labels.

A story is a connected component of the related (headline, body) pairs. For each claim, the
items of its story are related and every other item is a negative: the live base rate.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.domain import Article
from watcher.text.sentences import split_sentences

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NOW = datetime(2025, 1, 1, tzinfo=UTC)
FILES = {
    "fnc1": ("train_bodies.csv", "train_stances.csv"),
    "arc": ("arc_bodies.csv", "arc_stances_train.csv"),
}


@dataclass(frozen=True, slots=True)
class Item:
    """An article to match: a body (no title), or a title-only item (title and maybe one line)."""

    id: int
    title: str
    text: str
    story: int  # -1: about no known story
    body_id: int


@dataclass(frozen=True, slots=True)
class DataSet:
    name: str
    claims: list[str]  # distinct headlines
    claim_story: list[int]  # -1 when the headline has no related body
    bodies: dict[int, str]
    body_story: dict[int, int]
    pairs: list[tuple[int, int, bool]]  # labelled (claim index, body id, related)


def load(folder: Path, name: str) -> DataSet:
    csv.field_size_limit(sys.maxsize)
    bodies_file, stances_file = FILES[name]
    with (folder / bodies_file).open(encoding="utf-8", newline="") as handle:
        bodies = {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(handle)}
    with (folder / stances_file).open(encoding="utf-8", newline="") as handle:
        rows = [
            (r["Headline"], int(r["Body ID"]), r["Stance"] != "unrelated") for r in csv.DictReader(handle)
        ]
    rows = [(" ".join(h.split()), b, related) for h, b, related in rows]
    claims = sorted({h for h, _, _ in rows})
    index = {h: i for i, h in enumerate(claims)}
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for h, b, related in rows:
        if related:
            parent[find(("h", index[h]))] = find(("b", b))
    number: dict[tuple[str, int], int] = {}
    claim_story = [-1] * len(claims)
    body_story: dict[int, int] = {}
    for node in sorted(parent):
        root = number.setdefault(find(node), len(number))
        if node[0] == "h":
            claim_story[node[1]] = root
        else:
            body_story[node[1]] = root
    pairs = [(index[h], b, related) for h, b, related in rows]
    return DataSet(name, claims, claim_story, bodies, body_story, pairs)


def body_items(data: DataSet) -> list[Item]:
    return [Item(b, "", text, data.body_story.get(b, -1), b) for b, text in sorted(data.bodies.items())]


def title_items(data: DataSet, *, with_line: bool) -> tuple[list[Item], list[int]]:
    """One title-only item per body with a related headline: that headline as the title (the
    first in sorted order) and, ``with_line``, the body's first sentence as its one line.

    Returns the items and, for each, the claim index used as its title: that claim is left out
    of the item's positives and negatives (a claim trivially matches its own words).
    """
    related: dict[int, list[int]] = defaultdict(list)
    for c, b, rel in data.pairs:
        if rel:
            related[b].append(c)
    items: list[Item] = []
    own: list[int] = []
    for b in sorted(related):
        c = min(related[b])
        line = ""
        if with_line:
            first = split_sentences(data.bodies[b], "en")
            line = first[0] if first else ""
        items.append(Item(b, data.claims[c], line, data.body_story.get(b, -1), b))
        own.append(c)
    return items, own


def to_article(item: Item) -> Article:
    url = f"https://example.org/{item.id}"
    return Article(
        id=item.id,
        feed_id=1,
        story_id=item.id,
        url=url,
        canonical_url=url,
        title=item.title,
        text=item.text,
        content_hash=str(item.id),
        published_at=NOW,
        first_seen_at=NOW,
        language="en",
        outlet="eval",
        country="ZZ",
        leaning="unknown",
        ownership="unknown",
    )


def story_fold(story: int, key: int, folds: int) -> int:
    """Fold of a claim or item: by story, so that no story is on both sides; storyless ones by key."""
    token = f"s{story}" if story >= 0 else f"k{key}"
    return int(hashlib.sha1(token.encode()).hexdigest(), 16) % folds


class VectorCache:
    """Sentence vectors written by bench/match_embed.py, looked up by sha1 of the text."""

    def __init__(self, directory: Path) -> None:
        import numpy as np

        keys = json.loads((directory / "keys.json").read_text())
        self._vectors: NDArray[np.float16] = np.load(directory / "vectors.npy")
        self._row = {k: i for i, k in enumerate(keys)}
        self.misses = 0

    def get(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        rows = []
        for t in texts:
            row = self._row.get(hashlib.sha1(t.encode()).hexdigest())
            if row is None:
                self.misses += 1
                rows.append(np.zeros(self._vectors.shape[1], dtype=np.float32))
            else:
                rows.append(self._vectors[row].astype(np.float32))
        return np.stack(rows) if rows else np.zeros((0, self._vectors.shape[1]), dtype=np.float32)
