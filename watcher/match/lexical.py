"""Lexical stage: claim terms against article sentences, BM25-style, cheap enough for every article."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import operator
from collections.abc import Collection, Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

from watcher.domain import Article, Claim
from watcher.text.language import claim_language
from watcher.text.normalize import Normalizer, clean_text
from watcher.text.sentences import split_sentences
from watcher.text.tokens import WORD_OR_NUMBER, tokens

logger = logging.getLogger(__name__)

# Term boosts. Figures tell one story from another. Names do too, but the IDF already weighs
# them, and boosting capitalised words made articles that merely name the same country or
# organisation score higher (measured on FNC-1 and on the realistic mix of bench/match.py).
NUMBER_BOOST = 1.5
KEYWORD_BOOST = 2.0
# BM25 saturation and length normalisation, applied per sentence (term frequency is nearly
# always 1 in a sentence, so only the length part matters in practice).
BM25_K1 = 1.2
BM25_B = 0.75
# The largest length factor a sentence can get (one with no key at all): no sentence scores more
# than this times the claim's weight it holds.
MAX_LENGTH_FACTOR = (BM25_K1 + 1.0) / (1.0 + BM25_K1 * (1.0 - BM25_B))
# Sentences of the lead: a news story states its subject in the title and first sentences.
# Dampened term frequency (1 + ln tf) by the number of sentences holding a key, flat from 63 sentences on;
# indexed by a count of sentences, so no article is read past its last entry (analyze_article).
TF_FLAT_FROM = 63
TF = tuple(1.0 + math.log(min(n, TF_FLAT_FROM)) if n else 0.0 for n in range(4096))
_TF_SQUARED = tuple(t * t for t in TF)
_ZEROS = itertools.repeat(0)  # map(dict.get, keys, _ZEROS): 0 for a missing key
# The cosine of a claim with a short article (a brief, a headline) is high whatever the article
# is about: its norm counts as at least that of a short news story (the first quartile of the
# FNC-1 bodies, with the reference statistics).
DOC_NORM_FLOOR = 40.0
LEAD_SENTENCES = 3
LEAD_MASK = (1 << LEAD_SENTENCES) - 1
WINDOW = 3  # _best_window unrolls the union of a window's sentences
MIN_CLAIM_TERMS_FOR_BREADTH = 2
# LexicalFeatures.rare: the claim's heaviest terms (by boost x IDF), which name what it is about.
RARE_TERMS = 3
# Document frequencies of English match keys in a reference corpus, shipped with the package
# (written by ``bench/match.py --write-df``), so that a matcher weighs rare words above common
# ones before it has seen a single article.
REFERENCE_DF = Path(__file__).with_name("df.json")
REFRESH_SHARE = 0.01
# IDF weights kept between changes of the counts: a bound on their memory.
MAX_CACHED_WEIGHTS = 500_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimQuery:
    """A claim compiled for the lexical stage: its distinct match keys and their boosts."""

    claim: Claim
    lang: str
    terms: tuple[str, ...]
    boosts: tuple[float, ...]
    keywords: tuple[tuple[str, ...], ...]  # user key terms as key sequences; one must occur
    # A claim of two parts (see claim_parts): the part, 0 or 1, of each term (-1: a key term's alone); else empty.
    parts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyzedArticle:
    """An article split into sentences (the title first) and where each match key occurs."""

    article: Article
    lang: str
    sentences: tuple[str, ...]
    positions: dict[str, int]  # match key -> bit mask of the sentences it occurs in
    factors: tuple[float, ...]  # BM25 length factor of each sentence
    # Match key -> the sentences it occurs in, ascending: filled as claims ask for them.
    occurrences: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def vocabulary(self) -> KeysView[str]:
        return self.positions.keys()


@dataclass(frozen=True, slots=True, kw_only=True)
class LexicalFeatures:
    """How much of a claim's weighted terms an article covers, overall and locally, each 0..1."""

    coverage: float  # anywhere in the article
    best: float  # best single sentence, BM25-normalised
    window: float  # best run of WINDOW consecutive sentences
    lead: float  # title and first sentences
    cosine: float = 0.0  # TF-IDF cosine of the whole claim and the whole article
    share: float = 0.0  # unweighted share of the claim's terms found anywhere
    pairs: float = 0.0  # share of adjacent claim-term pairs found together in one sentence
    rare: float = 0.0  # share of the weight of the claim's RARE_TERMS heaviest terms found anywhere
    # The claim has two parts ("Putin" and "dead") and the article holds words of one only: see claim_parts.
    one_of_two: bool = False
    terms: int = 0  # distinct claim terms in the best window
    claim_terms: int = 0  # distinct terms of the claim
    sentence_scores: tuple[tuple[int, float], ...] = ()  # (sentence index, score), non-zero only

    @property
    def thin(self) -> bool:
        """Whether a single term carries the match of a claim that has several: an article that
        merely names the same country or organisation is not about the claim."""
        return self.claim_terms >= MIN_CLAIM_TERMS_FOR_BREADTH and self.terms < 2

    @property
    def window_share(self) -> float:
        """Unweighted share of the claim's terms in the best window of sentences."""
        return self.terms / self.claim_terms if self.claim_terms else 0.0

    @property
    def inverse_terms(self) -> float:
        """1 / number of claim terms: a short claim is matched by fewer words, and by chance more often."""
        return 1.0 / self.claim_terms if self.claim_terms else 0.0


NO_FEATURES = LexicalFeatures(coverage=0.0, best=0.0, window=0.0, lead=0.0)


class WeightShape(NamedTuple):
    """What :func:`lexical_features` reads of a claim's term weights as a whole."""

    total: float
    norm: float  # Euclidean norm
    heavy: tuple[int, ...]  # the RARE_TERMS heaviest terms (the first of equal ones)
    heavy_total: float


def weight_shape(weights: Sequence[float]) -> WeightShape:
    heavy = tuple(sorted(range(len(weights)), key=weights.__getitem__, reverse=True)[:RARE_TERMS])
    return WeightShape(
        total=sum(weights),
        norm=math.sqrt(sum(map(operator.mul, weights, weights))),
        heavy=heavy,
        heavy_total=sum(map(weights.__getitem__, heavy)),
    )


@dataclass(frozen=True, slots=True)
class Reference:
    """Document frequencies from a reference corpus: ``docs`` documents, ``df`` key -> count."""

    docs: int
    df: Mapping[str, int]


NO_REFERENCE = Reference(0, {})


@functools.cache
def reference_frequencies(path: Path = REFERENCE_DF) -> Reference:
    """The shipped reference document frequencies; empty (and logged) when the file is missing."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Reference(int(raw["docs"]), {str(k): int(v) for k, v in raw["df"].items()})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("no reference term statistics (%s): term weights start flat", exc)
        return NO_REFERENCE


class CorpusStats:
    """Document frequencies of match keys over the articles seen, for IDF term weights.

    The counts start from a reference corpus (:func:`reference_frequencies`) and add the
    articles seen. Stream counts are halved whenever ``window`` more articles have been seen,
    so the statistics follow the news of the day and stay bounded in memory; the reference
    counts stay. A small prior keeps every weight finite and positive.

    :meth:`idf` reads the counts as they are, so a weight does not depend on when it is first asked
    for. Callers that keep weights (the matcher its claims') renew them when ``version`` changes:
    once the articles seen since its last change reach REFRESH_SHARE of the documents counted (a
    batch or two hardly changes an IDF).
    """

    def __init__(
        self,
        *,
        window: int = 20_000,
        prior_docs: float = 50.0,
        prior_share: float = 0.02,
        reference: Reference | None = None,
    ) -> None:
        self._window = window
        self._reference = reference_frequencies() if reference is None else reference
        self._prior_docs = prior_docs + self._reference.docs
        self._prior_df = prior_docs * prior_share
        self._df: dict[str, int] = {}
        self._docs = 0
        self._idf: dict[str, float] = {}
        self._pending = 0  # articles counted since the weights last moved
        self.version = 0

    def observe(self, vocabularies: Iterable[Iterable[str]]) -> None:
        """Count each vocabulary (the distinct keys of one article) once."""
        df = self._df
        for vocabulary in vocabularies:
            for key in vocabulary:
                df[key] = df.get(key, 0) + 1
            self._docs += 1
            self._pending += 1
            if self._docs >= 2 * self._window:
                self._decay()
        # A weight read now must not differ from one read before (which an index may not have asked
        # for): the weights computed so far are for counts that no longer hold.
        self._idf = {}
        if self._pending and self._pending >= REFRESH_SHARE * (self._docs + self._prior_docs):
            self._pending = 0
            self.version += 1

    def idf(self, key: str) -> float:
        """Smoothed inverse document frequency; always positive."""
        return self.idfs((key,))[0]

    def idfs(self, keys: Iterable[str]) -> list[float]:
        """:meth:`idf` of each key, in order: one pass for the keys of an article or of every claim, the weights
        kept until the counts next change."""
        found = self._idf
        if len(found) >= MAX_CACHED_WEIGHTS:
            found.clear()
        df, reference = self._df, self._reference.df
        docs = self._docs + self._prior_docs
        prior = self._prior_df
        log = math.log
        out = []
        for key in keys:
            idf = found.get(key)
            if idf is None:
                idf = found[key] = log(docs / (df.get(key, 0) + reference.get(key, 0) + prior))
            out.append(idf)
        return out

    def weighted_square_sum(self, positions: Mapping[str, int]) -> float:
        """Sum over the keys of idf² times the squared dampened term frequency of the sentences holding each
        (a bit mask): :func:`document_norm` squared, for every key of every article."""
        total = 0.0
        for idf, mask in zip(self.idfs(positions), positions.values(), strict=True):
            total += idf * idf * _TF_SQUARED[mask.bit_count()]
        return total

    def _decay(self) -> None:
        self._df = {k: v // 2 for k, v in self._df.items() if v > 1}
        self._docs //= 2
        logger.debug("corpus statistics decayed to %d documents, %d terms", self._docs, len(self._df))


def compile_claim(claim: Claim, default_language: str, allowed: Collection[str] | None = None) -> ClaimQuery:
    """Compile a claim's text and key terms into a :class:`ClaimQuery`.

    The claim's language is its own, else the detector's when sure, else ``default_language``;
    ``allowed`` caps the lemmatiser languages (see ``lemma_language``).
    """
    text = clean_text(claim.text)
    lang = claim_language(claim.language, text, default_language)
    norm = Normalizer(lang, allowed)
    boosts: dict[str, float] = {}
    for word in tokens(text):
        key = norm.key(word)
        if key is not None:
            boost = NUMBER_BOOST if key[0].isdigit() else 1.0
            boosts[key] = max(boosts.get(key, 0.0), boost)
    keywords: list[tuple[str, ...]] = []
    for phrase in claim.keywords:
        keys = tuple(norm.keys(clean_text(phrase)))
        if not keys:
            continue
        keywords.append(keys)
        for key in keys:
            boosts[key] = max(boosts.get(key, 0.0), KEYWORD_BOOST)
    terms = tuple(boosts)
    parts = claim_parts(text, norm)
    return ClaimQuery(
        claim=claim,
        lang=lang,
        terms=terms,
        boosts=tuple(boosts.values()),
        keywords=tuple(keywords),
        parts=tuple(parts.get(term, -1) for term in terms) if len(set(parts.values())) == 2 else (),
    )


def claim_parts(text: str, norm: Normalizer) -> dict[str, int]:
    """The part of the claim each match key of ``text`` belongs to, numbered from 0 in order.

    A name written in capitals over several words ("Kim Jong-un", "Pope Francis") is one part; every other
    word is a part of its own. A claim of two parts ("Putin is dead", "Apple is bankrupt", "Kim Jong-un has
    died") says one thing of one subject: an article that holds words of one part only (every story naming
    Putin) is not about it, however often it names him, and the lexical stage does not match it alone
    (Matcher: the semantic stage decides, when there is one).
    """
    parts: dict[str, int] = {}
    count = 0
    in_name = False
    words = [(token, norm.key(token.group())) for token in WORD_OR_NUMBER.finditer(text)]
    gaps = [text[a.end() : b.start()] for (a, _), (b, _) in itertools.pairwise(words)]
    # In a headline written in title case or in capitals, capitals mark no names: every word is a part.
    names = any(
        key is not None and token.group()[:1].islower() and gap[-1:].isspace()
        for (token, key), gap in zip(words[1:], gaps, strict=True)
    )
    keyed = False  # whether the word before has a key
    for (token, key), gap in zip(words, [" ", *gaps], strict=True):
        word = token.group()
        # The same part: the rest of a hyphenated word ("Zehaf-Bibeau"), or a capitalised word that goes on a name.
        goes_on = (keyed and gap in ("-", "\u2010", "\u2011")) or (
            names and in_name and gap.isspace() and word[:1].isupper()
        )
        if key is not None:
            if not goes_on:
                count += 1
            parts.setdefault(key, count - 1)
        in_name = key is not None and word[:1].isupper()
        keyed = key is not None
    return parts


def analyze_article(article: Article, norm: Normalizer, max_sentences: int) -> AnalyzedArticle:
    """Split an article into sentences, title first, and find where each match key occurs.

    :param norm: the normaliser of the article's language; the caller keeps it, and its cache.
    """
    lang = norm.lang
    sentences: list[str] = []
    title = clean_text(article.title).strip()
    if title:
        sentences.append(title)
    max_sentences = min(max_sentences, len(TF) - 1)
    sentences.extend(
        split_sentences(clean_text(article.text), lang)[: max(max_sentences - len(sentences), 0)]
    )
    positions: dict[str, int] = {}
    lengths: list[int] = []
    for i, sentence in enumerate(sentences):
        keys = norm.key_set(sentence)
        lengths.append(len(keys))
        bit = 1 << i
        for key in keys:
            positions[key] = positions.get(key, 0) | bit
    avg = max(sum(lengths) / len(lengths), 1.0) if lengths else 1.0
    return AnalyzedArticle(
        article=article,
        lang=lang,
        sentences=tuple(sentences),
        positions=positions,
        factors=tuple(_length_factor(n, avg) for n in lengths),
    )


def claim_weights(query: ClaimQuery, stats: CorpusStats) -> tuple[float, ...]:
    """The weight of each claim term: its boost times its IDF."""
    return tuple(b * stats.idf(t) for t, b in zip(query.terms, query.boosts, strict=True))


def keywords_found(query: ClaimQuery, doc: AnalyzedArticle) -> bool:
    """Whether one of the claim's key terms occurs; a phrase must occur within one sentence."""
    if not query.keywords:
        return True
    positions = doc.positions
    for phrase in query.keywords:
        mask = -1
        for key in phrase:
            mask &= positions.get(key, 0)
        if mask:
            return True
    return False


def document_norm(doc: AnalyzedArticle, stats: CorpusStats) -> float:
    """Euclidean norm of the article's TF-IDF vector (term frequency: sentences holding the key,
    dampened), the denominator of :attr:`LexicalFeatures.cosine`; at least DOC_NORM_FLOOR."""
    return max(math.sqrt(stats.weighted_square_sum(doc.positions)), DOC_NORM_FLOOR)


class Ceiling(Protocol):
    """``scorer.pair_ceiling``: the highest lexical log-odds a pair can reach, given all its features but
    the window (at most the coverage), whose work is left to last."""

    def __call__(
        self,
        coverage: float,
        terms_found: int,
        claim_terms: int,
        cosine: float,
        lead: float,
        rare: float,
        pairs: float,
        best: float,
        /,
    ) -> float: ...


def lexical_features(
    query: ClaimQuery,
    weights: Sequence[float],
    doc: AnalyzedArticle,
    doc_norm: float = 0.0,
    shape: WeightShape | None = None,
) -> LexicalFeatures:
    """Score one claim against one analysed article.

    :param doc_norm: :func:`document_norm` of the article; 0 leaves the cosine out.
    :param shape: :func:`weight_shape` of ``weights``, for callers that keep it.
    """
    features = _features(query, weights, doc, doc_norm, shape)
    assert features is not None
    return features


def lexical_features_reaching(
    query: ClaimQuery,
    weights: Sequence[float],
    doc: AnalyzedArticle,
    doc_norm: float,
    shape: WeightShape | None,
    floor: float,
    ceiling: Ceiling,
) -> LexicalFeatures | None:
    """:func:`lexical_features`, or None once the sentences show that the pair's lexical log-odds stay
    below ``floor``: ``ceiling`` of every feature but the window (the last worked out) is below it."""
    return _features(query, weights, doc, doc_norm, shape, floor, ceiling)


def _features(
    query: ClaimQuery,
    weights: Sequence[float],
    doc: AnalyzedArticle,
    doc_norm: float,
    shape: WeightShape | None,
    floor: float = -math.inf,
    ceiling: Ceiling | None = None,
) -> LexicalFeatures | None:
    # Called for every candidate pair: plain loops over the claim's terms, the figures summed in the
    # order of the terms (the features do not depend on how they were worked out).
    if shape is None:
        shape = weight_shape(weights)
    total = shape.total
    masks = list(map(doc.positions.get, query.terms, _ZEROS))
    if total <= 0.0 or not any(masks) or (query.keywords and not keywords_found(query, doc)):
        return NO_FEATURES
    count = len(doc.sentences)
    sums = [0.0] * count  # sentence -> weight of the claim terms in it
    found = [0] * (count + WINDOW)  # sentence -> bit mask of the claim terms in it (padded)
    present_weights: list[float] = []
    covered = lead = dot = 0.0
    union = 0
    occurrences = doc.occurrences
    flag = 1
    for term, mask, weight in zip(query.terms, masks, weights, strict=True):
        if not mask:
            continue
        present_weights.append(weight)
        covered += weight
        union |= mask
        if mask & LEAD_MASK:
            lead += weight
        dot += weight * weight * TF[mask.bit_count()]
        where = occurrences.get(term)
        if where is None:
            where = occurrences[term] = sentence_indices(mask)
        for i in where:
            sums[i] += weight
            found[i] |= flag
        flag <<= 1
    held = sentence_indices(union)
    scores, best = _sentence_scores(held, sums, total, doc.factors)
    adjacent = sum(map(bool, map(operator.and_, masks, itertools.islice(masks, 1, None))))
    heavy_total = shape.heavy_total
    rare = sum(weights[i] for i in shape.heavy if masks[i]) / heavy_total if heavy_total > 0.0 else 0.0
    cosine = 0.0
    if doc_norm > 0.0:
        cosine = min(dot / (shape.norm * doc_norm), 1.0)
    coverage = covered / total
    terms_found = len(present_weights)
    claim_terms = len(masks)
    pairs = adjacent / (claim_terms - 1) if claim_terms > 1 else 0.0
    if ceiling is not None:
        reach = ceiling(coverage, terms_found, claim_terms, cosine, lead / total, rare, pairs, best)
        if reach < floor:
            return None
    window, terms = _best_window(found, held, present_weights)
    parts = query.parts
    return LexicalFeatures(
        coverage=coverage,
        best=best,
        window=window / total,
        lead=lead / total,
        cosine=cosine,
        share=terms_found / claim_terms,
        pairs=pairs,
        rare=rare,
        one_of_two=bool(parts) and len({parts[i] for i, mask in enumerate(masks) if mask} - {-1}) < 2,
        terms=terms,
        claim_terms=claim_terms,
        sentence_scores=tuple(scores),
    )


def _sentence_scores(
    held: Sequence[int], sums: Sequence[float], total: float, factors: Sequence[float]
) -> tuple[list[tuple[int, float]], float]:
    """(sentence, score) for the sentences holding claim terms, and the best score: the claim's weight a
    sentence holds, as a share of the claim's, times its length factor, at most 1."""
    scores = []
    best = 0.0
    for i in held:
        score = sums[i] / total * factors[i]
        if score > 1.0:
            score = 1.0
        if score > best:
            best = score
        scores.append((i, score))
    return scores, best


def sentence_indices(mask: int) -> tuple[int, ...]:
    """The sentences (bit positions) of a mask, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return tuple(out)


def _best_window(found: list[int], held: Sequence[int], weights: list[float]) -> tuple[float, int]:
    """Weight and distinct-term count of the best run of WINDOW sentences (the first best one).

    :param found: sentence -> bit mask of the claim terms it holds (bits index ``weights``), padded
        with WINDOW empty sentences; ``held``: the sentences that hold one, ascending.
    """
    if len(weights) == 1:
        return weights[0], 1  # every window holding a sentence holds the one term
    full = (1 << len(weights)) - 1
    memo: dict[int, float] = {}
    best, best_mask = 0.0, 0
    last = -1  # the last start tried: windows start at or before a sentence that holds a term
    for i in held:
        for start in range(max(i - WINDOW + 1, last + 1, 0), i + 1):
            union = found[start] | found[start + 1] | found[start + 2]
            if union == best_mask:
                continue
            weight = memo.get(union)
            if weight is None:
                weight = 0.0
                bits = union
                while bits:  # in the order of the terms, as the weights were summed before
                    low = bits & -bits
                    weight += weights[low.bit_length() - 1]
                    bits ^= low
                memo[union] = weight
            if weight > best:
                best, best_mask = weight, union
                if union == full:
                    return best, len(weights)  # no window weighs more than all the terms
        last = i
    return best, best_mask.bit_count()


def _length_factor(length: int, avg_length: float) -> float:
    # BM25's term-frequency factor for tf = 1, scaled to 1 for a sentence of average length:
    # a short sentence that states the claim beats a long one that merely mentions its terms.
    return (BM25_K1 + 1.0) / (1.0 + BM25_K1 * (1.0 - BM25_B + BM25_B * length / avg_length))
