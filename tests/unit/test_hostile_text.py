"""Hostile article text after the feed is parsed: markup, characters and shapes that made a text path quadratic
or let a stored field grow without bound. Each input here took from seconds to minutes before its fix; the tests
check what comes out, and the suite's own time shows a regression."""

from __future__ import annotations

import unicodedata

import pytest

from watcher.framing import explain, shown_evidence
from watcher.framing.rules import LEXICON, MAX_TEXT_CHARS, analyse
from watcher.ingest.parse import html_to_text
from watcher.text.normalize import MARKS_CHECKED_FROM, MAX_MARKS, clean_text
from watcher.text.sentences import EVIDENCE_MAX_CHARS, split_plain_sentences
from watcher.text.tokens import tokens

CLAIM = "NATO has surpassed Russia in ammunition production"
LEAD = "<p>NATO has surpassed Russia in ammunition production, officials said.</p>"


@pytest.mark.parametrize(
    "unit",
    ["<a ", "</", "<!--", "<?", "<div class='x' ", "<!--x>", "<a/", '<x y="', "<![CDATA["],
)
def test_unfinished_markup_is_read_in_linear_time_and_keeps_the_text_before_it(unit: str) -> None:
    # 300 KB: the standard library's parser took over 15 s on 100 KB of "<a " (CVE-2025-6069).
    text = html_to_text(LEAD * 40 + unit * (300_000 // len(unit)))
    assert text.startswith("NATO has surpassed Russia in ammunition production, officials said.")


@pytest.mark.parametrize("element", ["svg", "noscript", "script", "style", "template"])
def test_unfinished_markup_inside_an_element_without_text_is_dropped(element: str) -> None:
    assert html_to_text(LEAD + f"<{element}>" + "<a " * 100_000) == (
        "NATO has surpassed Russia in ammunition production, officials said."
    )


def test_a_tag_over_many_chunks_is_read_once() -> None:
    # One 1 MB tag was read again from its start with every 32 KB fed.
    assert html_to_text("<p>before</p><a" + " b=c" * 250_000 + ">after</a>") == "before\nafter"


def test_a_marked_section_the_parser_rejects_is_read_by_lxml() -> None:
    # "<![x" made html.parser raise AssertionError ("unknown status keyword").
    assert html_to_text("<p>NATO said</p><![x>" + "<p>more</p>" * 2_000) == "NATO said\n" + "\n".join(
        ["more"] * 2_000
    )


def test_a_short_unfinished_tag_still_reads_as_the_standard_parser_reads_it() -> None:
    block = "<p>NATO & co</p><script>" + "x" * 40 + "</script>"  # 50 KB of markup, fed in two chunks
    assert html_to_text(block * 700 + "<a ") == "\n".join(["NATO & co"] * 700) + "\n<a"


def test_c1_controls_are_not_kept() -> None:
    assert html_to_text("<p>A CSI \x9b31m and a NEL\x85 in it</p>") == "A CSI 31m and a NEL in it"


def test_a_long_run_of_digit_groups_is_tokenised_in_linear_time() -> None:
    run = "1" + ".000" * 250_000 + ".0"  # 1 MB; 100 KB took 10 s, and time grew with the square
    assert "".join(tokens(run)).replace(".", "") == run.replace(".", "")
    assert tokens("1,000,000 and 1.000.000.000.000.000.000 people") == [
        "1,000,000",
        "and",
        "1.000.000.000.000.000.000",
        "people",
    ]


def test_combining_mark_floods_are_cut_before_normalisation() -> None:
    flood = "NATO " + "a" + "\u0301\u0316" * 50_000  # alternating classes: NFKC sorted them in quadratic time
    cleaned = clean_text(flood)
    assert cleaned.startswith("NATO ") and len(cleaned) <= len("NATO ") + 1 + MAX_MARKS
    astral = "x " * MARKS_CHECKED_FROM + "a" + "\U0001d165\U0001d167" * 20_000
    assert len(clean_text(astral)) <= 2 * MARKS_CHECKED_FROM + 1 + MAX_MARKS


def test_ordinary_long_text_is_normalised_as_before() -> None:
    text = "Le président a déclaré que l’OTAN « a surpassé » la Russie… Ṩ̣̇ ﬁ ２０２５. " * 200
    assert len(text) > MARKS_CHECKED_FROM
    assert clean_text(text) == unicodedata.normalize("NFKC", text)


def test_framing_reads_a_bounded_text_whatever_normalisation_makes_of_it() -> None:
    body = (CLAIM + ". \ufdfa. ") * 10_000  # each ligature becomes 18 characters under NFKC
    assert len(clean_text(body)) > 2 * MAX_TEXT_CHARS
    analysis = analyse(CLAIM, "", body)
    assert analysis.sentences == len(split_plain_sentences(clean_text(body)[:MAX_TEXT_CHARS]))


def test_a_body_that_restates_the_claim_throughout_is_framed() -> None:
    body = (CLAIM + ". ") * 20_000  # 1 MB, every sentence an anchor: sentences x anchors before
    assert explain(CLAIM, "", body).framing.stance.value == "supports"


def test_a_claim_sentence_full_of_attributions_is_framed() -> None:
    body = CLAIM + " " + "said " * 200_000  # 1 MB; 100 KB took 3.8 s, and time grew with the square
    assert explain(CLAIM, "", body).claim_sentence.startswith(CLAIM)


def test_evidence_sentences_are_clipped_whatever_their_source() -> None:
    # Lower case after every full stop: the plain splitter sees one 20 KB sentence.
    body = (
        "moscow dismissed as nonsense the claim that nato has surpassed russia in ammunition production. "
        * 200
    )
    explanation = explain(CLAIM, "", body, model=None)
    assert explanation.disputing_sentence
    shown = shown_evidence(explanation, ("NATO has surpassed Russia.",))
    assert shown and all(len(sentence) <= EVIDENCE_MAX_CHARS for sentence in shown)


def test_characters_that_decompose_into_marks_count_as_marks() -> None:
    # U+0F73 has combining class 0 but NFKC makes it two marks (classes 129, 130); U+FF9E becomes U+3099.
    assert len(clean_text("\u0f73" * 50_000)) <= 2 * MAX_MARKS
    assert len(clean_text("a" + "\u0301\uff9e" * 25_000)) <= 1 + MAX_MARKS


def test_text_after_comments_and_instructions_is_kept_on_the_lxml_path() -> None:
    # "<![x" sends the markup to lxml; the text after a comment or a processing instruction is its tail.
    assert html_to_text("<p>lead</p><![x><p>one<!-- c -->two<?pi x?>three</p>") == "lead\nonetwothree"


def test_deep_nesting_and_an_encoding_declaration_do_not_lose_text_on_the_lxml_path() -> None:
    assert html_to_text("<b>" * 100_000 + "deep") == "deep"
    assert html_to_text('<?xml version="1.0" encoding="utf-8"?><p>a</p><![x><p>b</p>') == "a\nb"


def test_long_text_held_back_for_a_cut_entity_is_read_as_before() -> None:
    # HTMLParser holds back a last text run whose "&" may start an entity; that is text, not markup for lxml.
    body = "intro <b>bold</b> word " + "x " * 600 + "see ?a=1&b"
    assert html_to_text(body) == "intro bold word " + "x " * 600 + "see ?a=1&b"


def test_a_sentence_of_many_quoted_words_is_framed_in_linear_time() -> None:
    # One sentence of 40,000 quoted claim words, and of 20,000 nicknames: reading the whole sentence around every
    # quote took 37 s.
    hits = analyse(CLAIM, "", "'surpassed' " * 40_000).hits
    assert any(hit.kind == "scare_quotes" for hit in hits)
    hits = analyse(CLAIM, "", "a player nicknamed 'surpassed' and " * 20_000).hits
    assert not any(hit.kind == "scare_quotes" for hit in hits)


@pytest.mark.parametrize(
    ("claim", "body", "cue"),
    [
        # each phrase once read its object, or the whole sentence around it, to the end of the sentence
        (
            "Dockworkers went on strike at East Coast ports",
            "A deal " + ("averts " + "strike " * 6) * 5_000 + ".",
            "averts",
        ),
        (
            "Sanae Takaichi has become Japan's first female prime minister",
            "Takaichi " + "set to become prime minister " * 10_000 + ".",
            "set to",
        ),
        (
            "NASA will land astronauts on the Moon by 2026",
            "NASA will not land astronauts on the Moon until 2030 " * 8_000 + ".",
            "delayed to 2030",
        ),
    ],
)
def test_a_sentence_of_many_averts_prospects_or_later_dates_is_framed_in_linear_time(
    claim: str, body: str, cue: str
) -> None:
    assert cue in {hit.text for hit in analyse(claim, "", body).hits}


def test_a_sentence_of_every_denial_with_a_that_clause_is_framed_in_linear_time() -> None:
    # Every denial and doubt phrase of the lexicon, each with "that", then a clause of 50,000 words without a
    # break: reading each phrase's clause to its end took 5 s; the clause is read DENIED_CLAUSE words deep.
    phrases = sorted(
        {" ".join(p.words) for ps in LEXICON.values() for p in ps if p.kind in ("counter_voice", "doubt")}
    )
    body = (" ".join(f"{phrase} that" for phrase in phrases) + " " + "x y " * 50_000)[:100_000]
    hits = analyse("Joe Biden has withdrawn from the 2024 US presidential race", "", body).hits
    assert any(hit.kind == "counter_voice" for hit in hits)
    # Thousands of sentences cut at "U.S." are joined in one pass.
    assert len(split_plain_sentences("U.S. " * 20_000)) == 1
