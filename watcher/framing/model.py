"""Learned stance layer over claim-independent features, pure Python: multinomial logistic regression,
boosted regression trees, or both (their scores add up)."""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from watcher.domain import Stance
from watcher.framing.lexicon import DIRECTIONS
from watcher.framing.rules import Analysis, cue_sums, scope_of

__all__ = ["CLASSES", "FORMAT", "SHIPPED_RESOURCE", "StanceModel", "Tree", "features", "load_shipped"]

logger = logging.getLogger(__name__)

FORMAT = 3
READABLE_FORMATS = frozenset({2, 3})  # 2: linear weights only
SHIPPED_RESOURCE = "model.json"
CLASSES = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)


def features(
    analysis: Analysis, rule: Stance, vocabulary: AbstractSet[str] | None = None
) -> dict[str, float]:
    """Sparse features of one analysed pair; training and inference both call this.

    Cue weights by kind and scope (headline or claim sentence, about it, far), the cue phrases in scope,
    words by scope from ``vocabulary`` (all words when None: training selects them; the stance lexicon
    plus words common to many stories, never topic words), the rule's scores and verdict, how fully the
    article restates the claim, and the claim's own polarity crossed with the dispute cues.
    """
    sums: dict[str, float] = {}
    for hit in analysis.hits:
        scope = scope_of(hit)
        _add(sums, f"k:{scope}:{hit.kind}", hit.weight)
        governs = "gov" if scope in ("claim", "near") else "far"
        _add(sums, f"h:{governs}:{_head(hit.text)}", 1.0)
    feats = {name: math.log1p(value) for name, value in sums.items()}
    for scope, words in analysis.words.items():
        chosen = words if vocabulary is None else words & vocabulary
        feats.update((f"v:{scope}:{word}", 1.0) for word in chosen)
    governing_dispute = sum(
        hit.weight * DIRECTIONS[hit.kind][0] for hit in analysis.hits if hit.distance <= 1
    )
    # The cue sums as found (the rules' own sums weigh the sentences beside an asserted claim as far).
    dispute, distance, endorsement = cue_sums(analysis.hits)
    feats.update(
        {
            "rule=" + rule.value: 1.0,
            "s:dispute": math.log1p(dispute),
            "s:gov_dispute": math.log1p(governing_dispute),
            "s:distance": math.log1p(distance),
            "s:endorsement": math.log1p(endorsement),
            "s:none": float(not analysis.hits),
            "governed": float(analysis.governed),
            "overlap": analysis.overlap,
            "coverage": analysis.coverage,
            "anchors": math.log1p(analysis.anchors),
            "sentences": math.log1p(analysis.sentences),
            "claim_negative": float(analysis.claim_negative),
            "claim_negated": float(analysis.claim_negated),
            "claim_debunks": float(analysis.claim_debunks),
            "debunk_denied": float(analysis.debunk_denied),
            "claim_question": float(analysis.claim_question),
            "claim_hedged": float(analysis.claim_hedged),
            "asserted": float(analysis.asserted),
            "corrected": float(analysis.corrected),
            "claim_negative_x_dispute": float(analysis.claim_negative) * math.log1p(governing_dispute),
        }
    )
    feats.update((f"x:{name}", value) for name, value in analysis.stats.items())
    return feats


def _add(feats: dict[str, float], name: str, value: float) -> None:
    feats[name] = feats.get(name, 0.0) + value


def _head(text: str) -> str:
    if text.startswith("contrary figure"):  # a figure beside a contrast word, or one that misses the claim's
        return "contrary_figure"
    if text.startswith('"'):
        return "quoted"
    words = text.lower().split()
    return "_".join(words[-3:]) if len(words) <= 3 else "phrase"


@dataclass(frozen=True, slots=True)
class Tree:
    """One regression tree adding to one class's score. Node i is a leaf when ``feature[i] < 0`` (its value
    is ``value[i]``); else the walk goes to ``left[i]`` when the feature is <= ``value[i]``, to ``right[i]``
    otherwise. Features are indexes into the model's ``names``; an absent feature is 0."""

    cls: int
    feature: tuple[int, ...]
    value: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]

    def evaluate(self, x: Sequence[float]) -> float:
        """The leaf value for the dense feature vector ``x``."""
        feature, value, i = self.feature, self.value, 0
        while feature[i] >= 0:
            i = self.left[i] if x[feature[i]] <= value[i] else self.right[i]
        return value[i]

    def to_json(self) -> list[Any]:
        return [self.cls, list(self.feature), list(self.value), list(self.left), list(self.right)]

    @classmethod
    def from_json(cls, data: Sequence[Any], width: int) -> Tree:
        """Read one tree; ValueError when it is malformed or reads a feature beyond ``width``."""
        try:
            klass, raw_feature, raw_value, raw_left, raw_right = data
            tree = cls(
                _integer(klass),
                tuple(_integer(f) for f in raw_feature),
                tuple(float(v) for v in raw_value),
                tuple(_integer(v) for v in raw_left),
                tuple(_integer(v) for v in raw_right),
            )
        except (TypeError, ValueError):
            raise ValueError("malformed stance tree") from None
        feature, n = tree.feature, len(tree.feature)
        if not (0 <= tree.cls < 3 and n and len(tree.value) == len(tree.left) == len(tree.right) == n):
            raise ValueError("malformed stance tree")
        for i, f in enumerate(feature):
            # A leaf is exactly -1; a split names a feature within ``width`` and children after itself, so
            # evaluation always moves forward and ends.
            if f < -1 or f >= width or (f >= 0 and not (i < tree.left[i] < n and i < tree.right[i] < n)):
                raise ValueError("malformed stance tree")
        return tree


def _integer(value: Any) -> int:
    """``value`` as an int, refusing fractions (0.5 must not become 0) and booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(value)
    return int(value)


@dataclass(frozen=True, slots=True)
class StanceModel:
    """Class scores = a bias per class (supports, neutral, disputes) + linear weights (one row per
    feature: multinomial logistic regression) + boosted trees over the dense features ``names``."""

    bias: tuple[float, float, float]
    weights: Mapping[str, tuple[float, float, float]]
    meta: Mapping[str, Any] | None = None
    names: tuple[str, ...] = ()
    trees: tuple[Tree, ...] = ()
    vocabulary: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        named = itertools.chain(self.weights, self.names)
        words = frozenset(name.split(":", 2)[2] for name in named if name.startswith("v:"))
        object.__setattr__(self, "vocabulary", words)

    def scores(self, feats: Mapping[str, float]) -> list[float]:
        """Raw class scores (log-odds up to a constant) of one feature dict."""
        scores = list(self.bias)
        for name, value in feats.items():
            row = self.weights.get(name)
            if row is not None:
                scores[0] += value * row[0]
                scores[1] += value * row[1]
                scores[2] += value * row[2]
        if self.trees:
            x = [feats.get(name, 0.0) for name in self.names]
            for tree in self.trees:
                scores[tree.cls] += tree.evaluate(x)
        return scores

    def probabilities(self, analysis: Analysis, rule: Stance) -> dict[Stance, float]:
        """Class probabilities for one analysed pair."""
        scores = self.scores(features(analysis, rule, self.vocabulary))
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {stance: e / total for stance, e in zip(CLASSES, exps, strict=True)}

    def predict(self, analysis: Analysis, rule: Stance) -> Stance:
        """The most probable class."""
        probabilities = self.probabilities(analysis, rule)
        return max(probabilities, key=probabilities.__getitem__)

    def to_json(self) -> dict[str, Any]:
        """The JSON form that from_json reads."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "classes": [c.value for c in CLASSES],
            "bias": list(self.bias),
            "weights": {name: list(row) for name, row in sorted(self.weights.items())},
            "meta": dict(self.meta or {}),
        }
        if self.trees:
            data["names"] = list(self.names)
            data["trees"] = [tree.to_json() for tree in self.trees]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StanceModel:
        """Read a model; ValueError on another format or class order."""
        if data.get("format") not in READABLE_FORMATS or list(data.get("classes", ())) != [
            c.value for c in CLASSES
        ]:
            raise ValueError(f"unsupported stance model: format {data.get('format')!r}")
        names = tuple(str(name) for name in data.get("names", ()))
        return cls(
            bias=_row(data["bias"]),
            weights={str(name): _row(row) for name, row in data["weights"].items()},
            meta=dict(data.get("meta", {})),
            names=names,
            trees=tuple(Tree.from_json(tree, len(names)) for tree in data.get("trees", ())),
        )

    @classmethod
    def load(cls, path: Path) -> StanceModel:
        """Read a model from a JSON file."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        """Write the model as compact JSON."""
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")


def _row(values: Sequence[Any]) -> tuple[float, float, float]:
    if len(values) != 3:
        raise ValueError(f"expected 3 values per row, got {len(values)}")
    return (float(values[0]), float(values[1]), float(values[2]))


def load_shipped() -> StanceModel | None:
    """The model shipped beside this module, or None (rules only) when it is missing or unreadable."""
    try:
        raw = resources.files(__package__ or __name__).joinpath(SHIPPED_RESOURCE).read_text(encoding="utf-8")
        return StanceModel.from_json(json.loads(raw))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("stance model %s not loaded, using rules only: %s", SHIPPED_RESOURCE, exc)
        return None
