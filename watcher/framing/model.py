"""Learned stance layer: a linear model over the framing cues, loaded from JSON with no heavy dependencies."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from watcher.domain import Stance
from watcher.framing.rules import Analysis

logger = logging.getLogger(__name__)

FORMAT = 1
SHIPPED_RESOURCE = "framing/model.json"
CLASSES = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)


# Word features: stems near the claim (w:), in the claim (c:) and anywhere in the body (b:).
WORD_PREFIXES = ("w:", "c:", "b:")

Vocabulary = Mapping[str, AbstractSet[str]]
"""The words kept as features, by prefix: {"w:": {...}, "c:": {...}, "b:": {...}}."""


def _word_sets(analysis: Analysis) -> tuple[frozenset[str], ...]:
    return (analysis.near_words, analysis.claim_words, analysis.body_words)


def word_features(analysis: Analysis) -> Iterator[tuple[str, str]]:
    """Every (prefix, word) feature a pair could have, before any vocabulary is applied."""
    for prefix, words in zip(WORD_PREFIXES, _word_sets(analysis), strict=True):
        for word in words:
            yield prefix, word


def features(analysis: Analysis, rule: Stance, vocabulary: Vocabulary | None = None) -> dict[str, float]:
    """Sparse features of one analysed pair; training and inference both call this.

    Cue sums by kind and place, the cue words themselves, the rule's direction scores and verdict, how
    well the body states the claim, the claim's own polarity, and the pair's words that are in
    ``vocabulary`` (none without one).
    """
    feats: dict[str, float] = {}
    for hit in analysis.hits:
        _add(feats, f"k:{hit.where}:{hit.kind}", hit.weight)
        _add(feats, f"cw:{hit.kind}:{_head(hit.text)}", hit.weight)
        if hit.distance <= 1:
            _add(feats, f"near:{hit.kind}", 1.0)
    # Counts and sums grow with article length; their logarithm keeps long bodies from dominating.
    feats = {name: math.log1p(value) for name, value in feats.items()}
    feats["rule=" + rule.value] = 1.0
    feats.update(_pair_features(analysis))
    if vocabulary:
        for prefix, words in zip(WORD_PREFIXES, _word_sets(analysis), strict=True):
            feats.update((prefix + word, 1.0) for word in words & vocabulary.get(prefix, frozenset()))
    return feats


def _add(feats: dict[str, float], name: str, value: float) -> None:
    feats[name] = feats.get(name, 0.0) + value


def _head(text: str) -> str:
    # The cue word itself, without the subject a counter_voice carries ("Moscow denied" -> "denied").
    if text.startswith("contrary figure"):
        return "contrary_figure"
    if text.startswith("headline:"):
        return "headline"
    words = text.lower().replace('"', "").split()
    return words[-1] if words else ""


def _pair_features(analysis: Analysis) -> dict[str, float]:
    return {
        "s:dispute": math.log1p(analysis.dispute),
        "s:distance": math.log1p(analysis.distance),
        "s:endorsement": math.log1p(analysis.endorsement),
        "s:none": float(not analysis.hits),
        "overlap": analysis.overlap,
        "coverage": analysis.coverage,
        "anchors": math.log1p(analysis.anchors),
        "sentences": math.log1p(analysis.sentences),
        "claim_negative": float(analysis.claim_negative),
        "claim_question": float(analysis.claim_question),
        "claim_hedged": float(analysis.claim_hedged),
        # A body full of "hoax" agrees with a claim that says "hoax".
        "claim_negative_x_dispute": float(analysis.claim_negative) * math.log1p(analysis.dispute),
    }


@dataclass(frozen=True, slots=True)
class FramingModel:
    """Multinomial logistic regression: one weight per feature and class, plus a bias per class."""

    bias: tuple[float, float, float]
    weights: Mapping[str, tuple[float, float, float]]
    meta: Mapping[str, Any] | None = None
    # Derived from the weights' names, so that a pair's words are looked up by set intersection.
    vocabulary: Vocabulary = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        vocabulary = {
            prefix: frozenset(name[len(prefix) :] for name in self.weights if name.startswith(prefix))
            for prefix in WORD_PREFIXES
        }
        object.__setattr__(self, "vocabulary", vocabulary)

    def probabilities(self, analysis: Analysis, rule: Stance) -> dict[Stance, float]:
        """Class probabilities for one analysed pair."""
        scores = list(self.bias)
        for name, value in features(analysis, rule, self.vocabulary).items():
            row = self.weights.get(name)
            if row is not None:
                scores[0] += value * row[0]
                scores[1] += value * row[1]
                scores[2] += value * row[2]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {stance: e / total for stance, e in zip(CLASSES, exps, strict=True)}

    def predict(self, analysis: Analysis, rule: Stance) -> Stance:
        probabilities = self.probabilities(analysis, rule)
        return max(probabilities, key=probabilities.__getitem__)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classes": [c.value for c in CLASSES],
            "bias": list(self.bias),
            "weights": {name: list(row) for name, row in sorted(self.weights.items())},
            "meta": dict(self.meta or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FramingModel:
        if data.get("format") != FORMAT or list(data.get("classes", ())) != [c.value for c in CLASSES]:
            raise ValueError(f"unsupported framing model: format {data.get('format')!r}")
        return cls(
            bias=_row(data["bias"]),
            weights={str(name): _row(row) for name, row in data["weights"].items()},
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: Path) -> FramingModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")


def _row(values: Sequence[Any]) -> tuple[float, float, float]:
    if len(values) != 3:
        raise ValueError(f"expected 3 values per row, got {len(values)}")
    return (float(values[0]), float(values[1]), float(values[2]))


def load_shipped() -> FramingModel | None:
    """The model shipped with the package, or None (rules only) when it is missing or unreadable."""
    try:
        raw = resources.files("watcher").joinpath(SHIPPED_RESOURCE).read_text(encoding="utf-8")
        return FramingModel.from_json(json.loads(raw))
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("framing model %s not loaded, using rules only: %s", SHIPPED_RESOURCE, exc)
        return None
