"""The claim index changes no decision: the matcher that looks claims up gives what scoring every pair gives.

The FNC-1 test reads the data set from ``../shared/data/fnc1`` beside the repository (or from
``$WATCHER_SHARED_DATA/fnc1``); it skips when the data is absent, and fails instead under CI.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from tests.support.database import require
from tests.support.match_corpus import (
    BACKGROUND,
    BAKERY,
    DENIES,
    EGG_PRICES,
    FRENCH,
    FRENCH_CLAIM,
    FRENCH_REPORT,
    NATO_AMMO,
    NATO_SUMMIT,
    REPORTS,
    article,
)
from tests.support.records import make_article
from watcher.domain import Article, Claim
from watcher.match import Embedder, Matcher, MatchSettings, ScoredPair, scorer
from watcher.match.lexical import (
    CorpusStats,
    claim_weights,
    document_norm,
    lexical_features,
    lexical_features_reaching,
    weight_shape,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("WATCHER_SHARED_DATA") or ROOT.parent / "shared" / "data")
# A sample that keeps the test fast: every pair is scored on the reference side.
CLAIMS = 300
ARTICLES = 500
BATCH = 64  # articles per match, as the daemon sends them
# Batches small enough that the claims' weights hold over some of them while the counts move.
SMALL_BATCH = 16


def fnc1() -> tuple[list[str], list[tuple[int, str]]]:
    """Distinct FNC-1 headlines (sorted) and bodies (by id) of the training split."""
    folder = SHARED_DATA / "fnc1"
    require((folder / "train_bodies.csv").is_file(), f"the FNC-1 data set is not in {folder}")
    csv.field_size_limit(sys.maxsize)
    with (folder / "train_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = sorted((int(r["Body ID"]), r["articleBody"]) for r in csv.DictReader(handle))
    with (folder / "train_stances.csv").open(encoding="utf-8", newline="") as handle:
        headlines = sorted({" ".join(r["Headline"].split()) for r in csv.DictReader(handle)})
    return headlines, bodies


def spread(items: Sequence[T], count: int) -> list[T]:
    """``count`` items evenly spread over ``items``, in order."""
    return [items[i * len(items) // count] for i in range(min(count, len(items)))]


def fnc1_claims(headlines: list[str]) -> list[Claim]:
    """Headlines as claims; some with key terms and thresholds of their own, from the lowest (0, and
    under the score of a pair that shares nothing) to the flood-safe point."""
    claims = []
    for i, text in enumerate(spread(headlines, CLAIMS)):
        words = [w for w in text.split() if len(w) > 4 and w.isalpha()]
        keywords = (words[0],) if i % 7 == 3 and words else ()
        threshold = {0: 0.02, 1: 0.3, 2: 0.97, 3: 0.0}.get(i % 11) if i % 5 == 0 else None
        claims.append(Claim(id=i + 1, name=f"c{i + 1}", text=text, keywords=keywords, threshold=threshold))
    return claims


def fnc1_articles(bodies: list[tuple[int, str]]) -> list[Article]:
    # Bodies without a title, as FNC-1 gives them; one in ten with its first line as a title-only item.
    articles = []
    for body_id, text in spread(bodies, ARTICLES):
        if body_id % 10 == 0:
            articles.append(make_article(id=body_id, title=text.split("\n")[0][:200], text=""))
        else:
            articles.append(make_article(id=body_id, title="", text=text))
    return articles


class ConceptEmbedder:
    """A stand-in for a multilingual model: one direction for NATO and munitions, in English or
    French, another for everything else."""

    name = "concepts"

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        vectors = np.zeros((len(texts), 2), dtype=np.float32)
        for row, text in enumerate(texts):
            low = text.casefold()
            vectors[row, 0 if ("nato" in low or "otan" in low) and "munition" in low else 1] = 1.0
        return vectors


def same_decisions(
    claims: Sequence[Claim],
    settings: MatchSettings,
    articles: Sequence[Article],
    embedder: Embedder | None = None,
    *,
    warm: Sequence[Article] = (),
    batch_size: int = BATCH,
) -> tuple[list[ScoredPair], Matcher, Matcher, Matcher]:
    """Score ``articles`` batch by batch with the index and on every pair (both first learning from
    ``warm``); assert both give the same pairs (claim, article, lexical features, scores, decision,
    evidence), to float equality; and that ``match`` (the daemon's call, which may leave out more pairs
    than the candidate floor does) gives their matched pairs, with the index and without.

    Returns the pairs, the indexed matcher, the one that scores every pair and the indexed one that
    ``match`` ran on."""
    indexed = Matcher(claims, settings, embedder)
    every = Matcher(claims, settings, embedder, all_pairs=True)
    matching = Matcher(claims, settings, embedder)
    matching_every = Matcher(claims, settings, embedder, all_pairs=True)
    for matcher in (indexed, every, matching, matching_every):
        matcher.observe(warm)
    found: list[ScoredPair] = []
    versions = set()
    for start in range(0, len(articles), batch_size):
        batch = articles[start : start + batch_size]
        expected = every.score_pairs(batch)
        assert indexed.score_pairs(batch) == expected
        matched = [p.to_match_score() for p in expected if p.matched]
        assert matching.match(batch) == matched
        assert matching_every.match(batch) == matched
        found.extend(expected)
        versions.add(indexed._stats.version)
    if warm:  # the weights held over some batches, and moved over others
        assert 1 < len(versions) < -(-len(articles) // batch_size)
    work = ("articles_seen", "lexical_candidates", "semantic_runs", "sentences_embedded", "matches")
    assert [indexed.stats()[k] for k in work] == [every.stats()[k] for k in work]
    return found, indexed, every, matching


@pytest.mark.parametrize("precision", ["recall", "high"])
def test_fnc1_headlines_as_claims_get_the_decisions_of_every_pair(precision: str) -> None:
    headlines, bodies = fnc1()
    claims = fnc1_claims(headlines)
    articles = fnc1_articles(bodies)
    warm = [make_article(id=-i, title="", text=text) for i, (_, text) in enumerate(bodies, start=1)]
    settings = MatchSettings(model=None)
    if precision == "high":
        settings = settings.flood_safe()
    found, indexed, every, matching = same_decisions(
        claims, settings, articles, warm=warm, batch_size=SMALL_BATCH
    )
    matched = [p for p in found if p.matched]
    # Not a vacuous comparison: many matches, with evidence, some through key terms and a claim's
    # own threshold; and the index scored a small share of the pairs.
    assert len(matched) > 200 and all(p.evidence for p in matched if p.claim.threshold not in (0.0, 0.02))
    assert any(p.claim.keywords for p in matched) and any(p.claim.threshold == 0.3 for p in matched)
    assert every.stats()["pairs_scored"] == len(claims) * len(articles)
    assert indexed.stats()["pairs_scored"] < every.stats()["pairs_scored"] / 20
    # Without the semantic stage, match leaves out the pairs that cannot reach their threshold as well.
    assert matching.stats()["pairs_scored"] < indexed.stats()["pairs_scored"]
    assert matching.stats()["lexical_candidates"] < indexed.stats()["lexical_candidates"]
    assert matching.stats()["matches"] == len(matched)


def test_a_claim_below_the_score_of_sharing_nothing_keeps_every_article_that_shares_a_key() -> None:
    # A pair that lacks the claim's key terms scores NOTHING_SHARED; a threshold below it keeps the
    # pair, which no bound may drop. A claim that shares no key with an article is never a candidate.
    low = dataclasses.replace(NATO_AMMO, id=7, keywords=("artillery shells",), threshold=0.02)
    assert 0.02 < scorer.NOTHING_SHARED
    articles = [REPORTS, DENIES, NATO_SUMMIT, BAKERY, *BACKGROUND]
    found, _, _, _ = same_decisions([low, EGG_PRICES], MatchSettings(model=None), articles)
    kept = {p.article_id for p in found if p.claim.id == low.id}
    assert NATO_SUMMIT.id in kept and BAKERY.id not in kept
    summit = [p for p in found if p.claim.id == low.id and p.article_id == NATO_SUMMIT.id]
    assert [(p.score, p.matched) for p in summit] == [(round(scorer.NOTHING_SHARED, 4), True)]


def test_the_semantic_stage_sees_the_same_pairs_across_languages() -> None:
    pytest.importorskip("numpy")
    french_bakery = article(
        26, "Une boulangerie primée", "La boulangerie familiale a gagné le prix du pain.", "fr"
    )
    claims = [NATO_AMMO, EGG_PRICES, FRENCH_CLAIM]
    articles = [FRENCH, FRENCH_REPORT, french_bakery, REPORTS, DENIES, NATO_SUMMIT, BAKERY, *BACKGROUND]
    for settings in (
        MatchSettings(model="concepts", cross_lingual=True),
        MatchSettings(model="concepts", candidate_floor=0.01, semantic_ceiling=1.0),
    ):
        found, indexed, _, _ = same_decisions(claims, settings, articles, ConceptEmbedder())
        assert any(p.semantic is not None for p in found)
        assert indexed.stats()["semantic_runs"] > 0


def test_a_weight_does_not_depend_on_when_it_is_first_asked_for() -> None:
    # The index asks for the weights of fewer keys than scoring every pair does: a weight asked for
    # before a batch is counted must read the new counts afterwards, as one first asked for then.
    early, late = CorpusStats(), CorpusStats()
    day = [{"nato", "russia", f"word{i}"} for i in range(1000)]
    for stats in (early, late):
        stats.observe(day)
    before = early.idf("nato")
    version = early.version
    for stats in (early, late):
        stats.observe([{"nato", "summit"}] * 5)  # too few to move the claims' weights
    assert early.version == late.version == version
    assert early.idf("nato") == late.idf("nato") < before


def test_the_index_works_out_every_claims_weights_as_one_claim_at_a_time_does() -> None:
    # ClaimIndex.update works every claim's weights and shape out at once (NumPy): they must be those of
    # claim_weights and weight_shape to the last bit, ties among the heaviest terms included, for claims
    # of one term to many and for weights given by the caller.
    headlines, bodies = fnc1()
    claims = [
        *fnc1_claims(headlines)[::7],
        Claim(id=90_001, name="one", text="Vaccines"),
        Claim(id=90_002, name="ties", text="alpha beta gamma delta", keywords=("alpha", "delta")),
        Claim(id=90_003, name="none", text="the of and"),
    ]
    matcher = Matcher(claims, MatchSettings(model=None))
    matcher.observe(fnc1_articles(bodies)[::9])
    stats, index = matcher._stats, matcher._index
    expected = [claim_weights(q, stats) for q in matcher._queries]
    assert any(len(set(w)) < len(w) for w in expected)  # equal weights: the first of them is the heavier
    for given in (None, expected):
        assert index.update(stats, given) == expected
        for qi, weights in enumerate(expected):
            assert index.shape(qi) == (weight_shape(weights) if weights else None)


def test_features_stop_early_only_for_pairs_below_their_floor() -> None:
    # lexical_features_reaching gives up on a pair once its sentences show it cannot reach the
    # claim's floor: every pair it gives up on scores below the floor, every other gets the features
    # of lexical_features, to float equality.
    headlines, bodies = fnc1()
    claims = fnc1_claims(headlines)[::3]
    articles = fnc1_articles(bodies)[::5]
    matcher = Matcher(claims, MatchSettings(model=None))
    matcher.observe(articles)
    matcher._refresh_weights()
    index = matcher._index
    stopped = kept = 0
    for item in articles:
        doc = matcher._analyze(item)
        norm = document_norm(doc, matcher._stats)
        for qi, query in enumerate(matcher._queries):
            weights, shape = matcher._weights[qi], index.shape(qi)
            features = lexical_features(query, weights, doc, norm, shape)
            floor = index.floor(qi)
            early = lexical_features_reaching(query, weights, doc, norm, shape, floor, scorer.pair_ceiling)
            if early is None:
                stopped += 1
                assert scorer.LEXICAL.logit(features) < floor
            else:
                kept += 1
                assert early == features
    assert stopped > 100 and kept > 1000
