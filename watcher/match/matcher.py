"""The claim matcher: every article of a batch against every active claim, lexical then semantic."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from watcher.domain import Article, Claim, ClaimStatus, MatchScore
from watcher.match import scorer
from watcher.match.index import ClaimIndex
from watcher.match.lexical import (
    LEAD_SENTENCES,
    NO_FEATURES,
    AnalyzedArticle,
    ClaimQuery,
    CorpusStats,
    LexicalFeatures,
    analyze_article,
    claim_weights,
    compile_claim,
    document_norm,
    keywords_found,
    lexical_features,
    lexical_features_reaching,
)
from watcher.match.semantic import (
    BACKENDS,
    DEFAULT_MODEL,
    DEFAULT_SENTENCE_CACHE,
    ClaimVectors,
    Embedder,
    MatchError,
    SentenceCache,
)
from watcher.text.language import UNDETERMINED, analysis_language
from watcher.text.normalize import Normalizer, clean_text

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

SEMANTIC_TOP = 3  # sentences averaged for ScoredPair.semantic_mean
# Scores are stored rounded to 4 places, and compared with the threshold as stored: a pair this far below
# its threshold cannot reach it.
MATCH_FLOOR_SLACK = 1e-4
# Without a semantic stage, a pair whose article holds one part of a two-part claim scores at most this below the
# claim's threshold (see _finish): no match, and shown as none at three decimals.
ONE_PART_MARGIN = 1e-3


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchSettings:
    """Matcher knobs; the defaults are the calibrated ones."""

    model: str | None = DEFAULT_MODEL  # sentence-transformers name or path; None: lexical only
    threshold: float = scorer.DEFAULT_THRESHOLD  # for claims whose own threshold is None
    # The semantic stage looks at pairs whose lexical score lies in [candidate_floor,
    # semantic_ceiling): below, the article shares too little with the claim to be about it;
    # above, the words settle it. The defaults (thresholds.json) put the band 2 log-odds either
    # side of the lexical threshold, so pairs with weak but present lexical evidence are embedded
    # (about a third of the articles against 100 claims on FNC-1). A lower floor catches more
    # paraphrases and embeds more articles.
    candidate_floor: float = scorer.CANDIDATE_FLOOR
    semantic_ceiling: float = scorer.SEMANTIC_CEILING
    batch_size: int = (
        32  # sentences per encoder batch (onnx-int8 encodes each alone: see semantic.OnnxEmbedder)
    )
    max_sentences: int = 80  # sentences read per article (the title counts as one)
    # Sentences embedded per article at most: the title and lead, then the sentences that hold words of the
    # claims the stage scores, best first.
    semantic_sentences: int = 16
    # Also embed sentences without any claim word, reading on from the lead up to semantic_sentences (the
    # behaviour before sentence selection): a third more encoder work for paraphrases that share no word.
    semantic_read_on: bool = False
    backend: str = "torch"  # torch | onnx | onnx-int8 (semantic.load_embedder)
    onnx_dir: str | None = None  # where the ONNX export is kept; None: semantic.onnx_folder(model)
    sentence_cache: int = DEFAULT_SENTENCE_CACHE  # sentence vectors kept by content; 0: none
    evidence_sentences: int = 3
    default_language: str = "en"  # for articles whose language is "und"
    # Languages whose lemmatiser dictionaries may load (simplemma loads one whole, Polish about 420 MiB);
    # others are matched by their words as written. None: any language in use.
    languages: frozenset[str] | None = None
    # Send articles in another language than the claim's to the semantic stage even without
    # shared words; only useful with a multilingual model (see semantic.MULTILINGUAL_MODEL).
    cross_lingual: bool = False
    stats_window: int = 20_000  # articles after which term statistics start to decay
    # Title-only items (a title, no text) get the false-match budget of bodies: their scores are raised by
    # scorer.TITLE_ONLY_BOOST_* log-odds (off at the flood-safe point, where every kind stays under 2 per 10k).
    title_only_boost: bool = True

    def __post_init__(self) -> None:
        for name in ("threshold", "candidate_floor", "semantic_ceiling"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise MatchError(f"{name} must be within 0..1, got {value}")
        for name in ("batch_size", "max_sentences", "semantic_sentences", "evidence_sentences"):
            if getattr(self, name) < 1:
                raise MatchError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.backend not in BACKENDS:
            raise MatchError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.sentence_cache < 0:
            raise MatchError(f"sentence_cache must be at least 0, got {self.sentence_cache}")

    def flood_safe(self) -> MatchSettings:
        """These settings at the flood-safe operating point (``matching.precision: high``).

        The default point misses fewer related articles (held-out FNC-1 recall 0.86) at about 20 false
        matches per claim per 10,000 unrelated articles; this one holds that rate to 2 (recall 0.48): a
        higher threshold (lexical-only: a slightly higher one) and the semantic band moved up with it.
        """
        lexical_only = self.model is None
        threshold = scorer.FLOOD_SAFE_LEXICAL_THRESHOLD if lexical_only else scorer.FLOOD_SAFE_THRESHOLD
        return replace(
            self,
            threshold=threshold,
            candidate_floor=scorer.FLOOD_SAFE_FLOOR,
            semantic_ceiling=scorer.FLOOD_SAFE_CEILING,
            title_only_boost=False,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredPair:
    """Everything the matcher knows about one (claim, article) pair, for dry runs and calibration."""

    claim: Claim
    article_id: int
    features: LexicalFeatures
    lexical: float  # lexical-only score, 0..1
    semantic: float | None  # best claim-sentence cosine; None when the stage did not run
    score: float
    matched: bool
    evidence: tuple[str, ...]
    semantic_mean: float | None = None  # claim against the mean of its best sentences

    def to_match_score(self) -> MatchScore:
        return MatchScore(
            claim_id=self.claim.id,
            article_id=self.article_id,
            score=self.score,
            lexical=round(self.lexical, 4),
            semantic=round(self.semantic, 4) if self.semantic is not None else None,
            evidence=self.evidence,
            matched=self.matched,
            one_part=self.features.one_of_two,
        )


def _title_only(article: Article) -> bool:
    """A title and no text: the item is its headline (many RSS items are). Called per pair: no copies of
    the text are made."""
    return (
        bool(article.title) and not article.title.isspace() and (not article.text or article.text.isspace())
    )


@lru_cache(maxsize=64)
def _title_only_match_point(threshold: float) -> float:
    """The lexical score at which a boosted title-only item reaches ``threshold``."""
    return scorer.sigmoid(scorer.logit(threshold) - scorer.TITLE_ONLY_BOOST_LEXICAL)


@dataclass(slots=True)
class _Counters:
    articles_seen: int = 0
    pairs_scored: int = 0  # pairs whose sentences the lexical stage scored
    lexical_candidates: int = 0
    semantic_runs: int = 0
    semantic_pairs: int = 0  # pairs the semantic stage scored
    sentences_embedded: int = 0  # sent to the encoder
    sentence_cache_hits: int = 0  # sentences the semantic stage needed and found in the cache
    semantic_s: float = 0.0  # wall time in the semantic stage (encoder and cosines)
    matches: int = 0


@dataclass(slots=True)
class _Pair:
    """One claim under consideration for one article, filled in stage by stage."""

    query: ClaimQuery
    features: LexicalFeatures
    lexical: float
    cross_lingual: bool = False
    semantic: float | None = None
    semantic_mean: float | None = None
    cosines: dict[int, float] | None = None


@dataclass(slots=True)
class _Doc:
    analyzed: AnalyzedArticle
    pairs: list[_Pair] = field(default_factory=list)


class Matcher:
    """Matches articles against claims; pure CPU work, run it in a thread from async code.

    Term statistics are learnt from the articles passed to :meth:`match`, so a long-running
    matcher weighs rare words above common ones. Not thread-safe: one call at a time.
    """

    def __init__(
        self,
        claims: Sequence[Claim],
        settings: MatchSettings,
        embedder: Embedder | None = None,
        *,
        all_pairs: bool = False,
    ) -> None:
        """:param all_pairs: score every article against every claim instead of looking the claims up in
        the claim index; the decisions are the same (the reference the index is checked against).
        """
        self._settings = settings
        self._all_pairs = all_pairs
        self._embedder = embedder
        self._claim_vectors = ClaimVectors(embedder) if embedder is not None else None
        self._claims_embedded = False
        self._sentence_cache = (
            SentenceCache(settings.sentence_cache)
            if embedder is not None and settings.sentence_cache
            else None
        )
        self._stats = CorpusStats(window=settings.stats_window)
        self._normalizers: dict[str, Normalizer] = {}
        self._counters = _Counters()
        self._queries = [
            compile_claim(c, settings.default_language, settings.languages)
            for c in claims
            if c.status != ClaimStatus.PAUSED
        ]
        self._weights: list[tuple[float, ...]] = []
        self._index = ClaimIndex(
            self._queries,
            [self._floor(q) for q in self._queries],
            [self._floor(q, strict=True) for q in self._queries],
        )
        self._weights_version = -1
        if embedder is None:
            logger.info("matching %d claims lexically (semantic stage off)", len(self._queries))
        else:
            logger.info("matching %d claims, semantic model %s", len(self._queries), embedder.name)

    def with_claims(self, claims: Sequence[Claim]) -> Matcher:
        """A matcher for a new set of claims that keeps this one's term statistics and caches."""
        other = Matcher(claims, self._settings, self._embedder, all_pairs=self._all_pairs)
        other._stats = self._stats
        other._normalizers = self._normalizers
        other._claim_vectors = self._claim_vectors
        other._sentence_cache = self._sentence_cache
        return other

    def is_candidate(self, article: Article, min_shared: int = 2) -> bool:
        """The cheap prefilter for fetching an article's page: it shares at least ``min_shared`` match keys
        (all of them, for a claim with fewer) with some active claim, or mentions one of its key terms.

        Learns nothing; reads only the normalised words, so a title and a line are enough.
        """
        if not self._queries:
            return False
        keys = self._analyze(article).positions.keys()
        for qi, shared in self._index.shared(keys).items():
            query = self._queries[qi]
            if shared >= min(min_shared, len(query.terms)):
                return True
            if any(all(k in keys for k in phrase) for phrase in query.keywords):
                return True
        return False

    def observe(self, articles: Sequence[Article]) -> None:
        """Learn term statistics from articles without matching them (to warm up a new matcher)."""
        self._stats.observe(self._analyze(a).vocabulary for a in articles)

    def match(self, articles: Sequence[Article]) -> list[MatchScore]:
        """Score a batch of articles against every active claim; return the matched pairs."""
        return [p.to_match_score() for p in self._score(articles, matches_only=True) if p.matched]

    def score_pairs(self, articles: Sequence[Article]) -> list[ScoredPair]:
        """:meth:`match`, but every pair that reached the candidate floor, matched or not.

        Pairs left out scored below ``candidate_floor`` (and below any threshold above it).
        """
        return self._score(articles, matches_only=False)

    def _score(self, articles: Sequence[Article], *, matches_only: bool) -> list[ScoredPair]:
        """:meth:`score_pairs`; with ``matches_only``, pairs that cannot match may be left out as well."""
        docs = [_Doc(self._analyze(a)) for a in articles]
        self._stats.observe(d.analyzed.vocabulary for d in docs)
        self._refresh_weights()
        # Without the semantic stage a pair's score is its lexical score (raised for a title-only item):
        # when only matches are wanted, a pair below the claim's threshold is worth nothing, and the
        # index leaves it out as it does pairs below the candidate floor.
        lexical_only = matches_only and self._embedder is None
        for doc in docs:
            strict = lexical_only and not (
                self._settings.title_only_boost and _title_only(doc.analyzed.article)
            )
            doc.pairs = self._candidates(doc.analyzed, strict)
        started = time.perf_counter()
        embedded, sentences, hits = self._run_semantic(docs)
        self._counters.semantic_pairs += sum(p.semantic is not None for d in docs for p in d.pairs)
        semantic_s = time.perf_counter() - started if embedded else 0.0
        results = [self._finish(pair, doc.analyzed) for doc in docs for pair in doc.pairs]
        matched = sum(1 for r in results if r.matched)
        counters = self._counters
        counters.articles_seen += len(docs)
        counters.lexical_candidates += len(results)
        counters.semantic_runs += embedded
        counters.sentences_embedded += sentences
        counters.sentence_cache_hits += hits
        counters.semantic_s += semantic_s
        counters.matches += matched
        logger.debug(
            "matched %d articles against %d claims: %d matches", len(docs), len(self._queries), matched
        )
        return results

    def score(self, claim: Claim, article: Article) -> MatchScore:
        """Score one pair whatever the claim's status, for dry runs; learns and counts nothing."""
        query = compile_claim(claim, self._settings.default_language, self._settings.languages)
        doc = _Doc(self._analyze(article))
        norm = document_norm(doc.analyzed, self._stats)
        features = lexical_features(query, claim_weights(query, self._stats), doc.analyzed, norm)
        pair = self._pair(query, features, doc.analyzed)
        if pair is not None:
            doc.pairs = [pair]
            self._run_semantic([doc])
        else:
            pair = _Pair(query, features, scorer.lexical_probability(features))
        return self._finish(pair, doc.analyzed).to_match_score()

    def stats(self) -> dict[str, int]:
        """Counters since creation: articles_seen, pairs_scored (pairs whose sentences the lexical
        stage scored: the claim index's candidates), lexical_candidates (pairs that reached the
        candidate floor; in :meth:`match` without the semantic stage, their threshold), semantic_runs
        (articles embedded), semantic_pairs (pairs the semantic stage scored), sentences_embedded
        (sentences encoded), sentence_cache_hits (sentences found in the sentence cache instead), semantic_ms (wall
        milliseconds spent in the semantic stage: its cost is semantic_ms / articles_seen per
        article, and semantic_runs / articles_seen the share of articles it sees), matches."""
        c = self._counters
        return {
            "articles_seen": c.articles_seen,
            "pairs_scored": c.pairs_scored,
            "lexical_candidates": c.lexical_candidates,
            "semantic_runs": c.semantic_runs,
            "semantic_pairs": c.semantic_pairs,
            "sentences_embedded": c.sentences_embedded,
            "sentence_cache_hits": c.sentence_cache_hits,
            "semantic_ms": round(c.semantic_s * 1000.0),
            "matches": c.matches,
        }

    # -- lexical stage -------------------------------------------------------------------------

    def _analyze(self, article: Article) -> AnalyzedArticle:
        lang = analysis_language(article.language, self._settings.default_language)
        norm = self._normalizers.get(lang)
        if norm is None:
            norm = self._normalizers[lang] = Normalizer(lang, self._settings.languages)
        return analyze_article(article, norm, self._settings.max_sentences)

    def _refresh_weights(self) -> None:
        # IDF weights move with the statistics; recomputing them (and what the claim index needs of
        # them) once per batch is cheap (claims x terms) and leaves lookups as the per-article work.
        if self._weights_version == self._stats.version:
            return
        if self._all_pairs:
            self._weights = [claim_weights(q, self._stats) for q in self._queries]
            self._index.update(self._stats, self._weights)
        else:  # the same weights, from one IDF look-up per distinct key
            self._weights = self._index.update(self._stats)
        self._weights_version = self._stats.version

    def _candidates(self, doc: AnalyzedArticle, strict: bool = False) -> list[_Pair]:
        """The pairs of the article worth finishing; with ``strict`` (lexical only, no boost), only those
        that reach their claim's threshold."""
        # A claim that shares no match key with the article is no candidate for it (unless the
        # semantic stage bridges their languages). The claim index finds the claims that do and
        # whose pair may reach the floor: any other pair scores below it and would be dropped by
        # _pair anyway. Pairs across languages, which the semantic stage may take whatever their
        # lexical score, are all scored.
        cross: set[int] = set()
        if self._settings.cross_lingual and self._embedder is not None:
            cross = {qi for qi, query in enumerate(self._queries) if self._is_cross_lingual(query, doc)}
        if self._all_pairs:
            found: Sequence[int] = range(len(self._queries))
            norm = document_norm(doc, self._stats) if found else 0.0
        else:
            found, norm = self._index.candidates(doc, strict)
            if cross:
                found = sorted({*found, *cross})
                norm = norm or document_norm(doc, self._stats)
        self._counters.pairs_scored += len(found)
        pairs: list[_Pair] = []
        index = self._index
        for qi in found:
            query = self._queries[qi]
            if self._all_pairs:
                features = lexical_features(query, self._weights[qi], doc, norm, index.shape(qi))
                if qi not in cross and not any(t in doc.positions for t in query.terms):
                    continue
            elif qi in cross:  # kept below the floor when it holds the claim's key terms
                features = lexical_features(query, self._weights[qi], doc, norm, index.shape(qi))
            else:
                reaching = lexical_features_reaching(
                    query,
                    self._weights[qi],
                    doc,
                    norm,
                    index.shape(qi),
                    index.floor(qi, strict),
                    scorer.pair_ceiling,
                )
                if reaching is None:  # below the claim's floor: _pair would drop it
                    continue
                features = reaching
            pair = self._pair(query, features, doc, strict)
            if pair is not None:
                pairs.append(pair)
        return pairs

    def _floor(self, query: ClaimQuery, strict: bool = False) -> float:
        """Lexical score below which a pair is dropped: it cannot match, nor is it worth embedding.
        A title-only item's boost lowers the lexical score at which it matches: the floor stays below that.

        With ``strict`` (no semantic stage, no title-only boost: a pair's score is its lexical score), a pair
        cannot match below the claim's threshold, less the rounding of stored scores."""
        threshold = self._threshold(query.claim)
        kept = min(
            self._settings.candidate_floor,
            _title_only_match_point(threshold) if self._settings.title_only_boost else threshold,
        )
        return max(kept, threshold - MATCH_FLOOR_SLACK) if strict else kept

    def _threshold(self, claim: Claim) -> float:
        return claim.threshold if claim.threshold is not None else self._settings.threshold

    def _pair(
        self, query: ClaimQuery, features: LexicalFeatures, doc: AnalyzedArticle, strict: bool = False
    ) -> _Pair | None:
        """A pair worth finishing: lexically plausible (with ``strict``, at its claim's threshold), or in
        another language than the claim when the semantic stage is asked to bridge languages."""
        lexical = scorer.lexical_probability(features)
        cross = self._is_cross_lingual(query, doc)
        if lexical < self._floor(query, strict) and not (cross and keywords_found(query, doc)):
            return None
        return _Pair(query, features, lexical, cross_lingual=cross)

    def _is_cross_lingual(self, query: ClaimQuery, doc: AnalyzedArticle) -> bool:
        if not self._settings.cross_lingual or self._embedder is None:
            return False
        language = doc.article.language
        return bool(language) and language != UNDETERMINED and doc.lang != query.lang

    # -- semantic stage ------------------------------------------------------------------------

    def _wants_semantic(self, pair: _Pair) -> bool:
        if pair.cross_lingual or pair.features.one_of_two:  # the words shared tell too little: see _finish
            return True
        return self._settings.candidate_floor <= pair.lexical < self._settings.semantic_ceiling

    def _run_semantic(self, docs: Sequence[_Doc]) -> tuple[int, int, int]:
        """Embed the chosen sentences of every article that has an undecided pair, in one encoder
        call (less those in the sentence cache), and give each such pair its best claim-sentence cosine.

        Returns the number of articles embedded, of sentences encoded and of sentences found in the cache.
        """
        if self._embedder is None:
            return 0, 0, 0
        todo = [d for d in docs if any(self._wants_semantic(p) for p in d.pairs)]
        if not todo:
            return 0, 0, 0
        if self._claim_vectors is not None and not self._claims_embedded:
            # Every active claim in one encoder call, rather than a few at a time as their pairs come up.
            self._claim_vectors.get([clean_text(q.claim.text) for q in self._queries])
            self._claims_embedded = True
        chosen = [self._choose_sentences(d) for d in todo]
        texts = list(
            dict.fromkeys(d.analyzed.sentences[i] for d, idx in zip(todo, chosen, strict=True) for i in idx)
        )
        cache = self._sentence_cache
        if cache is None:
            matrix, hits = self._embedder.encode(texts), 0
        else:
            before = cache.hits
            matrix = cache.encode(self._embedder, texts)
            hits = cache.hits - before
        vectors = dict(zip(texts, matrix, strict=True))
        for doc, indices in zip(todo, chosen, strict=True):
            self._cosines(doc, indices, vectors)
        return len(todo), len(texts) - hits, hits

    def _choose_sentences(self, doc: _Doc) -> list[int]:
        """The sentences that can matter to the pairs the stage scores: the title and lead, then the
        sentences that hold words of their claims, best first, up to ``semantic_sentences``.

        A pair across languages shares no words: for it, and with ``semantic_read_on``, the rest is
        filled by reading on from the lead.
        """
        count = len(doc.analyzed.sentences)
        cap = self._settings.semantic_sentences
        read_on = self._settings.semantic_read_on
        lead = min(count, LEAD_SENTENCES, cap)
        best: dict[int, float] = {}
        for pair in doc.pairs:
            if not (read_on or self._wants_semantic(pair)):
                continue  # a settled pair: its words count for nothing here
            read_on = read_on or pair.cross_lingual
            for i, s in pair.features.sentence_scores:
                if i >= lead:
                    best[i] = max(best.get(i, 0.0), s)
        chosen = list(range(lead)) + sorted(best, key=lambda i: (-best[i], i))[: cap - lead]
        if read_on and len(chosen) < cap:
            rest = [i for i in range(lead, count) if i not in best]
            chosen.extend(rest[: cap - len(chosen)])
        return sorted(chosen)

    def _cosines(self, doc: _Doc, indices: list[int], vectors: dict[str, NDArray[np.float32]]) -> None:
        import numpy as np

        assert self._claim_vectors is not None
        pairs = [p for p in doc.pairs if self._wants_semantic(p)]
        if not pairs or not indices:
            return
        sentences = np.stack([vectors[doc.analyzed.sentences[i]] for i in indices])
        claims = np.stack(self._claim_vectors.get([clean_text(p.query.claim.text) for p in pairs]))
        similarity = sentences @ claims.T  # sentences x claims
        top = min(SEMANTIC_TOP, len(indices))
        for column, pair in enumerate(pairs):
            values = similarity[:, column]
            pair.semantic = float(values.max())
            # The claim against the centroid of its best sentences: one sentence that happens to
            # resemble the claim weighs less than a passage about it.
            best = np.argsort(-values)[:top]
            centroid = sentences[best].mean(axis=0)
            length = float(np.linalg.norm(centroid))
            pair.semantic_mean = float(centroid @ claims[column]) / length if length > 0.0 else 0.0
            pair.cosines = {i: float(v) for i, v in zip(indices, values, strict=True)}

    # -- scoring -------------------------------------------------------------------------------

    def _finish(self, pair: _Pair, doc: AnalyzedArticle) -> ScoredPair:
        # An article that holds words of one part of a two-part claim (it names Putin; the claim is "Putin is
        # dead"): the lexical features, fitted on longer claims, score it as high as an article that names him
        # often, so the words it shares decide nothing. The meaning does when there is a semantic stage, as
        # across languages; without one, it is scored but does not match.
        one_of_two = pair.features.one_of_two
        threshold = self._threshold(pair.query.claim)
        if pair.semantic is None:
            score = pair.lexical
        elif pair.cross_lingual or one_of_two:  # shared words mean little: across languages, or of one part
            score = scorer.SEMANTIC_ONLY.probability(NO_FEATURES, pair.semantic)
        else:
            score = scorer.HYBRID.probability(pair.features, pair.semantic, pair.semantic_mean)
        if (
            self._settings.title_only_boost
            and not (pair.cross_lingual or one_of_two)
            and _title_only(doc.article)
        ):
            boost = (
                scorer.TITLE_ONLY_BOOST_LEXICAL if pair.semantic is None else scorer.TITLE_ONLY_BOOST_HYBRID
            )
            score = scorer.sigmoid(scorer.logit(score) + boost)
        score = min(round(score, 4), scorer.MAX_SCORE)  # what is stored and shown is what was compared
        if one_of_two and pair.semantic is None:
            score = min(score, max(round(threshold - ONE_PART_MARGIN, 4), 0.0))
        return ScoredPair(
            claim=pair.query.claim,
            article_id=doc.article.id,
            features=pair.features,
            lexical=pair.lexical,
            semantic=pair.semantic,
            semantic_mean=pair.semantic_mean,
            score=score,
            matched=score >= threshold,
            evidence=scorer.evidence(
                doc.sentences, pair.features.sentence_scores, pair.cosines, self._settings.evidence_sentences
            ),
        )
