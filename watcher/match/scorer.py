"""Scorer: lexical and semantic evidence to one calibrated 0..1 score, and the evidence sentences."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.match.lexical import MIN_CLAIM_TERMS_FOR_BREADTH, ClaimQuery, LexicalFeatures

logger = logging.getLogger(__name__)

EVIDENCE_MAX_CHARS = 400
# A second or third evidence sentence must score at least this share of the best one.
EVIDENCE_RELATIVE = 0.75


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """A logistic model over the stage features: ``sigmoid(intercept + sum(coef * feature))``.

    The coefficients are fitted by ``bench/match.py --fit`` on the calibration half of FNC-1
    (split by article body), so a score reads as the probability that the article is about the
    claim; the other half is kept for the reported figures.
    """

    intercept: float
    coverage: float = 0.0
    best: float = 0.0
    window: float = 0.0
    lead: float = 0.0
    thin: float = 0.0  # added when a single term carries the match (LexicalFeatures.thin)
    semantic: float = 0.0

    def logit(self, features: LexicalFeatures, semantic: float | None = None) -> float:
        z = (
            self.intercept
            + self.coverage * features.coverage
            + self.best * features.best
            + self.window * features.window
            + self.lead * features.lead
        )
        if features.thin:
            z += self.thin
        if semantic is not None:
            z += self.semantic * semantic
        return z

    def probability(self, features: LexicalFeatures, semantic: float | None = None) -> float:
        return sigmoid(self.logit(features, semantic))

    def lexical_ceiling(self, coverage: float) -> float:
        """The highest lexical-only logit an article covering ``coverage`` of the claim can reach.

        Every feature but ``best`` is at most the coverage and ``best`` at most 1, so claims
        that cannot reach the candidate floor are skipped without scoring their sentences.
        """
        positive = max(self.coverage, 0.0) + max(self.window, 0.0) + max(self.lead, 0.0)
        return self.intercept + positive * coverage + max(self.best, 0.0) * min(1.0, 2.0 * coverage)


# Coefficients fitted by ``bench/match.py --fit`` on the FNC-1 calibration half. FNC pairs each
# article with ~30 headlines of which 27% are about it; a newsroom tracks ~100 claims of which
# an article is about none or one (under 1% of pairs in the calibration-half realistic mix).
# The intercepts are moved by the log-odds of that difference in prior (PRIOR_SHIFT), so that a
# score reads as the chance that the article is about the claim in a live feed, and 0.5 is the
# threshold that gave the best F1 on the calibration-half mix.
#
# The thin-match penalty is set, not fitted: FNC pairs an article with random other stories,
# which rarely share a term by chance, while a live feed is full of articles that name the same
# country or organisation as a claim without being about it.
LEXICAL_PRIOR_SHIFT = -3.5
HYBRID_PRIOR_SHIFT = -4.5
LEXICAL = Calibration(
    intercept=-3.787 + LEXICAL_PRIOR_SHIFT, coverage=3.834, best=7.296, window=-1.294, lead=8.251, thin=-3.0
)
HYBRID = Calibration(
    intercept=-10.449 + HYBRID_PRIOR_SHIFT,
    coverage=2.488,
    best=-0.623,
    window=2.509,
    lead=6.835,
    thin=0.0,  # fitted +0.5: kept at zero, a single shared term is no evidence *for* a match
    semantic=15.871,
)
SEMANTIC_ONLY = Calibration(intercept=-11.378 + HYBRID_PRIOR_SHIFT, semantic=24.543)
DEFAULT_THRESHOLD = 0.5
# The semantic stage looks at pairs whose lexical score lies in [CANDIDATE_FLOOR,
# SEMANTIC_CEILING): chosen on the calibration-half mix for the best F1 with the stage running
# on at most a fifth of the articles.
CANDIDATE_FLOOR = 0.3
SEMANTIC_CEILING = 0.95


def lexical_probability(features: LexicalFeatures) -> float:
    """Lexical-only score of a pair."""
    return sigmoid(LEXICAL.logit(features))


def lexical_ceiling(coverage: float, terms_found: int, query: ClaimQuery) -> float:
    """The highest lexical logit a pair can reach from its coverage and number of terms found."""
    ceiling = LEXICAL.lexical_ceiling(coverage)
    if terms_found < 2 and len(query.terms) >= MIN_CLAIM_TERMS_FOR_BREADTH:
        ceiling += min(LEXICAL.thin, 0.0)
    return ceiling


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


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
    return tuple(_clip(sentences[i]) for i in chosen)


def _clip(text: str) -> str:
    if len(text) <= EVIDENCE_MAX_CHARS:
        return text
    cut = text[: EVIDENCE_MAX_CHARS - 4].rsplit(" ", 1)[0]
    return cut + " ..."
