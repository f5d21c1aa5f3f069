"""Scorer: lexical and semantic evidence to one calibrated 0..1 score, and the evidence sentences."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from watcher.match.lexical import MAX_LENGTH_FACTOR, MIN_CLAIM_TERMS_FOR_BREADTH, NO_FEATURES, LexicalFeatures
from watcher.text.sentences import clip

logger = logging.getLogger(__name__)

# A second or third evidence sentence must score at least this share of the best one.
EVIDENCE_RELATIVE = 0.75


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """A logistic model over the stage features: ``sigmoid(intercept + sum(coef * feature))``.

    The coefficients are fitted by ``bench/match_train.py`` (see ``weights.json``) on FNC-1 pairs, every
    article of the other stories counting as a negative, title-only items included; the
    intercept is then moved by the operating point chosen by grouped cross-validation (see
    ``thresholds.json``), so that 0.5 is the threshold for a match in a live feed.
    """

    intercept: float
    coverage: float = 0.0
    best: float = 0.0
    window: float = 0.0
    lead: float = 0.0
    cosine: float = 0.0
    share: float = 0.0
    pairs: float = 0.0
    rare: float = 0.0
    window_share: float = 0.0
    inverse_terms: float = 0.0
    thin: float = 0.0  # added when a single term carries the match (LexicalFeatures.thin)
    semantic: float = 0.0  # best claim-sentence cosine
    semantic_mean: float = 0.0  # claim against the mean of the best sentences

    def logit(
        self, features: LexicalFeatures, semantic: float | None = None, semantic_mean: float | None = None
    ) -> float:
        z = (
            self.intercept
            + self.coverage * features.coverage
            + self.best * features.best
            + self.window * features.window
            + self.lead * features.lead
            + self.cosine * features.cosine
            + self.share * features.share
            + self.pairs * features.pairs
            + self.rare * features.rare
            + self.window_share * features.window_share
            + self.inverse_terms * features.inverse_terms
        )
        if features.thin:
            z += self.thin
        if semantic is not None:
            # Without the centroid cosine (a caller with one vector per text), the best one stands in.
            z += self.semantic * semantic
            z += self.semantic_mean * (semantic if semantic_mean is None else semantic_mean)
        return z

    def probability(
        self, features: LexicalFeatures, semantic: float | None = None, semantic_mean: float | None = None
    ) -> float:
        return sigmoid(self.logit(features, semantic, semantic_mean))

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Calibration:
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in values.items() if k in known})


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatingPoints:
    """Where the fitted models are cut, in their own log-odds (``thresholds.json``).

    ``lexical`` and ``hybrid``: the match thresholds chosen by grouped cross-validation (the most
    recall at a bounded rate of false matches per claim among unrelated articles). The semantic
    stage sees the pairs whose lexical log-odds lie in [semantic_floor, semantic_ceiling): weak
    but present lexical evidence below the lexical threshold, and a margin above it.
    """

    lexical: float
    hybrid: float
    semantic_only: float
    semantic_floor: float
    semantic_ceiling: float


# Models fitted by ``bench/match_train.py`` and stored in weights.json next to this file; their operating
# points, chosen by grouped cross-validation, in thresholds.json. Each model's intercept is
# moved by its own operating point, so that lexical and hybrid scores read alike and 0.5 is
# the threshold for a match whichever stage decided.
WEIGHTS = Path(__file__).with_name("weights.json")
THRESHOLDS = Path(__file__).with_name("thresholds.json")


def load_weights(path: Path = WEIGHTS) -> dict[str, Calibration]:
    """The fitted models by name (lexical, hybrid, semantic_only), intercepts as fitted."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: Calibration.from_mapping(raw[name]) for name in ("lexical", "hybrid", "semantic_only")}


def load_operating_points(path: Path = THRESHOLDS, prefix: str = "") -> OperatingPoints:
    """The operating point whose keys in ``path`` start with ``prefix`` ("" the default, "flood_safe_")."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return OperatingPoints(**{f.name: float(raw[prefix + f.name]) for f in fields(OperatingPoints)})


def _shifted(model: Calibration, threshold: float) -> Calibration:
    return replace(model, intercept=model.intercept - threshold)


_FITTED = load_weights()
POINTS = load_operating_points()
LEXICAL = _shifted(_FITTED["lexical"], POINTS.lexical)
HYBRID = _shifted(_FITTED["hybrid"], POINTS.hybrid)
SEMANTIC_ONLY = _shifted(_FITTED["semantic_only"], POINTS.semantic_only)
DEFAULT_THRESHOLD = 0.5
# The semantic band, as lexical scores: pairs from CANDIDATE_FLOOR up to SEMANTIC_CEILING are
# embedded and scored by the hybrid model; below, dropped; above, the lexical score stands.
CANDIDATE_FLOOR = round(sigmoid(POINTS.semantic_floor - POINTS.lexical), 6)
SEMANTIC_CEILING = round(sigmoid(POINTS.semantic_ceiling - POINTS.lexical), 6)
# The flood-safe operating point (at most 2 false matches per claim per 10,000 unrelated articles on
# FNC-1, against about 20 for the default) in the default scores' units: the hybrid and lexical-only
# thresholds and the semantic band that reproduce its cuts (MatchSettings.flood_safe).
FLOOD_SAFE = load_operating_points(prefix="flood_safe_")
FLOOD_SAFE_THRESHOLD = round(sigmoid(FLOOD_SAFE.hybrid - POINTS.hybrid), 4)
FLOOD_SAFE_LEXICAL_THRESHOLD = round(sigmoid(FLOOD_SAFE.lexical - POINTS.lexical), 4)
FLOOD_SAFE_FLOOR = round(sigmoid(FLOOD_SAFE.semantic_floor - POINTS.lexical), 6)
FLOOD_SAFE_CEILING = round(sigmoid(FLOOD_SAFE.semantic_ceiling - POINTS.lexical), 6)
# Log-odds added to the score of a title-only item (a title and no text) at the default operating point, per
# stage that decided it: a title holds few words, so at the same threshold it matched far fewer related items
# than a body did, at a much lower false-match rate (FNC-1 live mix, 100 claims x 2 draws, lexical only: titles
# 0.553 recall at 6.8 false matches per claim per 10k, bodies 0.767 at 24.8). The boost spends on title-only
# items the false-match budget bodies already spend: the lowest cut at which titles stay within it
# (bench/title_boost.py; lexical 0.2, titles 0.713 at 22.5; hybrid 0.1, titles 0.754 at 18.2 against 22.7).
TITLE_ONLY_BOOST_LEXICAL = 1.39
TITLE_ONLY_BOOST_HYBRID = 2.20
# A score is a probability: never certain, so a claim threshold just below 1 stays meaningful.
MAX_SCORE = 0.9999


def lexical_probability(features: LexicalFeatures) -> float:
    """Lexical-only score of a pair."""
    return sigmoid(LEXICAL.logit(features))


# Lexical score of a pair that shares no match key with its claim (or lacks its key terms): the
# floor of every pair. A claim held to a floor at or below it has every article as a candidate.
NOTHING_SHARED = lexical_probability(NO_FEATURES)


def lexical_ceiling(
    coverage: float,
    terms_found: int,
    claim_terms: int,
    cosine: float = 1.0,
    *,
    lead: float | None = None,
    rare: float | None = None,
    pairs: float | None = None,
    best: float | None = None,
) -> float:
    """The highest lexical logit a pair can reach given what is known of its features without
    scoring the article's sentences: a bound that lets the matcher skip the pairs that cannot
    reach the candidate floor.

    ``coverage`` (the share of the claim's weighted terms the article holds), ``terms_found`` and
    ``cosine`` are exact; so are ``lead``, ``rare`` and ``pairs`` when given (None: bounded by the
    coverage, 1 and 1), and ``best`` is an upper bound when given (None: MAX_LENGTH_FACTOR times
    the coverage). Window and lead are at most the coverage, ``best`` at most 1, and the best
    window holds from one to ``terms_found`` terms.
    """
    model = LEXICAL
    ct = max(claim_terms, 1)
    found = terms_found / ct
    ceiling = (
        model.intercept
        + model.coverage * coverage
        + max(model.window, 0.0) * coverage
        + (max(model.lead, 0.0) * coverage if lead is None else model.lead * lead)
        + max(model.best, 0.0) * min(1.0, MAX_LENGTH_FACTOR * coverage if best is None else best)
        + model.cosine * min(cosine, 1.0)
        + model.share * found
        + max(model.window_share * found, model.window_share / ct)
        + model.inverse_terms / ct
        + (max(model.pairs, 0.0) if pairs is None else model.pairs * pairs)
        + (max(model.rare, 0.0) if rare is None else model.rare * rare)
    )
    if claim_terms >= MIN_CLAIM_TERMS_FOR_BREADTH:
        ceiling += model.thin if terms_found < 2 else max(model.thin, 0.0)
    return ceiling


# lexical_ceiling's coefficients, for pair_ceiling.
_INTERCEPT = LEXICAL.intercept
_COVERAGE_AND_WINDOW = LEXICAL.coverage + max(LEXICAL.window, 0.0)
_LEAD, _BEST, _COSINE = LEXICAL.lead, max(LEXICAL.best, 0.0), LEXICAL.cosine
_SHARE, _WINDOW_SHARE, _INVERSE_TERMS = LEXICAL.share, LEXICAL.window_share, LEXICAL.inverse_terms
_PAIRS, _RARE, _THIN = LEXICAL.pairs, LEXICAL.rare, max(LEXICAL.thin, 0.0)


def pair_ceiling(
    coverage: float,
    terms_found: int,
    claim_terms: int,
    cosine: float,
    lead: float,
    rare: float,
    pairs: float,
    best: float,
    /,
) -> float:
    """:func:`lexical_ceiling` with every feature but the window known (``best`` exactly, at most 1),
    in the form cheap enough for every candidate pair: the matcher's bound before the best window."""
    ct = claim_terms if claim_terms > 1 else 1
    found = terms_found / ct
    window_share = _WINDOW_SHARE * found
    if window_share < _WINDOW_SHARE / ct:
        window_share = _WINDOW_SHARE / ct
    ceiling = (
        _INTERCEPT
        + _COVERAGE_AND_WINDOW * coverage
        + _LEAD * lead
        + _BEST * best
        + _COSINE * cosine
        + _SHARE * found
        + window_share
        + _INVERSE_TERMS / ct
        + _PAIRS * pairs
        + _RARE * rare
    )
    if claim_terms >= MIN_CLAIM_TERMS_FOR_BREADTH:
        ceiling += LEXICAL.thin if terms_found < 2 else _THIN
    return ceiling


# lexical_ceiling in a linear form that an index sums over the terms an article holds (see
# watcher.match.index): min(1, x) counts as x, pairs at their most, thin as never, every term as one
# of the heaviest. A claim of n terms of weights w (total W, Euclidean norm |w|, H the weight of
# its RARE_TERMS heaviest) starts from ceiling_constant(n); each term held adds
# CEILING_BASE * w/W + CEILING_RARE * w/H + CEILING_PER_TERM / n, CEILING_LEAD * w/W if it occurs in
# the lead, CEILING_BEST * w/W times the largest length factor of the article's sentences, and
# CEILING_COSINE * w^2/|w| times its dampened term frequency over the article's norm.
CEILING_BASE = LEXICAL.coverage + max(LEXICAL.window, 0.0)
CEILING_PER_TERM = LEXICAL.share + max(LEXICAL.window_share, 0.0)
CEILING_RARE = max(LEXICAL.rare, 0.0)
CEILING_LEAD = LEXICAL.lead
CEILING_BEST = max(LEXICAL.best, 0.0)
CEILING_COSINE = max(LEXICAL.cosine, 0.0)


def ceiling_constant(claim_terms: int) -> float:
    """The part of the linear form of :func:`lexical_ceiling` that no term adds to."""
    ct = max(claim_terms, 1)
    constant = (
        LEXICAL.intercept
        + LEXICAL.inverse_terms / ct
        + min(LEXICAL.window_share, 0.0) / ct  # the best window holds at least one term
        + max(LEXICAL.pairs, 0.0)
    )
    if claim_terms >= MIN_CLAIM_TERMS_FOR_BREADTH:
        constant += max(LEXICAL.thin, 0.0)
    return constant


def evidence(
    sentences: Sequence[str],
    lexical_scores: Iterable[tuple[int, float]],
    cosines: dict[int, float] | None = None,
    limit: int = 3,
) -> tuple[str, ...]:
    """The best ``limit`` sentences, best first: the lexical sentence score, averaged with the
    cosine where the semantic stage embedded the sentence.

    :param lexical_scores: (sentence index, score) for the sentences with claim terms.
    """
    combined = dict(lexical_scores)
    if cosines is not None:
        for index, cosine in cosines.items():
            combined[index] = (combined.get(index, 0.0) + max(cosine, 0.0)) / 2.0
    ranked = [(s, i) for i, s in combined.items() if s > 0.0 and sentences[i]]
    ranked.sort(key=lambda item: (-item[0], item[1]))
    if not ranked:
        return ()
    top = ranked[0][0]
    chosen = [i for s, i in ranked[:limit] if s >= EVIDENCE_RELATIVE * top]
    return tuple(clip(sentences[i]) for i in chosen)
