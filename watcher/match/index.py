"""Claim index: from match keys to claims, so that an article is scored only against the claims it
may match, with the decisions of scoring every pair."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from watcher.match import scorer
from watcher.match.lexical import (
    LEAD_MASK,
    TF,
    AnalyzedArticle,
    ClaimQuery,
    CorpusStats,
    WeightShape,
    document_norm,
    keywords_found,
    sentence_indices,
    weight_shape,
)

logger = logging.getLogger(__name__)

# Slack, in log-odds, between a bound and the floor it is compared with: far above the rounding of
# either sum, far below any difference a score shows.
MARGIN = 1e-6
_TF_TOP = len(TF) - 1


class _Entry(NamedTuple):
    """What the tighter bound needs of one claim, at one set of weights."""

    query: ClaimQuery
    weights: tuple[float, ...]
    shape: WeightShape
    total: float
    norm: float  # Euclidean norm of the weights
    heavy: tuple[bool, ...]  # its RARE_TERMS heaviest terms, as lexical_features picks them
    heavy_total: float
    floor: float  # the lexical log-odds a pair must reach to be kept


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
      shares of ``scorer.CEILING_*``) rules most claims out.
    - The claims left are held to the tighter ``scorer.lexical_ceiling`` of what they share.
    """

    def __init__(self, queries: Sequence[ClaimQuery], floors: Sequence[float]) -> None:
        """:param floors: per claim, the lexical score (0..1) a pair must reach to be kept."""
        self._queries = list(queries)
        self._floors = [scorer.logit(f) for f in floors]
        # What the linear bound must reach, less the terms' part: -inf keeps every pair.
        self._need = [
            -math.inf
            if f <= scorer.NOTHING_SHARED
            else logit - MARGIN - scorer.ceiling_constant(len(q.terms))
            for q, f, logit in zip(self._queries, floors, self._floors, strict=True)
        ]
        # key -> (claim, boost of the key, its place among the claim's terms)
        self._postings: dict[str, list[tuple[int, float, int]]] = {}
        for qi, query in enumerate(self._queries):
            for place, (term, boost) in enumerate(zip(query.terms, query.boosts, strict=True)):
                self._postings.setdefault(term, []).append((qi, boost, place))
        self._stats: CorpusStats | None = None
        self._weights: Sequence[tuple[float, ...]] = ()
        # Per claim, what a term of weight w adds to the linear bound: w * (its base + lead if in the
        # lead + best * largest length factor + w * cosine * dampened tf / article norm) + per_term.
        self._terms: list[tuple[tuple[float, ...], float, float, float, float]] = []
        self._idf: dict[str, float] = {}  # the IDF of each key in the claims' weights
        self._entries: dict[int, _Entry] = {}

    def shared(self, keys: Iterable[str]) -> dict[int, int]:
        """How many of ``keys`` each claim holds, for the claims that hold one."""
        counts: dict[int, int] = {}
        postings = self._postings
        for key in keys:
            for qi, _, _ in postings.get(key, ()):
                counts[qi] = counts.get(qi, 0) + 1
        return counts

    def shape(self, qi: int) -> WeightShape | None:
        """:func:`~watcher.match.lexical.weight_shape` of the claim's weights (None for a claim without keys)."""
        entry = self._entries.get(qi)
        return entry.shape if entry is not None else None

    def update(self, weights: Sequence[tuple[float, ...]], stats: CorpusStats) -> None:
        """Take the claims' term weights (``claim_weights``) at the statistics' present version."""
        self._stats = stats
        self._weights = weights
        self._entries = {}
        # The weights hold until the statistics' version changes, while the counts move with every
        # batch: the bound must read the IDF the weights were computed with.
        cached = stats.cached_idf  # the claims' weights have just asked for most
        idf = stats.idf
        self._idf = {key: cached[key] if key in cached else idf(key) for key in self._postings}
        terms: list[tuple[tuple[float, ...], float, float, float, float]] = []
        for qi, claim_weights in enumerate(weights):
            total = sum(claim_weights)
            if total <= 0.0:
                terms.append(((), 0.0, 0.0, 0.0, 0.0))  # no key, never looked up
                continue
            entry = self._entries[qi] = _entry(self._queries[qi], claim_weights, self._floors[qi])
            # Only the claim's heaviest terms count towards LexicalFeatures.rare.
            base = scorer.CEILING_BASE / total
            heavy = base + scorer.CEILING_RARE / entry.heavy_total
            terms.append(
                (
                    tuple(heavy if h else base for h in entry.heavy),
                    scorer.CEILING_LEAD / total,
                    scorer.CEILING_BEST / total,
                    scorer.CEILING_COSINE / entry.norm,
                    scorer.CEILING_PER_TERM / len(claim_weights),
                )
            )
        self._terms = terms

    def candidates(self, doc: AnalyzedArticle) -> tuple[list[int], float]:
        """The claims (indices, ascending) whose pair with the article may reach their floor, and the
        article's :func:`~watcher.match.lexical.document_norm` (0.0 when there are none)."""
        postings = self._postings
        hits = [(found, key, mask) for key, mask in doc.positions.items() if (found := postings.get(key))]
        stats = self._stats
        if not hits or stats is None:
            return [], 0.0
        norm = document_norm(doc, stats)
        idf_of = self._idf
        top_factor = max(doc.factors, default=0.0)
        terms = self._terms
        sums: dict[int, float] = {}
        get = sums.get
        for found, key, mask in hits:
            idf = idf_of[key]
            per_tf = TF[min(mask.bit_count(), _TF_TOP)] / norm
            in_lead = mask & LEAD_MASK
            for qi, boost, place in found:
                bases, lead, best, cosine, per_term = terms[qi]
                weight = boost * idf
                base = bases[place]
                if in_lead:
                    base += lead
                sums[qi] = (
                    get(qi, 0.0) + weight * (base + best * top_factor + weight * cosine * per_tf) + per_term
                )
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
        if not keywords_found(entry.query, doc):
            return False  # scores NOTHING_SHARED, below the floor
        terms = entry.query.terms
        get = doc.positions.get
        masks = [get(t, 0) for t in terms]
        covered = dot = lead = rare = 0.0
        found = union = adjacent = previous = 0
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
                if mask & previous:
                    adjacent += 1
            previous = mask
        total = entry.total
        coverage = covered / total
        # First, no sentence scores more than its length factor times the share of the claim it holds.
        factors = doc.factors
        top_factor = 0.0
        while union:
            low = union & -union
            factor = factors[low.bit_length() - 1]
            if factor > top_factor:
                top_factor = factor
            union ^= low
        claim_terms = len(masks)
        cosine = dot / (entry.norm * doc_norm)
        lead /= total
        rare /= entry.heavy_total
        pairs = adjacent / (claim_terms - 1) if claim_terms > 1 else 0.0
        need = entry.floor - MARGIN
        ceiling = scorer.lexical_ceiling(
            coverage,
            found,
            claim_terms,
            cosine,
            lead=lead,
            rare=rare,
            pairs=pairs,
            best=coverage * top_factor,
        )
        if ceiling < need:
            return False
        # Then the best sentence, as lexical_features scores it.
        best = _best_sentence(terms, masks, entry.weights, doc) / total
        ceiling = scorer.lexical_ceiling(
            coverage, found, claim_terms, cosine, lead=lead, rare=rare, pairs=pairs, best=best
        )
        return ceiling >= need


def _best_sentence(
    terms: Sequence[str], masks: Sequence[int], weights: Sequence[float], doc: AnalyzedArticle
) -> float:
    """The largest length factor times claim weight held of the article's sentences."""
    occurrences = doc.occurrences
    sums: dict[int, float] = {}  # sentence -> weight of the claim terms in it
    held = sums.get
    for term, mask, weight in zip(terms, masks, weights, strict=True):
        if mask:
            where = occurrences.get(term)
            if where is None:
                where = occurrences[term] = sentence_indices(mask)
            for i in where:
                sums[i] = held(i, 0.0) + weight
    factors = doc.factors
    return max(weight * factors[i] for i, weight in sums.items())


def _entry(query: ClaimQuery, weights: tuple[float, ...], floor: float) -> _Entry:
    shape = weight_shape(weights)
    return _Entry(
        query=query,
        weights=weights,
        shape=shape,
        total=shape.total,
        norm=shape.norm,
        heavy=tuple(i in shape.heavy for i in range(len(weights))),
        heavy_total=shape.heavy_total,
        floor=floor,
    )
