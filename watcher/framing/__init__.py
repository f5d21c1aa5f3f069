"""Stance toward a claim and the framing cues behind it: explainable rules plus an optional learned layer."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from functools import lru_cache

from watcher.domain import Framing
from watcher.framing.model import FramingModel, load_shipped
from watcher.framing.rules import Analysis, Hit, analyse, cues, rule_stance, skepticism

__all__ = ["SHIPPED", "Analysis", "FramingModel", "Hit", "analyse", "frame", "rule_stance", "skepticism"]


class _Shipped(enum.Enum):
    MODEL = "shipped"


SHIPPED = _Shipped.MODEL
"""Default for ``frame(model=...)``: the model shipped in watcher/framing/model.json."""


@lru_cache(maxsize=1)
def _shipped() -> FramingModel | None:
    return load_shipped()


def frame(
    claim_text: str,
    title: str,
    text: str,
    evidence: Sequence[str] = (),
    *,
    model: FramingModel | _Shipped | None = SHIPPED,
) -> Framing:
    """How an article frames a claim: stance, skepticism (0..1) and the cues found.

    Cues and skepticism always come from the rules. The stance is rule_stance's, or with a model the
    model's, which weighs the same cues (and the rule's verdict) together with the words around them.

    :param evidence: the sentences the matcher found for the claim; cues near them weigh most.
    :param model: the learned layer; by default the shipped one, ``None`` for the rules alone.
    """
    analysis = analyse(claim_text, title, text, evidence)
    rule = rule_stance(analysis)
    learned = _shipped() if model is SHIPPED else model
    stance = learned.predict(analysis, rule) if isinstance(learned, FramingModel) else rule
    return Framing(stance=stance, skepticism=skepticism(analysis), cues=cues(analysis))
