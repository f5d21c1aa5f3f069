"""Learned stance layer: a linear model over the framing cues, loaded from JSON with no heavy dependencies."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.domain import Stance

if TYPE_CHECKING:
    from watcher.framing import Analysis

logger = logging.getLogger(__name__)

FORMAT = 1
SHIPPED_RESOURCE = "models/framing.json"
CLASSES = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)

# Kinds whose weighted sums are features; kept here rather than imported so that the learned layer does
# not depend on the rule module at import time (the rule module imports this one).
CUE_KINDS = (
    "contradiction",
    "counter_voice",
    "scare_quotes",
    "headline_question",
    "headline_framing",
    "distancing_verb",
    "hedge",
    "attribution",
    "endorsement",
    "negation",
)
DISPUTE_KINDS = frozenset((*CUE_KINDS[:5], "negation"))
DISTANCE_KINDS = frozenset(CUE_KINDS[5:8])


def features(analysis: Analysis, rule: Stance, vocabulary: frozenset[str] = frozenset()) -> dict[str, float]:
    """Sparse features of one analysed pair; training and inference both call this.

    Cue sums by kind and place, the words that carry the cues, how well the body states the claim,
    the claim's own polarity, the rule's verdict and, when a vocabulary is given, which of its words
    occur near the claim.
    """
    feats: dict[str, float] = {"bias_rule=" + rule.value: 1.0}
    for hit in analysis.hits:
        place = "t" if hit.where == "title" else "b"
        _add(feats, f"k:{place}:{hit.kind}", hit.weight)
        if hit.distance <= 1:
            _add(feats, f"near:{hit.kind}", 1.0)
        _add(feats, f"cw:{hit.kind}:{_head(hit.text)}", hit.weight)
    for name in [k for k in feats if k.startswith(("k:", "near:", "cw:"))]:
        feats[name] = math.log1p(feats[name])
    dispute = sum(h.weight for h in analysis.hits if h.kind in DISPUTE_KINDS)
    distance = sum(h.weight for h in analysis.hits if h.kind in DISTANCE_KINDS)
    endorse = sum(h.weight for h in analysis.hits if h.kind == "endorsement")
    feats.update(_scores(dispute, distance, endorse))
    feats.update(_claim_features(analysis, dispute))
    for word in set(analysis.near_words) & vocabulary:
        feats["w:" + word] = 1.0
    for word in set(analysis.claim_words) & vocabulary:
        feats["c:" + word] = 1.0
    return feats


def _add(feats: dict[str, float], name: str, value: float) -> None:
    feats[name] = feats.get(name, 0.0) + value


def _head(text: str) -> str:
    # The cue word itself, without the subject a counter_voice carries ("Moscow denied" -> "denied").
    words = text.lower().replace('"', "").split()
    if text.startswith("contrary figure"):
        return "contrary_figure"
    if text.startswith("headline:"):
        return "headline"
    return words[-1] if words else ""


def _scores(dispute: float, distance: float, endorse: float) -> dict[str, float]:
    return {
        "s:dispute": math.log1p(dispute),
        "s:distance": math.log1p(distance),
        "s:endorse": math.log1p(endorse),
        "s:none": 1.0 if dispute + distance + endorse == 0 else 0.0,
    }


def _claim_features(analysis: Analysis, dispute: float) -> dict[str, float]:
    return {
        "overlap": analysis.overlap,
        "coverage": analysis.coverage,
        "anchors": math.log1p(analysis.anchors),
        "sentences": math.log1p(analysis.sentences),
        "claim_negative": float(analysis.claim_negative),
        "claim_question": float(analysis.claim_question),
        "claim_hedged": float(analysis.claim_hedged),
        # A body full of "hoax" agrees with a claim that says "hoax".
        "claim_negative_x_dispute": float(analysis.claim_negative) * math.log1p(dispute),
    }


@dataclass(frozen=True, slots=True)
class FramingModel:
    """Multinomial logistic regression: one weight per feature and class, plus a bias per class."""

    bias: tuple[float, float, float]
    weights: Mapping[str, tuple[float, float, float]]
    vocabulary: frozenset[str] = frozenset()
    meta: Mapping[str, Any] | None = None

    def probabilities(self, analysis: Analysis, rule: Stance) -> dict[Stance, float]:
        """Class probabilities for one analysed pair."""
        scores = list(self.bias)
        for name, value in features(analysis, rule, self.vocabulary).items():
            row = self.weights.get(name)
            if row is not None:
                for i in range(3):
                    scores[i] += value * row[i]
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
            "vocabulary": sorted(self.vocabulary),
            "meta": dict(self.meta or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FramingModel:
        if data.get("format") != FORMAT or list(data.get("classes", ())) != [c.value for c in CLASSES]:
            raise ValueError(f"unsupported framing model: format {data.get('format')!r}")
        return cls(
            bias=_row(data["bias"]),
            weights={str(name): _row(row) for name, row in data["weights"].items()},
            vocabulary=frozenset(str(word) for word in data.get("vocabulary", ())),
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
