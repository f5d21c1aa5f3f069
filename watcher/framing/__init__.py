"""Stance of an article toward a claim (supports | neutral | disputes), with the cues that explain it."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from watcher.domain import Cue, Framing, Stance
from watcher.framing.lexicon import DIRECTIONS, STRENGTH
from watcher.framing.model import StanceModel, features, load_shipped
from watcher.framing.rules import DECAY, Analysis, Hit, analyse, rule_stance, skepticism
from watcher.text.sentences import clip

__all__ = [
    "GOVERNED_DISPUTE_FLOOR",
    "SHIPPED",
    "SHORT_TEXT_SENTENCES",
    "Analysis",
    "Decision",
    "Explanation",
    "Hit",
    "StanceModel",
    "analyse",
    "cues",
    "decide",
    "explain",
    "features",
    "frame",
    "load_shipped",
    "resolve",
    "rule_stance",
    "settle",
    "settle_analysed",
    "short_text",
    "shown_evidence",
    "skepticism",
]


class _Shipped(enum.Enum):
    MODEL = "shipped"


SHIPPED = _Shipped.MODEL
"""Default for ``model=``: the model shipped beside this package (model.json)."""

ModelChoice = StanceModel | _Shipped | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A stance with what it rests on: the rule's verdict and, with a model, its class probabilities."""

    stance: Stance
    rule: Stance
    probabilities: dict[Stance, float] | None  # None: rules only
    guarded: bool  # a strong dispute cue governing the claim changed the model's choice (see resolve)


# Under a governing strong dispute cue the stance is disputes once the model gives it this probability: the
# headline and claim-sentence cues are what the training data (no titles) teaches least.
GOVERNED_DISPUTE_FLOOR = 0.25

# On a text of at most this many sentences (a feed summary, a title and a line) the rules decide, and the
# model may only soften their supports to neutral (a report the rules read as a statement). The model learnt
# from FNC-1's news bodies and ARC's comments; on short texts it reads their register, not the stance.
# Chosen on the training data, claim-grouped out of fold (bench/README.md, stance): ARC by-claim macro-F1
# 0.246 -> 0.319 (trained as shipped 0.250 -> 0.326), FNC-1 -> ARC 0.319 -> 0.347, ARC -> FNC-1
# 0.198 -> 0.218, FNC-1 by-story 0.528 -> 0.528; the FNC-1 competition test lost 0.008 (0.566 -> 0.558).
SHORT_TEXT_SENTENCES = 3


def short_text(analysis: Analysis) -> bool:
    """A text of at most SHORT_TEXT_SENTENCES sentences (a title-only item has none)."""
    return analysis.sentences <= SHORT_TEXT_SENTENCES


def resolve(
    probabilities: Mapping[Stance, float], governed: bool, disputed: bool = False
) -> tuple[Stance, bool]:
    """The stance from class probabilities, and whether the dispute guard changed it.

    Without ``governed`` or ``disputed``: the most probable class. With ``governed``: disputes when its
    probability reaches GOVERNED_DISPUTE_FLOOR, else the more probable of neutral and disputes. With
    ``disputed`` only (the rules call it disputes on cues about the claim): the more probable of neutral
    and disputes. Either way never supports.
    """
    best = max(probabilities, key=probabilities.__getitem__)
    if not governed and not disputed:
        return best, False
    if governed and probabilities[Stance.DISPUTES] >= GOVERNED_DISPUTE_FLOOR:
        return Stance.DISPUTES, best is not Stance.DISPUTES
    stance = max((Stance.NEUTRAL, Stance.DISPUTES), key=probabilities.__getitem__)
    return stance, stance is not best


def settle(
    probabilities: Mapping[Stance, float],
    rule: Stance,
    *,
    governed: bool,
    debunks: bool,
    short: bool,
    asserted: bool = False,
    figure_missed: bool = False,
    asks: bool = False,
    corrected: bool = False,
) -> tuple[Stance, bool]:
    """The stance of a pair the model scored, and whether the dispute guard changed it: resolve() with the
    guard off for a debunking claim (its echo agrees), then, for a short text, the rule's stance unless the
    model only softens the rule's supports to neutral. An article that states the claim in its own voice
    and that the rules read as supporting it (``asserted``, rule supports) is not turned into disputes by
    the model: the more probable of supports and neutral. When a figure that misses the claim's governs it
    (``figure_missed``), or a correction takes the claim back (``corrected``), the rules decide: the training
    data never shows the one and seldom the other. Nor does it show headlines: under
    one that asks about the claim (``asks``: a question, an explainer) the model's supports yields to the rules'
    verdict, which reads the headline. decide() and the benchmarks'
    cached-feature path (bench.train_stance.predict) both call this."""
    stance, guarded = resolve(probabilities, governed and not debunks, rule is Stance.DISPUTES)
    if (figure_missed or corrected) and rule is Stance.DISPUTES:
        return rule, stance is not rule
    if short and not (rule is Stance.SUPPORTS and stance is Stance.NEUTRAL):
        return rule, False
    if asserted and rule is Stance.SUPPORTS and stance is Stance.DISPUTES:
        return max((Stance.SUPPORTS, Stance.NEUTRAL), key=probabilities.__getitem__), False
    if asks and stance is Stance.SUPPORTS and rule is not Stance.SUPPORTS:
        return rule, False
    return stance, guarded


@lru_cache(maxsize=1)
def _shipped() -> StanceModel | None:
    return load_shipped()


def _resolve(model: ModelChoice) -> StanceModel | None:
    return _shipped() if model is SHIPPED else model if isinstance(model, StanceModel) else None


def decide(analysis: Analysis, model: ModelChoice = SHIPPED) -> Decision:
    """The stance of an analysed pair: the model's when there is one, else the rule's. A title-only item
    (a headline, no body) always goes by the rules, and a short text (SHORT_TEXT_SENTENCES) too, except
    that the model may turn the rules' supports into neutral.

    Guarantee: when a strong dispute cue governs the claim sentence or the headline (``analysis.governed``),
    or the rules call the article disputing, the stance is never ``supports`` (see resolve()); unless the
    claim itself denies or debunks (``analysis.claim_debunks``, "... death hoax"), which such cues repeat.
    """
    rule = rule_stance(analysis)
    learned = _resolve(model)
    if learned is None or analysis.title_only:
        return Decision(rule, rule, None, False)
    probabilities = learned.probabilities(analysis, rule)
    stance, guarded = settle_analysed(probabilities, rule, analysis)
    return Decision(stance, rule, probabilities, guarded)


def settle_analysed(
    probabilities: Mapping[Stance, float], rule: Stance, analysis: Analysis
) -> tuple[Stance, bool]:
    """settle() with the guards' inputs read from the pair's analysis."""
    return settle(
        probabilities,
        rule,
        governed=analysis.governed,
        debunks=analysis.echoes_the_claim,
        short=short_text(analysis),
        asserted=analysis.asserted,
        figure_missed=analysis.figure_missed,
        asks=analysis.headline_asks,
        corrected=analysis.corrected,
    )


def cues(analysis: Analysis) -> tuple[Cue, ...]:
    """Distinct cues that govern the claim (headline, claim sentence or about it), strongest first."""
    best: dict[tuple[str, str], float] = {}
    for hit in analysis.hits:
        if hit.where == "body" and hit.sentence in analysis.beside:
            continue  # about something else beside the claim
        if hit.weight >= STRENGTH[hit.kind] * DECAY[1] - 1e-9:
            best[(hit.kind, hit.text)] = max(best.get((hit.kind, hit.text), 0.0), hit.weight)
    ordered = sorted(best.items(), key=lambda item: (-item[1], -DIRECTIONS[item[0][0]][0]))
    return tuple(Cue(kind=kind, text=text) for (kind, text), _ in ordered)


@dataclass(frozen=True, slots=True)
class Explanation:
    """What a caller shows: the stance, the cues, the claim sentence and the disputing sentence beside it."""

    framing: Framing
    decision: Decision
    claim_sentence: str
    disputing_sentence: str  # "" unless the stance is disputes


def explain(
    claim_text: str,
    title: str,
    text: str,
    evidence: Sequence[str] = (),
    *,
    model: ModelChoice = SHIPPED,
    language: str | None = None,
) -> Explanation:
    """frame() with its reasons: the decision and, for a disputing article, the disputing sentence."""
    analysis = analyse(claim_text, title, text, evidence, language)
    decision = decide(analysis, model)
    framing = Framing(stance=decision.stance, skepticism=skepticism(analysis), cues=cues(analysis))
    disputing = analysis.disputing_sentence if decision.stance is Stance.DISPUTES else ""
    return Explanation(framing, decision, analysis.claim_sentence, disputing)


def shown_evidence(explanation: Explanation, evidence: Sequence[str]) -> tuple[str, ...]:
    """The evidence to store and show for a match: the matcher's sentences, except that for a disputing
    article the disputing sentence comes first with the claim sentence beside it (no sentence twice, at
    most one more than the matcher gave; each cut to EVIDENCE_MAX_CHARS as the matcher cuts its own)."""
    if not explanation.disputing_sentence:
        return tuple(evidence)
    first = [clip(explanation.disputing_sentence), clip(explanation.claim_sentence), *evidence]
    ordered = list(dict.fromkeys(sentence for sentence in first if sentence))
    return tuple(ordered[: max(len(evidence) + 1, 2)])


def frame(
    claim_text: str,
    title: str,
    text: str,
    evidence: Sequence[str] = (),
    *,
    model: ModelChoice = SHIPPED,
    language: str | None = None,
) -> Framing:
    """How an article frames a claim: stance, skepticism (0..1) and the cues found.

    Cues and skepticism always come from the rules; the stance from decide() (the shipped model by
    default, ``model=None`` for the rules alone).

    :param evidence: the sentences the matcher found for the claim; they count as stating it.
    :param language: the article's language (ISO 639-1); None reads it as English (see analyse).
    """
    return explain(claim_text, title, text, evidence, model=model, language=language).framing
