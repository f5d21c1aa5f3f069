"""Learned stance layer: multinomial logistic regression over claim-independent features, pure Python."""

from __future__ import annotations

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
from watcher.framing.rules import Analysis, scope_of

__all__ = ["CLASSES", "FORMAT", "SHIPPED_RESOURCE", "StanceModel", "features", "load_shipped"]

logger = logging.getLogger(__name__)

FORMAT = 2
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
    feats.update(
        {
            "rule=" + rule.value: 1.0,
            "s:dispute": math.log1p(analysis.dispute),
            "s:gov_dispute": math.log1p(governing_dispute),
            "s:distance": math.log1p(analysis.distance),
            "s:endorsement": math.log1p(analysis.endorsement),
            "s:none": float(not analysis.hits),
            "governed": float(analysis.governed),
            "overlap": analysis.overlap,
            "coverage": analysis.coverage,
            "anchors": math.log1p(analysis.anchors),
            "sentences": math.log1p(analysis.sentences),
            "claim_negative": float(analysis.claim_negative),
            "claim_negated": float(analysis.claim_negated),
            "claim_question": float(analysis.claim_question),
            "claim_hedged": float(analysis.claim_hedged),
            "claim_negative_x_dispute": float(analysis.claim_negative) * math.log1p(governing_dispute),
        }
    )
    feats.update((f"x:{name}", value) for name, value in analysis.stats.items())
    return feats


def _add(feats: dict[str, float], name: str, value: float) -> None:
    feats[name] = feats.get(name, 0.0) + value


def _head(text: str) -> str:
    if text.startswith("contrary figure"):
        return "contrary_figure"
    if text.startswith('"'):
        return "quoted"
    words = text.lower().split()
    return "_".join(words[-3:]) if len(words) <= 3 else "phrase"


@dataclass(frozen=True, slots=True)
class StanceModel:
    """Multinomial logistic regression: one weight row per feature, a bias per class (supports, neutral,
    disputes)."""

    bias: tuple[float, float, float]
    weights: Mapping[str, tuple[float, float, float]]
    meta: Mapping[str, Any] | None = None
    vocabulary: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        words = frozenset(name.split(":", 2)[2] for name in self.weights if name.startswith("v:"))
        object.__setattr__(self, "vocabulary", words)

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
        """The most probable class."""
        probabilities = self.probabilities(analysis, rule)
        return max(probabilities, key=probabilities.__getitem__)

    def to_json(self) -> dict[str, Any]:
        """The JSON form that from_json reads."""
        return {
            "format": FORMAT,
            "classes": [c.value for c in CLASSES],
            "bias": list(self.bias),
            "weights": {name: list(row) for name, row in sorted(self.weights.items())},
            "meta": dict(self.meta or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StanceModel:
        """Read a model; ValueError on another format or class order."""
        if data.get("format") != FORMAT or list(data.get("classes", ())) != [c.value for c in CLASSES]:
            raise ValueError(f"unsupported stance model: format {data.get('format')!r}")
        return cls(
            bias=_row(data["bias"]),
            weights={str(name): _row(row) for name, row in data["weights"].items()},
            meta=dict(data.get("meta", {})),
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
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("stance model %s not loaded, using rules only: %s", SHIPPED_RESOURCE, exc)
        return None
