"""Claim index: from match keys to claims, so that an article is scored only against the claims it
may match, with the decisions of scoring every pair."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import numpy as np

from watcher.match import scorer
from watcher.match.lexical import (
    LEAD_MASK,
    RARE_TERMS,
    TF,
    AnalyzedArticle,
    ClaimQuery,
    CorpusStats,
    WeightShape,
    document_norm,
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
        # The claims' terms as a matrix (a row per claim, padded with weightless terms), to work the
        # weights and bounds out for every claim at once: key ids (the pad's is the last), boosts, terms.
        keys = list(self._claims_of)
        key_id = {key: k for k, key in enumerate(keys)}
        self._keys = keys
        self._lengths = np.array([len(q.terms) for q in self._queries], dtype=np.int64)
        width = max(int(self._lengths.max()), 1) if self._queries else 1
        self._key_ids = np.full((len(self._queries), width), len(keys), dtype=np.int64)
        self._boosts = np.zeros((len(self._queries), width))
        for qi, query in enumerate(self._queries):
            self._key_ids[qi, : len(query.terms)] = [key_id[t] for t in query.terms]
            self._boosts[qi, : len(query.boosts)] = query.boosts
        # where each posting's figures lie in the flattened matrix
        self._cells = np.array([qi * width + place for qi, place in self._places], dtype=np.int64)
        self._posting_claims = [qi for qi, _ in self._places]
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

        Every claim at once, in NumPy, with the figures of working them out claim by claim in Python to
        the last bit: the same IEEE operations in the same order (sums run left to right: ``cumsum``
        along a row; a pad adds 0.0).
        """
        self._stats = stats
        # The weights hold until the statistics' version changes, while the counts move with every
        # batch: the bounds must read the IDF the weights were computed with.
        lengths = self._lengths
        if weights is None:
            idf_of = np.array([*stats.idfs(self._keys), 0.0])
            matrix = self._boosts * idf_of[self._key_ids]
            rows = matrix.tolist()
            weights = [tuple(row[:n]) for row, n in zip(rows, lengths.tolist(), strict=True)]
        else:
            weights = list(weights)
            matrix = np.zeros_like(self._boosts)
            for qi, claim_weights in enumerate(weights):
                matrix[qi, : len(claim_weights)] = claim_weights
        self._postings, self._shapes = self._bounds(matrix, weights)
        self._weights = weights
        return weights

    def _bounds(
        self, matrix: np.ndarray, weights: Sequence[tuple[float, ...]]
    ) -> tuple[list[_Posting], list[WeightShape | None]]:
        """The postings' figures and the claims' weight shapes for the weights (``matrix``: a row per claim)."""
        if not len(matrix):
            return [], []
        # A term of weight w adds w * (its base + lead if in the lead + best * the largest length factor
        # of the sentences holding it + w * cosine * dampened tf / article norm) + per_term (the best
        # sentence scores its factor times the weight it holds: at most the sum, over the terms it holds,
        # of weight times the largest factor among each term's sentences); only the claim's heaviest
        # terms count towards LexicalFeatures.rare.
        totals = np.cumsum(matrix, axis=1)[:, -1]
        norms = np.sqrt(np.cumsum(matrix * matrix, axis=1)[:, -1])
        # The RARE_TERMS heaviest terms, the first of equal ones (pads weigh 0.0 and sort last).
        heavy = np.argsort(-matrix, axis=1, kind="stable")[:, :RARE_TERMS]
        heavy_totals = np.cumsum(np.take_along_axis(matrix, heavy, axis=1), axis=1)[:, -1]
        lengths = self._lengths
        keyed = totals > 0.0
        safe = np.where(keyed, totals, 1.0)[:, None]
        per_term = (scorer.CEILING_PER_TERM / np.maximum(lengths, 1))[:, None]
        base = scorer.CEILING_BASE / safe
        always = matrix * base + per_term
        rare = base + scorer.CEILING_RARE / np.where(keyed, heavy_totals, 1.0)[:, None]
        rows = np.arange(len(matrix))[:, None]
        always[rows, heavy] = np.take_along_axis(matrix, heavy, axis=1) * rare + per_term
        lead = matrix * (scorer.CEILING_LEAD / safe)
        best = matrix * (scorer.CEILING_BEST / safe)
        cosine = matrix * matrix * (scorer.CEILING_COSINE / np.where(keyed, norms, 1.0)[:, None])
        cells = self._cells
        postings = list(
            zip(
                self._posting_claims,
                always.ravel()[cells].tolist(),
                lead.ravel()[cells].tolist(),
                best.ravel()[cells].tolist(),
                cosine.ravel()[cells].tolist(),
                strict=True,
            )
        )
        shapes: list[WeightShape | None] = [
            WeightShape(total, norm, tuple(top[: min(n, RARE_TERMS)]), heavy_total) if total > 0.0 else None
            for total, norm, top, heavy_total, n in zip(
                totals.tolist(),
                norms.tolist(),
                heavy.tolist(),
                heavy_totals.tolist(),
                lengths.tolist(),
                strict=True,
            )
        ]
        return postings, shapes

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
