"""Claim index: from match keys to claims, so that an article is scored only against the claims it
may match, with the decisions of scoring every pair."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from operator import mul

from watcher.match import scorer
from watcher.match.lexical import (
    LEAD_MASK,
    TF,
    AnalyzedArticle,
    ClaimQuery,
    CorpusStats,
    WeightShape,
    document_norm,
    weight_shape,
)

logger = logging.getLogger(__name__)

# Slack, in log-odds, between a bound and the floor it is compared with: far above the rounding of
# either sum, far below any difference a score shows.
MARGIN = 1e-6

# One claim in a key's postings: the claim, and what the key adds to the claim's linear bound: the
# first figure always, the second if the key occurs in the lead, the third times the largest length
# factor of the sentences holding the key, the fourth times the key's dampened term frequency over
# the article's norm.
_Posting = tuple[int, float, float, float, float]


class ClaimIndex:
    """Postings from match key (lemma, number, name, key-term word) to the claims holding it, and
    what each claim needs of the articles that hold them: built when the claims change, given the
    claims' term weights each time the term statistics move (:meth:`update`).

    :meth:`candidates` leaves out only pairs that provably score below their claim's floor (the
    lexical score below which the matcher drops a pair), so looking claims up changes no decision:

    - A claim that shares no key with an article is no candidate for it (the lexical stage's rule,
      which the index only makes cheap). A pair that lacks the claim's key terms scores
      ``scorer.NOTHING_SHARED``: a claim whose floor is not above it (a threshold under about
      0.03) is a candidate for every article that shares a key with it.
    - Summed over the keys the article holds, a linear bound on the pair's log-odds (its terms'
      shares of ``scorer.CEILING_*``) rules most claims out. What each key adds to it for each
      claim is worked out once per set of weights and kept in the key's postings.
    - The matcher holds the pairs left to the tighter ``scorer.pair_ceiling`` of what their
      sentences show (``lexical_features_reaching`` with :meth:`floor`) before it looks for their
      best window.
    """

    def __init__(
        self,
        queries: Sequence[ClaimQuery],
        floors: Sequence[float],
        match_floors: Sequence[float] | None = None,
    ) -> None:
        """:param floors: per claim, the lexical score (0..1) a pair must reach to be kept.
        :param match_floors: per claim, the score (at least its floor) a pair must reach when only matches
            are kept (``strict`` lookups); None: ``floors``.
        """
        self._queries = list(queries)
        # (kept, matches only), per claim: the floor in log-odds, and what the linear bound must reach less
        # the terms' part (-inf keeps every pair).
        self._floors: tuple[list[float], list[float]] = ([], [])
        self._need: tuple[list[float], list[float]] = ([], [])
        for qi, query in enumerate(self._queries):
            both = (floors[qi], floors[qi] if match_floors is None else match_floors[qi])
            constant = scorer.ceiling_constant(len(query.terms))
            for floor, logits, need in zip(both, self._floors, self._need, strict=True):
                logit = scorer.logit(floor)
                logits.append(logit)
                need.append(-math.inf if floor <= scorer.NOTHING_SHARED else logit - MARGIN - constant)
        # key -> the claims holding it, ascending
        self._claims_of: dict[str, list[int]] = {}
        for qi, query in enumerate(self._queries):
            for term in query.terms:
                self._claims_of.setdefault(term, []).append(qi)
        # The postings of all keys, one after the other (each key's claims ascending), and where each
        # key's postings start and end: the figures change with the weights, the places do not.
        self._places = [
            (qi, self._queries[qi].terms.index(key))
            for key, claims in self._claims_of.items()
            for qi in claims
        ]
        self._slots: dict[str, tuple[int, int]] = {}
        start = 0
        for key, claims in self._claims_of.items():
            self._slots[key] = (start, start + len(claims))
            start += len(claims)
        self._stats: CorpusStats | None = None
        self._postings: list[_Posting] = []
        self._weights: list[tuple[float, ...]] = []
        self._shapes: list[WeightShape | None] = []

    def shared(self, keys: Iterable[str]) -> dict[int, int]:
        """How many of ``keys`` each claim holds, for the claims that hold one."""
        counts: dict[int, int] = {}
        claims_of = self._claims_of
        for key in keys:
            for qi in claims_of.get(key, ()):
                counts[qi] = counts.get(qi, 0) + 1
        return counts

    def shape(self, qi: int) -> WeightShape | None:
        """:func:`~watcher.match.lexical.weight_shape` of the claim's weights (None for a claim without keys)."""
        return self._shapes[qi]

    def update(
        self, stats: CorpusStats, weights: Sequence[tuple[float, ...]] | None = None
    ) -> list[tuple[float, ...]]:
        """Take the claims' term weights at the statistics' present version; return them.

        :param weights: the claims' weights (``claim_weights``); None: worked out here, the same.
        """
        self._stats = stats
        # The weights hold until the statistics' version changes, while the counts move with every
        # batch: the bounds must read the IDF the weights were computed with.
        cached = stats.cached_idf  # the claims' weights may just have asked for most
        idf = stats.idf
        idf_of = {key: cached[key] if key in cached else idf(key) for key in self._claims_of}
        if weights is None:
            weights = [tuple(map(mul, q.boosts, map(idf_of.__getitem__, q.terms))) for q in self._queries]
        else:
            weights = list(weights)
        shapes: list[WeightShape | None] = []
        rows: list[list[_Posting]] = []
        base_share, rare_share = scorer.CEILING_BASE, scorer.CEILING_RARE
        per_term_share, lead_share = scorer.CEILING_PER_TERM, scorer.CEILING_LEAD
        best_share, cosine_share = scorer.CEILING_BEST, scorer.CEILING_COSINE
        for qi, claim_weights in enumerate(weights):
            shape = weight_shape(claim_weights)
            total = shape.total
            if total <= 0.0:  # no key, never looked up
                shapes.append(None)
                rows.append([])
                continue
            shapes.append(shape)
            # A term of weight w adds w * (its base + lead if in the lead + best * the largest length
            # factor of the sentences holding it + w * cosine * dampened tf / article norm) + per_term
            # (the best sentence scores its factor times the weight it holds: at most the sum, over the
            # terms it holds, of weight times the largest factor among each term's sentences); only
            # the claim's heaviest terms count towards LexicalFeatures.rare.
            base = base_share / total
            per_term = per_term_share / len(claim_weights)
            lead = lead_share / total
            best = best_share / total
            cosine = cosine_share / shape.norm
            row = [(qi, w * base + per_term, w * lead, w * best, w * w * cosine) for w in claim_weights]
            heavy = base + rare_share / shape.heavy_total
            for i in shape.heavy:
                w = claim_weights[i]
                row[i] = (qi, w * heavy + per_term, w * lead, w * best, w * w * cosine)
            rows.append(row)
        self._postings = [rows[qi][place] for qi, place in self._places]
        self._weights = weights
        self._shapes = shapes
        return weights

    def floor(self, qi: int, strict: bool = False) -> float:
        """The lexical log-odds below which the claim drops a pair (with ``strict``, a pair that cannot
        match), less a margin for rounding; -inf for a claim that keeps every pair sharing a key (its
        floor is at most ``scorer.NOTHING_SHARED``)."""
        return -math.inf if self._need[strict][qi] == -math.inf else self._floors[strict][qi] - MARGIN

    def candidates(self, doc: AnalyzedArticle, strict: bool = False) -> tuple[list[int], float]:
        """The claims (indices, ascending) whose pair with the article may reach their floor by the
        linear bound (with ``strict``, their match floor), and the article's
        :func:`~watcher.match.lexical.document_norm` (0.0 when there are none)."""
        postings = self._postings
        slots = self._slots
        positions = doc.positions
        hits = positions.keys() & slots.keys()
        stats = self._stats
        if not hits or stats is None:
            return [], 0.0
        norm = document_norm(doc, stats)
        factors = doc.factors
        sums: dict[int, float] = {}
        get = sums.get
        for key in hits:
            mask = positions[key]
            per_tf = TF[mask.bit_count()] / norm
            # No sentence holding the key has a larger length factor than this.
            if mask & (mask - 1):
                top = 0.0
                bits = mask
                while bits:
                    low = bits & -bits
                    factor = factors[low.bit_length() - 1]
                    if factor > top:
                        top = factor
                    bits ^= low
            else:
                top = factors[mask.bit_length() - 1]
            start, end = slots[key]
            if mask & LEAD_MASK:
                for qi, always, lead, best, cosine in postings[start:end]:
                    sums[qi] = get(qi, 0.0) + always + lead + best * top + cosine * per_tf
            else:
                for qi, always, _, best, cosine in postings[start:end]:
                    sums[qi] = get(qi, 0.0) + always + best * top + cosine * per_tf
        need = self._need[strict]
        chosen = [qi for qi, bound in sums.items() if bound >= need[qi]]
        chosen.sort()
        return chosen, norm
