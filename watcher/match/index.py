"""Claim index: from match keys to claims, so that an article is scored only against the claims it
may match, with the decisions of scoring every pair."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.match import scorer
from watcher.match.lexical import (
    LEAD_MASK,
    RARE_TERMS,
    TF,
    AnalyzedArticle,
    ClaimQuery,
    CorpusStats,
    document_norm,
    keywords_found,
)

logger = logging.getLogger(__name__)

# Slack, in log-odds, between a bound and the floor it is compared with: far above the rounding of
# either sum, far below any difference a score shows.
MARGIN = 1e-6
_TF_TOP = len(TF) - 1

# A claim under one of its keys: its index, then what the term adds to the pair's bound when the
# article holds it (see scorer.CEILING_*): always, in the lead, times the article's largest length
# factor, times the key's dampened term frequency over the article's norm.
_Posting = tuple[int, float, float, float, float]


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the tighter bound needs of one claim, at one set of weights."""

    query: ClaimQuery
    weights: tuple[float, ...]
    total: float
    norm: float  # Euclidean norm of the weights
    heavy: tuple[bool, ...]  # its RARE_TERMS heaviest terms, as lexical_features picks them
    heavy_total: float
    floor: float  # the lexical log-odds a pair must reach to be kept


class ClaimIndex:
    """Postings from match key (lemma, number, name, key-term word) to the claims holding it, for
    one set of claim weights (one version of the term statistics) and floors (the lexical score
    below which the matcher drops a pair).

    :meth:`candidates` leaves out only pairs that provably score below their claim's floor, so that
    looking claims up changes no decision:

    - A claim that shares no key with an article is no candidate for it (the lexical stage's rule,
      which the index only makes cheap). A pair that lacks the claim's key terms scores
      ``scorer.NOTHING_SHARED``: a claim whose floor is not above it (a threshold under about
      0.03) is a candidate for every article that shares a key with it.
    - Each posting carries what its term adds to a linear bound on the pair's log-odds
      (``scorer.CEILING_*``); summed over the keys the article holds, it rules most claims out.
    - The claims left are held to the tighter ``scorer.lexical_ceiling`` of what they share.
    """

    def __init__(
        self,
        queries: Sequence[ClaimQuery],
        weights: Sequence[tuple[float, ...]],
        floors: Sequence[float],
        stats: CorpusStats,
    ) -> None:
        """:param floors: per claim, the lexical score (0..1) a pair must reach to be kept.
        :param stats: the statistics ``weights`` come from, for the articles' norms."""
        self._stats = stats
        self._entries: list[_Entry | None] = []
        self._need: list[float] = []  # what the sum over the postings found must reach, per claim
        self._postings: dict[str, list[_Posting]] = {}
        for qi, (query, claim_weights, floor) in enumerate(zip(queries, weights, floors, strict=True)):
            total = sum(claim_weights)
            if total <= 0.0:  # no key: no article shares one with it
                self._entries.append(None)
                self._need.append(math.inf)
                continue
            self._add(qi, query, claim_weights, total, floor)
        logger.debug("claim index: %d claims under %d keys", len(self._entries), len(self._postings))

    def _add(
        self, qi: int, query: ClaimQuery, weights: tuple[float, ...], total: float, floor_score: float
    ) -> None:
        floor = scorer.logit(floor_score)
        count = len(weights)
        norm = math.sqrt(sum(w * w for w in weights))
        heavy_at = sorted(range(count), key=weights.__getitem__, reverse=True)[:RARE_TERMS]
        heavy_total = sum(weights[i] for i in heavy_at)
        self._entries.append(
            _Entry(
                query=query,
                weights=weights,
                total=total,
                norm=norm,
                heavy=tuple(i in heavy_at for i in range(count)),
                heavy_total=heavy_total,
                floor=floor,
            )
        )
        if floor_score <= scorer.NOTHING_SHARED:
            self._need.append(-math.inf)  # even a pair without the claim's key terms is kept
        else:
            self._need.append(floor - MARGIN - scorer.ceiling_constant(count))
        base = scorer.CEILING_BASE / total
        per_term = scorer.CEILING_PER_TERM / count
        rare = scorer.CEILING_RARE / heavy_total
        lead = scorer.CEILING_LEAD / total
        best = scorer.CEILING_BEST / total
        cosine = scorer.CEILING_COSINE / norm
        postings = self._postings
        for i, (term, weight) in enumerate(zip(query.terms, weights, strict=True)):
            posting = (
                qi,
                base * weight + per_term + (rare * weight if i in heavy_at else 0.0),
                lead * weight,
                best * weight,
                cosine * weight * weight,
            )
            found = postings.get(term)
            if found is None:
                postings[term] = [posting]
            else:
                found.append(posting)

    def candidates(self, doc: AnalyzedArticle) -> tuple[list[int], float]:
        """The claims (indices, ascending) whose pair with the article may reach their floor, and the
        article's :func:`~watcher.match.lexical.document_norm` (0.0 when there are none)."""
        postings = self._postings
        hits = [(found, mask) for key, mask in doc.positions.items() if (found := postings.get(key))]
        if not hits:
            return [], 0.0
        norm = document_norm(doc, self._stats)
        top_factor = max(doc.factors, default=0.0)
        sums: dict[int, float] = {}
        get = sums.get
        for found, mask in hits:
            per_tf = TF[min(mask.bit_count(), _TF_TOP)] / norm
            if mask & LEAD_MASK:
                for qi, base, lead, best, cosine in found:
                    sums[qi] = get(qi, 0.0) + base + lead + best * top_factor + cosine * per_tf
            else:
                for qi, base, _, best, cosine in found:
                    sums[qi] = get(qi, 0.0) + base + best * top_factor + cosine * per_tf
        need = self._need
        chosen = [
            qi
            for qi, bound in sums.items()
            if bound >= need[qi] and (need[qi] == -math.inf or self._may_reach(qi, doc, norm))
        ]
        chosen.sort()
        return chosen, norm

    def _may_reach(self, qi: int, doc: AnalyzedArticle, doc_norm: float) -> bool:
        """Whether the pair may reach the claim's floor, by ``scorer.lexical_ceiling`` of what it shares."""
        entry = self._entries[qi]
        assert entry is not None  # posted, so it has an entry
        positions = doc.positions
        masks = [positions.get(t, 0) for t in entry.query.terms]
        covered = dot = lead = rare = 0.0
        found = union = 0
        for mask, weight, heavy in zip(masks, entry.weights, entry.heavy, strict=True):
            if mask:
                found += 1
                covered += weight
                union |= mask
                dot += weight * weight * TF[min(mask.bit_count(), _TF_TOP)]
                if mask & LEAD_MASK:
                    lead += weight
                if heavy:
                    rare += weight
        if not keywords_found(entry.query, doc):
            return False  # scores NOTHING_SHARED, below the floor
        total = entry.total
        coverage = covered / total
        # No sentence scores more than its length factor times the share of the claim it holds.
        factors = doc.factors
        top_factor = max(factors[i] for i in range(union.bit_length()) if union >> i & 1)
        claim_terms = len(masks)
        adjacent = sum(1 for a, b in itertools.pairwise(masks) if a & b)
        ceiling = scorer.lexical_ceiling(
            coverage,
            found,
            claim_terms,
            dot / (entry.norm * doc_norm),
            lead=lead / total,
            rare=rare / entry.heavy_total,
            pairs=adjacent / (claim_terms - 1) if claim_terms > 1 else 0.0,
            best=coverage * top_factor,
        )
        return ceiling >= entry.floor - MARGIN
