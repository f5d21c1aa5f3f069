"""Stance: cues, scope and the dispute guard on short news passages, the reported failures and the probe set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from watcher.domain import Framing, Stance
from watcher.framing import (
    SHIPPED,
    SHORT_TEXT_SENTENCES,
    Analysis,
    StanceModel,
    analyse,
    cues,
    decide,
    explain,
    frame,
    load_shipped,
    resolve,
    rule_stance,
    settle,
    shown_evidence,
)
from watcher.framing.lexicon import DIRECTIONS
from watcher.framing.model import Tree
from watcher.framing.rules import _scan, _sentence, tokenize

CLAIM = "NATO has surpassed Russia in ammunition production"

STRAIGHT = (
    "NATO has surpassed Russia in ammunition production, figures show. "
    "European plants will deliver two million shells this year, up from 300,000 in 2022."
)
ATTRIBUTED = (
    "NATO has surpassed Russia in ammunition production, according to the alliance's secretary general. "
    "Officials reportedly expect output to rise further next year."
)
DISTANCED_DENIED = (
    "Western officials claimed on Tuesday that NATO has surpassed Russia in ammunition production. "
    "Moscow denied it, calling the figures propaganda."
)
CONTRADICTED = (
    "Claims that NATO has surpassed Russia in ammunition production are not true. "
    "NATO countries make only 1.3 million shells a year, while Russia produces about three million."
)
SCARE_QUOTED = (
    'Officials say NATO has "surpassed" Russia in ammunition production. '
    'The "surpassing" rests on counting orders rather than shells delivered.'
)
FAR_AWAY = (
    "NATO has surpassed Russia in ammunition production, the latest industry figures show. "
    "Plants in Germany and Poland have added shifts. Orders have been placed for five years. "
    "Prices for steel rose in the spring. The weather delayed some shipments. "
    "In an unrelated case, a court dismissed claims that a local contractor had faked safety reports."
)


def rules(title: str, text: str, claim: str = CLAIM) -> Framing:
    return frame(claim, title, text, model=None)


def kinds(framing: Framing) -> set[str]:
    return {cue.kind for cue in framing.cues}


def texts(framing: Framing, kind: str) -> set[str]:
    return {cue.text for cue in framing.cues if cue.kind == kind}


# -- rules alone ------------------------------------------------------------------------------------------


def test_straight_report_supports() -> None:
    framing = rules("NATO now out-produces Russia in shells", STRAIGHT)
    assert framing.stance is Stance.SUPPORTS
    assert framing.skepticism == 0.0
    assert texts(framing, "endorsement") == {"figures show"}


def test_invisible_characters_do_not_hide_a_denial() -> None:
    # "de\u00adnied" and "NA\u200bTO" read as the plain words: the same stance and cues as the clean text.
    hidden = DISTANCED_DENIED.replace("denied", "de\u00adnied").replace("NATO", "NA\u200bTO")
    framing = rules("West says NA\u2060TO out-produces Russia", hidden)
    assert framing == rules("West says NATO out-produces Russia", DISTANCED_DENIED)
    assert framing.stance is Stance.DISPUTES


def test_attributed_report_is_neutral() -> None:
    framing = rules("NATO output overtakes Russia's, alliance says", ATTRIBUTED)
    assert framing.stance is Stance.NEUTRAL
    assert {"according to", "reportedly"} <= texts(framing, "hedge")
    assert 0.0 < framing.skepticism < 0.6


def test_plain_said_is_attribution_not_distancing() -> None:
    framing = rules("", "NATO has surpassed Russia in ammunition production, the minister said.")
    assert "distancing_verb" not in kinds(framing)
    assert texts(framing, "attribution") == {"said"}


def test_distancing_and_denial_dispute() -> None:
    framing = rules("West says NATO out-produces Russia", DISTANCED_DENIED)
    assert framing.stance is Stance.DISPUTES
    assert texts(framing, "distancing_verb") == {"claimed"}
    assert texts(framing, "counter_voice") == {"denied"}  # the words that carry the stance
    assert framing.skepticism > 0.4


def test_contradiction_with_contrary_figures_disputes() -> None:
    framing = rules("The myth of NATO's shell surge", CONTRADICTED)
    assert framing.stance is Stance.DISPUTES
    assert "not true" in texts(framing, "contradiction")
    assert "contrary figure 1.3" in texts(framing, "counter_evidence")
    assert framing.skepticism >= 0.6


@pytest.mark.parametrize(
    ("claim", "text", "contrary"),
    [
        # two years compared, neither the claim's figure: no contrast with the claim
        (
            "Measles cases in England rose to more than 1,200 in 2025",
            "Measles cases in England rose to 1,274 this year, compared with 941 the year before.",
            None,
        ),
        (
            "Measles cases in England rose to more than 1,200 in 2025",
            "Measles cases in England rose to 1,274 this year versus 941 the year before.",
            None,
        ),
        # where the change started
        (
            "The death toll from the quake has risen to 41",
            "The death toll from the quake has in fact risen to 41, up from 35 on Monday.",
            None,
        ),
        # set against the claim's own figure, or said with "only": contrary
        (
            "Measles cases in England rose to more than 1,200 in 2025",
            "Officials confirmed 700 cases, compared with the 1,200 campaigners claimed.",
            "contrary figure 700",
        ),
        (
            "Measles cases in England rose to more than 1,200 in 2025",
            "Only 700 cases were confirmed in England this year.",
            "contrary figure 700",
        ),
    ],
)
def test_a_base_figure_is_not_a_contrary_one(claim: str, text: str, contrary: str | None) -> None:
    framing = frame(claim, "", text, model=None)
    found = texts(framing, "counter_evidence")
    if contrary is None:
        assert not found
        assert framing.stance is not Stance.DISPUTES
    else:
        assert contrary in found
        assert framing.stance is Stance.DISPUTES


@pytest.mark.parametrize(
    ("claim", "text", "stance"),
    [
        # what a ban or a closure stops is no denial of it
        (
            "Montana has banned TikTok",
            "App stores in Montana can no longer offer TikTok, under a law signed on Wednesday.",
            Stance.SUPPORTS,
        ),
        (
            "Amazon will close all its stores in Britain",
            "Amazon will close its stores in Britain. Shoppers will no longer be able to use Amazon Fresh in London.",
            Stance.SUPPORTS,
        ),
        # a negation of the ban itself, in the claim's word or another
        ("Montana has banned TikTok", "TikTok is not banned in Montana yet.", Stance.DISPUTES),
        (
            "Italy has banned ChatGPT",
            "Italy has not imposed a ban on ChatGPT, the regulator said.",
            Stance.DISPUTES,
        ),
        (
            "Amazon will close all its stores in Britain",
            "Amazon will not close its stores in Britain.",
            Stance.DISPUTES,
        ),
    ],
)
def test_what_a_ban_stops_is_no_denial_of_it(claim: str, text: str, stance: Stance) -> None:
    framing = frame(claim, "", text, model=None)
    assert framing.stance is stance
    assert ("negation" in kinds(framing)) is (stance is Stance.DISPUTES)


@pytest.mark.parametrize(
    ("claim", "title", "text", "delayed"),
    [
        (
            "NASA will land astronauts on the Moon by 2026",
            "",
            "NASA has pushed the Artemis III crewed landing back to 2027, officials said on Tuesday.",
            "2027",
        ),
        ("NASA will land astronauts on the Moon by 2026", "NASA delays Moon landing to 2028", "", "2028"),
        (
            "The new airport will open in 2025",
            "",
            "The opening of the new airport has been postponed until 2027, the operator said.",
            "2027",
        ),
        # the deadline met despite an earlier delay; a delay of something else; a claim of the past
        (
            "The new airport will open by 2025",
            "",
            "The new airport will open by 2025, the operator said, after a delay in 2023 over funding.",
            None,
        ),
        (
            "NASA will land astronauts on the Moon by 2026",
            "",
            "NASA will land astronauts on the Moon by 2026, officials said; a cargo mission slipped to 2028.",
            None,
        ),
        (
            "Floods in 2023 killed more than 100 people in Libya",
            "",
            "The report on the floods was delayed to 2024.",
            None,
        ),
        # a later date without a word of delay: "not until", "no earlier than", "at the earliest"
        (
            "NASA will land astronauts on the Moon by 2026",
            "",
            "The crewed landing will not happen until mid-2027, NASA said on Tuesday.",
            "2027",
        ),
        (
            "The new airport will open in 2025",
            "",
            "The operator now expects the new airport to open no earlier than 2027.",
            "2027",
        ),
        (
            "NASA will land astronauts on the Moon by 2026",
            "Moon landing in 2028 at the earliest, NASA says",
            "",
            "2028",
        ),
        # ... of something else than the claim
        (
            "NASA will land astronauts on the Moon by 2026",
            "",
            "NASA will land astronauts on the Moon by 2026, officials said; the rover will not launch until 2028.",
            None,
        ),
    ],
)
def test_a_delay_past_the_claims_deadline_disputes(
    claim: str, title: str, text: str, delayed: str | None
) -> None:
    framing = frame(claim, title, text, model=None)
    if delayed is None:
        assert not any(t.startswith("delayed to") for t in texts(framing, "counter_evidence"))
        assert framing.stance is not Stance.DISPUTES
    else:
        assert f"delayed to {delayed}" in texts(framing, "counter_evidence")
        assert framing.stance is Stance.DISPUTES


@pytest.mark.parametrize(
    ("claim", "title", "text", "stance", "cue"),
    [
        # a number in a name is no figure: "GLP-1" does not make "18,000 participants" a contrary figure
        (
            "GLP-1 weight-loss drugs such as semaglutide lower the risk of dementia",
            "",
            "GLP-1 drugs such as semaglutide lower the risk of dementia: in a trial of 18,000 participants, those "
            "given semaglutide were 33 percent less likely to develop it.",
            Stance.SUPPORTS,
            None,
        ),
        # a number in a name after a capitalised word ("Boeing 787") is no figure; "only 31" still is, in title case too
        (
            "Boeing delivered 40 jets in March",
            "",
            "Boeing delivered 40 jets in March, the company said, but only the Airbus A320 and Boeing 787 lines grew.",
            Stance.SUPPORTS,
            None,
        ),
        (
            "Boeing delivered 40 jets in March",
            "Boeing Delivered Only 31 Jets In March",
            "",
            Stance.DISPUTES,
            "counter_evidence",
        ),
        (
            "Boeing delivered 40 jets in March",
            "",
            "Boeing delivered only 31 jets in March, the company said.",
            Stance.DISPUTES,
            "counter_evidence",
        ),
        # "no more", "not ... another": none beyond the claim's
        (
            "Arsenal have signed striker Viktor Gyokeres from Sporting Lisbon",
            "",
            "Arsenal will not sign another striker this summer after Gyokeres arrived from Sporting Lisbon.",
            Stance.SUPPORTS,
            None,
        ),
        # the claim's own comparison after a negator is still denied
        (
            "Russia produces more artillery shells than the United States",
            "",
            "Russia no longer produces more artillery shells than the United States, a Pentagon official said.",
            Stance.DISPUTES,
            "negation",
        ),
        # no plans to do what the claim says will be done
        (
            "Apple will release a foldable iPhone in 2026",
            "",
            "Tim Cook said the company had no plans to ship a foldable iPhone next year.",
            Stance.DISPUTES,
            "negation",
        ),
        # a correction that takes the claim back
        (
            "A federal judge blocked Kroger's proposed merger with Albertsons",
            "Judge allows FTC case against Kroger-Albertsons deal to proceed",
            "A federal judge on Monday declined to dismiss the FTC's challenge to the grocery merger. An earlier "
            "version of this article incorrectly said the judge had blocked the merger; no decision has been made.",
            Stance.DISPUTES,
            "correction",
        ),
        # a headline that opens with a question keeps its distance
        (
            "US measles cases in 2025 reached their highest level in more than 30 years",
            "Measles at a 30-year high? Health departments count cases differently",
            "",
            Stance.NEUTRAL,
            "headline_question",
        ),
    ],
)
def test_eleventh_round_phrasings(claim: str, title: str, text: str, stance: Stance, cue: str | None) -> None:
    framing = frame(claim, title, text, model=None)
    assert framing.stance is stance
    if cue is None:
        assert not kinds(framing) & {"negation", "counter_evidence", "headline_negation"}
    else:
        assert cue in kinds(framing)


def assert_read_as(claim: str, title: str, text: str, stance: Stance) -> None:
    """The rules alone and the shipped default both read the item as ``stance``."""
    assert frame(claim, title, text, model=None).stance is stance
    assert frame(claim, title, text).stance is stance


# The twelfth round's rules: an averted event, a prospect against a claim of a thing done, a later date without
# a word of delay, a number in a name; each with the inputs a review of their first version read wrongly.
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        # what stops the claim's event before it happens
        (
            "Dockworkers went on strike at East Coast ports in October",
            "Dockworkers ratify deal, ending threat of October port strike",
            "",
            Stance.DISPUTES,
        ),
        (
            "The US defaulted on its debt",
            "US averts default",
            "Congress raised the debt ceiling, averting a US debt default.",
            Stance.DISPUTES,
        ),
        # ... not when it failed, is only hoped for, averts something else, or is the claim's own
        (
            "Dockworkers went on strike at East Coast ports in October",
            "Talks fail to avert port strike as dockworkers walk out",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Dockworkers will strike at East Coast ports on October 1",
            "Tentative deal",
            "A tentative deal could avert the strike at East Coast ports, though union members must still vote on it.",
            Stance.NEUTRAL,
        ),
        (
            "The Fed cut interest rates in September",
            "Fed cuts to head off slowdown",
            "The Fed cut interest rates in September, heading off fears that rates would stay high.",
            Stance.SUPPORTS,
        ),
        (
            "The Fed cut interest rates to avert a recession",
            "Fed cuts rates",
            "The Fed cut interest rates on Wednesday, averting a recession, analysts said.",
            Stance.SUPPORTS,
        ),
        (
            "The prime minister visited Washington on Monday",
            "PM heads to Washington",
            "The prime minister headed off to Washington on Monday for talks with the president.",
            Stance.SUPPORTS,
        ),
        # a prospect against a claim of a thing done, not against a claim of what will be
        (
            "Sanae Takaichi has become Japan's first female prime minister",
            "Takaichi set to become Japan's first female prime minister",
            "",
            Stance.NEUTRAL,
        ),
        (
            "The two banks completed their merger",
            "Banks set to complete merger",
            "The two banks are set to complete their merger on Friday, pending a final regulatory sign-off.",
            Stance.NEUTRAL,
        ),
        (
            "Christian Bale to play Steve Jobs in an upcoming bio flick",
            "Christian Bale set to play Steve Jobs in forthcoming biopic",
            "",
            Stance.SUPPORTS,
        ),
        (
            "The Fed raised interest rates",
            "Fed raises rates again",
            "The Fed raised interest rates on Wednesday and is expected to raise rates again in December.",
            Stance.SUPPORTS,
        ),
        (
            "The drug was approved by the FDA",
            "FDA approves drug",
            "The drug, which was expected to be approved last year, was approved by the FDA on Friday.",
            Stance.SUPPORTS,
        ),
        # a later date without a word of delay counts for the claim's own event only
        (
            "NASA will land astronauts on the Moon by 2026",
            "Moon landing slips",
            "NASA said the first crewed landing on the Moon will come in 2028 at the earliest.",
            Stance.DISPUTES,
        ),
        (
            "NASA will land astronauts on the Moon by 2026",
            "Artemis landing on schedule",
            "NASA will land astronauts on the Moon in 2026 and will not retire the SLS rocket until 2030.",
            Stance.SUPPORTS,
        ),
        (
            "The high-speed rail line will open by 2027",
            "Rail line on track",
            "The high-speed rail line will open in 2027 and fares will not rise before 2030.",
            Stance.SUPPORTS,
        ),
        # a figure after a place or a time is one; a label the claim gives its own figure is one too
        (
            "Israeli strikes killed 500 people in Gaza on Tuesday",
            "Gaza toll revised",
            "In Gaza 300 people were killed on Tuesday, fewer than the 500 first reported, health officials said.",
            Stance.DISPUTES,
        ),
        (
            "Hurricane Milton made landfall as a Category 5 storm",
            "Milton weakens before landfall",
            "Milton weakened before landfall and came ashore as a Category 3 storm, rather than a Category 5.",
            Stance.DISPUTES,
        ),
        (
            "Boeing delivered 40 jets in March",
            "Boeing deliveries hit target",
            "Boeing delivered 40 jets in March, more than Airbus, while Boeing 787 output stayed flat.",
            Stance.SUPPORTS,
        ),
        # a question of alternatives weighs the falsehood it names; a yes-no question of it keeps its doubt
        (
            "The material LK-99 is a room-temperature superconductor",
            "LK-99: Physics Breakthrough or Another False Dawn?",
            "",
            Stance.NEUTRAL,
        ),
        ("The material LK-99 is a room-temperature superconductor", "Is LK-99 a hoax?", "", Stance.DISPUTES),
    ],
)
def test_twelfth_round_rules(claim: str, title: str, text: str, stance: Stance) -> None:
    assert_read_as(claim, title, text, stance)


# The thirteenth round's rules: "No. 4" is a number, "shot down" of a craft, a denial of another statement, quarrels
# and decisions rejected, a push to a later year, a deal blocked, a request against a claim of a thing done, and
# sentences that go on past "U.S." and "Dec.".
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        (
            "India has overtaken Japan to become the world's fourth-largest economy",
            "India overtakes Japan to become world's No. 4 economy",
            "",
            Stance.SUPPORTS,
        ),
        (
            "India has overtaken Japan to become the world's fourth-largest economy",
            "No, India has not overtaken Japan",
            "",
            Stance.DISPUTES,
        ),
        # a claim of jets shot down is no denial, and a denial of it is one
        (
            "Pakistan shot down Indian Rafale fighter jets",
            "Indian Air Force calls Rafale shootdown reports 'Pakistani disinformation'",
            "",
            Stance.DISPUTES,
        ),
        (
            "Pakistan shot down Indian Rafale fighter jets",
            "Pakistan shot down three Indian Rafale jets, officials confirm",
            "",
            Stance.SUPPORTS,
        ),
        (
            "The minister will resign",
            "Minister shoots down talk of exit",
            "The minister shot down speculation that he would resign, saying he had the prime minister's backing.",
            Stance.DISPUTES,
        ),
        # a denial of something else beside the claim
        (
            "OpenAI released GPT-5 in August 2025",
            "OpenAI releases GPT-5",
            "OpenAI released GPT-5 in August 2025. Sam Altman rejected claims that the launch had been rushed.",
            Stance.SUPPORTS,
        ),
        (
            "The US unemployment rate rose to 4.6 percent in November",
            "Jobless rate hits 4.6%",
            "The unemployment rate rose to 4.6 percent in November. The White House denied that its tariff policy "
            "had weakened hiring.",
            Stance.SUPPORTS,
        ),
        # ... but a denial of the claim in its words, or of its country's people, stays one
        (
            "Bashar al-Assad has fled Syria to Moscow",
            "Assad lands in UAE as his rule collapses",
            "Bashar al-Assad arrived in Abu Dhabi on Sunday, ending speculation that the ousted Syrian president "
            "had sought refuge in Russia.",
            Stance.DISPUTES,
        ),
        (
            "Pakistan shot down Indian Rafale fighter jets",
            "India rejects Pakistani claims",
            "India's air force rejected claims that its Rafale jets had been shot down.",
            Stance.DISPUTES,
        ),
        # a quarrel and a decision rejected are no denials
        (
            "The January 2025 wildfires in Los Angeles destroyed more than 16,000 structures",
            "Altadena rebuilds",
            "The January 2025 wildfires in Los Angeles destroyed more than 16,000 structures. Rebuilding has been "
            "slowed by insurance disputes.",
            Stance.SUPPORTS,
        ),
        (
            "The International Criminal Court has issued an arrest warrant for Benjamin Netanyahu",
            "ICC issues arrest warrant for Netanyahu",
            "The International Criminal Court has issued an arrest warrant for Benjamin Netanyahu. His office "
            "rejected the decision as antisemitic.",
            Stance.SUPPORTS,
        ),
        # a push to a later year than the claim's
        (
            "SpaceX will launch an uncrewed Starship to Mars in 2026",
            "Musk pushes first Starship Mars shot to 2028 window",
            "",
            Stance.DISPUTES,
        ),
        # a deal blocked, not a road
        (
            "Microsoft has completed its $69 billion acquisition of Activision Blizzard",
            "UK watchdog blocks Microsoft's $69bn Activision takeover",
            "",
            Stance.DISPUTES,
        ),
        (
            "Protesters blocked the main highway into the capital",
            "Protesters blocked the main highway into the capital on Monday",
            "",
            Stance.SUPPORTS,
        ),
        (
            "A federal judge blocked Kroger's proposed merger with Albertsons",
            "Judge blocks Kroger's merger with Albertsons",
            "",
            Stance.SUPPORTS,
        ),
        # a request for what a claim says was done
        (
            "The International Criminal Court has issued an arrest warrant for Benjamin Netanyahu",
            "ICC prosecutor asks judges for arrest warrants against Netanyahu",
            "",
            Stance.NEUTRAL,
        ),
        (
            "The ICC prosecutor will seek an arrest warrant for Benjamin Netanyahu",
            "ICC prosecutor seeks arrest warrant for Netanyahu",
            "",
            Stance.SUPPORTS,
        ),
        # a correction no longer cut in two at "U.S."
        (
            "The US Food and Drug Administration has approved Casgevy for sickle cell disease",
            "UK approves first CRISPR-based medicine",
            "Britain's regulator authorised Casgevy on Thursday for sickle cell disease. An earlier version of this "
            "article incorrectly said the U.S. Food and Drug Administration had also approved the treatment.",
            Stance.DISPUTES,
        ),
    ],
)
def test_thirteenth_round_rules(claim: str, title: str, text: str, stance: Stance) -> None:
    assert_read_as(claim, title, text, stance)


@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        # a denial of another statement than the claim's, in the headline or beside a report of the claim
        (
            "OpenAI released GPT-5 in August 2025",
            "OpenAI restores GPT-4o after backlash",
            "Sam Altman said users could again choose the older model, days after the company made GPT-5 the "
            "default. He rejected claims that the launch had been rushed.",
            Stance.NEUTRAL,
        ),
        (
            "The US unemployment rate rose to 4.6 percent in November",
            "White House rejects claim that tariffs drove job losses",
            "The jobless rate rose to 4.6 percent in November, the Labor Department said.",
            Stance.NEUTRAL,
        ),
        # a decision rejected was taken
        (
            "The International Criminal Court has issued an arrest warrant for Benjamin Netanyahu",
            "Court orders arrest of Netanyahu",
            "Judges said there were reasonable grounds to believe Netanyahu bore criminal responsibility. His "
            "office rejected the decision as antisemitic.",
            Stance.NEUTRAL,
        ),
    ],
)
def test_a_denial_of_something_else_is_no_cue(claim: str, title: str, text: str, stance: Stance) -> None:
    framing = frame(claim, title, text, model=None)
    assert framing.stance is stance
    assert "counter_voice" not in kinds(framing)


def test_a_quarrel_named_is_no_dispute() -> None:
    def kinds_of(text: str) -> list[str]:
        return [kind for kind, _, _ in _scan(_sentence(text))]

    assert kinds_of("Rebuilding has been slowed by insurance disputes and soaring costs.") == []
    assert kinds_of("A pay dispute closed the port.") == []
    assert kinds_of("Scientists dispute the figures.") == ["counter_voice"]


# What a review of the thirteenth round's first version read wrongly: "No" before a year, "shot down" past a comma or
# before "was" after a report, a denial of the claim in other words, a pronoun or a relative clause, a second
# denial in one sentence, a quarrel word as a subject, a court refusing a warrant, "the ruling party", a decision
# with a verb of its own, urging to a date, a block lifted or refused, a claim of a deal's failure, a request to
# act on the claim's thing or beside it, a sentence that ends at "Plan B.".
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        (
            "SpaceX will launch an uncrewed Starship to Mars in 2026.",
            "No 2026 Mars trip for Starship, Musk concedes",
            "",
            Stance.DISPUTES,
        ),
        (
            "Pakistan shot down Indian Rafale fighter jets during the May 2025 conflict.",
            "Indian Rafale shot down, report says",
            "",
            Stance.NEUTRAL,
        ),
        (
            "Azerbaijan Airlines Flight 8243 was shot down by Russian air defences.",
            "Investigators weigh theory that the plane was shot down",
            "Investigators are weighing the theory that the plane was shot down by Russian air defences over Grozny.",
            Stance.NEUTRAL,
        ),
        (
            "Joe Biden has withdrawn from the 2024 US presidential race.",
            "Biden campaign shoots down report he is quitting race",
            "The Biden campaign on Wednesday shot down a New York Times report that the president was weighing whether "
            "to continue his campaign.",
            Stance.DISPUTES,
        ),
        (
            "Microsoft has completed its $69 billion acquisition of Activision Blizzard.",
            "Microsoft closes $69 billion Activision Blizzard deal",
            "Microsoft completed its $69 billion acquisition of Activision Blizzard on Friday. Phil Spencer rejected "
            "claims that Call of Duty would leave PlayStation.",
            Stance.SUPPORTS,
        ),
        (
            "SpaceX will launch an uncrewed Starship to Mars in 2026.",
            "SpaceX says Starship on track for Mars in 2026",
            "SpaceX said an uncrewed Starship will launch to Mars in 2026. The company rejected claims that the last "
            "test flight had been rushed.",
            Stance.SUPPORTS,
        ),
        (
            "Indonesia will move its capital from Jakarta to Nusantara in 2024.",
            "Indonesia will move capital to Nusantara in 2024, minister says",
            "The minister denied that the relocation budget had been cut.",
            Stance.SUPPORTS,
        ),
        (
            "Joe Biden has withdrawn from the 2024 US presidential race.",
            "Biden campaign denies reports that he will step aside",
            "",
            Stance.DISPUTES,
        ),
        (
            "Joe Biden has withdrawn from the 2024 US presidential race.",
            "White House on Biden reports",
            "The White House dismissed the reports that surfaced overnight.",
            Stance.DISPUTES,
        ),
        (
            "Pakistan shot down Indian Rafale fighter jets during the May 2025 conflict.",
            "Indian military statement on Operation Sindoor",
            "The Indian military denied that its strikes had targeted civilians, and denied Pakistan's claim that "
            "Rafale jets were lost.",
            Stance.DISPUTES,
        ),
        (
            "Haitian migrants in Springfield, Ohio, are eating residents' pets.",
            "Springfield police respond to pet rumours",
            "Police dismissed rumours that newcomers were abducting and eating animals.",
            Stance.DISPUTES,
        ),
        (
            "The teenager shot by police in Nanterre was armed when officers opened fire.",
            "Family disputes police account that Nahel was armed",
            "",
            Stance.DISPUTES,
        ),
        (
            "The US economy added 254,000 jobs in September.",
            "Department of Labor disputes report that September jobs figure was 254,000",
            "",
            Stance.DISPUTES,
        ),
        (
            "A South Korean court has issued an arrest warrant for impeached President Yoon Suk Yeol.",
            "Seoul court rejects warrant to arrest Yoon",
            "",
            Stance.DISPUTES,
        ),
        (
            "Zimbabwe's ruling ZANU-PF party rigged the August 2023 election.",
            "ZANU-PF rejects the ruling party rigging allegations",
            "",
            Stance.DISPUTES,
        ),
        (
            "Zimbabwe's ruling ZANU-PF party rigged the August 2023 election.",
            "Harare responds to rigging claims",
            "Government spokesman Nick Mangwana denied the ruling party had tampered with ballots in the August vote.",
            Stance.DISPUTES,
        ),
        (
            "The UK government has decided to scrap the Manchester leg of HS2.",
            "Government denies the decision on HS2 Manchester leg has been taken",
            "",
            Stance.DISPUTES,
        ),
        (
            "SpaceX will launch an uncrewed Starship to Mars in 2026.",
            "Musk doubles down on Mars timeline",
            "Musk has pushed his engineers to have an uncrewed Starship launch to Mars in 2026 and a crewed flight in 2028.",
            Stance.SUPPORTS,
        ),
        (
            "Microsoft has completed its $69 billion acquisition of Activision Blizzard.",
            "Microsoft completes Activision deal after UK lifts block on Microsoft's Activision takeover",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Microsoft has completed its $69 billion acquisition of Activision Blizzard.",
            "Microsoft closes Activision deal",
            "Microsoft completed its acquisition of Activision Blizzard on Friday. In July a federal judge refused to "
            "grant an injunction blocking Microsoft's Activision takeover.",
            Stance.SUPPORTS,
        ),
        (
            "Kroger's $24.6 billion merger with Albertsons has been abandoned.",
            "Judge blocks Kroger's merger with Albertsons; Albertsons walks away",
            "",
            Stance.SUPPORTS,
        ),
        (
            "The International Criminal Court has issued an arrest warrant for Israeli Prime Minister Benjamin Netanyahu.",
            "Israel asks ICC to withdraw arrest warrant for Netanyahu",
            "",
            Stance.SUPPORTS,
        ),
        (
            "A South Korean court has issued an arrest warrant for impeached President Yoon Suk Yeol.",
            "Investigator asks court to extend arrest warrant for Yoon",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Joe Biden has withdrawn from the 2024 US presidential race.",
            "Democrats seeking new nominee after Biden quits race",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Indonesia will move its capital from Jakarta to Nusantara in 2024.",
            "Indonesia capital move on schedule",
            "Officials said there was no Plan B. Indonesia will move its capital to Nusantara in 2024 as scheduled.",
            Stance.SUPPORTS,
        ),
    ],
)
def test_what_a_review_of_the_thirteenth_round_rules_found(
    claim: str, title: str, text: str, stance: Stance
) -> None:
    assert_read_as(claim, title, text, stance)


# The fourteenth round's rules: a figure in a forecast is no contrary figure, and a delay of the claim's event
# disputes a claim that it has happened.
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        (
            "Canada's unemployment rate rose to 7.1 percent in August 2025",
            "Canada's August jobs data could show unemployment hitting 7%",
            "Economists polled ahead of Friday's release expect the jobless rate to edge up to 7.0 percent.",
            Stance.NEUTRAL,
        ),
        # ... but a figure found beside a forecast missed still contradicts
        (
            "Canada's unemployment rate rose to 7.1 percent in August 2025",
            "Canada's jobless rate holds",
            "Economists had expected the unemployment rate to rise, but it held at 6.9 percent in August.",
            Stance.DISPUTES,
        ),
        (
            "Sweden has become NATO's 32nd member",
            "Turkish lawmakers put off debate on Swedish NATO bid",
            "Turkey's parliamentary foreign affairs committee adjourned its discussion of Sweden's NATO membership "
            "on Thursday after members of the ruling party asked for more time.",
            Stance.DISPUTES,
        ),
        (
            "Brazil's Supreme Court has convicted Jair Bolsonaro of plotting a coup",
            "Brazil's top court postpones Bolsonaro verdict",
            "",
            Stance.DISPUTES,
        ),
        # ... not a delay overcome, a possible one, or the claim's own
        (
            "India's Chandrayaan-3 spacecraft has landed near the Moon's south pole",
            "Chandrayaan-3 lands on the Moon after two delays",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Apple has delayed its AI-powered Siri upgrade until 2026",
            "Apple postpones Siri upgrade to 2026",
            "",
            Stance.SUPPORTS,
        ),
    ],
)
def test_fourteenth_round_rules(claim: str, title: str, text: str, stance: Stance) -> None:
    assert_read_as(claim, title, text, stance)


# What a review of the fourteenth round's first version read wrongly: a figure "as expected" or "more than expected",
# a forecast after the figure or past "and", a poll's own figure, a claim that is itself a forecast; a delay
# overcome far back in its clause or ended, a delay of something else, "put off by", and what it missed: "decides
# to postpone", "stalls".
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        (
            "The US unemployment rate rose to 4.3 percent in July.",
            "US unemployment rate holds steady in July",
            "The jobless rate held at 4.1 percent in July as expected.",
            Stance.DISPUTES,
        ),
        (
            "Eurozone inflation fell to 2.4 percent in November.",
            "Eurozone inflation",
            "Inflation slowed more than expected to 2.0 percent in November.",
            Stance.DISPUTES,
        ),
        (
            "The US unemployment rate rose to 4.3 percent in July.",
            "US jobs report",
            "The unemployment rate edged down to 4.1 percent in July and could fall further, economists said.",
            Stance.DISPUTES,
        ),
        (
            "The US unemployment rate rose to 4.3 percent in July.",
            "US jobs report",
            "The unemployment rate fell to 4.1 percent in July in a report that would ease pressure on the Federal Reserve.",
            Stance.DISPUTES,
        ),
        (
            "Emmanuel Macron's approval rating has fallen to 19 percent.",
            "Macron popularity",
            "An Ifop poll published Sunday put Macron's approval rating at 27 percent, up four points.",
            Stance.DISPUTES,
        ),
        (
            "Marine Le Pen's National Rally won 33 percent of the vote in the first round.",
            "National Rally polled 29 percent in first round, official results show",
            "",
            Stance.DISPUTES,
        ),
        (
            "The IMF has cut its 2024 global growth forecast to 2.9 percent.",
            "IMF raises 2024 global growth forecast to 3.2%",
            "",
            Stance.DISPUTES,
        ),
        (
            "The IMF has cut its 2024 global growth forecast to 2.9 percent.",
            "IMF World Economic Outlook",
            "The fund now expects the global economy to grow 3.2 percent in 2024.",
            Stance.DISPUTES,
        ),
        (
            "Sweden has become NATO's 32nd member.",
            "Sweden joins NATO after nearly two years of delays",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Boeing's Starliner capsule has docked with the International Space Station.",
            "Starliner docks with ISS after five hours of delays caused by thruster glitches",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Sweden has become NATO's 32nd member.",
            "Sweden joins NATO as Hungary ends long delay",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Joe Biden has withdrawn from the 2024 US presidential race.",
            "Democrats postpone virtual roll call after Biden exits race",
            "",
            Stance.SUPPORTS,
        ),
        (
            "Reddit has gone public on the New York Stock Exchange.",
            "Reddit soars in NYSE debut",
            "Few investors were put off by Reddit's losses as the company's shares soared 48% in their New York "
            "Stock Exchange debut.",
            Stance.SUPPORTS,
        ),
        (
            "Brazil's Supreme Court has convicted Jair Bolsonaro of plotting a coup.",
            "Brazil's Supreme Court decides to postpone Bolsonaro verdict",
            "",
            Stance.DISPUTES,
        ),
        (
            "Hungary's parliament has ratified Sweden's NATO membership.",
            "Hungarian lawmakers vote to delay ratification of Sweden's NATO bid",
            "",
            Stance.DISPUTES,
        ),
        (
            "Sweden has become NATO's 32nd member.",
            "Turkey stalls Sweden's NATO bid as parliament goes into recess",
            "",
            Stance.DISPUTES,
        ),
        (
            "Boeing's Starliner has launched its first crewed flight.",
            "Boeing's Starliner crewed flight could be delayed again, NASA says",
            "",
            Stance.NEUTRAL,
        ),
        (
            "Manchester United has sacked Erik ten Hag.",
            "Ten Hag out at Old Trafford",
            "Manchester United sacked Erik ten Hag on Monday after the club's owners delayed the decision for months.",
            Stance.SUPPORTS,
        ),
    ],
)
def test_what_a_review_of_the_fourteenth_round_rules_found(
    claim: str, title: str, text: str, stance: Stance
) -> None:
    assert_read_as(claim, title, text, stance)


# Inputs that a review of the eleventh round's rules read wrongly on their first version: a negation with the ban
# word after it, "no more than" as a bound, a word "another" the claim uses, the current side of a comparison, a
# currency against its figure, a delay of something else, an error of the event rather than of the report, a
# headline's question answered after it, "contrary to recent reports" beside a statement of the claim.
@pytest.mark.parametrize(
    ("claim", "title", "text", "stance"),
    [
        (
            "A federal judge blocked Biden's student loan forgiveness plan",
            "Student loan plan still in effect",
            "No federal judge has blocked the student loan forgiveness plan, the Education Department said on Monday.",
            Stance.DISPUTES,
        ),
        (
            "Starbucks will close 400 stores in the United States",
            "Starbucks keeps US stores open",
            "Starbucks said on Tuesday that no US stores would close this year.",
            Stance.DISPUTES,
        ),
        (
            "The storm killed 50 people",
            "Storm toll lower",
            "The storm killed no more than 12 people, officials said on Tuesday.",
            Stance.DISPUTES,
        ),
        (
            "Merkel will seek another term as chancellor",
            "Merkel will not seek another term",
            "German Chancellor Angela Merkel will not seek another term as chancellor, party sources said on Monday.",
            Stance.DISPUTES,
        ),
        (
            "Tesla delivered 500,000 cars in the second quarter",
            "Tesla Q2 deliveries fall",
            "Tesla delivered 435,000 cars in the second quarter, compared with 466,000 a year earlier, the company said.",
            Stance.DISPUTES,
        ),
        (
            "Kenya's Treasury allocated Sh50 billion to the Housing Fund",
            "Housing Fund gets Sh15 billion in budget",
            "The Treasury allocated only Sh15 billion to the Housing Fund in the budget tabled on Thursday, documents show.",
            Stance.DISPUTES,
        ),
        (
            "NASA will land astronauts on the Moon by 2026",
            "NASA says Moon landing on track for 2026",
            "NASA said on Tuesday the crewed landing on the Moon remains on track for 2026, but a robotic Moon "
            "rover mission was delayed to 2028.",
            Stance.SUPPORTS,
        ),
        (
            "Hundreds of ballots were miscounted in Maricopa County",
            "Audit finds 200 Maricopa ballots miscounted",
            "An audit found that 200 ballots in Maricopa County were incorrectly counted, election officials "
            "said on Friday.",
            Stance.SUPPORTS,
        ),
        (
            "Detroit police erroneously arrested a man using facial recognition",
            "Detroit settles facial recognition arrest suit",
            "Detroit police erroneously arrested Robert Williams after facial recognition software misidentified "
            "him, the city acknowledged in a settlement on Friday.",
            Stance.SUPPORTS,
        ),
        (
            "The Federal Reserve will cut interest rates in September",
            "Rate cut in September? Powell says it's coming",
            "Federal Reserve Chair Jerome Powell said on Friday that the time has come to cut interest rates, "
            "signalling a September cut.",
            Stance.SUPPORTS,
        ),
        (
            "Russia has defaulted on its foreign debt",
            "Russia in default? Moody's says yes, for the first time since 1918",
            "Moody's said on Tuesday that Russia had defaulted on its foreign debt after missing a coupon payment.",
            Stance.SUPPORTS,
        ),
        (
            "The US economy grew 3 percent in the second quarter",
            "US economy grows 3 percent",
            "Contrary to recent reports of a slowdown, the US economy grew 3 percent in the second quarter, the "
            "Commerce Department said.",
            Stance.SUPPORTS,
        ),
    ],
)
def test_what_a_review_of_the_eleventh_round_rules_found(
    claim: str, title: str, text: str, stance: Stance
) -> None:
    assert frame(claim, title, text, model=None).stance is stance


@pytest.mark.parametrize(
    ("claim", "text"),
    [
        (
            "Detroit police arrested a man using facial recognition",
            "Detroit police wrongly arrested Robert Williams after facial recognition software misidentified him.",
        ),
        (
            "A man was shot by police in Minneapolis",
            "A man was mistakenly shot by police in Minneapolis on Tuesday.",
        ),
        ("A man was arrested by Detroit police", "A man was arrested in error by Detroit police on Friday."),
    ],
)
def test_an_error_of_the_event_is_no_correction(claim: str, text: str) -> None:
    framing = frame(claim, "", text, model=None)
    assert "correction" not in kinds(framing)
    assert framing.stance is Stance.SUPPORTS


def test_an_error_of_the_report_is_a_correction() -> None:
    framing = frame(
        "A federal judge blocked Kroger's proposed merger with Albertsons",
        "",
        "A federal judge on Monday declined to dismiss the challenge. An earlier version of this article wrongly "
        "said the judge had blocked the merger.",
        model=None,
    )
    assert "wrongly" in texts(framing, "correction")
    assert framing.stance is Stance.DISPUTES


@pytest.mark.parametrize(
    "text",
    [
        "This story was published in error: no judge has ruled on the merger.",
        "An earlier version of this article said in error that a federal judge blocked Kroger's proposed merger "
        "with Albertsons.",
    ],
)
def test_in_error_of_the_report_is_a_correction(text: str) -> None:
    framing = frame("A federal judge blocked Kroger's proposed merger with Albertsons", "", text, model=None)
    assert "in error" in texts(framing, "correction")


def test_a_correction_of_something_else_takes_nothing_back() -> None:
    framing = frame(
        "A federal judge blocked Kroger's proposed merger with Albertsons",
        "",
        "A federal judge blocked Kroger's proposed merger with Albertsons on Tuesday. An earlier version of this "
        "article incorrectly gave the judge's first name.",
        model=None,
    )
    assert framing.stance is not Stance.DISPUTES


def test_scare_quotes_around_the_claims_words() -> None:
    framing = rules("", SCARE_QUOTED)
    assert texts(framing, "scare_quotes") == {'"surpassed"', '"surpassing"'}
    assert framing.stance is Stance.DISPUTES


def test_long_quotation_is_not_scare_quotes() -> None:
    text = 'The minister said: "NATO has now surpassed Russia in ammunition production this year."'
    assert "scare_quotes" not in kinds(rules("", text))


@pytest.mark.parametrize(
    ("claim", "text"),
    [
        # the claim quotes the nickname itself
        (
            "Sinaloa cartel co-founder Ismael 'El Mayo' Zambada has been arrested in the United States",
            "Ismael 'El Mayo' Zambada was arrested in El Paso, the Justice Department said.",
        ),
        # a nickname between a first and a last name, one after "nicknamed", capitalised words in lower case
        (
            "Joaquin Guzman has been extradited",
            "Joaquin 'El Chapo' Guzman was flown to New York on Thursday.",
        ),
        (
            "Japan's lander has touched down on the Moon",
            "The probe, nicknamed the 'Moon Sniper', touched down.",
        ),
        (
            "Japan's lander has touched down on the Moon",
            "Japan's 'Moon Sniper' lander touched down on Saturday.",
        ),
    ],
)
def test_a_quoted_name_is_not_scare_quotes(claim: str, text: str) -> None:
    assert "scare_quotes" not in {hit.kind for hit in analyse(claim, "", text).hits}


@pytest.mark.parametrize(
    "text",
    [
        'Border Patrol agents "caught them," the congressman said of the militants who had crossed the border.',
        'A source told us there is "still a rat problem" at the office, the militants crossed the border.',
    ],
)
def test_quoted_speech_is_not_scare_quotes(text: str) -> None:
    # a fragment of speech (punctuation inside the quote, or three words or more) quotes someone; a term of one or
    # two words in quotes keeps a distance from it
    claim = "Border Patrol agents caught militants who had crossed the border"
    assert "scare_quotes" not in {hit.kind for hit in analyse(claim, "", text).hits}
    hits = analyse(claim, "", 'Border Patrol agents "caught" militants who had crossed the border.').hits
    assert "scare_quotes" in {hit.kind for hit in hits}


def test_quoted_capitals_in_a_title_case_headline_may_still_be_scare_quotes() -> None:
    hits = analyse(
        "Venezuela has lost its last glacier", "Venezuela's 'Last Glacier' Is Still There", ""
    ).hits
    assert "scare_quotes" in {hit.kind for hit in hits}


def test_headline_question_frames_apart_from_body() -> None:
    framing = rules("Has NATO really surpassed Russia in ammunition production?", STRAIGHT)
    assert "headline_question" in kinds(framing)
    # A questioning headline weighs against the body's endorsement; it does not govern the claim by itself
    # ("Would Microsoft really buy Nintendo?" reports a rumour).
    assert framing.stance is not Stance.DISPUTES and framing.skepticism > 0.0


def test_plain_question_headline_is_only_a_question() -> None:
    framing = rules("Who makes more shells, NATO or Russia?", STRAIGHT)
    assert "headline_question" in kinds(framing)
    assert "doubt" not in kinds(framing)
    assert framing.stance is not Stance.DISPUTES


def test_disputing_headline_over_plain_body() -> None:
    framing = rules("Kremlin rejected the claim NATO out-produces it", STRAIGHT)
    assert texts(framing, "counter_voice") == {"rejected the claim"}
    assert framing.stance is Stance.DISPUTES


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("It is not a rumour: NATO has surpassed Russia in ammunition production, data show.", "hedge"),
        ("The report is no longer unconfirmed: NATO has surpassed Russia in ammunition production.", "hedge"),
        ("NATO has surpassed Russia in ammunition production, and Moscow did not deny it.", "counter_voice"),
        ("The figures are not false: NATO has surpassed Russia in ammunition production.", "contradiction"),
        ("No one disputes that NATO has surpassed Russia in ammunition production.", "counter_voice"),
    ],
)
def test_negated_cue_does_not_count(text: str, absent: str) -> None:
    framing = rules("", text)
    assert absent not in kinds(framing)
    assert framing.stance is Stance.SUPPORTS


def test_negated_endorsement_becomes_a_hedge() -> None:
    text = "Officials could not confirm that NATO has surpassed Russia in ammunition production."
    framing = rules("", text)
    assert "endorsement" not in kinds(framing)
    assert texts(framing, "hedge") == {"could not confirm"}
    assert framing.stance is Stance.NEUTRAL


def test_negation_does_not_cross_a_clause_break() -> None:
    text = "Not everyone expected it, but officials confirmed NATO has surpassed Russia in ammunition production."
    framing = rules("", text)
    assert texts(framing, "endorsement") == {"confirmed"}
    assert framing.stance is Stance.SUPPORTS


def test_negated_claim_words_dispute() -> None:
    text = "NATO has not surpassed Russia in ammunition production, and it will not do so before 2027, data show."
    framing = rules("", text)
    assert "not surpassed" in texts(framing, "negation")
    assert "endorsement" not in kinds(framing)  # what the data show is the denial


def test_cues_far_from_the_claim_matter_less() -> None:
    analysis = analyse(CLAIM, "", FAR_AWAY)
    far = [hit for hit in analysis.hits if hit.kind in ("contradiction", "counter_voice", "distancing_verb")]
    assert far and all(hit.weight < 0.2 for hit in far)
    framing = rules("", FAR_AWAY)
    assert framing.stance is Stance.SUPPORTS
    assert not kinds(framing) & {"contradiction", "counter_voice", "distancing_verb"}


def test_evidence_anchors_a_claim_stated_in_other_words() -> None:
    """No sentence shares the claim's words: the matcher's evidence (say, a semantic match) says which
    sentence states it, and a denial there governs the claim."""
    claim = "Western shell output exceeds Russia's"
    text = (
        "The alliance met in Brussels. Ministers discussed budgets. Weather delayed several flights. "
        "NATO factories now make more artillery rounds than the Kremlin, which rejected the figures."
    )
    stated = analyse(
        claim, "", text, evidence=["NATO factories now make more artillery rounds than the Kremlin"]
    )
    unstated = analyse(claim, "", text, evidence=["Weather delayed several flights."])
    assert stated.dispute > unstated.dispute


def test_evidence_is_not_added_beside_a_sentence_in_the_claims_own_words() -> None:
    text = (
        "The alliance met in Brussels. Ministers discussed budgets. The hoax video was shared widely. "
        "Western output of shells now exceeds Moscow's, officials confirmed."
    )
    claim = "Western shell output exceeds Russia's"
    with_evidence = analyse(claim, "", text, evidence=["The hoax video was shared widely."])
    assert with_evidence.dispute == analyse(claim, "", text).dispute


def test_claim_that_itself_says_hoax_is_not_disputed_by_hoax() -> None:
    claim = "The viral shark photo is a hoax"
    text = "The viral shark photo is a hoax, experts said after tracing the image to a 2005 stock picture."
    assert "contradiction" not in kinds(rules("", text, claim))


def test_empty_article_is_neutral() -> None:
    framing = rules("", "")
    assert framing == Framing(stance=Stance.NEUTRAL, skepticism=0.0, cues=())


def test_rule_stance_follows_the_cue_scores() -> None:
    analysis = analyse(CLAIM, "", DISTANCED_DENIED)
    assert analysis.dispute >= 0.7
    assert rule_stance(analysis) is Stance.DISPUTES


# -- with a learned model -----------------------------------------------------------------------------------


def test_shipped_model_loads_and_is_the_default() -> None:
    model = load_shipped()
    assert model is not None
    assert len(model.weights) + len(model.trees) > 100
    default = frame(CLAIM, "", CONTRADICTED)
    assert default == frame(CLAIM, "", CONTRADICTED, model=SHIPPED)
    assert default == frame(CLAIM, "", CONTRADICTED, model=model)


@pytest.mark.parametrize(
    ("text", "stance"),
    [(STRAIGHT, Stance.SUPPORTS), (ATTRIBUTED, Stance.NEUTRAL), (CONTRADICTED, Stance.DISPUTES)],
)
def test_shipped_model_on_clear_cases(text: str, stance: Stance) -> None:
    assert frame(CLAIM, "", text).stance is stance


def test_shipped_model_reads_both_sides_as_not_supporting() -> None:
    # The rules call "X claimed ..., Moscow denied it" disputing; FNC-1's annotators, whom the model
    # learned from, mostly call a report of both sides "discuss". Either way it does not support.
    framing = frame(CLAIM, "", DISTANCED_DENIED)
    assert framing.stance is not Stance.SUPPORTS
    assert framing.cues == rules("", DISTANCED_DENIED).cues


# STRAIGHT with a body long enough for the model to be consulted (SHORT_TEXT_SENTENCES).
STRAIGHT_BODY = (
    STRAIGHT + " Plants in Germany and Poland added shifts. The alliance plans more orders next year. "
    "Deliveries to Ukraine are expected to rise."
)


def test_model_changes_stance_but_not_cues_or_skepticism() -> None:
    always_neutral = StanceModel(bias=(0.0, 5.0, 0.0), weights={})
    learned = frame(CLAIM, "", STRAIGHT_BODY, model=always_neutral)
    rule_only = frame(CLAIM, "", STRAIGHT_BODY, model=None)
    assert learned.stance is Stance.NEUTRAL
    assert rule_only.stance is Stance.SUPPORTS
    assert (learned.cues, learned.skepticism) == (rule_only.cues, rule_only.skepticism)


# A body long enough for the model that reports the claim at a distance, with no dispute cue.
HEDGED_BODY = (
    "NATO may have surpassed Russia in ammunition production, according to unverified estimates. "
    "Plants in Germany and Poland added shifts. The alliance plans more orders next year. "
    "Deliveries to Ukraine are expected to rise."
)


def test_the_model_does_not_turn_an_asserted_claim_into_a_dispute() -> None:
    # An article that states the claim in its own voice, which the rules read as supporting it: the model
    # may call it neutral but not disputes. Reported at a distance, the model decides freely.
    always_disputes = StanceModel(bias=(0.0, 0.0, 5.0), weights={})
    asserted = analyse(CLAIM, "", STRAIGHT_BODY)
    assert asserted.asserted and rule_stance(asserted) is Stance.SUPPORTS
    assert frame(CLAIM, "", STRAIGHT_BODY, model=always_disputes).stance is not Stance.DISPUTES
    hedged = analyse(CLAIM, "", HEDGED_BODY)
    assert not hedged.asserted
    assert frame(CLAIM, "", HEDGED_BODY, model=always_disputes).stance is Stance.DISPUTES


@pytest.mark.parametrize("title", ["", "NATO now out-produces Russia in shells"])
def test_a_short_text_goes_by_the_rules_a_body_by_the_model(title: str) -> None:
    """A feed summary of a few sentences is not what the model learnt from: the rules decide it, except
    that the model may soften the rules' supports to neutral (a report the rules read as a statement)."""
    always = {
        Stance.SUPPORTS: StanceModel(bias=(5.0, 0.0, 0.0), weights={}),
        Stance.NEUTRAL: StanceModel(bias=(0.0, 5.0, 0.0), weights={}),
        Stance.DISPUTES: StanceModel(bias=(0.0, 0.0, 5.0), weights={}),
    }
    assert len(analyse(CLAIM, title, STRAIGHT).body) <= SHORT_TEXT_SENTENCES
    assert len(analyse(CLAIM, title, STRAIGHT_BODY).body) > SHORT_TEXT_SENTENCES
    assert frame(CLAIM, title, STRAIGHT, model=None).stance is Stance.SUPPORTS
    assert frame(CLAIM, title, STRAIGHT, model=always[Stance.DISPUTES]).stance is Stance.SUPPORTS
    assert frame(CLAIM, title, STRAIGHT, model=always[Stance.NEUTRAL]).stance is Stance.NEUTRAL
    assert frame(CLAIM, title, STRAIGHT_BODY, model=always[Stance.NEUTRAL]).stance is Stance.NEUTRAL
    denied = "Russia denied that NATO has surpassed it in ammunition production."
    assert frame(CLAIM, title, denied, model=always[Stance.SUPPORTS]).stance is Stance.DISPUTES
    assert frame(CLAIM, title, denied, model=always[Stance.NEUTRAL]).stance is Stance.DISPUTES


def test_model_weights_apply_to_features() -> None:
    model = StanceModel(bias=(0.0, 1.0, 0.0), weights={"rule=supports": (3.0, 0.0, 0.0)})
    assert frame(CLAIM, "", STRAIGHT, model=model).stance is Stance.SUPPORTS
    assert frame(CLAIM, "", ATTRIBUTED, model=model).stance is Stance.NEUTRAL
    probabilities = model.probabilities(analyse(CLAIM, "", STRAIGHT), Stance.SUPPORTS)
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_model_json_round_trip(tmp_path: Path) -> None:
    model = StanceModel(bias=(0.1, 0.2, -0.3), weights={"w:hoax": (-1.0, 0.0, 1.5)}, meta={"pairs": 3})
    path = tmp_path / "framing.json"
    model.save(path)
    assert StanceModel.load(path) == model


def _stump(feature: int, threshold: float, low: float, high: float, cls: int) -> Tree:
    return Tree(cls, (feature, -1, -1), (threshold, low, high), (1, 0, 0), (2, 0, 0))


def test_trees_add_to_the_class_scores() -> None:
    # One stump per class on the rule's verdict: supports when the rule says so, else neutral.
    trees = (
        _stump(0, 0.5, 0.0, 4.0, 0),
        _stump(0, 0.5, 1.0, 0.0, 1),
        _stump(1, 0.5, 0.0, 0.0, 2),
    )
    model = StanceModel(bias=(0.0, 0.0, 0.0), weights={}, names=("rule=supports", "v:far:hoax"), trees=trees)
    assert model.scores({"rule=supports": 1.0}) == [4.0, 0.0, 0.0]
    assert model.scores({"rule=neutral": 1.0}) == [0.0, 1.0, 0.0]
    assert "hoax" in model.vocabulary
    assert frame(CLAIM, "", STRAIGHT, model=model).stance is Stance.SUPPORTS
    assert frame(CLAIM, "", ATTRIBUTED, model=model).stance is Stance.NEUTRAL


def test_model_with_trees_round_trips_and_old_format_reads(tmp_path: Path) -> None:
    trees = (_stump(0, 0.25, -1.0, 2.0, 2), _stump(1, 0.5, 0.5, -0.5, 0))
    model = StanceModel(
        bias=(0.1, 0.2, -0.3),
        weights={"w:hoax": (-1.0, 0.0, 1.5)},
        meta={"learner": "trees"},
        names=("overlap", "coverage"),
        trees=trees,
    )
    path = tmp_path / "framing.json"
    model.save(path)
    assert StanceModel.load(path) == model
    linear = {"format": 2, "classes": ["supports", "neutral", "disputes"], "bias": [0, 0, 1], "weights": {}}
    assert StanceModel.from_json(linear).bias == (0.0, 0.0, 1.0)


@pytest.mark.parametrize(
    "tree",
    [
        [0, [5, -1, -1], [0.5, 0.0, 1.0], [1, 0, 0], [2, 0, 0]],  # feature beyond the names
        [0, [0, -1, -1], [0.5, 0.0, 1.0], [0, 0, 0], [2, 0, 0]],  # a child that loops back
        [3, [-1], [0.0], [0], [0]],  # no such class
        [0, [0, -1], [0.5, 0.0], [1, 0], [2, 0]],  # a child beyond the nodes
        [0, [-0.5], [1.0], [0], [0]],  # a fraction that would truncate to a split on itself
        [0, [-2], [1.0], [0], [0]],  # a leaf other than -1
        [0, ["0", -1, -1], [0.5, 0.0, 1.0], [1, 0, 0], [2, 0, 0]],  # not a number
        [0, [-1], [0.0], [0]],  # a part missing
    ],
)
def test_malformed_trees_are_rejected(tree: list[object]) -> None:
    data = {
        "format": 3,
        "classes": ["supports", "neutral", "disputes"],
        "bias": [0, 0, 0],
        "weights": {},
        "names": ["overlap"],
        "trees": [tree],
    }
    with pytest.raises(ValueError, match="malformed stance tree"):
        StanceModel.from_json(data)


def test_model_of_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported stance model"):
        StanceModel.from_json({"format": 99, "classes": ["supports", "neutral", "disputes"]})


# -- the reported failures, scope, the guard and the probe set ------------------------------------------

SHELLS = "NATO now out-produces Russia in artillery shells"
PROBE = Path(__file__).resolve().parents[1] / "data" / "stance_probe.yaml"
PROBE_FLOOR = 0.90  # the shipped default's measured accuracy, 0.94 (bench/stance.py), minus a margin

DISPUTING = [
    ("", "Moscow dismissed as nonsense NATO's claim that it now out-produces Russia in shells."),
    ("", "It is false that NATO has surpassed Russia in ammunition production."),
    ("", "Russia denies that NATO now out-produces it in artillery shells."),
    ("", "Several researchers doubt the claim that NATO now out-produces Russia in shells."),
    ("", "NATO has not surpassed Russia in artillery shell production, officials said."),
    (
        "Analysts question Rutte's claim that NATO now out-produces Russia in shells",
        "The numbers do not add up, analysts say. The production gap has not been reversed.",
    ),
]


@pytest.mark.parametrize(("title", "text"), DISPUTING)
@pytest.mark.parametrize("model", [SHIPPED, None])
@pytest.mark.parametrize("claim", [SHELLS, CLAIM])  # the claim as worded here and in the README
def test_reported_failures_dispute(title: str, text: str, model: object, claim: str) -> None:
    framing = frame(claim, title, text, model=model)  # type: ignore[arg-type]
    assert framing.stance is Stance.DISPUTES
    assert framing.skepticism > 0.3


def test_cue_span_is_the_stance_words() -> None:
    framing = frame(
        SHELLS, "", "On Wednesday Moscow dismissed as nonsense NATO's claim that it out-produces Russia."
    )
    assert "dismissed as nonsense" in {cue.text for cue in framing.cues}


def test_disputing_sentence_is_returned_beside_the_claim_sentence() -> None:
    text = (
        "NATO now out-produces Russia in artillery shells, the alliance said on Monday. "
        "Moscow rejected the figures as misleading."
    )
    explanation = explain(SHELLS, "", text)
    assert explanation.framing.stance is Stance.DISPUTES
    assert explanation.disputing_sentence == "Moscow rejected the figures as misleading."
    assert explanation.claim_sentence.startswith("NATO now out-produces")


def test_denial_far_from_the_claim_does_not_govern_it() -> None:
    text = (
        "NATO now out-produces Russia in artillery shells, figures show. Output rose again in May. "
        "Plants in Germany and Poland added shifts. The alliance plans more orders next year. "
        "Separately, a court rejected an appeal by a defence contractor over an unrelated tender."
    )
    analysis = analyse(SHELLS, "", text)
    assert not analysis.governed
    assert frame(SHELLS, "", text, model=None).stance is Stance.SUPPORTS


def test_plain_statement_supports_and_hedged_report_is_neutral() -> None:
    assert (
        frame(
            SHELLS,
            "NATO now out-produces Russia in shells",
            "NATO now out-produces Russia in artillery shells, figures show.",
        ).stance
        is Stance.SUPPORTS
    )
    hedged = "NATO may now out-produce Russia in artillery shells, according to unverified estimates."
    assert frame(SHELLS, "", hedged).stance is Stance.NEUTRAL


def test_governing_dispute_is_never_supports() -> None:
    text = "NATO now out-produces Russia in artillery shells, figures show. Russia denied it."
    assert analyse(SHELLS, "NATO has not surpassed Russia in shells", text).governed
    assert frame(SHELLS, "NATO has not surpassed Russia in shells", text).stance is not Stance.SUPPORTS


def test_echo_of_a_negative_claim_agrees() -> None:
    claim = "The photo of a shark on a flooded highway is a hoax"
    text = "The photo of a shark on a flooded highway is a hoax, the photographer admitted."
    assert frame(claim, "", text, model=None).stance is not Stance.DISPUTES


HOAX_CLAIM = "Reports that Macaulay Culkin has died are a hoax"
HOAX_REPORT = (
    "A report that Macaulay Culkin had died was fake, his representative said on Monday. "
    "The actor is alive and well."
)
HOAX_MORE = (
    "The post first appeared on a site that mimics a news channel. It was shared thousands of times on "
    "Facebook within hours. Fans flooded the actor's pages with messages. Similar hoaxes have targeted "
    "other celebrities this year."
)


@pytest.mark.parametrize("model", [SHIPPED, None])
@pytest.mark.parametrize("extra", ["", HOAX_MORE])  # short, and long enough for the model
def test_an_article_debunking_what_a_debunking_claim_debunks_agrees(model: object, extra: str) -> None:
    text = f"{HOAX_REPORT} {extra}".strip()
    analysis = analyse(HOAX_CLAIM, "", text)
    assert analysis.claim_debunks and analysis.governed
    framing = frame(HOAX_CLAIM, "", text, model=model)  # type: ignore[arg-type]
    assert framing.stance is Stance.SUPPORTS
    assert framing.skepticism < 0.3  # the words of dispute repeat the claim: no doubt about it


DEBUNKING_CLAIMS = [
    (
        "Boko Haram denies ceasefire with Nigeria",
        "Boko Haram denied on Friday that it had agreed a ceasefire with Nigeria.",
    ),
    (
        "WHO says reports of Ebola cases in Iraq are untrue",
        "The World Health Organization said reports of Ebola among fighters in Iraq were false.",
    ),
]
TOPIC_CLAIMS = [  # claims that name falsehood or dispute as their topic: a denial of them disputes them
    (
        "Fake news sites earned millions from Facebook ads",
        "Facebook denied that fake news sites earned millions from its ads.",
    ),
    (
        "Russia ran a disinformation campaign in Moldova",
        "Russia denied that it ran a disinformation campaign in Moldova.",
    ),
    (
        "The border dispute between India and China escalated",
        "China denied that the border dispute with India had escalated.",
    ),
]


@pytest.mark.parametrize(("claim", "text"), DEBUNKING_CLAIMS)
def test_a_denial_of_what_a_denial_claim_denies_supports_it(claim: str, text: str) -> None:
    assert analyse(claim, "", text).claim_debunks
    assert frame(claim, "", text).stance is Stance.SUPPORTS


@pytest.mark.parametrize(("claim", "text"), TOPIC_CLAIMS)
def test_a_claim_about_falsehood_is_no_debunk_and_its_denial_disputes(claim: str, text: str) -> None:
    assert not analyse(claim, "", text).claim_debunks
    assert frame(claim, "", text).stance is Stance.DISPUTES


def test_model_is_shipped() -> None:
    assert load_shipped() is not None


TITLE_ONLY = [
    ("NATO now out-produces Russia in artillery shells", Stance.SUPPORTS),
    ("NATO overtakes Russia in shell output", Stance.SUPPORTS),
    ("NATO now out-produces Russia in shells, Rutte says", Stance.NEUTRAL),
    ("NATO outpaces Russia in shell production: report", Stance.NEUTRAL),
    ("Alliance officials: NATO now out-produces Russia in shells", Stance.NEUTRAL),
    ("NATO out-produces Russia in shells - defence ministry", Stance.NEUTRAL),
    ("NATO in talks to out-produce Russia in shells", Stance.NEUTRAL),
    ("Does NATO really out-produce Russia in shells?", Stance.NEUTRAL),
    ("Moscow denies NATO out-produces Russia in shells", Stance.DISPUTES),
    ("NATO has not surpassed Russia in shell production", Stance.DISPUTES),
]


@pytest.mark.parametrize(("title", "expected"), TITLE_ONLY)
def test_title_only_item_is_read_as_its_headline(title: str, expected: Stance) -> None:
    """No body: a plain headline states the claim, a credited or hedged one reports it, a denial disputes."""
    explanation = explain(SHELLS, title, "")
    assert explanation.framing.stance is expected
    assert (
        explanation.decision.probabilities is None
    )  # the model learnt from bodies; headlines go by the rules


def test_headline_attribution_counts_only_without_a_body() -> None:
    title = "NATO now out-produces Russia in shells, Rutte says"
    body = "NATO now out-produces Russia in artillery shells, figures show."
    assert "attribution" in {cue.kind for cue in frame(SHELLS, title, "").cues}
    assert "attribution" not in {cue.kind for cue in frame(SHELLS, title, body).cues}


def probe_accuracy(path: Path) -> tuple[float, dict[str, Any]]:
    """Accuracy of the shipped framing on a probe file (an item's ``language`` is passed on), and its data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data["items"]
    right = sum(
        frame(
            data["claims"][item["claim"]], item["title"], item["text"], language=item.get("language")
        ).stance.value
        == item["stance"]
        for item in items
    )
    return right / len(items), data


def test_probe_accuracy_floor() -> None:
    accuracy, data = probe_accuracy(PROBE)
    assert len(data["items"]) >= 60 and len(data["claims"]) >= 10
    assert accuracy >= PROBE_FLOOR


def test_resolve_never_supports_under_a_governing_dispute() -> None:
    weak = {Stance.SUPPORTS: 0.5, Stance.NEUTRAL: 0.3, Stance.DISPUTES: 0.2}
    assert resolve(weak, False) == (Stance.SUPPORTS, False)
    assert resolve(weak, True) == (Stance.NEUTRAL, True)
    floor = {Stance.SUPPORTS: 0.45, Stance.NEUTRAL: 0.3, Stance.DISPUTES: 0.25}
    assert resolve(floor, True) == (Stance.DISPUTES, True)


def test_questioning_headline_over_a_report_disputes_with_its_sentence() -> None:
    title = "Analysts question Rutte's claim that NATO now out-produces Russia in shells"
    text = (
        "NATO secretary general Mark Rutte said on Tuesday that the alliance now out-produces Russia in "
        "artillery shells. Independent analysts say the numbers do not add up. Russia's output gap has not "
        "been reversed, one researcher said. On Wednesday a court rejected a contractor's appeal."
    )
    explanation = explain(SHELLS, title, text)
    assert explanation.framing.stance is Stance.DISPUTES
    assert explanation.disputing_sentence == title
    assert "rejected" not in {cue.text for cue in explanation.framing.cues}


def test_shown_evidence_puts_the_disputing_sentence_first() -> None:
    claimed = "NATO now out-produces Russia in artillery shells, the alliance said on Monday."
    disputed = "Moscow rejected the figures as misleading."
    disputing = explain(SHELLS, "", f"{claimed} {disputed}", [claimed])
    assert shown_evidence(disputing, [claimed]) == (disputed, claimed)
    supporting = explain(SHELLS, "", claimed, [claimed])
    assert shown_evidence(supporting, [claimed]) == (claimed,)


@pytest.mark.parametrize(
    ("claim", "title"),
    [
        ("NATO will send artillery shells to Ukraine", "NATO to send artillery shells to Ukraine"),
        ("NATO has surpassed Russia in ammunition production", "NATO now out-produces Russia in shells"),
        ("The city will ban diesel cars from 2027", "City to ban diesel cars from 2027"),
        ("The central bank raised interest rates to 5%", "Central bank raises rates to 5%"),
        ("A new malaria vaccine cuts child deaths by 30%", "Malaria vaccine cuts child deaths by 30%"),
        ("The company will cut 2,000 jobs", "Company to cut 2,000 jobs"),
        ("Scientists found water ice on the Moon's south pole", "Water ice found at Moon's south pole"),
        ("The government approved the new pipeline", "Government approves new pipeline"),
    ],
)
def test_a_plain_title_only_restatement_is_not_disputed(claim: str, title: str) -> None:
    # No body: the body-wide counts must not read as evidence either way.
    assert frame(claim, title, "").stance is not Stance.DISPUTES


AIMED_ELSEWHERE = [  # a denial or doubt verb whose object is a person, a decision or a procedure
    (
        "Police arrested a suspect in the Paris attack",
        "Police arrested a suspect in the Paris attack on Tuesday and questioned him for hours, officials said.",
    ),
    (
        "Police arrested a suspect in the Paris attack",
        "A suspect in the Paris attack was arrested on Tuesday and questioned by police, officials said.",
    ),
    (
        "The journalist was detained at the border",
        "The journalist was detained at the border and denied entry, her employer said.",
    ),
    (
        "A judge blocked the new asylum rules",
        "A judge blocked the new asylum rules on Friday and rejected the government's request for a delay.",
    ),
    (
        "Ukraine has recaptured Kherson",
        "Ukrainian forces have recaptured Kherson after Russian troops withdrew across the Dnipro river.",
    ),
    (  # a word of falsehood or dispute that describes a thing
        "Police arrested two men at Heathrow airport",
        "Police arrested two men at Heathrow airport carrying fake passports, officials said.",
    ),
    (
        "China sent warships to the disputed islands",
        "China sent warships to the disputed islands on Monday, the defence ministry said.",
    ),
]


@pytest.mark.parametrize(("claim", "text"), AIMED_ELSEWHERE)
def test_a_verb_aimed_at_a_person_or_a_decision_disputes_nothing(claim: str, text: str) -> None:
    analysis = analyse(claim, "", text)
    assert not analysis.governed
    assert rule_stance(analysis) is Stance.SUPPORTS
    assert frame(claim, "", text).stance is Stance.SUPPORTS


AIMED_AT_THE_CLAIM = [  # the same verbs and words when they do deny, doubt or retract the claim
    ("The minister resigned over the scandal", "The minister denied that he resigned over the scandal."),
    (
        "The minister resigned over the scandal",
        "Analysts questioned the report that the minister resigned over the scandal.",
    ),
    (
        "The minister resigned over the scandal",
        "The newspaper withdrew the report that the minister resigned over the scandal.",
    ),
    (
        "The minister resigned over the scandal",
        "Claims that the minister resigned over the scandal were rejected by his office.",
    ),
    (
        "The minister resigned over the scandal",
        "His office said the paper was lying about claims that the minister resigned over the scandal.",
    ),
    (
        "A bomb was found at Heathrow airport",
        "Reports that a bomb was found at Heathrow airport were a false alarm, police said.",
    ),
]


@pytest.mark.parametrize(("claim", "text"), AIMED_AT_THE_CLAIM)
def test_the_same_verbs_aimed_at_the_claim_dispute_it(claim: str, text: str) -> None:
    analysis = analyse(claim, "", text)
    assert analysis.governed
    assert frame(claim, "", text).stance is Stance.DISPUTES


def cues_of_dispute(analysis: Analysis) -> list[str]:
    return [cue.text for cue in cues(analysis) if DIRECTIONS[cue.kind][0] > 0]


REPORT_WITH_A_REACTION = [  # the article states the claim in its own voice; the next sentence is about something else
    (
        "Company X laid off 10,000 workers",
        "X cuts 10,000 jobs",
        "Company X laid off 10,000 workers on Wednesday. Union leaders questioned the decision and called it wrong.",
    ),
    (
        "The senator was indicted for bribery",
        "Senator indicted",
        "The senator was indicted for bribery on Thursday. "
        "His lawyer denied any wrongdoing and said the charges were baseless.",
    ),
    (
        "The storm killed 40 people",
        "Storm kills 40",
        "The storm killed 40 people, officials said. An earlier report that 100 had died was incorrect.",
    ),
    (
        "Tesla recalled 2 million cars",
        "Tesla recalls 2 million cars",
        "Tesla recalled 2 million cars over a faulty autopilot feature. "
        "The company rejected claims that the system was unsafe.",
    ),
    (
        "The government will ban TikTok",
        "Government to ban TikTok",
        "The government will ban TikTok from next month, ministers said, rejecting criticism from free speech groups.",
    ),
]


@pytest.mark.parametrize(("claim", "title", "text"), REPORT_WITH_A_REACTION)
def test_a_report_stating_the_claim_is_not_disputed_by_a_reaction_beside_it(
    claim: str, title: str, text: str
) -> None:
    analysis = analyse(claim, title, text)
    assert not analysis.governed
    assert not cues_of_dispute(analysis)
    assert frame(claim, title, text).stance is Stance.SUPPORTS


POINTING_BACK = [  # ... but a voice that answers the claim itself, or a report that only passes it on, does not
    (
        "The bridge collapsed because of poor maintenance",
        "Bridge collapse blamed on poor maintenance",
        "Investigators said the bridge collapsed because of poor maintenance. The operator disputed the findings.",
        Stance.NEUTRAL,
    ),
    (
        "Pope Francis has endorsed Donald Trump for president",
        "Viral story says Pope endorsed Trump",
        "A story circulating on Facebook says Pope Francis has endorsed Donald Trump for president. "
        "The Vatican has not commented.",
        Stance.NEUTRAL,
    ),
    (
        "The actor has died at 84",
        "Actor alive, family says",
        "The actor is alive and well, his family said, dismissing online reports that he had died at 84.",
        Stance.DISPUTES,
    ),
]


# Other languages of the press: the cue lexicon holds their common words of denial, falsehood and doubt.
NATO_FR = "L'OTAN a dépassé la Russie dans la production de munitions"
FOREIGN = [
    # (claim, title, text, language, expected)
    (
        NATO_FR,
        "L'OTAN dépasse la Russie",
        f"{NATO_FR}, selon les chiffres publiés mardi par l'Alliance.",
        "fr",
        Stance.NEUTRAL,
    ),
    (
        NATO_FR,
        "L'OTAN dépasse la Russie",
        f"{NATO_FR}, ont montré les chiffres publiés mardi.",
        "fr",
        Stance.SUPPORTS,
    ),
    (
        NATO_FR,
        "Moscou dément",
        f"Moscou a démenti que {NATO_FR[0].lower()}{NATO_FR[1:]}.",
        "fr",
        Stance.DISPUTES,
    ),
    (NATO_FR, "", "L'OTAN n'a pas dépassé la Russie dans la production de munitions.", "fr", Stance.DISPUTES),
    (
        CLAIM,
        "Moskau dementiert Angaben der NATO",
        "Die NATO habe Russland bei der Munitionsproduktion überholt, "
        "hieß es in Brüssel. Moskau dementierte das.",
        "de",
        Stance.DISPUTES,
    ),
    (
        CLAIM,
        "Es falso que la OTAN haya superado a Rusia",
        "Es falso que la OTAN haya superado a Rusia en la producción de munición, dijo Moscú.",
        "es",
        Stance.DISPUTES,
    ),
    (
        CLAIM,
        "Москва опровергла заявление НАТО",
        "Москва опровергла заявление о том, что НАТО обогнало Россию по производству боеприпасов.",
        "ru",
        Stance.DISPUTES,
    ),
]


@pytest.mark.parametrize(("claim", "title", "text", "language", "expected"), FOREIGN)
def test_denial_falsehood_and_negation_in_other_languages(
    claim: str, title: str, text: str, language: str, expected: Stance
) -> None:
    assert frame(claim, title, text, language=language).stance is expected


def test_a_denial_that_did_not_happen_is_no_cue_in_other_languages() -> None:
    for text, language in (
        ("Moscou n'a pas démenti les chiffres de l'OTAN.", "fr"),
        ("Moskau hat die Zahlen nicht dementiert.", "de"),
    ):
        assert not [
            hit for hit in analyse(CLAIM, "", text, language=language).hits if hit.kind == "counter_voice"
        ]
        # read as English, "pas" and "nicht" negate nothing
        assert [hit for hit in analyse(CLAIM, "", text).hits if hit.kind == "counter_voice"]


def test_tokens_in_any_script_and_elided_articles() -> None:
    assert tokenize("l’OTAN n'a pas dépassé la Russie") == [
        "l'",
        "OTAN",
        "n'a",
        "pas",
        "dépassé",
        "la",
        "Russie",
    ]
    assert tokenize("dell'Ucraina") == ["dell'", "Ucraina"]
    assert tokenize("Москва опровергла") == ["Москва", "опровергла"]
    words = "It isn't the so-called tourist's fault, the UN's envoy said"
    assert tokenize(words) == [
        *"It isn't the so-called tourist's fault".split(),
        ",",
        *"the UN's envoy said".split(),
    ]


def test_the_article_language_leaves_its_function_words_out_of_the_overlap() -> None:
    claim = "La Banque centrale européenne a relevé ses taux"
    text = "Le président de la République a visité la région et les villes du nord."
    assert analyse(claim, "", text, language="fr").overlap < analyse(claim, "", text).overlap
    assert analyse(claim, "", text, language="fr").overlap == 0.0


PROBE_LANGUAGES = Path(__file__).resolve().parents[1] / "data" / "stance_probe_languages.yaml"


def test_probe_in_other_languages_accuracy_floor() -> None:
    accuracy, data = probe_accuracy(PROBE_LANGUAGES)
    assert len(data["items"]) >= 30 and len({item["language"] for item in data["items"]}) >= 7
    assert accuracy >= PROBE_FLOOR


# Dispute and distance phrasings of the wire that the lexicon lacked, each in a short item the rules decide.
NEWS_PHRASINGS = [
    (  # counter-voice: "contrary to reports"
        "The Bank of England raised interest rates to 6 percent",
        "Bank of England holds rates",
        "The Bank of England left rates at 5.25 percent, contrary to reports on social media that it had raised "
        "them to 6 percent.",
        Stance.DISPUTES,
    ),
    (  # counter-voice: "contradicting claims"
        "The Great Barrier Reef has lost half its coral",
        "Great Barrier Reef coral at record high",
        "Coral cover on the Great Barrier Reef is at a 36-year high, an agency said, contradicting claims that "
        "the reef has lost half its coral.",
        Stance.DISPUTES,
    ),
    (  # counter-voice: "putting an end to rumours"
        "Kim Jong Un is seriously ill",
        "Kim appears in public",
        "Kim Jong Un opened a factory on Friday, state media showed, putting an end to rumours that he was "
        "seriously ill.",
        Stance.DISPUTES,
    ),
    (  # counter-voice: "ruled out"
        "The US Federal Reserve will cut rates in September",
        "Powell speaks on inflation",
        "Federal Reserve chair Jerome Powell ruled out a rate cut in September, saying inflation remained too "
        "high.",
        Stance.DISPUTES,
    ),
    (  # hedge: "still unknown"
        "A tunnel collapse in Uttarakhand has trapped 40 workers",
        "Rescuers race to reach workers in Indian tunnel",
        "The number of workers trapped in the Uttarakhand tunnel after the collapse is still unknown, officials "
        "said.",
        Stance.NEUTRAL,
    ),
    (  # hedge: "considering"; a confirmation negated by "yet to" is none
        "Spain has introduced a four-day working week",
        "Spain considers four-day working week",
        "Spain's government is considering a trial of a four-day working week, though details have yet to be "
        "agreed.",
        Stance.NEUTRAL,
    ),
    (  # an open question, not a doubt: "questions about what ..."
        "France has banned TikTok on government phones",
        "TikTok ban in France explained",
        "Reports that France has banned TikTok on government phones have raised questions about what the rules "
        "cover.",
        Stance.NEUTRAL,
    ),
    (  # an open question heading the headline
        "The Eiffel Tower will close for a year",
        "Questions over Eiffel Tower repair plans",
        "The Eiffel Tower's operator is weighing how to carry out urgent repairs. A closure of up to a year has "
        "been discussed.",
        Stance.NEUTRAL,
    ),
    (  # a claim restated as a question is asked, not stated
        "Eating red meat causes cancer",
        "What the science says about red meat",
        "Does eating red meat cause cancer? Here is what the studies say, and what they do not.",
        Stance.NEUTRAL,
    ),
    (  # the claim's subject without its predicate: about the wolves, not their return
        "Wolves have returned to the Netherlands",
        "Dutch farmers fear wolf attacks",
        "Sheep farmers in the eastern Netherlands say they are worried about wolves after several sheep died.",
        Stance.NEUTRAL,
    ),
    (  # the predicate there: stated
        "Wolves have returned to the Netherlands",
        "Wolves back in the Netherlands",
        "Wolves have returned to the Netherlands after 150 years, with three packs now living in the east.",
        Stance.SUPPORTS,
    ),
    (  # an act judged wrong ("calling the ruling wrong") disputes no statement
        "Volkswagen cheated on diesel emissions tests",
        "Court finds Volkswagen cheated on diesel tests",
        "A German court ruled that Volkswagen cheated on diesel emissions tests. Volkswagen said it would "
        "appeal, calling the ruling wrong.",
        Stance.SUPPORTS,
    ),
]


@pytest.mark.parametrize(("claim", "title", "text", "expected"), POINTING_BACK + NEWS_PHRASINGS)
def test_a_reply_to_the_claim_a_passed_on_claim_and_the_wire_phrasings_keep_their_stance(
    claim: str, title: str, text: str, expected: Stance
) -> None:
    assert frame(claim, title, text).stance is expected


def test_a_judged_act_is_no_contradiction_but_a_report_called_wrong_is() -> None:
    claim = "Volkswagen cheated on diesel emissions tests"
    for text in (
        "Unions called the decision wrong.",
        "The ruling was wrong, the company said.",
        "The results proved the critics wrong.",
    ):
        assert "contradiction" not in {hit.kind for hit in analyse(claim, "", text).hits}
    for text in ("Volkswagen called the report wrong.", "The claim was wrong, the company said."):
        assert "contradiction" in {hit.kind for hit in analyse(claim, "", text).hits}


def test_questions_doubt_the_claim_itself_but_open_a_question_about_a_topic() -> None:
    claim = "NATO has surpassed Russia in ammunition production"
    doubting = analyse(claim, "Questions over the figures on NATO shell output", "")
    assert "doubt" in {hit.kind for hit in doubting.hits}
    for title in (
        "Questions swirl over NATO's plans",
        "Experts raise questions about whether NATO can keep up",
    ):
        kinds = {hit.kind for hit in analyse(claim, title, "").hits}
        assert "doubt" not in kinds and "hedge" in kinds


def test_a_negated_hedge_stays_a_hedge() -> None:
    hits = analyse(CLAIM, "", "The ministry has not said whether NATO has surpassed Russia.").hits
    assert [(hit.kind, hit.text) for hit in hits if hit.kind == "hedge"] == [("hedge", "not said whether")]


PROBE_NEWS = Path(__file__).resolve().parents[1] / "data" / "stance_probe_news.yaml"
# Measured 0.752 (376 of 500; the sixth round's 48, written blind, 36 before and 38 after; the seventh's 30, 14
# and 16; the eighth's 30, 15 and 16; the ninth's 12, 7 and 7; the tenth's 48, 25 and 32; the eleventh's 45, 32
# and 34; the twelfth's 45, 27 and 31; the thirteenth's 45, 26 and 31; the fourteenth's 45, 32 and 33), minus a
# margin (0.756 of 410 before the thirteenth round's items).
PROBE_NEWS_FLOOR = 0.74


def test_probe_of_wire_phrasings_accuracy_floor() -> None:
    accuracy, data = probe_accuracy(PROBE_NEWS)
    assert len(data["items"]) >= 500 and len(data["claims"]) >= 157
    assert accuracy >= PROBE_NEWS_FLOOR


def test_a_quarrel_is_no_dispute_of_the_claim() -> None:
    claim = "A man was removed from an American Airlines flight over a Christmas greeting"
    for title in (
        "Man removed from plane over Christmas greeting dispute",
        "Airline in dispute with passenger",
    ):
        assert "counter_voice" not in {hit.kind for hit in analyse(claim, title, "").hits}
    assert "counter_voice" in {
        hit.kind for hit in analyse(claim, "Airline disputes passenger's account", "").hits
    }


def test_a_year_in_the_claim_is_no_figure_to_contradict() -> None:
    claim = "Lego sent a letter to parents in the 1970s about gender equality"
    title = "Lego letter to parents on gender equality still resonates 40 years on"
    assert frame(claim, title, "").stance is Stance.SUPPORTS
    figures = "The alliance makes 2 million shells a year"
    assert "counter_evidence" in {
        hit.kind for hit in analyse(figures, "", "The alliance makes only 1.3 million shells a year.").hits
    }


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Islamic State accused of using chlorine gas on Iraqi soldiers", "distancing_verb"),
        ("ISIS extremists claim to have used chlorine gas near Fallujah", "distancing_verb"),
        ("US to probe chlorine gas attack by Islamic State near Fallujah", "hedge"),
    ],
)
def test_an_accusation_a_claim_to_and_an_inquiry_keep_their_distance(title: str, kind: str) -> None:
    claim = "ISIS used chlorine gas in an attack near Fallujah"
    assert kind in {hit.kind for hit in analyse(claim, title, "").hits}
    assert frame(claim, title, "").stance is Stance.NEUTRAL


@pytest.mark.parametrize(
    ("claim", "title"),
    [
        ("Durex is launching a pumpkin spice condom", "No, pumpkin spice condoms are not a real thing"),
        (
            "The NHL will announce an expansion to Las Vegas",
            "NHL expansion to Las Vegas ahead? No, says Bettman",
        ),
        (
            "The Batmobile was stolen in Detroit",
            "The Batmobile might have been stolen in Detroit. UPDATE: Nope",
        ),
        ("Durex is launching a pumpkin spice condom", "The pumpkin spice condom is not happening"),
        ("Durex is launching a pumpkin spice condom", "Durex shuts down rumors of a pumpkin spice condom"),
        ("Comcast is telling customers Tor is illegal", "Setting the record straight on Comcast and Tor"),
        ("Some ISIS fighters have contracted Ebola", "Does ISIS have Ebola? Probably not"),
    ],
)
def test_a_headline_that_answers_no_or_sets_the_record_straight_disputes(claim: str, title: str) -> None:
    assert frame(claim, title, "").stance is Stance.DISPUTES


def test_a_no_that_answers_nothing_is_no_cue() -> None:
    claim = "Durex is launching a pumpkin spice condom"
    for title in ("No one knows when Durex will launch its pumpkin spice condom", "Durex: no comment"):
        assert "headline_negation" not in {hit.kind for hit in analyse(claim, title, "").hits}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("No, the moon landing was not a hoax", Stance.DISPUTES),
        ("The moon landing was not a hoax, NASA says", Stance.DISPUTES),
        ("Moon landing hoax? No.", Stance.DISPUTES),
        ("Moon landing hoax claims debunked again", Stance.SUPPORTS),  # its words of dispute repeat the claim
    ],
)
def test_a_denial_of_a_debunking_claims_own_debunk_disputes_it(title: str, expected: Stance) -> None:
    assert frame("The moon landing was a hoax", title, "").stance is expected


@pytest.mark.parametrize(
    ("claim", "title", "text", "cue"),
    [
        (
            "French rail workers will strike over Christmas",
            "French rail unions call off Christmas strike after pay deal",
            "",
            "call off",
        ),
        (
            "Venice will charge day-trippers an entry fee",
            "Venice shelves plan for tourist entry fee",
            "",
            "shelves plan",
        ),
        (
            "Floods in Libya killed more than 10,000 people in Derna",
            "UN revises Derna flood death toll to under 4,000",
            "",
            "contrary figure 4,000",
        ),
        (
            "A Spanish man won the EuroMillions jackpot twice",
            "No record of a double jackpot winner, Spanish lottery says",
            "",
            "no record of",
        ),
        (
            "France will scrap its wealth tax",
            "Wealth tax here to stay, French finance minister says",
            "",
            "here to stay",
        ),
    ],
)
def test_a_plan_called_off_a_revised_figure_and_no_record_dispute(
    claim: str, title: str, text: str, cue: str
) -> None:
    framing = frame(claim, title, text)
    assert framing.stance is Stance.DISPUTES
    assert cue in {c.text.lower() for c in framing.cues}


@pytest.mark.parametrize(
    ("claim", "title", "text", "cue"),
    [
        (
            "Turkey's annual inflation has fallen below 50 percent",
            "Turkish inflation quickens to 67%",
            "",
            "contrary figure: 67%",
        ),
        (
            "Floods in Kenya have displaced more than 200,000 people",
            "Kenya floods",
            "The floods in Kenya have displaced 85,000 people, the Red Cross said.",
            "contrary figure: 85,000 people",
        ),
        (
            "Saudi output is over 1.3 million barrels a day",
            "Saudi output",
            "Saudi output is 900,000 barrels a day, the ministry said.",
            "contrary figure: 900,000 barrels",
        ),
        # a percentage misses by any amount, and a claim's plain percentage is missed by another
        (
            "Spain's unemployment rate has fallen below 11 percent",
            "Spain's jobless rate edges down to 11.3%",
            "",
            "contrary figure: 11.3%",
        ),
        (
            "UK inflation fell to 2 percent in May",
            "UK inflation eases to 2.3% in May",
            "",
            "contrary figure: 2.3%",
        ),
        # a bound the other way that leaves the claim's out; the claim's own figure does not meet a strict bound
        (
            "Argentina's monthly inflation fell below 3 percent in October",
            "Argentina's inflation stays stubbornly above 3% in October",
            "Economists had expected a reading of about 3.0% in October.",
            "contrary figure: above 3%",
        ),
        (
            "Floods in Kenya have displaced more than 200,000 people",
            "Kenya floods",
            "The floods in Kenya have displaced up to 150,000 people, the Red Cross said.",
            "contrary figure: up to 150,000 people",
        ),
    ],
)
def test_a_figure_that_misses_the_claims_bound_in_its_unit_disputes(
    claim: str, title: str, text: str, cue: str
) -> None:
    framing = frame(claim, title, text, model=None)
    assert framing.stance is Stance.DISPUTES
    assert cue in texts(framing, "counter_evidence")


@pytest.mark.parametrize(
    "text",
    [
        "The floods in Kenya have displaced 210,000 people, the Red Cross said.",  # within the bound
        "The floods in Kenya have displaced 190,000 people, the Red Cross said.",  # rounding, within 15%
        "The floods in Kenya have displaced more than 85,000 people, the Red Cross said.",  # a bound itself
        "The floods in Kenya have displaced 85,000 children, the Red Cross said.",  # another unit
        # the claim's figure given elsewhere: the smaller one counts something else
        "The floods in Kenya have displaced 230,000 people. The floods in Kenya left 85,000 people in camps.",
        "The floods in Kenya began in 2023 and have displaced people in 30 counties.",  # a year, another unit
        "The floods in Kenya have displaced 230,000. The floods in Kenya left 85,000 people in camps.",  # no unit
        "The floods in Kenya have displaced 200.000 people.",  # two hundred, or two hundred thousand
        "The floods in Kenya have displaced 230 000 people.",  # thousands, or two figures
        # a figure of another time
        "The floods in Kenya displaced a quarter of a million people. In 2018, floods in Kenya displaced 100,000 people.",
        "The floods in Kenya have displaced 10-12,000 people in some counties.",  # a range's end
        # a bound the other way that the claim's may fall within
        "The floods in Kenya have displaced up to 250,000 people, the Red Cross said.",
        "The floods in Kenya have displaced at least 200,000 people, the Red Cross said.",  # the bound, inclusive
    ],
)
def test_a_figure_within_the_bound_or_of_something_else_does_not_dispute(text: str) -> None:
    framing = frame(
        "Floods in Kenya have displaced more than 200,000 people", "Kenya floods", text, model=None
    )
    assert not any(cue.startswith("contrary figure") for cue in texts(framing, "counter_evidence")), text


def test_a_missed_figure_near_the_claim_governs_it_and_the_rules_decide() -> None:
    claim = "Flash floods in the Valencia region killed more than 200 people"
    text = (
        "The regional government of Valencia on Monday published the names of everyone who died in last month's "
        "flash floods. The list contains 158 people, most of them from towns south of the city. Officials said no "
        "one was still listed as missing. The youngest victim was three months old. Funerals continue this week."
    )
    analysis = analyse(claim, "Valencia publishes names of flood victims", text)
    assert analysis.governed and analysis.figure_missed
    assert "contrary figure: 158 people" in {h.text for h in analysis.hits if h.distance == 1}
    decision = decide(analysis)  # the shipped model, which never saw such a figure, reads it otherwise
    assert decision.probabilities is not None and decision.stance is Stance.DISPUTES


def test_a_missed_figure_beside_the_claim_about_something_else_does_not_govern_it() -> None:
    claim = "UK inflation fell to 2 percent in May"
    analysis = analyse(
        claim, "UK inflation", "UK inflation fell in May, the ONS said. Services inflation stayed at 5.7%."
    )
    assert analysis.beside == {1} and not analysis.governed and not analysis.figure_missed


@pytest.mark.parametrize(
    ("claim", "text"),
    [
        (
            "UK inflation fell to 2 percent in May",
            "UK inflation: prices rose 0.3% on the month in May, the ONS said.",
        ),
        (
            "Spain's unemployment rate has fallen below 11 percent",
            "Youth unemployment in Spain stood at 26.5%.",
        ),
    ],
)
def test_a_figure_of_another_period_or_part_is_no_contrary_figure(claim: str, text: str) -> None:
    assert not analyse(claim, "", text).figure_missed
    assert not any(c.text.startswith("contrary figure") for c in frame(claim, "", text, model=None).cues)


def test_a_negated_comparator_is_the_opposite_bound() -> None:
    claim = "No fewer than 200 people were killed in the floods"
    framing = frame(claim, "", "The floods killed 350 people, officials said.", model=None)
    assert framing.stance is not Stance.DISPUTES and not texts(framing, "counter_evidence")
    framing = frame(claim, "", "The floods killed 150 people, officials said.", model=None)
    assert "contrary figure: 150 people" in texts(framing, "counter_evidence")


def test_a_claims_own_100_percent_is_not_a_figure_and_a_matching_figure_is_no_dispute() -> None:
    assert not analyse(
        "The moon landing was 100% fake", "", "It was 90% staged, the post said."
    ).figure_missed
    claim = "UK inflation fell to 2 percent in May"
    text = "Consumer prices rose 2.0% in the 12 months to May, down from 2.3% in April, the ONS said."
    framing = frame(claim, "UK inflation hits 2% target", text)
    assert not any(c.text.startswith("contrary figure") for c in framing.cues)
    assert framing.stance is not Stance.DISPUTES


def test_an_article_repeating_the_claims_own_negation_agrees() -> None:
    claim = "Nvidia's quarterly revenue fell short of analyst expectations"
    for title, text in (
        (claim, ""),
        ("", claim + ", the company said."),
        ("Nvidia revenue falls short of analyst expectations", ""),
    ):
        framing = frame(claim, title, text, model=None)
        assert framing.stance is Stance.SUPPORTS and not texts(framing, "negation"), (title, text)


def test_stopping_or_falling_short_of_the_claims_predicate_negates_it() -> None:
    claim = "The WHO has declared mpox a global health emergency"
    assert (
        frame(claim, "WHO stops short of declaring mpox emergency", "", model=None).stance is Stance.DISPUTES
    )
    claim = "The ruling party won a majority in parliament"
    text = "The ruling party fell short of a majority in parliament, official results showed."
    assert "fell short of a majority" in texts(frame(claim, "", text, model=None), "negation")
    text = "Short of a majority in parliament, the ruling party won the most seats, official results showed."
    assert not texts(frame(claim, "", text, model=None), "negation")


def test_a_claim_that_something_was_called_off_is_repeated_not_disputed() -> None:
    claim = "Airline pilots at Lufthansa have called off their strike"
    framing = frame(claim, "Lufthansa pilots call off strike", "")
    assert framing.stance is Stance.SUPPORTS
    assert not any(c.kind == "counter_evidence" for c in framing.cues)


def test_contrary_to_what_was_said_disputes_and_contrary_to_expectations_does_not() -> None:
    claim = "NATO has surpassed Russia in ammunition production"
    posts = "Contrary to online posts, NATO has not surpassed Russia in ammunition production, analysts said."
    assert frame(claim, "", posts, model=None).stance is Stance.DISPUTES
    for text in (
        "Contrary to expectations, NATO has surpassed Russia in ammunition production.",
        "Contrary to popular belief, NATO has surpassed Russia in ammunition production.",
    ):
        assert frame(claim, "", text, model=None).stance is Stance.SUPPORTS, text


def test_despite_reports_disputes_and_a_denial_not_ruled_out_leaves_the_claim_open() -> None:
    claim = "Northern white rhinos have been saved from extinction"
    text = "The northern white rhino is still on the brink of extinction, despite reports that it has been saved."
    framing = frame(claim, "", text, model=None)
    assert framing.stance is Stance.DISPUTES
    assert "despite reports" in {c.text for c in framing.cues}
    claim = "A cyberattack caused the blackout in Kyiv"
    text = "A spokesman for the grid operator said a cyberattack caused the blackout in Kyiv had not been ruled out."
    hits = analyse(claim, "", text).hits
    assert "hedge" in {h.kind for h in hits} and "counter_voice" not in {h.kind for h in hits}


PROBE_BODIES = Path(__file__).resolve().parents[1] / "data" / "stance_probe_bodies.yaml"
# Measured 0.605 (150 of 248; 0.622 of the earlier 233; 0.601 to 0.642 on the earlier 188 over the last
# retrainings of the model), the rules alone 0.677: the floor sits under the spread of retraining.
PROBE_BODIES_FLOOR = 0.58


def test_probe_of_longer_items_accuracy_floor() -> None:
    accuracy, data = probe_accuracy(PROBE_BODIES)
    assert len(data["items"]) >= 248 and len(data["claims"]) >= 119
    assert accuracy >= PROBE_BODIES_FLOOR


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        # the headline states the claim (its verb, half its words) over a line that credits a source
        (
            "Dutch government collapses after Wilders quits coalition",
            "Prime Minister Dick Schoof said the cabinet would stay on in a caretaker role, officials said.",
            Stance.SUPPORTS,
        ),
        # not the claim's verb: a step on the way, not the claim
        (
            "Dutch government faces collapse vote as Wilders threatens to quit",
            "Party leaders met on Tuesday, officials said.",
            Stance.NEUTRAL,
        ),
        # a hedge in the line keeps its distance
        (
            "Dutch government collapses after Wilders quits coalition",
            "The cabinet could stay on in a caretaker role, according to people familiar with the talks.",
            Stance.NEUTRAL,
        ),
    ],
)
def test_a_wire_headline_that_states_the_claim_over_a_credited_line_supports(
    title: str, text: str, expected: Stance
) -> None:
    assert frame("The Dutch government has collapsed", title, text).stance is expected


def test_a_wire_headline_over_a_line_that_disputes_is_not_led_by_the_headline() -> None:
    analysis = analyse(
        "The Dutch government has collapsed",
        "Dutch government collapses? Not yet",
        "The coalition denied reports that it had fallen apart.",
    )
    assert not analysis.headline_led


@pytest.mark.parametrize(
    "title",
    [
        "Explainer: How would dollarisation work in Argentina?",
        "UK inflation figures due Wednesday: what to expect",
        "What a TikTok ban would mean for creators",
        "Factbox: Argentina's dollar plans",
        "Argentina's dollar plan: Explained",
    ],
)
def test_an_explainer_headline_asks_about_the_claim(title: str) -> None:
    analysis = analyse("Argentina has adopted the US dollar", title, "")
    assert analysis.headline_asks
    assert rule_stance(analysis) is Stance.NEUTRAL


def test_under_a_headline_that_asks_the_models_supports_yields_to_the_rules() -> None:
    leaning = {Stance.SUPPORTS: 0.6, Stance.NEUTRAL: 0.3, Stance.DISPUTES: 0.1}
    shared = {"governed": False, "debunks": False, "short": False}
    assert settle(leaning, Stance.NEUTRAL, asks=True, **shared) == (Stance.NEUTRAL, False)
    assert settle(leaning, Stance.SUPPORTS, asks=True, **shared) == (Stance.SUPPORTS, False)
    assert settle(leaning, Stance.NEUTRAL, asks=False, **shared) == (Stance.SUPPORTS, False)


@pytest.mark.parametrize(
    "text",
    [
        "Fact-checkers say the claim that Argentina's monthly inflation fell below 3 percent does not hold up.",
        "The claim that Argentina's monthly inflation fell below 3 percent doesn't hold water, economists say.",
    ],
)
def test_a_claim_that_does_not_hold_up_is_doubted(text: str) -> None:
    framing = frame("Argentina's monthly inflation fell below 3 percent", "", text, model=None)
    assert framing.stance is Stance.DISPUTES
    assert texts(framing, "doubt")


def test_a_plea_of_not_guilty_negates_nothing_of_the_claim() -> None:
    claim = "Ismael 'El Mayo' Zambada has been arrested in the United States"
    hits = analyse(claim, "Zambada pleads not guilty in El Paso", "").hits
    assert not {hit.kind for hit in hits} & {"negation", "headline_negation"}


def test_a_figure_beside_a_contrast_word_is_something_else_when_the_claims_figure_is_met() -> None:
    claim = "Cyclone Freddy killed more than 500 people in Malawi"
    title = "Cyclone Freddy: Malawi's confirmed death toll climbs to 676"
    analysis = analyse(
        claim, title, "Another 537 people are still missing, the disaster agency said on Friday."
    )
    assert not any(hit.text.startswith("contrary figure") for hit in analysis.hits)
    # without a figure within the claim's, the contrast word still marks a contrary one
    analysis = analyse(claim, "Cyclone Freddy toll revised", "Only 437 people were killed by Cyclone Freddy.")
    assert "contrary figure 437" in {hit.text for hit in analysis.hits}


def test_a_correction_notice_that_takes_the_claim_back_lets_the_rules_decide() -> None:
    claim = "Semaglutide cut the risk of heart attacks and strokes by 20 percent in a large trial"
    text = (
        "Clinics across England are rationing Wegovy as demand outstrips supply. Pharmacists say patients are being "
        "turned away. The manufacturer says it is increasing production. Doctors warn against buying unlicensed "
        "versions online. Correction: An earlier version of this article said a large trial had shown that "
        "semaglutide cut the risk of heart attacks and strokes by 20 percent."
    )
    analysis = analyse(claim, "UK clinics ration Wegovy as demand outstrips supply", text)
    assert analysis.corrected and rule_stance(analysis) is Stance.DISPUTES
    leaning = {Stance.SUPPORTS: 0.2, Stance.NEUTRAL: 0.7, Stance.DISPUTES: 0.1}
    shared = {"governed": True, "debunks": False, "short": False}
    assert settle(leaning, Stance.DISPUTES, corrected=True, **shared)[0] is Stance.DISPUTES
    assert settle(leaning, Stance.DISPUTES, corrected=False, **shared)[0] is Stance.NEUTRAL
    assert decide(analysis).stance is Stance.DISPUTES


def test_a_retraction_by_someone_in_the_story_is_no_correction_notice() -> None:
    claim = "Tiger Woods has been suspended for failing a drug test"
    text = "Dan Olsen retracted his claim that Tiger Woods has been suspended for failing a drug test."
    assert not analyse(claim, "", text).corrected


SURPASSED = "NATO has surpassed Russia in ammunition production"


@pytest.mark.parametrize(
    "follow",
    [
        "That is false.",
        "That's false.",
        "That is a lie.",
        "Those figures are false.",
    ],
)
def test_a_denial_that_points_back_at_the_claim_disputes_it(follow: str) -> None:
    # "that" and "those" heading a sentence, before a verb of being or a noun of what was said, refer to the claim
    # before them
    assert frame(SURPASSED, "", f"{SURPASSED}. {follow}", model=None).stance is Stance.DISPUTES
    assert frame(SURPASSED, "", f"{SURPASSED}. {follow}").stance is Stance.DISPUTES


@pytest.mark.parametrize(
    "text",
    [
        f"{SURPASSED}, despite Kremlin denials.",
        f"Despite Russian denials, {SURPASSED}.",
        f"{SURPASSED}, in spite of doubts in Moscow.",
        "It was not long before NATO surpassed Russia in ammunition production.",
        f"{SURPASSED}, no small feat for the alliance.",
        "Having initially denied reports, the alliance confirmed that NATO has surpassed Russia in ammunition "
        "production.",
    ],
)
def test_the_claim_stated_over_denials_or_an_idiom_of_negation_is_not_disputed(text: str) -> None:
    # the news stands against the denials; "not long before" and "no small feat" negate nothing of the claim;
    # a denial the sentence places before its confirmation is taken back
    framing = frame(SURPASSED, "", text, model=None)
    assert framing.stance is Stance.SUPPORTS, framing.cues
    assert not {"counter_voice", "doubt", "negation"} & {cue.kind for cue in framing.cues}


def test_the_bare_verb_is_negated_as_its_other_forms_are() -> None:
    # light_stem("surpass") was "surpas": "did not surpass" then denied no claim word
    text = "In ammunition production, NATO did not surpass Russia."
    assert frame(SURPASSED, "", text, model=None).stance is Stance.DISPUTES


def test_evidence_anchors_whole_words_and_never_an_empty_line() -> None:
    # the matcher's evidence for a paraphrase anchors the sentence that holds it; a line of no words ("* * *") and
    # a word that merely contains the evidence ("Eggshells") are no anchor, so a far denial stays far
    evidence = ["The alliance now makes more shells than Moscow does."]
    filler = " ".join(f"Paragraph {i} is about the weather in spring." for i in range(8))
    denial = "Critics dismissed the rumour as nonsense."
    plain = analyse(SURPASSED, "", f"{evidence[0]} {filler}\n{denial}", evidence)
    for body, given in (
        (f"{evidence[0]} {filler}\n* * *\n{denial}", evidence),
        (f"{filler} Eggshells cracked.\n{denial}", ["Shells"]),
    ):
        analysis = analyse(SURPASSED, "", body, given)
        assert analysis.anchors == plain.anchors == 1
        assert {hit.distance for hit in analysis.hits if hit.kind == "counter_voice"} == {3}


def test_a_headline_is_read_up_to_its_cap() -> None:
    # a 400,000-character "headline" (no feed gives one: the API and the CLI may) is read up to MAX_TITLE_CHARS
    from watcher.framing.rules import MAX_TITLE_CHARS

    title = "x " * (MAX_TITLE_CHARS // 2) + "NATO has not surpassed Russia " * 10_000
    assert frame(SURPASSED, title, "Some text.", model=None).stance is not Stance.DISPUTES
    assert frame(SURPASSED, title[-300:], "Some text.", model=None).stance is Stance.DISPUTES
