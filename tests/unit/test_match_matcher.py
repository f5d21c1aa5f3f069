"""The claim matcher without a model: lexical scoring, thresholds, key terms, evidence, counters."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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
    PUTIN_BIRD,
    PUTIN_DEAD,
    PUTIN_DIED,
    PUTIN_REPORTED_DEAD,
    REPORTS,
    article,
)
from watcher.cli.render import dry_run_json, dry_run_lines
from watcher.domain import Claim, ClaimStatus, Framing, Stance
from watcher.errors import WatcherError
from watcher.match import DEFAULT_THRESHOLD, Matcher, MatchError, MatchSettings, load_embedder, scorer
from watcher.match import semantic as semantic_module
from watcher.match.lexical import (
    LEAD_MASK,
    TF,
    CorpusStats,
    analyze_article,
    claim_parts,
    claim_weights,
    compile_claim,
    document_norm,
    lexical_features,
)
from watcher.pipeline import DryRun
from watcher.text.normalize import Normalizer

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

LEXICAL = MatchSettings(model=None)
FLOOD_SAFE = LEXICAL.flood_safe()


def warm_matcher(claims: list[Claim], settings: MatchSettings = LEXICAL) -> Matcher:
    matcher = Matcher(claims, settings)
    matcher.observe(BACKGROUND)
    return matcher


def test_articles_reporting_or_denying_the_claim_match_and_unrelated_ones_do_not() -> None:
    matcher = warm_matcher([NATO_AMMO, EGG_PRICES])
    found = {(m.claim_id, m.article_id) for m in matcher.match([REPORTS, DENIES, NATO_SUMMIT, BAKERY])}
    # Matching is about the subject; whether the article agrees is the framing stage's business.
    assert found == {(NATO_AMMO.id, REPORTS.id), (NATO_AMMO.id, DENIES.id)}


def test_scores_are_calibrated_and_ordered() -> None:
    matcher = warm_matcher([NATO_AMMO])
    report, summit, bakery = (matcher.score(NATO_AMMO, a) for a in (REPORTS, NATO_SUMMIT, BAKERY))
    assert report.score > 0.9
    # A summit that only names NATO and Russia sits near the default (recall) threshold, below the
    # flood-safe one.
    assert 0.0 < bakery.score < summit.score < report.score
    assert summit.score < FLOOD_SAFE.threshold < report.score
    assert report.semantic is None and report.lexical == report.score


def test_a_match_carries_its_best_sentences_as_evidence() -> None:
    matcher = warm_matcher([NATO_AMMO])
    (match,) = matcher.match([REPORTS])
    assert match.evidence[0].startswith("NATO members have surpassed Russia in ammunition production")
    assert 1 <= len(match.evidence) <= 3
    assert "could not be independently verified" not in " ".join(match.evidence)
    assert matcher.score(NATO_AMMO, BAKERY).evidence == ()


def test_the_title_counts_as_a_sentence() -> None:
    headline_only = article(20, "NATO has surpassed Russia in ammunition production, alliance says", "")
    match = warm_matcher([NATO_AMMO]).score(NATO_AMMO, headline_only)
    assert match.matched
    assert match.evidence == ("NATO has surpassed Russia in ammunition production, alliance says",)


def test_a_single_shared_name_is_not_a_match() -> None:
    only_name = article(21, "NATO opens new office", "NATO opened a liaison office in Geneva on Friday.")
    assert not warm_matcher([NATO_AMMO]).score(NATO_AMMO, only_name).matched


@pytest.mark.parametrize(("threshold", "matched"), [(0.03, True), (None, False), (0.99, False)])
def test_a_claim_threshold_overrides_the_default(threshold: float | None, matched: bool) -> None:
    claim = dataclasses.replace(NATO_AMMO, threshold=threshold)
    matcher = warm_matcher([claim], FLOOD_SAFE)
    assert matcher.score(claim, NATO_SUMMIT).matched is matched
    assert bool(matcher.match([NATO_SUMMIT])) is matched


def test_settings_threshold_is_the_default_for_claims_without_one() -> None:
    matcher = warm_matcher([NATO_AMMO], MatchSettings(model=None, threshold=0.999999))
    assert matcher.match([REPORTS]) == []
    assert matcher.score(NATO_AMMO, REPORTS).score > 0.99


def test_key_terms_are_required() -> None:
    claim = dataclasses.replace(NATO_AMMO, keywords=("artillery shells",))
    matcher = warm_matcher([claim])
    # REPORTS has the phrase (in its title); DENIES only has "shells", not the phrase.
    found = {m.article_id for m in matcher.match([REPORTS, DENIES])}
    assert found == {REPORTS.id}
    assert matcher.score(claim, DENIES).score < 0.05


def test_key_terms_boost_articles_that_use_them() -> None:
    shells = article(
        22,
        "Western shell output climbs",
        "Factories across the alliance now make more artillery shells than Moscow does, officials said.",
    )
    plain = warm_matcher([NATO_AMMO]).score(NATO_AMMO, shells)
    claim = dataclasses.replace(NATO_AMMO, keywords=("shells", "alliance"))
    boosted = warm_matcher([claim]).score(claim, shells)
    assert not plain.matched
    assert boosted.matched and boosted.score > plain.score


def test_paused_claims_are_skipped_but_can_still_be_scored() -> None:
    paused = dataclasses.replace(NATO_AMMO, status=ClaimStatus.PAUSED)
    matcher = warm_matcher([paused, EGG_PRICES])
    assert matcher.match([REPORTS, DENIES]) == []
    assert matcher.score(paused, REPORTS).matched


def test_numbers_match_whatever_their_format() -> None:
    eggs = article(
        23,
        "Eggs cost 40 % more than last year",
        "In Germany, egg prices rose 40% in a year, the statistics office said, as bird flu cut supply.",
    )
    assert warm_matcher([EGG_PRICES]).score(EGG_PRICES, eggs).matched


def test_a_number_in_words_is_the_figure() -> None:
    # Headlines write figures, the story below spells one to nine out.
    graves = Claim(id=7, name="graves", text="Mexico finds 4 more mass graves near Iguala")
    spelled = article(
        24, "", "Investigators in Iguala found four more mass graves, the Mexican attorney general said."
    )
    query = compile_claim(graves, "en")
    assert "4" in query.terms
    assert (
        query.boosts
        == compile_claim(
            dataclasses.replace(graves, text="Mexico finds four more mass graves near Iguala"), "en"
        ).boosts
    )
    stats = CorpusStats()
    doc = analyze_article(spelled, Normalizer("en"), 80)
    assert lexical_features(query, claim_weights(query, stats), doc).share == 1.0
    assert warm_matcher([graves]).score(graves, spelled).matched


def test_other_languages_are_lemmatised_in_their_own_language() -> None:
    matcher = warm_matcher([FRENCH_CLAIM])
    assert matcher.score(FRENCH_CLAIM, FRENCH_REPORT).matched
    assert not matcher.score(FRENCH_CLAIM, BAKERY).matched


def test_an_english_claim_does_not_match_a_french_article_on_words_alone() -> None:
    # Across languages only names and numbers are shared: that takes the semantic stage with a
    # multilingual model (MatchSettings.cross_lingual).
    assert not warm_matcher([NATO_AMMO]).score(NATO_AMMO, FRENCH).matched


def test_undetermined_language_is_read_in_the_default_language() -> None:
    und = dataclasses.replace(REPORTS, id=24, language="und")
    assert warm_matcher([NATO_AMMO]).score(NATO_AMMO, und).matched


def test_stats_count_the_work() -> None:
    matcher = warm_matcher([NATO_AMMO, EGG_PRICES])
    matcher.match([REPORTS, DENIES, BAKERY])
    matcher.score(NATO_AMMO, NATO_SUMMIT)  # a dry run is not part of the stream
    stats = matcher.stats()
    assert stats["articles_seen"] == 3
    assert stats["matches"] == 2
    assert stats["lexical_candidates"] >= 2
    assert stats["semantic_runs"] == 0 and stats["sentences_embedded"] == 0


def test_match_learns_term_statistics_from_the_stream() -> None:
    cold = Matcher([NATO_AMMO], LEXICAL)
    before = cold.score(NATO_AMMO, NATO_SUMMIT).score
    cold.match(BACKGROUND)
    assert cold.score(NATO_AMMO, NATO_SUMMIT).score < before


def test_with_claims_keeps_what_was_learnt() -> None:
    matcher = warm_matcher([EGG_PRICES])
    other = matcher.with_claims([NATO_AMMO])
    assert (
        other.score(NATO_AMMO, NATO_SUMMIT).score
        == warm_matcher([NATO_AMMO]).score(NATO_AMMO, NATO_SUMMIT).score
    )
    assert {m.claim_id for m in other.match([REPORTS])} == {NATO_AMMO.id}


def test_empty_inputs() -> None:
    matcher = Matcher([], LEXICAL)
    assert matcher.match([REPORTS]) == []
    assert warm_matcher([NATO_AMMO]).match([]) == []
    blank = article(25, "", "")
    assert warm_matcher([NATO_AMMO]).score(NATO_AMMO, blank).score < 0.05


def test_the_flood_safe_point_raises_the_threshold_and_the_semantic_band() -> None:
    hybrid = MatchSettings().flood_safe()
    assert DEFAULT_THRESHOLD < hybrid.threshold < FLOOD_SAFE.threshold < 1.0
    assert MatchSettings().candidate_floor < hybrid.candidate_floor < hybrid.threshold
    assert MatchSettings().semantic_ceiling < hybrid.semantic_ceiling
    assert (hybrid.threshold, FLOOD_SAFE.threshold) == (
        scorer.FLOOD_SAFE_THRESHOLD,
        scorer.FLOOD_SAFE_LEXICAL_THRESHOLD,
    )


@pytest.mark.parametrize(
    "bad",
    [{"threshold": 1.5}, {"candidate_floor": -0.1}, {"semantic_sentences": 0}, {"batch_size": 0}],
)
def test_settings_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(MatchError) as error:
        MatchSettings(**bad)  # type: ignore[arg-type]
    assert next(iter(bad)) in str(error.value)
    assert isinstance(error.value, ValueError) and isinstance(error.value, WatcherError)


def test_no_model_means_lexical_only_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="watcher.match")
    semantic_module._logged.clear()
    assert load_embedder(None) is None
    assert load_embedder(None) is None
    assert [r.getMessage() for r in caplog.records].count(
        "semantic matching is off (no model configured); lexical only"
    ) == 1


def test_missing_extra_means_lexical_only_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now raises ImportError
    semantic_module._logged.clear()
    caplog.set_level(logging.INFO, logger="watcher.match")
    # A model someone chose (the default one is only a note: tests/unit/test_semantic_off.py).
    assert load_embedder("org/chosen-model") is None
    assert load_embedder("org/chosen-model") is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "sentence-transformers is not installed" in warnings[0].getMessage()
    # And the matcher works on words alone.
    assert {m.article_id for m in warm_matcher([NATO_AMMO]).match([REPORTS, BAKERY])} == {REPORTS.id}


class ConceptEmbedder:
    """A stand-in for a multilingual model: one direction for "NATO out-produces Russia in
    munitions" in English or French, another for everything else."""

    name = "concepts"

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        vectors = np.zeros((len(texts), 2), dtype=np.float32)
        for row, text in enumerate(texts):
            low = text.casefold()
            about = ("nato" in low or "otan" in low) and "munition" in low
            vectors[row, 0 if about else 1] = 1.0
        return vectors


def test_cross_lingual_sends_other_languages_to_the_semantic_stage() -> None:
    pytest.importorskip("numpy")
    french_bakery = article(
        26, "Une boulangerie primée", "La boulangerie familiale a gagné le prix du pain.", "fr"
    )
    off = warm_matcher([NATO_AMMO], MatchSettings(model="concepts"))
    off_matcher = Matcher([NATO_AMMO], MatchSettings(model="concepts"), ConceptEmbedder())
    on = Matcher([NATO_AMMO], MatchSettings(model="concepts", cross_lingual=True), ConceptEmbedder())
    assert not off.score(NATO_AMMO, FRENCH).matched
    assert not off_matcher.score(NATO_AMMO, FRENCH).matched
    found = {m.article_id for m in on.match([FRENCH, french_bakery, BAKERY])}
    assert found == {FRENCH.id}
    assert on.stats()["semantic_runs"] == 2  # both French articles; the English bakery shares nothing
    assert on.score(NATO_AMMO, FRENCH).semantic == 1.0


def test_a_cold_matcher_weighs_terms_by_the_shipped_reference_frequencies() -> None:
    # No article seen yet: the reference document frequencies alone keep an article that only
    # shares the claim's names (NATO, Russia) from matching at the flood-safe point.
    cold = Matcher([NATO_AMMO], FLOOD_SAFE)
    summit = cold.score(NATO_AMMO, NATO_SUMMIT)
    assert not summit.matched
    assert cold.score(NATO_AMMO, REPORTS).matched
    assert {m.article_id for m in cold.match([REPORTS, DENIES, NATO_SUMMIT, BAKERY])} == {
        REPORTS.id,
        DENIES.id,
    }


def test_the_pruning_bounds_are_never_below_the_lexical_logit() -> None:
    # The claim index skips the sentence scoring of pairs whose bound is below the candidate floor:
    # a bound below the real logit would silently drop a match. The linear form the index sums and
    # the bound with little known are at least the bound with every feature known (best as itself),
    # which is at least the logit.
    stats = CorpusStats()
    norm = Normalizer("en")
    stats.observe(analyze_article(a, norm, 80).vocabulary for a in BACKGROUND)
    articles = [REPORTS, DENIES, NATO_SUMMIT, BAKERY, *BACKGROUND]
    claims = (NATO_AMMO, EGG_PRICES, Claim(id=9, name="x", text="NATO and Russia talks in Brussels 2024"))
    for claim in claims:
        query = compile_claim(claim, "en")
        weights = claim_weights(query, stats)
        total = sum(weights)
        heavy = sorted(weights, reverse=True)[:3]
        for item in articles:
            doc = analyze_article(item, norm, 80)
            doc_norm = document_norm(doc, stats)
            features = lexical_features(query, weights, doc, doc_norm)
            if not features.claim_terms:
                continue
            logit = scorer.LEXICAL.logit(features)
            held = [
                (doc.positions[t], w) for t, w in zip(query.terms, weights, strict=True) if t in doc.positions
            ]
            terms = len(query.terms)
            coarse = scorer.lexical_ceiling(features.coverage, len(held), terms, features.cosine)
            exact = scorer.lexical_ceiling(
                features.coverage,
                len(held),
                terms,
                features.cosine,
                lead=features.lead,
                rare=features.rare,
                pairs=features.pairs,
                best=features.best,
            )
            top = max(doc.factors)
            linear = scorer.ceiling_constant(terms) + sum(
                w / total * (scorer.CEILING_BASE + scorer.CEILING_BEST * top)
                + w / sum(heavy) * scorer.CEILING_RARE
                + scorer.CEILING_PER_TERM / terms
                + (w / total * scorer.CEILING_LEAD if m & LEAD_MASK else 0.0)
                + scorer.CEILING_COSINE
                * w
                * w
                / math.sqrt(sum(x * x for x in weights))
                * TF[m.bit_count()]
                / doc_norm
                for m, w in held
            )
            assert min(linear, coarse) >= exact - 1e-9 and exact >= logit - 1e-9
            # the matcher's bound before the best window is that bound, worked out another way
            fast = scorer.pair_ceiling(
                features.coverage,
                len(held),
                terms,
                features.cosine,
                features.lead,
                features.rare,
                features.pairs,
                features.best,
            )
            assert fast == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize("hidden", ["\u00ad", "\u200b", "\u2060", "\u200d", "\u202e", "\ufeff"])
def test_invisible_characters_inside_a_word_do_not_defeat_matching(hidden: str) -> None:
    # A soft hyphen, zero-width space, word joiner, joiner, bidi override or BOM inside "NATO" is invisible
    # on the page; the article must score as the plain one does, and a claim written so must match too.
    matcher = warm_matcher([NATO_AMMO])
    plain = matcher.score(NATO_AMMO, REPORTS).score
    hidden_article = dataclasses.replace(
        REPORTS,
        title=REPORTS.title.replace("NATO", f"NA{hidden}TO"),
        text=REPORTS.text.replace("NATO", f"NA{hidden}TO").replace("ammunition", f"ammu{hidden}nition"),
    )
    assert matcher.score(NATO_AMMO, hidden_article).score == pytest.approx(plain)
    assert plain >= DEFAULT_THRESHOLD
    hidden_claim = dataclasses.replace(NATO_AMMO, text=NATO_AMMO.text.replace("NATO", f"NA{hidden}TO"))
    assert matcher.score(hidden_claim, REPORTS).score == pytest.approx(plain)


def test_compatibility_forms_read_as_their_plain_letters() -> None:
    # Fullwidth letters (NFKC) are the same word as ASCII ones.
    matcher = warm_matcher([NATO_AMMO])
    wide = dataclasses.replace(REPORTS, title=REPORTS.title.replace("NATO", "ＮＡＴＯ"))
    assert matcher.score(NATO_AMMO, wide).score == pytest.approx(matcher.score(NATO_AMMO, REPORTS).score)


# -- title-only items ---------------------------------------------------------------------------------------


def test_title_only_item_is_scored_with_the_bodies_false_match_budget() -> None:
    """The same words as a title with no text, and as a text with no title: one analysis, so one lexical
    score; the title-only item's score is that score raised by the calibrated boost."""
    words = "Russia falls behind in ammunition race"
    matcher = warm_matcher([NATO_AMMO])
    titled = matcher.score(NATO_AMMO, article(40, words, ""))
    texted = matcher.score(NATO_AMMO, article(41, "", words))
    assert titled.lexical == texted.lexical
    boosted = scorer.sigmoid(scorer.logit(texted.score) + scorer.TITLE_ONLY_BOOST_LEXICAL)
    assert titled.score == pytest.approx(boosted, abs=1e-4)
    assert texted.score < DEFAULT_THRESHOLD <= titled.score


def test_title_only_boost_is_off_at_the_flood_safe_point_and_on_request() -> None:
    assert LEXICAL.title_only_boost and not FLOOD_SAFE.title_only_boost
    words = "NATO overtakes Russia in ammunition output, alliance says"
    for settings in (dataclasses.replace(LEXICAL, title_only_boost=False), FLOOD_SAFE):
        matcher = warm_matcher([NATO_AMMO], settings)
        titled = matcher.score(NATO_AMMO, article(40, words, ""))
        assert titled.score == matcher.score(NATO_AMMO, article(41, "", words)).score


_NORMS = """
from tests.support.match_corpus import BACKGROUND, DENIES, NATO_AMMO, NATO_SUMMIT, REPORTS
from tests.support.records import make_article
from watcher.match import Matcher, MatchSettings
from watcher.match.lexical import document_norm
texts = [a.text for a in (REPORTS, DENIES, NATO_SUMMIT, *BACKGROUND)]
longs = [make_article(id=90 + i, title="", text=" ".join(texts[i:] + texts[:i])) for i in range(6)]
matcher = Matcher([NATO_AMMO], MatchSettings(model=None))
matcher.observe(BACKGROUND)
print([document_norm(matcher._analyze(a), matcher._stats).hex() for a in longs])
print([(p.score, p.features.cosine.hex()) for p in matcher.score_pairs(longs)])
"""


def test_scores_add_up_the_same_in_every_process() -> None:
    # A set's order follows the string hash seed, which differs from process to process: an article's norm,
    # a float sum over its keys, once came out a bit apart (each of these seeds gave other figures).
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _NORMS],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1 and "0x" in next(iter(outputs))


def test_an_articles_norm_is_its_tf_idf_length_whatever_the_weights_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The norm sums idf² times the squared dampened term frequency over the article's keys, to the last bit
    of the plain loop, whether the weights are worked out now, kept from an article before, or dropped at
    the bound on the weights kept."""
    from watcher.match import lexical

    stats = CorpusStats()
    norm = Normalizer("en")
    docs = [analyze_article(a, norm, 80) for a in (REPORTS, DENIES, NATO_SUMMIT, BAKERY, *BACKGROUND)]
    stats.observe(d.vocabulary for d in docs)

    def plain(doc: object) -> float:
        positions = doc.positions  # type: ignore[attr-defined]
        total = 0.0
        for key, mask in positions.items():
            idf, tf = stats.idf(key), lexical.TF[mask.bit_count()]
            total += idf * idf * (tf * tf)
        return total

    expected = [plain(d) for d in docs]
    assert [stats.weighted_square_sum(d.positions) for d in docs] == expected  # worked out, then kept
    assert [stats.weighted_square_sum(d.positions) for d in docs] == expected
    monkeypatch.setattr(lexical, "MAX_CACHED_WEIGHTS", 5)
    stats.observe([])  # the counts move: nothing is kept
    expected = [plain(d) for d in docs]
    assert [stats.weighted_square_sum(d.positions) for d in reversed(docs)] == expected[::-1]
    assert [stats.weighted_square_sum(d.positions) for d in docs] == expected


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Putin is dead", {"putin": 0, "dead": 1}),
        # A name over several words, hyphens included, is one part.
        ("Kim Jong-un is dead", {"kim": 0, "jong": 0, "un": 0, "dead": 1}),
        ("Pope Francis has died", {"pope": 0, "francis": 0, "die": 1}),
        # In title case capitals mark no names: each word is a part.
        (
            "Ottawa Gunman Identified As Michael Zehaf-Bibeau",
            {"ottawa": 0, "gunman": 1, "identify": 2, "michael": 3, "zehaf": 4, "bibeau": 4},
        ),
        ("Lenovo is buying BlackBerry", {"lenovo": 0, "buying": 1, "blackberry": 2}),
    ],
)
def test_claim_parts_are_names_and_single_words(text: str, parts: dict[str, int]) -> None:
    assert claim_parts(text, Normalizer("en")) == parts


def test_a_two_part_claim_does_not_match_a_story_that_only_names_its_subject() -> None:
    """ "Putin is dead" against a story that names Putin three times and says nothing of a death: the lexical
    features, fitted on longer claims, score it 0.9. It is scored but does not match; a story that holds both
    parts does. The price, lexical only: "Putin died" holds no "dead" (the semantic stage matches it)."""
    matcher = warm_matcher([PUTIN_DEAD])
    bird = matcher.score(PUTIN_DEAD, PUTIN_BIRD)
    assert not bird.matched and bird.score < DEFAULT_THRESHOLD < bird.lexical
    assert matcher.score(PUTIN_DEAD, PUTIN_REPORTED_DEAD).matched
    assert not matcher.score(PUTIN_DEAD, PUTIN_DIED).matched
    assert [m.article_id for m in matcher.match([PUTIN_BIRD, PUTIN_REPORTED_DEAD, PUTIN_DIED])] == [42]
    # A claim of more parts is not held to it: the NATO claim matches reports that paraphrase a part.
    assert compile_claim(PUTIN_DEAD, "en").parts and not compile_claim(NATO_AMMO, "en").parts


def test_a_dry_run_says_why_a_one_part_article_does_not_match() -> None:
    matcher = warm_matcher([PUTIN_DEAD])
    bird = matcher.score(PUTIN_DEAD, PUTIN_BIRD)
    assert bird.one_part and not matcher.score(PUTIN_DEAD, PUTIN_REPORTED_DEAD).one_part
    run = DryRun(
        claim=PUTIN_DEAD, score=bird, framing=Framing(stance=Stance.NEUTRAL, skepticism=0.0), threshold=0.5
    )
    lines = dry_run_lines(run)
    assert lines[1] == "score:      0.499 (threshold 0.50) -> no match"
    assert lines[3].startswith("note:       the text holds words of one of the claim's two parts only")
    assert dry_run_json(run)["one_part"] is True
