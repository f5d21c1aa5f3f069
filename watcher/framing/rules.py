"""Scoped stance rules: cues found around the sentences that state a claim, weighted by how they govern it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from functools import lru_cache

from watcher.domain import Stance
from watcher.framing.lexicon import (
    ATTRIBUTION,
    CONTRADICTION,
    CORRECTION,
    COUNTER_EVIDENCE,
    COUNTER_VOICE,
    DIRECTIONS,
    DISTANCING_VERB,
    DOUBT,
    ENDORSEMENT,
    HEADLINE_NEGATION,
    HEADLINE_QUESTION,
    HEDGE,
    LEXICON,
    NEGATION,
    SCARE_QUOTES,
    STRENGTH,
    STRONG_DISPUTE_KINDS,
    Phrase,
)
from watcher.text.demonyms import DEMONYMS
from watcher.text.language import normalize_language
from watcher.text.normalize import clean_text, light_stem
from watcher.text.sentences import split_plain_sentences
from watcher.text.stopwords import ENGLISH_CORE, stopwords

__all__ = ["SCOPES", "Analysis", "Hit", "analyse", "cue_sums", "rule_stance", "scope_of", "skepticism"]

# Distance of a sentence from the claim: 0 states it (or is the headline), 1 is about it (refers to the
# claim, its report, or is next to it), 2 is nearby, 3 is far. DECAY is the weight a cue keeps at each.
DECAY = (1.0, 0.7, 0.35, 0.1)
# Model feature scopes: the claim's own text, the headline and sentences stating the claim (distance 0),
# sentences about it (1), the rest (2+). The headline shares the "claim" scope: FNC-1 and ARC have none.
SCOPES = ("claimtext", "claim", "near", "far")
LEAD_SENTENCES = 2
SHORT_BODY = 3  # a body this short is all about the claim
# The most of a text that is read, after clean_text (NFKC may lengthen a text: one Arabic ligature is 18
# characters): twice the default limit on a fetched page's text, so bounded work for any input.
MAX_TEXT_CHARS = 100_000
# A headline is read up to this many characters (a headline reads each cue against all its words).
MAX_TITLE_CHARS = 2_000
ANCHOR_OVERLAP = 0.5
ABOUT_OVERLAP = 0.25
ABOUT_REACH = 3
STATED_OVERLAP = 0.5
ATTRIBUTION_MAX_DISTANCE = 1
DISPUTE_MIN = 0.7
DOUBT_MIN = 0.45
# A wire item: a headline over at most this many sentences (_headline_asserts).
WIRE_LINES = 2
STRONG_MIN = 0.6  # weight at which a strong dispute cue governs the claim
NEGATION_WINDOW = 4  # words from a negator to the claim word it denies
CUE_NEGATION_WINDOW = 3  # words from a negator to a cue it cancels

# Negators of other languages of the press (lexicon._FOREIGN): fr, de, es/it/pt, nl, ru/uk. They count in an
# article of another language than English (analyse's ``language``): in English "non" and "pas" are no negators.
FOREIGN_NEGATORS = frozenset(
    "pas jamais aucun aucune nicht kein keine keinen keiner nie niemals nunca non não nao niet geen nooit "
    "не нет ні ніколи никогда".split()
)
NEGATORS = frozenset(
    "not no never nor nobody without hardly neither cannot unable declined refused nothing".split()
)
CLAIM_NEGATORS = frozenset({"not", "never", "no", "nothing", "nor", "neither", "cannot"})
# Two-word negators of a predicate: "no longer", "yet to", "failed to", "stopped short (of declaring)", "fell
# short (of a majority)"; not "short of" alone ("Short of a guide from the man himself", "nothing short of").
CLAIM_NEGATOR_PAIRS = frozenset(
    {("no", "longer"), ("yet", "to"), ("failed", "to"), ("fails", "to")}
    | {("no", "plans"), ("no", "plan"), ("no", "intention")}  # "has no plans to ship a foldable iPhone"
    | {
        (verb, "short")
        for verb in ("stop", "stops", "stopped", "stopping", "fall", "falls", "fell", "falling")
    }
)
# A negator that governs the word after it, not the claim's: "no one knows when ...", "not only ... but".
NOT_NEGATING = frozenset(
    {
        ("no", "one"),
        ("not", "only"),
        ("no", "matter"),
        ("no", "doubt"),
        ("not", "guilty"),
        ("not", "long"),  # "it was not long before ..."
        ("no", "small"),  # "no small feat"
        ("no", "mean"),  # "no mean feat"
    }
)
# Words after a headline's opening question that answer it: "Russia in default? Moody's says yes".
ANSWERS = frozenset({"yes", "indeed", "confirmed", "confirms", "confirm", "coming", "definitely"})
# Words that say a report was in error: in a correction that names the claim, they take it back (_corrects_the_claim).
ERRORS = frozenset({"incorrectly", "wrongly", "mistakenly", "erroneously", "misreported", "inaccurately"})
# Correction cues that as often tell an error of the event ("wrongly convicted", "mistakenly shot"): they count only
# in a sentence that corrects the report (_corrects_the_report).
EVENT_ERRORS = frozenset({("wrongly",), ("mistakenly",), ("in", "error")})
# What a correction names as its own (an earlier version of "this article") and the verbs of reporting after an
# error word ("wrongly reported"): together with ERRORS they make a correction of the report (_corrects_the_claim).
REPORT_NOUNS = frozenset({"article", "story", "report", "piece", "post", "headline", "tweet"})
REPORTING_VERBS = frozenset(
    {
        "said",
        "reported",
        "stated",
        "identified",
        "described",
        "gave",
        "attributed",
        "quoted",
        "named",
        "claimed",
    }
)
# Words that move a negation past what the claim holds: between the negator and the claim word ("no other Pfizer
# drugs") or just after it ("will not sign another striker"), they say that one was. Not "more" or "further": "no
# more gas", "no further cuts" deny as often as not; nor a word the claim uses ("will seek another term").
BEYOND = frozenset({"another", "other", "others"})
CLAUSE_BREAKS = frozenset({",", ";", ":", "(", ")", "?", "but", "however", "although", "though", "while"})
# A negator before one of these denies the verb that introduces a clause ("no one disputes that ...",
# "could not confirm whether ..."), not the claim words inside it.
COMPLEMENTIZERS = frozenset({"that", "whether", "if"})
# Contradiction and counter-voice phrases that in a claim name a topic rather than deny or debunk: "a
# disinformation campaign", "the border dispute", "a prank call", "the wrong kidney".
NOT_DEBUNKS = frozenset(
    tuple(phrase.split())
    for phrase in (
        "satire|satirical|prank|scam|spoof|parody|misinformation|disinformation|conspiracy theory|"
        "fact check|fact-check|fact-checkers|fact checkers|in reality|wrong|not actually|fabrication|dispute|"
        "disputes|disputed|disputing|disagree|disagrees|disagreed|denial|denials|challenged the claim|took issue|"
        "played down|downplayed|pushed back|pushes back|contradicted|contradicts|contradicting|ridiculed|"
        "poured cold water|"
        "brushed aside|brushed off|slammed the claim"
    ).split("|")
)
# Kinds of quarrel: "a trade dispute", "insurance disputes" name one, they dispute no statement. Not words that are
# as often a subject ("Family disputes police account", "Department of Labor disputes report").
QUARRELS = frozenset(
    "trade border legal contract insurance pay wage wages territorial custody billing commercial boundary".split()
)
# Words before a cue that make it something else: "in question", "no doubt", "the question of".
BLOCKERS: Mapping[str, frozenset[str]] = {
    # ... and a question named, not a doubt raised: "the open questions", "a $300bn question"
    "question": frozenset(
        {"in", "the", "a", "no", "without", "open", "big", "key", "central", "billion-dollar"}
    ),
    "questions": frozenset(
        {
            "answer",
            "answered",
            "answering",
            "the",
            "asked",
            "asks",
            "open",
            "big",
            "key",
            "unanswered",
            "remaining",
        }
    ),
    "doubt": frozenset({"no", "without", "beyond"}),
    "doubts": frozenset({"no"}),
    "wrong": frozenset({"went", "go", "goes", "gone", "going", "what's", "what"}),
    "dispute": QUARRELS | {"a", "the", "in"},
    "disputes": QUARRELS,
    "may": frozenset("in of early late since until last next this on by the during mid".split()),
}
# What follows a denial or doubt verb when it denies or doubts no statement: a person ("questioned him",
# "dismissed the driver": questioned by police, sacked), an administrative act ("denied bail", "dismissed
# the lawsuit", "rejected the request") or a reaction ("rejecting criticism", "dismissed calls for ...").
# A determiner and a possessive may come between. Not "them" or "it" (they may be the reports), nor what a
# claim may say will happen ("rejected the deal", "the bill").
PERSON_OBJECTS = frozenset(
    "him her me us suspect suspects witness witnesses man men woman women boy boys girl girls driver "
    "drivers teenager teenagers pilot crew staff employees workers applicant applicants player players "
    "coach manager officer officers".split()
)
PROCEDURAL_OBJECTS = frozenset(
    "appeal appeals request requests application applications lawsuit lawsuits suit suits case bail entry "
    "access permission visa visas asylum petition petitions motion motions criticism calls demands "
    "pressure protests complaints plea pleas".split()
)
# A decision rejected or dismissed was taken: "rejected the decision as antisemitic", "dismissed the verdict". Not
# when a verb follows in its clause, which makes it a clause of its own ("denied the decision on HS2 has been
# taken"), nor a warrant, which a court that rejects it refuses to issue.
DECIDED_OBJECTS = frozenset(
    "decision decisions ruling rulings verdict verdicts judgment judgement judgments judgements sentence "
    "sentencing".split()
)
# What follows "ruling" when it is an adjective ("denied the ruling party had ..."), not a court's ruling.
RULING_NOUNS = frozenset(
    "party parties coalition class elite elites junta family bloc government camp".split()
)
OBJECT_BLOCKED_VERBS = frozenset(
    "denied denies deny denying dismissed dismisses dismissing rejected rejects reject rejecting rebuffed "
    "rebuffs questioned questions questioning".split()
)
# An act judged, not a statement called false: "calling the ruling wrong", "the decision was wrong".
JUDGED_ACTS = frozenset(
    "ruling rulings decision decisions verdict verdicts judgment judgement move moves policy policies ban "
    "bans plan plans approach choice choices law laws strategy".split()
)
CALLING = frozenset("call calls called calling".split())
LINKING = frozenset("is was were are".split())
PROVING = frozenset("prove proves proved proven proving".split())
# "Questions over his future", "raised questions about what the rules cover": an open question, a hedge, not a
# doubt; unless what is questioned is the claim or a report of it ("questions over the figures").
OPEN_QUESTION_WORDS = frozenset({"question", "questions"})
OPEN_QUESTION_LINKS = frozenset(
    "about over on as to surround surrounding swirl swirling remain remained linger lingering mount mounting "
    "grow growing".split()
)
ANSWERS_NO = frozenset({"no", "nope"})
WH_WORDS = frozenset("what whether how who when where why which if".split())
WHETHER = ("whether",)
# Auxiliaries of a reported event ("has returned", "will close", "are collapsing", "was destroyed"); not modals
# of an argument ("should be banned", "can cure") nor a copula before an adjective ("is harmful"), whose
# agreeing texts rephrase the predicate far more often.
AUXILIARIES = frozenset("has have had will".split())
COPULAS = frozenset("is are was were".split())
MODALS = frozenset("should could would must can may might shall to".split())  # "should have a place"
MODALS_ONLY = MODALS - {"to"}  # "decides to postpone" is a delay, "could postpone" one only possible
# Words that make what follows a decision noun a clause of its own ("the decision ... has been taken").
VERB_WORDS = AUXILIARIES | COPULAS | MODALS_ONLY | {"did", "been"}
PARTICIPLE_ENDINGS = ("ing", "ed", "en")
# "X, despite official denials": the news stands against the denials; the nouns of denial and doubt it may name.
DESPITE = frozenset({"despite", "notwithstanding", "spite"})
DENIAL_NOUNS = frozenset("denial denials doubt doubts skepticism scepticism dispute disputes".split())
# A denial the sentence places before its confirmation: "having initially denied", "after weeks of denials".
SUPERSEDED = frozenset("initially originally previously".split())
SPANS_OF_TIME = frozenset("days weeks months years hours".split())
# "was questioned by police": an interrogation, not a doubt.
INTERROGATORS = frozenset("police detectives investigators officers officials agents fbi prosecutors".split())
DETERMINERS = frozenset("the a an his her its their our my your this that these those".split())
# Nouns after which a word of falsehood or dispute describes a thing, not a statement: "fake passports", "a
# false identity", "the disputed territory", "a contested seat". Not "a false alarm" or "a fake photo".
FORGED_THINGS = frozenset(
    "passport passports id ids identity identities document documents papers name names teeth tan fur "
    "banknotes currency money cash goods products handbags drugs pills medicines tickets degree degrees "
    "certificate certificates diploma diplomas licence licences license licenses plates accounts profiles "
    "followers imprisonment".split()
)
CONTESTED_THINGS = frozenset(
    "territory territories region regions area areas border borders island islands city town village "
    "district province sea waters seat seats election elections race primary battle".split()
)
# "dispute" as a quarrel: before "over", "with", "between" or at the end of its sentence (END): "removed from
# plane over Christmas greeting dispute", "a dispute with his landlord".
END = ""
QUARREL_FOLLOWERS = frozenset({"over", "with", "between", ".", "!", END})
# What follows a one-word cue when it describes a thing or names a quarrel rather than disputes a statement.
FOLLOWERS: Mapping[str, frozenset[str]] = {
    "fake": FORGED_THINGS,
    "false": FORGED_THINGS,
    "bogus": FORGED_THINGS,
    "disputed": CONTESTED_THINGS,
    "contested": CONTESTED_THINGS,
    "dispute": QUARREL_FOLLOWERS,
    "disputes": QUARREL_FOLLOWERS,
}
# Words that make a sentence one about the claim (its report, its figures) when near a claim sentence.
REFERENCE_WORDS = frozenset(
    "claim claims claimed report reports story stories rumor rumors rumour rumours allegation "
    "allegations assertion assertions suggestion idea notion figures numbers statistics estimate "
    "estimates account accounts video photo photos image images picture pictures post tweet article "
    "statement statements reports footage this that these it such".split()
)
# Words that point back to what the article said before (_points_back).
POINTERS = frozenset({"it", "this", "these", "such"})
# "that" and "those" point back before a verb of being or a noun of what was said (not "that NATO ...").
POINTED_AFTER_THAT = frozenset(
    "is was isn't wasn't are were aren't weren't claim claims report reports story figure figures number numbers "
    "account assertion assertions statement statements".split()
)
POINTED_NOUNS = frozenset(
    "claim claims report reports story figures figure numbers estimate estimates findings finding "
    "conclusion conclusions allegation allegations accusation accusations rumour rumours rumor rumors "
    "statement assertion account".split()
)
# "shot down" rejects a statement only when one of these is what it downs (_downs_a_statement): "shot down
# speculation", "the idea was shot down"; not "shot down two drones" or "Rafales were shot down".
SHOT_DOWN = ("shot", "down")
DOWNED_REACH = 5
DOWNED_STATEMENTS = POINTED_NOUNS | frozenset(
    "speculation talk idea ideas suggestion suggestions notion notions theory theories proposal proposals stories "
    "plan plans reporting".split()
)
REFERENCE_REACH = 6
# Words from a denial to the "that" of what it denies ("rejected the claims that ...", _denies_something_else),
# and the words it may pass on the way.
DENIED_REACH = 4
DENIED_CLAUSE = 25
AKIN_PREFIX = 6
CLAUSE_PRONOUNS = frozenset("he she it they we i you his her its their this these those there".split())
DENIED_NOUNS = DOWNED_STATEMENTS | frozenset(
    "suggestion suggestions allegation allegations accusation accusations assertion assertions any all earlier "
    "recent previous media press online widespread".split()
)
# Sources that pass a claim on rather than vouch for it ("a story ... says", "posts claim").
SECONDHAND = frozenset(
    "story stories post posts report reports rumor rumors rumour rumours video tweet tweets article blog "
    "website site".split()
)
# The words of a correction notice (Analysis.corrected), not of a retraction by someone in the story.
CORRECTION_NOTICES = frozenset(
    {"correction", "an earlier version", "a previous version", "erratum", "clarification"}
)
# Headlines that explain a story rather than report it (_explainer): a word that opens the headline or the part
# after its colon, and phrases anywhere.
EXPLAINER_OPENERS = frozenset({"explainer", "factbox", "explained"})
EXPLAINER_PHRASES = (
    ("what", "to", "expect"),
    ("what", "we", "know"),
    ("what", "to", "know"),
    ("what", "you", "need", "to", "know"),
    ("what", "it", "means"),
    ("what", "would", "mean"),
    ("would", "mean", "for"),
    ("could", "mean", "for"),
    ("what", "happens", "next"),
)
QUESTION_OPENERS = frozenset(
    "has have had is are was were do does did can could will would should may might must why how what".split()
)
QUANTITY_WORDS = frozenset(
    "surpass surpassed surpasses overtake overtaken overtook outpace outpaced outnumber outnumbered "
    "exceed exceeded exceeds more less fewer larger bigger higher lower record most least double "
    "doubled triple tripled percent million billion thousand out-produces out-produce outproduces "
    "outproduce".split()
)
CONTRAST_WORDS = frozenset(
    "only just actually fact while whereas compared versus vs fewer less lower rather instead merely "
    "barely still behind short revised revises lowered lowers".split()
)
# Stems of the verbs (and nouns) of a ban or a closure: under a claim whose verb is one, a negation of its other
# words says what it stops ("can no longer offer TikTok"), and only a negation of one of these denies it.
PROHIBITIONS = frozenset(
    light_stem(word)
    for word in (
        "ban bans banned banning block blocks blocked blocking bar bars barred barring prohibit prohibits prohibited "
        "prohibiting prohibition outlaw outlaws outlawed outlawing forbid forbids forbade forbidden suspend suspends "
        "suspended suspending suspension halt halts halted halting shut shuts shutting close closes closed closing "
        "closure restrict restricts restricted restricting restriction"
    ).split()
)
# What stops an event before it happens ("a deal averts the strike", "ending the threat of a port strike", "backs
# off a plan to double tariffs"): when what follows is the claim's, it did not happen (_averted).
AVERTS = (
    ("averted",),
    ("averts",),
    ("avert",),
    ("averting",),
    ("heads", "off"),
    ("headed", "off"),
    ("heading", "off"),
    ("staved", "off"),
    ("staves", "off"),
    ("stave", "off"),
    ("staving", "off"),
    ("ending", "the", "threat", "of"),
    ("ends", "the", "threat", "of"),
    ("ended", "the", "threat", "of"),
    ("ending", "threat", "of"),
    ("ends", "threat", "of"),
    ("backs", "off"),
    ("backed", "off"),
    ("backing", "off"),
    ("backtracks", "on"),
    ("backtracked", "on"),
    # a deal blocked (only a deal: "blocks roads", "blocked the account" are other news): _averted
    ("blocks",),
    ("blocked",),
    ("blocking",),
    ("block", "on"),
    ("vetoes",),
    ("vetoed",),
)
BLOCKING = frozenset({"blocks", "blocked", "blocking", "block", "vetoes", "vetoed"})
# What a regulator or a court blocks that a claim may say was done: "blocks Microsoft's Activision takeover".
DEALS = frozenset(
    "deal deals takeover takeovers merger mergers acquisition acquisitions purchase purchases buyout buyouts bid "
    "transaction tie-up sale buy".split()
)
# Stems of a claim that a deal failed, which a block agrees with ("the merger has been abandoned").
DEAL_FAILURES = frozenset(
    light_stem(word)
    for word in "abandoned abandons scrapped scraps collapsed collapses failed fails terminated terminates cancelled "
    "canceled cancels ended ends blocked blocks called dropped drops killed kills".split()
)
# Words before a block that lift or refuse it: "lifts block on", "refused to grant an injunction blocking".
UNBLOCKING = frozenset(
    "lifts lifted lifting lift reverses reversed reversing overturns overturned overturning removes removed ends "
    "ended drops dropped scraps scrapped refused refuses declined declines denied denies rejected rejects "
    "without not never no failed fails".split()
)
BLOCK_REACH = 6
# Words just before one of AVERTS that say it failed: "talks failed to avert a strike".
_NOT_AVERTED = frozenset(
    {"failed", "fails", "fail", "failing", "unable", "not", "never", "no", "without", "cannot"}
)
# What puts a thing still to come ("set to become", "in line to be", "seeks"): against a claim that it has happened,
# a report of what is expected or asked for (_prospective).
PROSPECTS = (
    ("set", "to"),
    ("poised", "to"),
    ("in", "line", "to"),
    ("on", "course", "to"),
    ("expected", "to"),
    ("slated", "to"),
    # what is asked for is not yet granted: "prosecutor seeks arrest warrants for ...", "asks judges for warrants"
    ("seeks",),
    ("seek",),
    ("seeking",),
    ("asks",),
    ("ask", "for"),
    ("requests",),
    ("requesting",),
    ("calls", "for"),
    ("calling", "for"),
    ("applies", "for"),
    ("applying", "for"),
)
# The first words of PROSPECTS that ask for a thing (_asks_for_another_thing), and the words past which what is
# asked for is another thing.
REQUESTS = frozenset("seeks seek seeking asks ask requests requesting calls calling applies applying".split())
REQUEST_BREAKS = frozenset("to after as following before when amid since while".split())
# A claim of what will happen, which a report of what is expected agrees with.
FUTURE_WORDS = frozenset(
    {"will", "would", "shall", "plans", "plan", "planning", "set", "expected", "poised", "slated"}
)
# What makes a claim one of a thing done: a perfect or a past passive ("has become", "was arrested"), or a verb in the
# simple past: one in "-ed" (_past_verb) or one of these. Not a headline's "Christian Bale to play Steve Jobs".
PAST_AUXILIARIES = frozenset({"has", "have", "had", "was", "were"})
IRREGULAR_PAST = frozenset(
    "won lost became fled took struck made hit sold bought left met held beat fell rose grew quit sent spent paid ran "
    "began broke chose drove flew gave went led stole threw wrote told sank shut cut overtook overtaken".split()
)
# Words to look ahead, from one of AVERTS or PROSPECTS, for the claim's.
OBJECT_WINDOW = 6
# Stems of the words of a delay ("postponed to 2027"), and the verbs of "pushed back to 2027".
DELAYS = frozenset(
    light_stem(word)
    for word in (
        "delay delays delayed delaying postpone postpones postponed postponing defer defers deferred deferring "
        "slip slips slipped slipping reschedule rescheduled reschedules rescheduling adjourn adjourns adjourned "
        "adjourning"
    ).split()
)
PUSHES = frozenset({"push", "pushes", "pushed", "pushing", "put", "puts", "putting"})
PUTS = frozenset({"put", "puts", "putting"})  # "put off" (_put_off)
# The delays of _put_off: DELAYS but "slip", which slips into other senses ("slipped into the crowd").
PUT_OFF = (DELAYS - {light_stem(word) for word in "slip slips slipped slipping".split()}) | {
    light_stem(word) for word in "stall stalls stalled stalling".split()
}
# Words before a delay in its clause that say it was overcome, ended or refused: "launched after two delays",
# "despite a postponement", "ends long delay", "rejected his plea for a delay", "quit without delay".
OVERCOME = frozenset(
    "after despite following spite end ends ended ending without no rejected rejects rejecting denied denies "
    "refused refuses".split()
)
# Verbs that move a date: with "to" and a year right after it ("pushes the Mars shot to 2028", "moved to late 2028").
PUSHED = frozenset(
    "push pushes pushed pushing bump bumps bumped bumping shift shifts shifted shifting move moves moved "
    "moving".split()
)
# Words between "to" and its year: "to the end of 2028", "to late 2028".
_YEAR_LEAD = frozenset("the end of early late mid spring summer autumn fall winter".split())
# Words of a forecast: a figure after one in its clause is what is expected ("could show unemployment hitting 7%",
# "economists expect 7.0 percent"), not one that contradicts the claim's ("fell to 4.1 percent in a report that
# would ease pressure" still does). Not "may" (the month) nor "seen".
FORECASTS = frozenset(
    "could would might expect expects expected expecting forecast forecasts forecasting predict predicts predicted "
    "predicting projected projection projections".split()
)
# Where a sentence's clauses part (for FORECASTS): a comma (not the thousands separator of "12,000"), a semicolon, a
# colon, "but" or "and" ("fell to 4.1 percent and could fall further").
_CLAUSE_SPLIT_RE = re.compile(r",(?!\d{3}\b)|[;:]|\bbut\b|\band\b", re.IGNORECASE)
# A year with a part of it before it, as one word: "mid-2027", "late-2027".
_PART_YEAR_RE = re.compile(r"(?:early|mid|late|end)-(?:19|20)\d\d")
# The cue text of a delay past a claim's year
DELAYED_PAST = "delayed to"
# What sets a year as a claim's deadline: "by 2026", "before 2030", "in 2026" after "will" (not "until 2025": a
# later date may agree, "rates will stay high until 2025").
_DEADLINE_RE = re.compile(r"\b(?:by|before|in)\s+(?:the\s+end\s+of\s+)?((?:19|20)\d\d)\b", re.IGNORECASE)
# Words after "less" or "lower" that make it a relative risk ("less likely", "a lower risk"), not a contrast.
LIKELIHOOD = frozenset({"likely", "risk", "risks", "chance", "chances", "odds", "probability"})
# Unscoped body-wide counts (the word lists of the FNC-1 feature systems, widened): refuting words and
# hedging words, counted in the first BODY_LEAD sentences and in the whole body.
REFUTING = frozenset(
    "fake fraud hoax hoaxes false deny denies denied denial not no never nope doubt doubts doubted "
    "doubtful bogus debunk debunked debunks prank pranks retract retracted retraction untrue myth lie "
    "lies lied misleading baseless unfounded fabricated photoshopped doctored satire satirical refute "
    "refuted refutes dismissed dismisses rejects rejected nonsense wrong incorrect".split()
)
HEDGING = frozenset(
    "reportedly allegedly alleged supposedly purportedly apparently unverified unconfirmed rumor rumors "
    "rumour rumours rumored rumoured claim claims claimed claiming may might could possibly perhaps "
    "according sources report reports reported speculation believed appears seems".split()
)
CONFIRMING = frozenset(
    "confirm confirms confirmed confirmation announced announces revealed reveals official officially "
    "verified indeed true proof proved proven shows showed shown footage".split()
)
BODY_LEAD = 5
# Words (case kept) and the punctuation that bounds clauses and quotes. Unlike watcher.text's
# clause_tokens it keeps double quotes (scare quotes) and straightens every curly quote.
_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*|[,;:()?\"]")
# Elided articles and particles that French and Italian join to the next word with an apostrophe: "l'OTAN",
# "qu'il", "dell'Ucraina" read as "l'" and "OTAN". The word must have two letters or more: "UN's" stays whole.
_ELIDED_RE = re.compile(
    r"((?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|dell|all|dall|nell|sull|un)')([^\W_]{2,}.*)", re.I
)
_STRAIGHT_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
# "No." or a capital "No" before a number of one to three digits is the abbreviation of "number" ("the world's No. 4
# economy", "No 10"), not a negator; before a year it is one ("No 2026 Mars trip for Starship").
_NUMBER_ABBREVIATION_RE = re.compile(r"\b(?:No\.?|no\.|NO\.)\s?(?=\d{1,3}\b)")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# Currencies written against their figure ("Sh15 billion", "R78bn", "Rs1,500", "N2.5 trillion"), lower-cased.
CURRENCY_PREFIXES = frozenset(
    {"sh", "ksh", "r", "rs", "n", "rp", "rm", "tk", "p", "zar", "inr", "usd", "eur", "gbp"}
)
# A scale word just after a figure: "15 billion", "78bn", "1,500 crore".
_SCALE_WORDS = r"thousand|million|billion|trillion|bn|m|k|crore|lakh"
_SCALE_AFTER_RE = re.compile(rf"\s?(?:{_SCALE_WORDS})\b", re.IGNORECASE)
# A capitalised word just before a number, not the first of its sentence: a name with a number in it ("Boeing 737",
# "Windows 11", "Falcon 9"; see _numbers).
_NAMED_BEFORE_RE = re.compile(r"[^\s.!?:;\"(\[—–-]\s+([A-Z][\w'-]*) \Z")
# ... or a percentage: what makes a number after a capitalised word a quantity (_plain_number).
_QUANTITY_AFTER_RE = re.compile(rf"\s?(?:%|(?:percent|per\s+cent|{_SCALE_WORDS})\b)", re.IGNORECASE)
# What comes just before the other side of a comparison ("up from 941", "compared with 941", "versus 12").
_BASE_FIGURE_RE = re.compile(
    r"\b(up\s+from|down\s+from|compared\s+(?:with|to)|versus|vs\.?)\s+"
    r"(?:(?:a|an|the|just|only|some|about|around)\s+)?\W{0,2}\Z",
    re.IGNORECASE,
)
# What dates a compared figure to another time, just after it: "941 the year before", "466,000 a year earlier".
_EARLIER_RE = re.compile(
    r"\W*(?:[\w%]+\s+){0,3}?(?:(?:a|the|last|previous|prior)\s+(?:year|month|quarter|week|season)\b|earlier\b|"
    r"before\b|ago\b|previously\b|in\s+(?:19|20)\d\d\b)",
    re.IGNORECASE,
)
# A quantity: an optional comparator, a number (with thousands separators or a decimal point), an optional
# scale word, and the word it counts ("more than 200,000 people", "below 50 percent", "1.3 million barrels").
_QUANTITY_RE = re.compile(
    r"(?:\b(?P<cmp>no fewer than|no less than|not fewer than|not less than|not more than|no more than|more than|"
    r"over|above|at least|in excess of|upwards of|fewer than|less than|under|below|at most|up to)\s+)?"
    r"(?<![\w.,\-\u2013/])(?P<num>\d[\d,.]*+)"  # the whole run of digits and separators, never read again
    r"(?P<spaced>(?:[ \u00a0\u202f]\d{3}(?![\d,.]))+)?"  # "230 000": thousands, or two figures
    r"(?:\s*(?P<scale>thousand|million|billion|trillion|bn|m)\b)?"
    r"\s*(?P<unit>%|per ?cent\b|[A-Za-z][a-z]+\b)?",
    re.IGNORECASE,
)
_FIGURE_RE = re.compile(r"\d{1,3}(?:,\d{3})+|(?:0|[1-9]\d*)(?:\.\d+)?")
_AMBIGUOUS_FIGURE_RE = re.compile(r"\d{1,3}(?:\.\d{3})+")
_SCALES = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_LOWER_BOUNDS = frozenset(
    {"more than", "over", "above", "at least", "in excess of", "upwards of", "no fewer than", "no less than"}
    | {"not fewer than", "not less than"}
)
_UPPER_BOUNDS = frozenset(
    {"fewer than", "less than", "under", "below", "at most", "up to", "no more than", "not more than"}
)
_STRICT_BOUNDS = frozenset(
    {"more than", "over", "above", "in excess of", "upwards of", "fewer than", "less than", "under", "below"}
)
# A count contradicts a bound it misses by more than this share of it ("about 190,000" is not "more than
# 200,000", but reporters round): 15%. A percentage is given to a tenth, so any miss counts.
BOUND_SLACK = 0.15
# A claim's plain percentage is met by a figure within this of it: "fell to 2 percent" by 2.0% to 2.25%, "fell to
# 2.1 percent" by 2.05% to 2.15%.
PERCENT_TOLERANCE = (0.25, 0.05)  # a whole number, a decimal
# Words that make a figure another measure than the claim's when the claim lacks them: another period, a part of
# the whole.
MEASURE_QUALIFIERS = tuple(
    tuple(phrase.split())
    for phrase in (
        "on the month|month-on-month|monthly|on the quarter|quarter-on-quarter|on the week|week-on-week|weekly|"
        "youth|core|seasonally adjusted"
    ).split("|")
)
# The cue text of a figure that misses the claim's figure; such a cue near the claim governs it (_contrary_figures).
MISSED_FIGURE = "contrary figure:"
_QUOTE_RE = re.compile(r"[\"“]([^\"“”]{1,60})[\"”]|(?<![A-Za-z])['‘]([^'‘’]{1,40})['’](?![A-Za-z])")
# A scare-quoted term is one or two words: in FNC-1's training pairs a quoted claim word near the claim sits in a
# disagreeing article 19% of the time (one word; 10% two), against 6% for all pairs, 4-6% for three or four words
# and 0-7% for speech with its punctuation inside the quote (SPEECH_ENDINGS).
SCARE_QUOTE_MAX_WORDS = 2
# Words before a quoted name (_a_name), and the share of capitalised words above which a sentence is in title case.
NAMING_WORDS = frozenset({"nicknamed", "dubbed", "known", "named", "codenamed", "alias", "aka", "called"})
TITLE_CASE_SHARE = 0.6
NAME_CONTEXT_CHARS = 40
SPEECH_ENDINGS = frozenset(",.!?:;")  # characters read on either side of a quoted span (_a_name)
# A headline that credits a source reports the claim as the source's word: "...: report", "Sources: ...",
# "... - senior official". Report words count anywhere in a title-only item, source nouns when they stand
# in a short segment set off by a colon or a dash (the headline's credit line).
HEADLINE_REPORT_WORDS = frozenset(
    {"say", "report", "reports", "reported", "source", "sources", "insider", "insiders"}
)
# Headline hedges beyond the lexicon's: a negotiation is not yet the fact ("Microsoft in talks to buy ...").
HEADLINE_HEDGES = (("in", "talks"),)
HEADLINE_SOURCE_NOUNS = frozenset(
    {
        "official",
        "officials",
        "media",
        "police",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "ministry",
        "agency",
        "government",
        "military",
        "army",
        "witnesses",
        "aide",
        "aides",
        "analyst",
        "analysts",
    }
)
HEADLINE_CREDIT_WORDS = 4
_CREDIT_SPLIT_RE = re.compile(r":|\s[-–—|]\s")


def tokenize(text: str) -> list[str]:
    """Words (case kept, curly quotes made straight) and the punctuation that bounds clauses and quotes.

    Words are runs of letters and digits in any script, joined by inner hyphens and apostrophes ("so-called",
    "isn't"); an elided French or Italian article is a word of its own ("l'" "OTAN")."""
    text = text.translate(_STRAIGHT_QUOTES)
    if "o" in text or "O" in text:
        text = _NUMBER_ABBREVIATION_RE.sub("number ", text)
    found = _TOKEN_RE.findall(text)
    if "'" not in text:
        return found
    out: list[str] = []
    for token in found:
        elided = _ELIDED_RE.fullmatch(token) if "'" in token else None
        out.extend(elided.groups() if elided else (token,))
    return out


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found in the headline or body, with the weight its scope over the claim gives it."""

    kind: str
    text: str  # the words that carry the stance ("dismissed as nonsense")
    weight: float  # STRENGTH x DECAY[distance]
    where: str  # "title" | "body"
    distance: int  # 0 states the claim (always 0 in the title), 1 about it, 2 nearby, 3 far
    sentence: int  # index of the body sentence, -1 for the headline


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the rules and the learned layer read for one claim and article.

    ``claim_sentence`` is the body sentence that best states the claim (the headline when the body has
    none); ``disputing_sentence`` the sentence (headline or body) of the strongest dispute cue, "" if none.
    ``words`` holds the words by scope (SCOPES) and ``stats`` the numeric pair features. ``dispute``,
    ``distance`` and ``endorsement`` are the rules' sums (see ``beside``).
    """

    hits: tuple[Hit, ...]
    dispute: float  # D: weighted dispute cues
    distance: float  # H: weighted distance cues (hedges, attribution)
    endorsement: float  # E: weighted endorsements
    overlap: float  # best share of the claim's content words in one body sentence
    coverage: float  # share of the claim's content words anywhere in the body
    anchors: int  # body sentences that state the claim
    sentences: int
    claim_negative: bool  # the claim itself says something is false or denied ("... is a hoax")
    claim_negated: bool  # the claim negates its own predicate ("X is not dead")
    claim_debunks: bool  # the claim is itself a denial or a debunk ("... death hoax", "X denies ...")
    claim_question: bool
    claim_hedged: bool
    governed: bool  # a strong dispute cue governs the claim sentence or sits in the headline
    claim_sentence: str
    disputing_sentence: str
    words: Mapping[str, frozenset[str]]
    stats: Mapping[str, float]
    body: tuple[str, ...] = ()  # the body's sentences, as split for the rules (Hit.sentence indexes them)
    overlaps: tuple[float, ...] = ()  # share of the claim's content words in each body sentence
    # The article states the claim in its own voice (no cue of dispute or distance in the headline or in
    # the sentences that state it), and the sentences beside it that are about something else: the rules
    # (dispute, distance, endorsement, cues) weigh their cues as far from the claim; ``hits`` keeps them as
    # found, for the learned layer.
    asserted: bool = False
    beside: frozenset[int] = frozenset()
    # A body sentence states the claim: enough of its words, its predicate among them, and no question
    # ("Does eating red meat cause cancer? Here is what the studies say" asks, it does not state).
    stated: bool = False
    # The claim is itself a debunk and the article denies that debunk: "No, the moon landing was not a hoax"
    # against "The moon landing was a hoax" disputes the claim (see _denies_the_debunk).
    debunk_denied: bool = False
    # A figure that misses the claim's (MISSED_FIGURE) governs the claim: the training data never shows one, so
    # the rules decide (framing.settle).
    figure_missed: bool = False
    # A wire item (a headline and a line or two) whose headline states the claim with no cue of its own, over a
    # line that only credits a source or adds a detail (_headline_asserts).
    headline_led: bool = False

    @property
    def echoes_the_claim(self) -> bool:
        """The claim is itself a denial or a debunk and the article does not deny that debunk: its words of
        dispute repeat the claim (rule_stance, skepticism and the model's guard read them so)."""
        return self.claim_debunks and not self.debunk_denied

    @property
    def corrected(self) -> bool:
        """A correction notice in the headline or in a sentence that states the claim ("Correction: an earlier
        version of this article said ..."): the article takes the claim back. Not for a claim that is itself a
        debunk, which a correction repeats."""
        return not self.echoes_the_claim and any(
            hit.kind == CORRECTION and hit.distance == 0 and hit.text.lower() in CORRECTION_NOTICES
            for hit in self.hits
        )

    @property
    def headline_asks(self) -> bool:
        """The headline is a question or an explainer (_explainer): it asks about the claim."""
        return any(hit.kind == HEADLINE_QUESTION and hit.where == "title" for hit in self.hits)

    @property
    def title_only(self) -> bool:
        """A headline and no body: the claim sentence is then the headline."""
        return not self.sentences and bool(self.claim_sentence)


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    tokens: list[str]
    lowered: list[str]
    content: frozenset[str]  # stems of the words that are not stopwords
    grammar: _Grammar


@dataclass(frozen=True, slots=True)
class _Grammar:
    """The words of the article's language the rules read as function words and as negators."""

    stop: AbstractSet[str]
    negators: frozenset[str]  # cancel a cue a few words on ("did not deny")
    claim_negators: frozenset[str]  # deny a claim word a few words on ("has not surpassed")


ENGLISH = _Grammar(ENGLISH_CORE, NEGATORS, CLAIM_NEGATORS)


@lru_cache(maxsize=64)
def _grammar(language: str | None) -> _Grammar:
    """English's, with the function words of the article's language and the foreign negators when it is
    another."""
    code = normalize_language(language)
    if not code or code == "en":
        return ENGLISH
    return _Grammar(
        ENGLISH_CORE | stopwords(code), NEGATORS | FOREIGN_NEGATORS, CLAIM_NEGATORS | FOREIGN_NEGATORS
    )


def _sentence(text: str, grammar: _Grammar = ENGLISH) -> _Sentence:
    tokens = tokenize(text)
    lowered = [token.lower() for token in tokens]
    content = {light_stem(token) for token in lowered if token[0].isalnum() and token not in grammar.stop}
    return _Sentence(text=text, tokens=tokens, lowered=lowered, content=frozenset(content), grammar=grammar)


@dataclass(frozen=True, slots=True)
class _Quantity:
    value: float
    unit: str  # the stem of the counted word, "percent" for "%" and "per cent", "" for none
    bound: str  # "lower" (more than, over ...), "upper" (fewer than, under ...) or "" (a plain figure)
    text: str
    tolerance: float = PERCENT_TOLERANCE[0]  # a plain percentage's: PERCENT_TOLERANCE by its decimals
    strict: bool = False  # a bound that leaves its own figure out ("more than", "below"; not "at least")

    def misses(self, claimed: _Quantity) -> bool:
        """Whether this figure of the same unit contradicts the claim's figure: below its lower bound (unless given
        as a lower bound itself: "more than 85,000" may be more than 200,000), above its upper one, by more than
        BOUND_SLACK of it (a percentage by any amount); a bound the other way that excludes the claim's ("above 3%"
        against "below 3 percent", "fewer than 150" against "more than 200"); or, for a plain percentage, off it
        by more than its tolerance."""
        if self.unit != claimed.unit or not self.unit:
            return False
        percent = self.unit == "percent"
        slack = 0.0 if percent else BOUND_SLACK
        if claimed.bound == "lower":
            if self.bound == "upper":
                return self.value <= claimed.value
            return self.bound != "lower" and self.value < claimed.value * (1.0 - slack)
        if claimed.bound == "upper":
            if self.bound == "lower":
                return self.value >= claimed.value
            return self.bound != "upper" and self.value > claimed.value * (1.0 + slack)
        return percent and not self.bound and abs(self.value - claimed.value) > claimed.tolerance

    def meets(self, claimed: _Quantity) -> bool:
        """Whether this figure, of the same unit or of none (a count only), is within the claim's figure: a plain
        figure or a bound the same way, the claim's own figure only when its comparator admits it ("at least 9",
        not "below 3 percent" for "about 3.0%")."""
        if self.unit != claimed.unit and (self.unit or claimed.unit == "percent"):
            return False
        if self.bound and claimed.bound and self.bound != claimed.bound:
            return False
        if claimed.bound == "lower":
            return self.value > claimed.value or (self.value == claimed.value and not claimed.strict)
        if claimed.bound == "upper":
            return self.value < claimed.value or (self.value == claimed.value and not claimed.strict)
        return abs(self.value - claimed.value) <= claimed.tolerance


def _quantities(text: str, bare: bool = False) -> list[_Quantity]:
    """The counted figures of a text; with ``bare``, figures with no counted word too (unit ""). Left out: years,
    the end of a range ("10-12%"), and figures whose separators are ambiguous ("200.000" and "230 000": thousands
    in much of Europe)."""
    found = []
    for match in _QUANTITY_RE.finditer(text):
        number, unit = match.group("num").rstrip(".,"), (match.group("unit") or "").lower()
        if (
            match.group("spaced")
            or not _FIGURE_RE.fullmatch(number)
            or _AMBIGUOUS_FIGURE_RE.fullmatch(number)
            or (_is_year(number) and not match.group("scale"))
        ):
            continue
        unit = "percent" if unit in ("%", "percent", "per cent") else light_stem(unit)
        if unit in ENGLISH_CORE and unit != "percent":
            unit = ""  # "over 40 in ...", "200,000 of them"
        if not unit and not bare:
            continue
        value = float(number.replace(",", "")) * _SCALES.get((match.group("scale") or "").lower(), 1.0)
        comparator = (match.group("cmp") or "").lower()
        bound = "lower" if comparator in _LOWER_BOUNDS else "upper" if comparator in _UPPER_BOUNDS else ""
        tolerance = PERCENT_TOLERANCE[1] if "." in number else PERCENT_TOLERANCE[0]
        strict = comparator in _STRICT_BOUNDS
        found.append(_Quantity(value, unit, bound, match.group(0).strip(), tolerance, strict))
    return found


@dataclass(frozen=True, slots=True)
class _Claim:
    sentence: _Sentence
    stems: frozenset[str]
    numbers: frozenset[str]
    quantitative: bool
    negated: frozenset[str]  # claim stems its own negators deny
    cue_words: frozenset[str]  # stems of the dispute cue words the claim itself uses
    debunks: bool  # the claim itself denies or debunks something (see _debunks)
    predicate: frozenset[str] = frozenset()  # stems of the words after its first auxiliary (_predicate)
    verb: str = ""  # the first of them: "ban" of "Italy has banned ChatGPT"
    quoted: frozenset[str] = (
        frozenset()
    )  # the spans the claim quotes itself, lowercased words joined by a space
    # the claim's figures given as bounds ("more than 200,000 people"), and its percentages ("fell to 2 percent")
    bounds: tuple[_Quantity, ...] = ()
    # the year by which the claim says a thing will happen ("by 2026"; _deadline); 0 for none
    deadline: int = 0
    # the claim's bounds of no counted word ("rose to more than 1,200 in 2025")
    bare_bounds: tuple[_Quantity, ...] = ()
    # the capitalised words before the claim's numbers: its figures' labels (_figure_labels)
    labels: frozenset[str] = frozenset()
    # the claim is itself an averting ("a deal averted a strike"; AVERTS): a report of one agrees
    averting: bool = False
    # the claim's words in the simple past when it is a claim of a thing done (_done_words); None when it is not
    done: frozenset[str] | None = None
    # its stems with its countries' for their people ("Syrian": Syria), and their first AKIN_PREFIX letters: a word
    # that has one of them is akin to the claim ("president" to "presidential"; _denies_something_else)
    akin: frozenset[str] = frozenset()
    akin_prefixes: frozenset[str] = frozenset()
    # the claim is itself of a forecast ("The IMF has cut its growth forecast to 2.9 percent"): a forecast's figure
    # may contradict it
    forecast: bool = False


def _deadline(text: str, sentence: _Sentence) -> int:
    """The latest year the claim sets as a deadline: after "by" or "before", or after "in" in a claim of
    what will happen ("will open in 2026"; not "Floods in 2023 killed ..."); 0 for none."""
    future = "will" in sentence.lowered
    return max(
        (
            int(match.group(1))
            for match in _DEADLINE_RE.finditer(text)
            if future or not match.group(0).lower().startswith("in")
        ),
        default=0,
    )


def _parse_claim(text: str, grammar: _Grammar = ENGLISH) -> _Claim:
    sentence = _sentence(text, grammar)
    labels = _figure_labels(text)
    numbers = frozenset(n.group().replace(",", "") for n in _numbers(text, labels))
    # A year or a decade ("in the 1970s") dates the claim; it does not make it a figure to contradict.
    quantitative = any(not _is_year(n) for n in numbers) or not QUANTITY_WORDS.isdisjoint(sentence.lowered)
    negated = frozenset(word for _, _, word in _negations(sentence, sentence.content, frozenset()))
    scanned = _scan(sentence)
    predicate = _predicate(sentence)
    cues = {light_stem(word) for kind, words, _ in scanned if DIRECTIONS[kind][0] > 0 for word in words}
    deadline = _deadline(text, sentence)
    akin = sentence.content | {light_stem(DEMONYMS[w]) for w in sentence.lowered if w in DEMONYMS}
    return _Claim(
        sentence,
        sentence.content,
        numbers,
        quantitative,
        negated,
        frozenset(cues),
        _debunks(sentence, scanned),
        frozenset(predicate),
        predicate[0] if predicate else _past_verb(sentence),
        frozenset(" ".join(w.lower() for w in _quoted(m)[1]) for m in _QUOTE_RE.finditer(text)),
        # a plain "100%" is a manner of speaking ("100% fake"), not a figure
        tuple(q for q in _quantities(text) if q.bound or (q.unit == "percent" and q.value != 100.0)),
        deadline,
        tuple(q for q in _quantities(text, bare=True) if q.bound and not q.unit),
        labels,
        any(_holds(sentence.lowered, phrase) for phrase in AVERTS),
        _done_words(sentence, deadline),
        akin,
        frozenset(stem[:AKIN_PREFIX] for stem in akin if len(stem) >= AKIN_PREFIX),
        not FORECASTS.isdisjoint(sentence.lowered),
    )


def _done_words(sentence: _Sentence, deadline: int) -> frozenset[str] | None:
    """For a claim of a thing done (a perfect or a past passive, PAST_AUXILIARIES; or a verb in the simple past,
    IRREGULAR_PAST or _past_verb), its words in the simple past; None for any other claim, one of what will happen
    ("Amazon will close all its stores in Britain", "Christian Bale to play Steve Jobs") above all."""
    claimed = sentence.lowered
    if deadline or not FUTURE_WORDS.isdisjoint(claimed):
        return None
    if (
        PAST_AUXILIARIES.isdisjoint(claimed)
        and IRREGULAR_PAST.isdisjoint(claimed)
        and not _past_verb(sentence)
    ):
        return None
    return frozenset(w for w in claimed if w in IRREGULAR_PAST or w.endswith("ed"))


def _predicate(sentence: _Sentence) -> tuple[str, ...]:
    """Stems of the claim's predicate, in order: the first one or two content words after its first auxiliary
    ("Wolves have returned to ...", "Germany has stopped importing ..."); none without an auxiliary."""
    lowered = sentence.lowered
    start = next(
        (
            i
            for i, word in enumerate(lowered)
            if (word in AUXILIARIES or word in COPULAS)
            and (i == 0 or lowered[i - 1] not in MODALS)
            and i + 1 < len(lowered)
            and (word == "will" or lowered[i + 1].endswith(PARTICIPLE_ENDINGS))
        ),
        -1,
    )
    if start < 0:
        return ()
    found: list[str] = []
    for word in lowered[start + 1 :]:
        stem = light_stem(word)
        if stem in sentence.content:
            found.append(stem)
            if len(found) == 2:
                break
        elif found:
            break
    return tuple(found)


def _past_verb(sentence: _Sentence) -> str:
    """The stem of a claim's verb in the simple past, for a claim without an auxiliary (_predicate): its first
    content word ending in "-ed" after a content word ("US regulators grounded Boeing 737 Max 9 jets", "A court
    ordered the liquidation of ..."); not an adjective after a determiner ("the reported figures"). Read only
    for a headline that states the claim (_headline_asserts)."""
    lowered, content = sentence.lowered, sentence.content
    for i in range(1, len(lowered)):
        word = lowered[i]
        if word.endswith("ed") and light_stem(word) in content and light_stem(lowered[i - 1]) in content:
            return light_stem(word)
    return ""


def _debunks(sentence: _Sentence, scanned: Sequence[tuple[str, tuple[str, ...], str]]) -> bool:
    """Whether the claim is itself a denial or a debunk: a contradiction ("... is a hoax", "reports ... are
    untrue") or a voice that denies ("X denies ..."), not a topic that merely names falsehood ("fake news
    sites", "a disinformation campaign", "the border dispute")."""
    for kind, words, _ in scanned:
        if kind not in (CONTRADICTION, COUNTER_VOICE) or words in NOT_DEBUNKS:
            continue
        if words == ("fake",) and "news" in sentence.lowered:
            continue
        return True
    return False


def _negator_before(lowered: Sequence[str], start: int, negators: AbstractSet[str]) -> int | None:
    """Index of a negator up to CUE_NEGATION_WINDOW words before ``start`` in the same clause, if any."""
    for i in range(start - 1, max(-1, start - 1 - CUE_NEGATION_WINDOW), -1):
        if lowered[i] in CLAUSE_BREAKS:
            return None
        if lowered[i] in negators or lowered[i].endswith("n't"):
            return i
        if (lowered[i], lowered[i + 1]) in CLAIM_NEGATOR_PAIRS:
            return i  # "have yet to be agreed", "failed to confirm"
    return None


def _match_at(lowered: Sequence[str], i: int) -> Phrase | None:
    for phrase in LEXICON.get(lowered[i], ()):
        if tuple(lowered[i : i + len(phrase.words)]) == phrase.words:
            return phrase
    return None


def _aimed_elsewhere(lowered: Sequence[str], start: int) -> bool:
    """Whether the words from ``start`` make the verb before them deny or doubt no statement: a person, a request
    or a decision taken as its object, or an interrogation ("questioned by police")."""
    if start < len(lowered) and lowered[start] == "by":
        start += 1
        if start < len(lowered) and lowered[start] in DETERMINERS:
            start += 1
        return start < len(lowered) and lowered[start] in INTERROGATORS
    if start < len(lowered) and lowered[start] in DETERMINERS and lowered[start] not in ("that", "this"):
        start += 1
    if start < len(lowered) and lowered[start].endswith("'s"):  # "the government's request"
        start += 1
    if start < len(lowered) and lowered[start] in DECIDED_OBJECTS:
        if lowered[start] == "ruling" and start + 1 < len(lowered) and lowered[start + 1] in RULING_NOUNS:
            return False
        for word in lowered[start + 1 : start + 1 + OBJECT_WINDOW]:
            if word in CLAUSE_BREAKS:
                break
            if word in VERB_WORDS:
                return False  # "denied the decision to scrap it has been made": a clause of its own
        return True
    return start < len(lowered) and (lowered[start] in PERSON_OBJECTS or lowered[start] in PROCEDURAL_OBJECTS)


def _judges_an_act(lowered: Sequence[str], i: int) -> bool:
    """Whether the evaluative word at ``i`` ("wrong") judges an act or proves someone wrong, rather than calls
    a statement false: "called the decision wrong", "the ruling was wrong", "proved the critics wrong"."""
    if not PROVING.isdisjoint(lowered[max(0, i - 4) : i]):
        return True
    if i < 2:
        return False
    if lowered[i - 1] in LINKING:
        return lowered[i - 2] in JUDGED_ACTS
    if lowered[i - 1] not in JUDGED_ACTS:
        return False
    k = i - 2
    if lowered[k] in DETERMINERS and k > 0:
        k -= 1
    return lowered[k] in CALLING


def _open_question(lowered: Sequence[str], i: int) -> bool:
    """Whether the noun "questions" at ``i`` opens a question rather than doubts a statement: followed by a
    wh-word ("questions about what ...", "questions over whether ..."), or heading its sentence ("Questions
    swirl over Altman's future") when what follows is not the claim or a report of it."""
    j = i + 1
    if j >= len(lowered) or lowered[j] not in OPEN_QUESTION_LINKS:
        return False
    while j < len(lowered) and lowered[j] in OPEN_QUESTION_LINKS:
        j += 1
    if j < len(lowered) and lowered[j] in WH_WORDS:
        return True
    if i != 0:
        return False
    while j < len(lowered) and (lowered[j] in DETERMINERS or lowered[j].endswith("'s")):
        j += 1
    return j < len(lowered) and lowered[j] not in POINTED_NOUNS


# Denials that, negated, leave the claim open: "a cyberattack has not been ruled out".
LEFT_OPEN = frozenset({("ruled", "out"), ("rule", "out"), ("rules", "out"), ("ruling", "out")})


def _scan(sentence: _Sentence) -> list[tuple[str, tuple[str, ...], str]]:
    """Lexicon cues of one sentence as (kind, matched words, text), negation applied.

    A negated cue is dropped ("not a rumour", "did not deny", "no doubt"); a negated endorsement becomes a
    hedge ("could not confirm"), and a negated "whether" stays one ("has not said whether").
    """
    tokens, lowered, negators = sentence.tokens, sentence.lowered, sentence.grammar.negators
    found: list[tuple[str, tuple[str, ...], str]] = []
    starts: list[int] = []  # where each cue found starts
    end = 0
    for i, word in enumerate(lowered):
        if i < end or word not in LEXICON:
            continue
        phrase = _match_at(lowered, i)
        if phrase is None:
            continue
        if i > 0 and lowered[i - 1] in BLOCKERS.get(word, frozenset()):
            continue
        if word in OPEN_QUESTION_WORDS and i > 0 and any(c.isdigit() for c in lowered[i - 1]):
            continue  # "a $300bn question", "the 64,000-dollar question": a question named
        if word == "wrong" and _judges_an_act(lowered, i):
            continue
        if len(phrase.words) == 1 and (
            (word in OBJECT_BLOCKED_VERBS and _aimed_elsewhere(lowered, i + 1))
            or (lowered[i + 1] if i + 1 < len(lowered) else END) in FOLLOWERS.get(word, ())
        ):
            continue
        end = i + len(phrase.words)
        if phrase.words == SHOT_DOWN and not _downs_a_statement(lowered, i, end):
            continue  # "Pakistan shot down five jets": a craft, not a claim
        negator = None if phrase.words[0] in negators else _negator_before(lowered, i, negators)
        if (
            negator is None
            and word in OPEN_QUESTION_WORDS
            and len(phrase.words) == 1
            and _open_question(lowered, i)
        ):
            found.append((HEDGE, phrase.words, tokens[i]))
        elif negator is None:
            found.append((phrase.kind, phrase.words, " ".join(tokens[i:end])))
        elif phrase.kind == ENDORSEMENT or phrase.words == WHETHER or phrase.words in LEFT_OPEN:
            # "could not confirm", "not said whether", "has not been ruled out"
            found.append((HEDGE, phrase.words, " ".join(tokens[negator:end])))
        else:
            continue
        starts.append(i)
    confirms = any(kind == ENDORSEMENT for kind, _, _ in found)
    despite = not DESPITE.isdisjoint(lowered)
    if confirms or despite:
        found = [
            cue
            for cue, i in zip(found, starts, strict=True)
            if not (confirms and _superseded(lowered, i, cue))
            and not (despite and _overridden(lowered, i, cue))
        ]
    return found


def _downs_a_statement(lowered: Sequence[str], start: int, end: int) -> bool:
    """Whether "shot down" at lowered[start:end] rejects something said: a statement noun (DOWNED_STATEMENTS)
    among the DOWNED_REACH words of its clause after it ("shot down a New York Times report") or, in the passive,
    just before its "was" ("the idea was quickly shot down"); not the aircraft, drones and missiles that war
    reports shoot down."""
    for word in lowered[end : end + DOWNED_REACH]:
        if word in CLAUSE_BREAKS or word == "and":
            break  # "Rafale shot down, report says": the report is another clause's
        if word in DOWNED_STATEMENTS:
            return True
    k = start - 1
    if k >= 0 and lowered[k].endswith("ly"):  # "was quickly shot down"
        k -= 1
    # the subject of "was shot down", just before it: "the idea was", not "reports that a Rafale was"
    return k >= 1 and lowered[k] in ("was", "were", "been", "being") and lowered[k - 1] in DOWNED_STATEMENTS


def _overridden(lowered: Sequence[str], i: int, cue: tuple[str, tuple[str, ...], str]) -> bool:
    """Whether the word of denial or doubt at ``i`` is what the sentence states its news against: "despite
    Kremlin denials", "despite doubts", "in spite of the denials" (not "despite reports that ...", a phrase of
    its own)."""
    kind, words = cue[0], cue[1]
    if kind not in (COUNTER_VOICE, DOUBT) or len(words) != 1 or words[0] not in DENIAL_NOUNS:
        return False
    return not DESPITE.isdisjoint(lowered[max(0, i - 3) : i])


def _superseded(lowered: Sequence[str], i: int, cue: tuple[str, tuple[str, ...], str]) -> bool:
    """Whether the denial at ``i``, in a sentence that confirms, is one the sentence says came first: "Having
    initially dismissed reports ..., the company confirmed ...", "X confirms ... after days of denials"."""
    if cue[0] != COUNTER_VOICE:
        return False
    before = lowered[max(0, i - 3) : i]
    return not SUPERSEDED.isdisjoint(before) or (
        len(before) == 3 and before[0] == "after" and before[1] in SPANS_OF_TIME and before[2] == "of"
    )


def _negations(
    sentence: _Sentence,
    stems: frozenset[str],
    echoed: frozenset[str],
    claimed: Iterable[str] = (),
) -> list[tuple[int, int, str]]:
    """Negators that deny a claim word within NEGATION_WINDOW in the same clause: (start, end, stem).

    A negator whose first claim word is one in ``echoed`` (those the claim negates itself) repeats the claim's own
    negation: it agrees, and denies nothing after it. ``claimed``: the claim's words (see _beyond).
    """
    lowered = sentence.lowered
    found: list[tuple[int, int, str]] = []
    for i, token in enumerate(lowered):
        pair = (token, lowered[i + 1]) if i + 1 < len(lowered) else ("", "")
        if pair in CLAIM_NEGATOR_PAIRS:
            start = i + 2
        elif pair in NOT_NEGATING:
            continue
        elif token in sentence.grammar.claim_negators or token.endswith("n't"):
            start = i + 1
        else:
            continue
        for j in range(start, min(start + NEGATION_WINDOW, len(lowered))):
            if lowered[j] in CLAUSE_BREAKS or lowered[j] in COMPLEMENTIZERS:
                break
            word = light_stem(lowered[j])
            if lowered[j] not in ENGLISH_CORE and word in stems:
                # A word the claim negates itself ("fell short of analyst expectations") is the claim's own
                # negation repeated: it agrees. "No more strikers", "will not sign another": none beyond the claim's.
                if word not in echoed and not _beyond(lowered, i, j, claimed):
                    found.append((i, j + 1, word))
                break
    return found


def _ban_follows(lowered: Sequence[str], start: int) -> bool:
    """Whether a word of a ban or closure (PROHIBITIONS) follows ``start`` in its clause, within NEGATION_WINDOW
    words: "No federal judge has blocked ...", "no US stores would close"; not "can no longer use TikTok on their
    work phones after the government banned the app"."""
    for word in lowered[start : start + NEGATION_WINDOW]:
        if word in CLAUSE_BREAKS:
            return False
        if light_stem(word) in PROHIBITIONS:
            return True
    return False


def _beyond(lowered: Sequence[str], negator: int, word: int, claimed: Iterable[str]) -> bool:
    """Whether the negation at ``negator`` of the claim word at ``word`` denies only more of it (BEYOND, not a word
    of the claim's own): "no other Pfizer drugs", "will not sign another striker"; not "will not seek another term"
    against "... will seek another term"."""
    beyond = BEYOND.difference(claimed)
    after = lowered[word + 1] if word + 1 < len(lowered) else ""
    return not beyond.isdisjoint(lowered[negator + 1 : word]) or after in beyond


def _scare_quotes(text: str, claim: _Claim) -> list[str]:
    """Quoted terms of one or two words that repeat the claim's own: the "surpassed" of a sceptical report. Not a
    fragment of speech (longer, or with its punctuation inside: 'agents "caught them," he said'). Not a name: a
    span the claim quotes itself ("Ismael 'El Mayo' Zambada"), a nickname ("Joaquin 'El Chapo' Guzman", "nicknamed
    the 'Moon Sniper'"), or capitalised words in a sentence that is not in title case (_a_name)."""
    found = []
    title_case: bool | None = None  # worked out once, for the first span that needs it
    for match in _QUOTE_RE.finditer(text):
        quoted, spans = _quoted(match)
        words = [w.lower() for w in spans]
        if (
            not 0 < len(words) <= SCARE_QUOTE_MAX_WORDS
            or quoted[-1:] in SPEECH_ENDINGS
            or not {light_stem(w) for w in words if w not in ENGLISH_CORE} & claim.stems
            or " ".join(words) in claim.quoted
        ):
            continue
        if title_case is None:
            title_case = _title_case(text)
        if not _a_name(text, match.start(), match.end(), spans, title_case):
            found.append(f'"{quoted}"')
    return found


def _quoted(match: re.Match[str]) -> tuple[str, list[str]]:
    """A _QUOTE_RE match's quoted text and its words (tokens that start with a letter or a digit), as written."""
    quoted = (match.group(1) or match.group(2) or "").strip()
    return quoted, [w for w in tokenize(quoted) if w[0].isalnum()]


def _title_case(text: str) -> bool:
    """Whether most words of the sentence after its first are capitalised: a headline in title case."""
    words = [w for w in tokenize(text) if w[0].isalpha()][1:]
    return sum(w[0].isupper() for w in words) >= TITLE_CASE_SHARE * max(1, len(words))


def _a_name(text: str, start: int, end: int, words: Sequence[str], title_case: bool) -> bool:
    """Whether the quoted span text[start:end] (its ``words``, see _quoted) names someone or something rather
    than keeps a distance: it follows "nicknamed", "dubbed", "known as" (and the like); or, in a sentence not in
    title case, it stands between two capitalised words (a nickname between a first and a last name) or its words
    are all capitalised. Only the words next to the span are read, so a sentence of many quotes costs no more per
    quote."""
    before = tokenize(text[max(0, start - NAME_CONTEXT_CHARS) : start])[-3:]
    if not NAMING_WORDS.isdisjoint(w.lower() for w in before):
        return True
    if title_case:
        return False  # capitals say nothing
    after = tokenize(text[end : end + NAME_CONTEXT_CHARS])[:1]
    if before and after and before[-1][:1].isupper() and after[0][:1].isupper():
        return True
    letters = [w for w in words if w[0].isalpha()]
    return bool(letters) and all(w[0].isupper() for w in letters)


def _is_year(number: str) -> bool:
    return len(number) == 4 and number.startswith(("19", "20"))


def _numbers(text: str, labels: frozenset[str] = frozenset()) -> list[re.Match[str]]:
    """The numbers of a text that may be figures or years; not those that are part of a name: after a letter ("G7",
    "H5N1"), after a letter and a hyphen ("GLP-1", "COVID-19", "F-35"; but a year: "mid-2026"), or a plain number
    after a capitalised word that is neither the first of its sentence nor a common word ("Boeing 737", "Windows
    11"; not "Only 31", nor in a headline in title case, nor after an opening preposition: "In Gaza 300 people",
    nor after one of the claim's ``labels``: "Category 3" against "a Category 5 storm"). A currency
    written against its figure stays one ("Sh15 billion", "R78bn", "Rs1,500 crore"), as does a figure with
    separators or a scale word after it."""
    found = []
    title_case: bool | None = None  # worked out once, for the first number after a capitalised word
    for match in _NUMBER_RE.finditer(text):
        start = match.start()
        before = text[start - 1] if start else ""
        named = (
            _NAMED_BEFORE_RE.search(text, max(0, start - NAME_CONTEXT_CHARS), start)
            if before == " "
            else None
        )
        if (
            named
            and named.group(1).lower() not in ENGLISH_CORE
            and not _opening_phrase(text, named.start(1))
            and named.group(1) not in labels
            and _plain_number(text, match)
            and not _is_year(match.group())
        ):
            if title_case is None:
                title_case = _title_case(text)
            if not title_case:
                continue
        if before == "-" and start > 1 and text[start - 2].isalpha() and not _is_year(match.group()):
            start -= 1
        elif not before.isalpha():
            found.append(match)
            continue
        first = start
        while first > 0 and text[first - 1].isalpha() and start - first <= 3:
            first -= 1
        currency = (first == 0 or not text[first - 1].isalnum()) and text[
            first:start
        ].lower() in CURRENCY_PREFIXES
        if currency or any(c in match.group() for c in ",.") or _SCALE_AFTER_RE.match(text, match.end()):
            found.append(match)
    return found


# Words that open a sentence with a time or a place before a capitalised word ("In Gaza 300 people", _opening_phrase).
_OPENING_PREPOSITIONS = frozenset("in on at by since from across during after before throughout".split())


_OPENING_RE = re.compile(r"(?:^|[.!?]\s+)\W*([A-Za-z]+)\s+\Z")
# A capitalised word just before a figure of the claim's: the figure's label ("Category 5", "Level 4", "Rs 500").
_LABEL_RE = re.compile(r"\b([A-Z][\w'-]*) \d")


def _opening_phrase(text: str, start: int) -> bool:
    """Whether the capitalised word at text[start:] is the second word of its sentence, after a preposition: a time
    or a place ("In Gaza 300 people ...", "On Monday 200 workers ..."), not a name."""
    found = _OPENING_RE.search(text, max(0, start - NAME_CONTEXT_CHARS), start)
    return found is not None and found.group(1).lower() in _OPENING_PREPOSITIONS


def _figure_labels(text: str) -> frozenset[str]:
    """The capitalised words, not common ones, just before a number of the claim: its figures' labels, which the
    same words before a number in an article are too ("Category 3" against "... as a Category 5 storm")."""
    return frozenset(m.group(1) for m in _LABEL_RE.finditer(text) if m.group(1).lower() not in ENGLISH_CORE)


def _plain_number(text: str, match: re.Match[str]) -> bool:
    """Whether a number has nothing of a quantity about it: no separators, no scale word or percentage after it."""
    return not any(c in match.group() for c in ",.") and not _QUANTITY_AFTER_RE.match(text, match.end())


def _contrary_figures(sentence: _Sentence, claim: _Claim, bounds: bool = True) -> list[str]:
    """A figure other than the claim's, stated with a contrast: "only 1.3 million", "in fact 40"; or, with
    ``bounds``, one that misses a bound or a percentage of the claim in the claim's unit ("about 85,000 people"
    against "more than 200,000 people", "67%" against "below 50 percent", "2.3%" against "fell to 2 percent"):
    MISSED_FIGURE, which governs the claim within one sentence of it (analyse)."""
    if not claim.quantitative:
        return []
    if claim.bounds and not bounds:
        return []  # the article gives a figure within the claim's: its other figures count something else
    lowered = sentence.lowered
    # Not a relative figure: a contrast word with a word of likelihood just after it ("33 percent less likely", "a
    # lower risk", "lower the risk of dementia").
    if any(
        word in CONTRAST_WORDS and LIKELIHOOD.isdisjoint(lowered[i + 1 : i + 3])
        for i, word in enumerate(lowered)
    ):
        text = sentence.text
        numbers = [n for n in _numbers(text, claim.labels) if not _is_year(n.group())]
        for found in numbers:
            if found.group().replace(",", "") in claim.numbers or _figure_met(
                claim, [found.group()], bare=True
            ):
                continue
            base = _BASE_FIGURE_RE.search(text, 0, found.start())
            if base and (
                base.group(1).lower().startswith(("up", "down"))
                or not claim.numbers.intersection(
                    n.group().replace(",", "") for n in numbers if n.end() <= base.start()
                )
                or _EARLIER_RE.match(text, found.end())
            ):
                # Where a change started ("up from 941"); or what a figure is compared with when the claim's own is
                # not the other side ("1,274, compared with 941"), or is, but against another time ("... compared
                # with 941 the year before"). Against the claim's figure it contradicts: "Organisers claimed 2
                # million, compared with 300,000 counted by police".
                continue
            return [f"contrary figure {found.group()}"]
    if bounds and claim.bounds and not _another_measure(sentence, claim):
        for clause in _CLAUSE_SPLIT_RE.split(sentence.text):
            for quantity in _quantities(clause):
                if not claim.forecast and _forecasts(tokenize(clause[: clause.find(quantity.text)].lower())):
                    continue  # "economists expect the rate to edge up to 7.0 percent": a forecast, not a finding
                if any(quantity.misses(bound) for bound in claim.bounds):
                    return [f"{MISSED_FIGURE} {quantity.text}"]
    return []


def _delayed_past(sentence: _Sentence, claim: _Claim) -> list[str]:
    """A delay past the year by which the claim says a thing will happen, in a clause about the claim: "pushed the
    landing back to 2027" (or "pushes ... to 2028") against "NASA will land astronauts on the Moon by 2026" (not
    "..., and a cargo mission slipped to 2028")."""
    if not claim.deadline or claim.negated:
        return []  # "... will not be held before 2027": a later date agrees
    for clause in _clauses(sentence.lowered):
        stems = set(map(light_stem, clause))
        delayed = (
            not DELAYS.isdisjoint(stems)
            or ("back" in stems and not PUSHES.isdisjoint(clause))
            or (not PUSHED.isdisjoint(clause) and _to_a_year(clause))  # "pushes the Mars shot to 2028"
        )
        years = [y for y in map(_year_of, clause) if y] if delayed and _about(claim, stems) else []
        later = [y for y in years if int(y) > claim.deadline] or [
            y for y in _not_before_years(clause, claim) if int(y) > claim.deadline
        ]
        if later:
            return [f"{DELAYED_PAST} {later[0]}"]
    return []


def _clauses(words: Sequence[str]) -> Iterator[list[str]]:
    """The words between CLAUSE_BREAKS, clause by clause (an empty one between two breaks too)."""
    clause: list[str] = []
    for word in words:
        if word in CLAUSE_BREAKS:
            yield clause
            clause = []
        else:
            clause.append(word)
    yield clause


def _forecasts(words: Sequence[str]) -> bool:
    """Whether a clause's words forecast: one of FORECASTS, not as the measure of what was found ("held at 4.1
    percent as expected", "slowed more than expected")."""
    return any(
        word in FORECASTS and not (i and words[i - 1] in ("as", "than")) for i, word in enumerate(words)
    )


def _put_off(sentence: _Sentence, claim: _Claim) -> list[str]:
    """A delay of the claim's event against a claim that it has happened (_Claim.done): "Turkish lawmakers put off
    debate on Swedish NATO bid" against "Sweden has become NATO's 32nd member", "court postpones Bolsonaro verdict"
    against "... has convicted Bolsonaro". The clause is about the claim and does not state it done, and what is
    delayed (the words after the delay, to a word of time or cause: _delayed_object) has a word of the claim: not
    "Democrats postpone virtual roll call after Biden exits race". Not a delay overcome, ended or refused earlier in
    the clause ("joins NATO after nearly two years of delays", "as Hungary ends long delay", "rejected his plea for
    a delay"), one only possible ("could slip"), "put off by" (deterred), nor the claim's own ("Apple has delayed
    its Siri upgrade")."""
    if claim.done is None or claim.negated or not DELAYS.isdisjoint(claim.stems):
        return []  # a claim of a delay ("Apple has delayed its Siri upgrade"): a report of one agrees
    for clause in _clauses(sentence.lowered):
        found = _delay_in(clause)
        if (
            found is not None
            and OVERCOME.isdisjoint(clause[: found[0]])
            # not only possible: "could slip", "may be postponed"
            and MODALS_ONLY.isdisjoint(clause[max(0, found[0] - 2) : found[0]])
            and _delayed_object(clause, found[1], claim)
            and _about(claim, set(map(light_stem, clause)))
            and claim.done.isdisjoint(clause)
            and not any(w.endswith("ed") and light_stem(w) == claim.verb for w in clause)
        ):
            return [" ".join(clause[found[0] : found[1]])]
    return []


def _delay_in(clause: Sequence[str]) -> tuple[int, int] | None:
    """Where the clause's first delay (PUT_OFF, or "put ... off") starts and ends; not "put off by" (deterred)."""
    for i, word in enumerate(clause):
        if light_stem(word) in PUT_OFF:
            return i, i + 1
        if word in PUTS and "off" in clause[i + 1 : i + 4]:
            end = clause.index("off", i + 1) + 1
            if end < len(clause) and clause[end] == "by":
                return None
            return i, end
    return None


def _delayed_object(clause: Sequence[str], end: int, claim: _Claim) -> bool:
    """Whether what a delay delays (its clause's words from ``end`` to a word of time or cause, at most OBJECT_WINDOW)
    has a word of the claim, a country's people counting as the country."""
    for word in clause[end : end + OBJECT_WINDOW]:
        if word in REQUEST_BREAKS or word == "by":
            return False
        stem = light_stem(word)
        if stem in claim.akin or light_stem(DEMONYMS.get(word, word)) in claim.akin:
            return True
    return False


def _to_a_year(clause: Sequence[str]) -> bool:
    """Whether the clause has "to" with a year right after it ("to 2028", "to the end of 2028", "to mid-2028"):
    not "pushed his engineers to launch in 2026"."""
    for i, word in enumerate(clause):
        if word != "to":
            continue
        k = i + 1
        while k < len(clause) and k <= i + 4 and clause[k] in _YEAR_LEAD:
            k += 1
        if k < len(clause) and _year_of(clause[k]):
            return True
    return False


# Words back from a negation to what it is about (see _not_before_years).
SUBJECT_WINDOW = 24
_EVENT_VERBS = frozenset("happen take come occur go arrive start begin be fly launch".split())
_SKIP_AFTER_NOT = frozenset({"be", "been", "have", "yet", "now", "even", "ever", "actually", "likely"})


def _about(claim: _Claim, stems: AbstractSet[str]) -> bool:
    """Whether words (their stems) are about the claim: its verb, or a quarter of its words ("a robotic Moon rover
    mission was delayed" is not the crewed landing, nor "the crewed Starship landing" the launch of "SpaceX will
    launch Starship to Mars")."""
    return claim.verb in stems or len(claim.stems & stems) >= ABOUT_OVERLAP * len(claim.stems)


def _year_of(word: str) -> str:
    return word if _is_year(word) else word[-4:] if _PART_YEAR_RE.fullmatch(word) else ""


def _not_before_years(clause: list[str], claim: _Claim) -> list[str]:
    """The years a clause sets as the earliest for the claim's own event: "will not land ... until mid-2027" (the
    negated verb is the claim's), "no earlier than 2028" / "in 2028 at the earliest" (its part of the clause since
    the last "and", at most SUBJECT_WINDOW words, is about the claim). Not "will not retire the rocket until 2030"
    beside the claim."""
    words = " ".join(clause).replace("n't", " n't").split()
    own_words = (claim.stems | {claim.verb}) - {""}
    starts = []  # where the part of the clause holding each word starts: after the last "and", within the window
    start = 0
    for i, w in enumerate(words):
        starts.append(max(start, i - SUBJECT_WINDOW))
        if w == "and":
            start = i + 1

    def about(i: int) -> bool:
        return _about(claim, set(map(light_stem, words[starts[i] : i])))

    found = []
    for i, w in enumerate(words):
        if w in ("not", "never", "n't"):
            j = i + 1
            while j < len(words) and words[j] in _SKIP_AFTER_NOT:
                j += 1
            if j < len(words) and (
                light_stem(words[j]) in own_words or (words[j] in _EVENT_VERBS and about(i))
            ):
                found += _until_years(words, j + 1)
        window: list[str] = []
        if words[i : i + 3] in (["no", "earlier", "than"], ["no", "sooner", "than"]):
            window = words[i + 3 : i + 6]
        elif words[i : i + 3] == ["at", "the", "earliest"]:
            window = words[max(0, i - 3) : i]
        years = [y for y in map(_year_of, window) if y]
        if years and about(i):
            found += years
    return found


def _until_years(words: Sequence[str], start: int) -> list[str]:
    """The years just after the first "until", "till" or "before" from ``start``, up to the next "and" or negation."""
    for k in range(start, len(words)):
        if words[k] in ("and", "not", "never", "n't"):
            break
        if words[k] in ("until", "till", "before"):
            return [y for y in map(_year_of, words[k + 1 : k + 5]) if y]
    return []


def _phrases_followed_by_the_claim(
    sentence: _Sentence, claim: _Claim, phrases: Sequence[tuple[str, ...]]
) -> list[tuple[int, int]]:
    """(start, end) of each of ``phrases`` in the sentence that a word of the claim follows within OBJECT_WINDOW
    words of its clause, when the claim does not use the phrase's first word itself."""
    lowered = sentence.lowered
    claimed = set(claim.sentence.lowered)
    found = []
    for i, word in enumerate(lowered):
        for phrase in phrases:
            if word != phrase[0] or word in claimed or tuple(lowered[i : i + len(phrase)]) != phrase:
                continue
            end = i + len(phrase)
            for later in lowered[end : end + OBJECT_WINDOW]:
                if later in CLAUSE_BREAKS:
                    break
                if later not in ENGLISH_CORE and light_stem(later) in claim.stems:
                    found.append((i, end))
                    break
            break
    return found


def _averted(sentence: _Sentence, claim: _Claim) -> list[str]:
    """What stops the claim's event before it happens, in a sentence about it: "Dockworkers ratify deal, ending
    threat of October port strike" against "Dockworkers went on strike in October"; not "talks failed to avert a
    strike", nor what a negated claim says did not happen."""
    if claim.negated or claim.averting:
        return []  # an averting the claim itself states ("a deal averted a strike"): the report agrees
    lowered = sentence.lowered
    if lowered and lowered[-1] == "?":
        return []
    found = []
    for start, end in _phrases_followed_by_the_claim(sentence, claim, AVERTS):
        before = lowered[max(0, start - 3) : start]
        if not _NOT_AVERTED.isdisjoint(before) or any(w.endswith("n't") for w in before):
            continue
        if lowered[start] in _BARE_AVERTS or "have" in before[-1:] or (before[-1:] == ["at"]):
            continue  # "to avert", "could avert", "would have averted", "aimed at averting": not done
        nxt = lowered[end : end + 1]
        if len(lowered[start:end]) == 2 and nxt and nxt[0] in _NOT_AN_OBJECT:
            continue  # "headed off to Washington", "backed off as protesters regrouped"
        head = _object_head(lowered, end)
        if lowered[start] in BLOCKING:
            if not _blocks_the_deal(lowered, start, end, claim):
                continue
        elif head and light_stem(head) not in claim.stems:
            continue  # "heading off fears that rates ...": what is averted is not the claim's
        found.append(" ".join(sentence.tokens[start:end]))
    return found


def _blocks_the_deal(lowered: Sequence[str], start: int, end: int, claim: _Claim) -> bool:
    """Whether the block at lowered[start:end] stops a deal (DEALS among the words of its clause after it:
    "blocks Nippon Steel's bid for U.S. Steel"), now: not one a claim of a deal's failure agrees with ("Albertsons
    ends merger"), not a block recounted ("which had blocked the deal in April"), lifted or refused ("lifts block
    on", "refused to grant an injunction blocking") within BLOCK_REACH words before it, nor "protesters blocked
    the road"."""
    if not DEAL_FAILURES.isdisjoint(claim.stems):
        return False
    before = lowered[max(0, start - BLOCK_REACH) : start]
    if not UNBLOCKING.isdisjoint(before) or "had" in before[-2:]:
        return False
    for word in lowered[end : end + OBJECT_WINDOW]:
        if word in CLAUSE_BREAKS:
            break
        if word in DEALS:
            return True
    return False


def _object_head(lowered: Sequence[str], end: int) -> str:
    """The last word of the first run of content words after lowered[end] (the head of its noun phrase: "first-ever
    strike" -> strike, "fears that ..." -> fears), looking through "plan to", "threat of" to what is planned; read
    within OBJECT_WINDOW words of each start, so that a sentence of many costs no more per phrase."""
    i = end
    while True:
        stop = min(len(lowered), i + OBJECT_WINDOW)
        while i < stop and lowered[i] in ENGLISH_CORE and lowered[i] not in CLAUSE_BREAKS:
            i += 1
        run = []
        stop = min(len(lowered), i + OBJECT_WINDOW)
        while i < stop and lowered[i] not in ENGLISH_CORE and lowered[i] not in CLAUSE_BREAKS:
            run.append(lowered[i])
            i += 1
        if not run:
            return ""
        if run[-1] in _FRAME_NOUNS and i < len(lowered) and lowered[i] in ("to", "of", "for"):
            i += 1
            continue
        return run[-1]


_FRAME_NOUNS = frozenset("plan plans threat threats bid proposal proposals move idea risk prospect".split())
_BARE_AVERTS = frozenset({"avert", "stave", "head"})
_NOT_AN_OBJECT = frozenset(
    {"to", "for", "into", "toward", "towards", "as", "when", "after", "and", "with", "down", "home"}
)


def _prospective(sentence: _Sentence, claim: _Claim) -> list[str]:
    """What puts the claim still to come, against a claim that it has happened (PAST_AUXILIARIES, IRREGULAR_PAST,
    _past_verb): "Takaichi set to become Japan's first female prime minister" against "Sanae Takaichi has become
    Japan's first female prime minister"; nothing against a claim of what will happen ("Amazon will close all its
    stores in Britain", "Christian Bale to play Steve Jobs")."""
    claimed_past = claim.done
    if claimed_past is None:
        return []  # not a claim of a thing done
    lowered = sentence.lowered
    # where the sentence has the claim's verb in the past (the first and the last place are enough)
    done = [
        i
        for i, w in enumerate(lowered)
        if w in claimed_past or (w.endswith("ed") and light_stem(w) == claim.verb)
    ]
    found = []
    for start, end in _phrases_followed_by_the_claim(sentence, claim, PROSPECTS):
        before = lowered[max(0, start - 3) : start]
        if {"was", "were", "had", "been", "as"} & set(before):
            continue  # "had been expected to raise rates", "which was expected to be approved"
        if lowered[start] in REQUESTS and _asks_for_another_thing(lowered, end, claim):
            continue  # "asks ICC to withdraw arrest warrant", "seeking new nominee after Biden quits race"
        if done and (done[0] < start or done[-1] >= end + OBJECT_WINDOW):
            continue  # the sentence states the claim done ("raised rates ... and is expected to raise again")
        found.append(" ".join(sentence.tokens[start:end]))
    return found


def _asks_for_another_thing(lowered: Sequence[str], end: int, claim: _Claim) -> bool:
    """Whether a request's clause goes on, within OBJECT_WINDOW words, past a "to" or into a clause of time: what is
    asked is another act on the claim's thing ("asks the court to extend the arrest warrant") or another thing
    beside it ("calls for an open convention after Biden exits the race")."""
    for word in lowered[end : end + OBJECT_WINDOW]:
        if word in CLAUSE_BREAKS:
            break
        if word in REQUEST_BREAKS:
            return True
    return False


def _another_measure(sentence: _Sentence, claim: _Claim) -> bool:
    """Whether the sentence's figures may be of another measure than the claim's: it names a year the claim does
    not ("In 2018, floods displaced 100,000 people"), or a qualifier of the measure that the claim lacks ("prices
    rose 0.3% on the month", "youth unemployment of 26.5%")."""
    if any(
        _is_year(n.group()) and n.group() not in claim.numbers for n in _numbers(sentence.text, claim.labels)
    ):
        return True
    words, claimed = sentence.lowered, claim.sentence.lowered
    present = set(words)
    return any(q[0] in present and _holds(words, q) and not _holds(claimed, q) for q in MEASURE_QUALIFIERS)


def _holds(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    """Whether ``phrase`` occurs in ``words``, word for word."""
    return any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1))


def _figure_met(claim: _Claim, texts: Iterable[str], bare: bool = False) -> bool:
    """Whether one of ``texts`` gives a figure within a bound of the claim: then a figure that misses it is
    about something else ("more than 200,000 displaced ... 85,000 people in camps"). With ``bare``, the claim's
    bounds of no counted word count too ("1,274" meets "rose to more than 1,200 in 2025")."""
    bounds = (*claim.bounds, *claim.bare_bounds) if bare else claim.bounds
    return bool(bounds) and any(
        quantity.meets(bound)
        for text in texts
        for quantity in _quantities(text, bare=True)
        for bound in bounds
    )


# Dispute cues that a claim may use itself: in an article they repeat it.
ECHOED_KINDS = frozenset({CONTRADICTION, COUNTER_VOICE, DOUBT, COUNTER_EVIDENCE})


def _sentence_cues(
    sentence: _Sentence, claim: _Claim, governs: bool, bounds: bool = True
) -> list[tuple[str, str]]:
    """(kind, text) cues of one sentence; claim negation and counter-evidence only where it governs; a figure
    that misses a bound of the claim only with ``bounds`` (see _contrary_figures)."""
    found: list[tuple[str, str]] = []
    scanned = _scan(sentence)
    elsewhere = _denied_elsewhere(sentence, scanned, claim)
    for kind, words, text in scanned:
        if kind in ECHOED_KINDS and light_stem(words[-1]) in claim.cue_words:
            continue  # the claim says "hoax" (or "called off") itself: a body repeating it agrees
        if kind == COUNTER_EVIDENCE and not governs:
            continue
        if kind == CORRECTION and words in EVENT_ERRORS and not _corrects_the_report(sentence.lowered):
            continue  # "wrongly convicted", "mistakenly shot": an error of the event, not of the report
        if words in elsewhere:
            continue  # "rejected claims that the launch had been rushed": another statement than the claim
        found.append((kind, text))
    found += [(SCARE_QUOTES, text) for text in _scare_quotes(sentence.text, claim)]
    if governs:
        # Under a ban, a negation of its other words says what the ban stops ("can no longer offer TikTok" under
        # "Montana has banned TikTok"); one of the ban itself, in any of its words ("has not imposed a ban"), denies it.
        banned = claim.verb in PROHIBITIONS
        stems = claim.stems | PROHIBITIONS if banned else claim.stems
        for start, end, word in _negations(sentence, stems, claim.negated, claim.sentence.lowered):
            if banned and word not in PROHIBITIONS and not _ban_follows(sentence.lowered, end):
                continue
            found.append((NEGATION, " ".join(sentence.tokens[start:end])))
        found += [(COUNTER_EVIDENCE, text) for text in _contrary_figures(sentence, claim, bounds)]
        found += [(COUNTER_EVIDENCE, text) for text in _delayed_past(sentence, claim)]
        found += [(COUNTER_EVIDENCE, text) for text in _put_off(sentence, claim)]
        found += [(COUNTER_EVIDENCE, text) for text in _averted(sentence, claim)]
        prospects = _prospective(sentence, claim)
        if prospects:
            # "is expected to be confirmed as prime minister": what is confirmed is still to come.
            found = [(kind, text) for kind, text in found if kind != ENDORSEMENT]
            found += [(HEDGE, text) for text in prospects]
    if any(kind in (CONTRADICTION, NEGATION, COUNTER_EVIDENCE) for kind, _ in found):
        # "confirmed that it does not exist": what is confirmed is the denial.
        found = [(kind, text) for kind, text in found if kind != ENDORSEMENT]
    return found


def _denied_elsewhere(
    sentence: _Sentence, scanned: Sequence[tuple[str, tuple[str, ...], str]], claim: _Claim
) -> frozenset[tuple[str, ...]]:
    """The denial and doubt phrases of ``scanned`` that deny something else than the claim wherever the sentence
    has them (_denies_something_else); each phrase read once, however often the sentence repeats it. Not
    confirmations: one of the claim in other words ("confirmed that the FDA had cleared its CRISPR treatment") is
    as common as one of something else."""
    phrases = {words for kind, words, _ in scanned if kind in (COUNTER_VOICE, DOUBT)}
    if not phrases:
        return frozenset()
    places: dict[str, list[int]] = {}
    for i, word in enumerate(sentence.lowered):
        places.setdefault(word, []).append(i)
    return frozenset(words for words in phrases if _denies_something_else(sentence, words, claim, places))


def _denies_something_else(
    sentence: _Sentence, words: tuple[str, ...], claim: _Claim, places: Mapping[str, list[int]]
) -> bool:
    """Whether the denial or doubt ``words`` is, wherever the sentence has it, of a clause that says something else:
    "rejected claims that the launch had been rushed", "denied that permitting was the main cause of delays". Each
    place needs a "that" within DENIED_REACH words, past determiners and nouns of what was said only (DENIED_NOUNS),
    then a clause of at least two content words (read to its end, at most DENIED_CLAUSE words) none of which is
    the claim's or akin to one (_Claim.akin: "president", "presidential"), a country's people counting as the country.
    A clause with a word of the claim may deny it in other words, and one that opens with a pronoun ("denied
    reports that he will step aside") or a verb ("dismissed the reports that surfaced overnight": a relative
    clause) may be about the claim: the cue stays. ``places``: where each word starts in the sentence."""
    lowered = sentence.lowered
    n = len(words)
    found = False
    for start in places.get(words[0], ()):
        if tuple(lowered[start : start + n]) != words:
            continue
        found = True
        j = start + n
        stop = min(len(lowered), j + DENIED_REACH)
        while j < stop and (
            lowered[j] in DENIED_NOUNS or (lowered[j] in DETERMINERS and lowered[j] != "that")
        ):
            j += 1  # "rejected the claims that", "dismissed earlier reports that"; not "questionable activities that"
        if j >= stop or lowered[j] != "that" or j + 1 >= len(lowered):
            return False
        opener = lowered[j + 1]
        if opener in CLAUSE_PRONOUNS or opener in AUXILIARIES or opener in COPULAS or opener in MODALS:
            return False
        if opener.endswith("ed") or opener in CLAUSE_BREAKS:
            return False
        content: set[str] = set()  # the clause's content words' stems, and their countries' for their people
        words_read = 0
        for word in lowered[j + 1 : j + 1 + DENIED_CLAUSE]:
            if word in CLAUSE_BREAKS:
                break
            if word[0].isalnum() and word not in sentence.grammar.stop:
                words_read += 1
                content.add(light_stem(word))
                content.add(light_stem(DEMONYMS.get(word, word)))  # "the ousted Syrian president": Syria's
        if words_read < 2 or any(
            stem in claim.akin or stem[:AKIN_PREFIX] in claim.akin_prefixes for stem in content
        ):
            return False
    return found


def _anchors(sentences: Sequence[_Sentence], overlaps: Sequence[float], evidence: Sequence[str]) -> set[int]:
    """Sentences that state the claim: those sharing most of its words; when none shares even
    ABOUT_OVERLAP of them (a paraphrase, another language), the matcher's evidence.

    The evidence is not added beside sentences that restate the claim in its own words: on FNC-1 news
    bodies its looser sentences cost the stance 0.01-0.02 macro-F1 (bench/README.md, stance)."""
    anchors = {i for i, overlap in enumerate(overlaps) if overlap >= ANCHOR_OVERLAP}
    wanted = [" ".join(_sentence(item).lowered) for item in evidence]
    wanted = [item for item in wanted if item]
    if anchors or max(overlaps, default=0.0) >= ABOUT_OVERLAP:
        wanted = []
    padded = [f" {item} " for item in wanted]
    for i, sentence in enumerate(sentences if wanted else ()):
        if not sentence.content:
            continue  # a line of no words ("* * *") states nothing
        joined = f" {' '.join(sentence.lowered)} "
        if any(w in joined or joined in w for w in padded):  # whole words: "Shells" is not in "Eggshells"
            anchors.add(i)
    if not anchors and sentences:
        anchors.add(max(range(len(overlaps)), key=overlaps.__getitem__))
    return anchors


def _distances(sentences: Sequence[_Sentence], overlaps: Sequence[float], anchors: set[int]) -> list[int]:
    """0 for anchors; 1 for the lead, neighbours and nearby sentences about the claim; 2 nearby; 3 far."""
    count = len(sentences)
    distances = [3] * count
    # The gap to the nearest anchor, in two passes (every sentence may be an anchor: a body that restates
    # the claim throughout would otherwise cost sentences x anchors).
    gaps = [99] * count
    last = None
    for i in range(count):
        if i in anchors:
            last = i
        if last is not None:
            gaps[i] = i - last
    last = None
    for i in range(count - 1, -1, -1):
        if i in anchors:
            last = i
        if last is not None:
            gaps[i] = min(gaps[i], last - i)
    for i in range(count):
        gap = gaps[i]
        if gap == 0:
            distances[i] = 0
        elif (
            gap == 1
            or i < LEAD_SENTENCES
            or count <= SHORT_BODY
            or (
                gap <= ABOUT_REACH
                and (overlaps[i] >= ABOUT_OVERLAP or not REFERENCE_WORDS.isdisjoint(sentences[i].lowered[:6]))
            )
        ):
            distances[i] = 1
        elif gap <= ABOUT_REACH:
            distances[i] = 2
    return distances


def _is_question(sentence: _Sentence) -> bool:
    text = sentence.text.rstrip()
    return text.endswith("?") or (
        "?" in text and bool(sentence.lowered) and sentence.lowered[0] in QUESTION_OPENERS
    )


def _asked_first(title: _Sentence) -> str:
    """The question that opens a headline of two parts: "Measles at a 30-year high? Health departments count cases
    differently"; "" for none. A question of one word ("Why? ...") asks nothing of the claim."""
    text = title.text
    question, mark, answer = text.partition("?")
    if not mark or len(tokenize(question)) < 2:
        return ""
    # "Rate cut in September? Powell says it's coming", "Russia in default? Moody's says yes": answered
    answered = _sentence(answer)
    if not ANSWERS.isdisjoint(answered.lowered) or any(kind == ENDORSEMENT for kind, _, _ in _scan(answered)):
        return ""
    return question.strip() + "?"


def _title_hits(title: _Sentence, claim: _Claim, *, alone: bool, bounds: bool = True) -> list[Hit]:
    """Cues of the headline. Attribution ("..., officials say") counts only in a title-only item: with a
    body, the body's own attribution says more, but a headline that is the whole item and reports the claim
    as someone's word keeps its distance from it."""
    if not title.tokens:
        return []
    found = [
        (kind, text)
        for kind, text in _sentence_cues(title, claim, True, bounds)
        if alone or kind != ATTRIBUTION
    ]
    if alone and not any(kind == ATTRIBUTION for kind, _ in found):
        credit = _headline_credit(title)
        if credit:
            found.append((ATTRIBUTION, credit))
    if alone and not any(kind == HEDGE for kind, _ in found):
        words = title.lowered
        for hedge in HEADLINE_HEDGES:
            if _holds(words, hedge):
                found.append((HEDGE, " ".join(hedge)))
    found = [(HEADLINE_NEGATION if kind == NEGATION else kind, text) for kind, text in found]
    answer = _answered_no(title)
    if answer:
        found.append((HEADLINE_NEGATION, answer))
    if _is_question(title):
        if "or" in title.lowered:
            # "LK-99: Breakthrough or Another False Dawn?": a question of alternatives weighs the falsehood it
            # names as one of them; it asks, and does not say which.
            found = [(kind, text) for kind, text in found if kind not in (CONTRADICTION, DOUBT)]
        found.append((HEADLINE_QUESTION, title.text))
    elif asked := _asked_first(title):
        found.append((HEADLINE_QUESTION, asked))
    elif explainer := _explainer(title):
        found.append((HEADLINE_QUESTION, explainer))
    return [Hit(kind, text, STRENGTH[kind], "title", 0, -1) for kind, text in found]


def _explainer(title: _Sentence) -> str:
    """The words that make a headline an explainer, which asks about the claim without a question mark
    ("Explainer: ...", "... due Wednesday: what to expect", "What a tie-up would mean for ..."), or ""."""
    words = title.lowered
    for phrase in EXPLAINER_PHRASES:
        if _holds(words, phrase):
            return " ".join(phrase)
    starts = [0, *(i + 1 for i, word in enumerate(words) if word == ":")]
    for i in starts:
        if i < len(words) and words[i] in EXPLAINER_OPENERS:
            return title.tokens[i]
    return ""


def _answered_no(title: _Sentence) -> str:
    """The "No," of a headline that answers the claim with a no, at its start or after a question or a colon:
    "No, pumpkin spice condoms are not a thing", "NHL expansion ahead? No, says Bettman", "… UPDATE: Nope";
    "" if none."""
    words = title.lowered
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else "."
        if word in ANSWERS_NO and following in (",", ".", "!") and (i == 0 or words[i - 1] in ("?", ":")):
            return title.tokens[i]
    return ""


def _headline_credit(title: _Sentence) -> str:
    """The words of a headline that credit a source ("report", "Iraqi officials"), or ""."""
    for word in title.lowered:
        if word in HEADLINE_REPORT_WORDS:
            return word
    segments = [part.strip() for part in _CREDIT_SPLIT_RE.split(title.text)]
    if len(segments) > 1:
        for part in (segments[0], segments[-1]):
            words = tokenize(part.lower())
            if 0 < len(words) <= HEADLINE_CREDIT_WORDS and not HEADLINE_SOURCE_NOUNS.isdisjoint(words):
                return part
    return ""


def _vocabulary(sentence: _Sentence) -> set[str]:
    """Every lowercased word ("n't" for any contraction of not); the model keeps only its vocabulary."""
    return {("n't" if w.endswith("n't") else w) for w in sentence.lowered if w[0].isalpha()}


def analyse(
    claim_text: str, title: str, text: str, evidence: Sequence[str] = (), language: str | None = None
) -> Analysis:
    """Find the stance cues of an article towards a claim, each weighted by its scope over the claim.

    A cue counts fully in the headline and in a sentence that states the claim, less in a sentence about
    it, little elsewhere. Negation of the claim's own words and counter-evidence are only looked for in
    the headline and in sentences that state the claim or are about it.

    :param evidence: the sentences the matcher found for the claim; they count as stating it.
    :param language: the article's language (ISO 639-1), for its function words and negators; None reads it
        as English. The cue lexicon holds the main languages of the press whatever this says (lexicon._FOREIGN).

    All four texts are read as :func:`clean_text` gives them (invisible format characters dropped).
    """
    claim_text, text = clean_text(claim_text)[:MAX_TEXT_CHARS], clean_text(text)[:MAX_TEXT_CHARS]
    title = clean_text(title)[:MAX_TITLE_CHARS]
    evidence = [clean_text(e)[:MAX_TEXT_CHARS] for e in evidence]
    grammar = _grammar(language)
    claim = _parse_claim(claim_text, grammar)
    sentences = [_sentence(part, grammar) for part in split_plain_sentences(text)]
    stems = claim.stems
    overlaps = [len(s.content & stems) / len(stems) if stems else 0.0 for s in sentences]
    anchors = _anchors(sentences, overlaps, evidence)
    distances = _distances(sentences, overlaps, anchors)
    title_sentence = _sentence(title.strip(), grammar)
    bounds = not _figure_met(claim, [title, *(s.text for s in sentences)])
    hits: list[Hit] = []
    for index, (sentence, distance) in enumerate(zip(sentences, distances, strict=True)):
        for kind, cue in _sentence_cues(sentence, claim, distance <= 1, bounds):
            if kind == ATTRIBUTION and distance > ATTRIBUTION_MAX_DISTANCE:
                continue
            hits.append(Hit(kind, cue, round(STRENGTH[kind] * DECAY[distance], 4), "body", distance, index))
    hits += _title_hits(title_sentence, claim, alone=not sentences, bounds=bounds)
    stated = _states(claim, sentences, overlaps)
    denied = claim.debunks and any(_denies_the_debunk(hit, claim) for hit in hits)
    asserted = stated and _own_voice(sentences, hits)
    beside = _beside_the_claim(sentences, overlaps, distances) if asserted else frozenset()
    analysis = _assemble(
        claim, title_sentence, sentences, overlaps, distances, hits, stated, asserted, beside, denied
    )
    if not stated and 0 < len(sentences) <= WIRE_LINES and _headline_asserts(title_sentence, claim, hits):
        analysis = replace(analysis, headline_led=True)
    return analysis


def _headline_asserts(title: _Sentence, claim: _Claim, hits: Sequence[Hit]) -> bool:
    """Whether a wire item's headline states the claim in the newsroom's own voice: the claim's verb and
    STATED_OVERLAP of its words ("WHO declares mpox outbreak a global public health emergency"; not "Thai senate
    set for final vote on same-sex marriage bill" against "Thailand has legalised same-sex marriage"); no cue in
    it (a question, a negation, a hedge, a credit line: "..., officials say", "in talks to"), and none in the
    line below but the credit of a source ("..., the agency said"). A newsroom files such an item as reporting
    the claim, not as hearsay: the line credits a detail, the headline states the news."""
    if not claim.verb or claim.verb not in title.content:
        return False
    if len(title.content & claim.stems) < STATED_OVERLAP * len(claim.stems):
        return False
    if any(hit.where == "title" or hit.kind != ATTRIBUTION for hit in hits):
        return False
    words = title.lowered
    return not _headline_credit(title) and not any(_holds(words, hedge) for hedge in HEADLINE_HEDGES)


def _denies_the_debunk(hit: Hit, claim: _Claim) -> bool:
    """Whether a negation that governs the claim denies the claim's own word of falsehood ("not a hoax" of
    "... was a hoax") or answers the claim with a no: the article then disputes a debunking claim, where its
    other words of dispute repeat it."""
    if hit.kind not in (NEGATION, HEADLINE_NEGATION) or hit.distance > 0:
        return False
    last = hit.text.split()[-1].lower()
    return last in ANSWERS_NO or light_stem(last) in claim.cue_words


def _own_voice(sentences: Sequence[_Sentence], hits: Sequence[Hit]) -> bool:
    """Whether an article that states the claim (_states) does so in its own voice: neither the sentences that
    state it nor the headline carry a cue of dispute or of distance (the hits at distance 0)."""
    secondhand: dict[int, bool] = {}  # per sentence: a sentence full of "said" has as many attribution hits
    for hit in hits:
        if hit.distance != 0:
            continue
        if DIRECTIONS[hit.kind][0] > 0 or hit.kind in (HEDGE, DISTANCING_VERB):
            return False
        if hit.kind == ATTRIBUTION and hit.where == "body":
            if hit.sentence not in secondhand:
                secondhand[hit.sentence] = not SECONDHAND.isdisjoint(sentences[hit.sentence].lowered)
            if secondhand[hit.sentence]:
                return False  # "a story circulating on Facebook says ...": the claim is someone else's word
    return True


def _states(claim: _Claim, sentences: Sequence[_Sentence], overlaps: Sequence[float]) -> bool:
    """Whether a body sentence restates the claim: STATED_OVERLAP of its words, its predicate among them
    (_predicate: "farmers fear wolf attacks" names the wolves of "wolves have returned to the Netherlands"
    but does not say they returned), and no question ("Does red meat cause cancer?")."""
    return any(
        overlap >= STATED_OVERLAP
        and not _is_question(sentence)
        and (not claim.predicate or not claim.predicate.isdisjoint(sentence.content))
        for sentence, overlap in zip(sentences, overlaps, strict=True)
    )


def _beside_the_claim(
    sentences: Sequence[_Sentence], overlaps: Sequence[float], distances: Sequence[int]
) -> frozenset[int]:
    """In an article that states the claim in its own voice, the sentences next to it (or in the lead) that
    share little of it and do not point back to it: they are about something else, a reaction or an
    earlier report ("Union leaders called the decision wrong", "An earlier report that 100 had died was
    incorrect"), and the rules weigh their cues as far from the claim. One that points back ("Russia denied
    it") stays about it."""
    return frozenset(
        i
        for i, (sentence, overlap, distance) in enumerate(zip(sentences, overlaps, distances, strict=True))
        if distance == 1 and overlap < ABOUT_OVERLAP and not _points_back(sentence)
    )


def _points_back(sentence: _Sentence) -> bool:
    """Whether the sentence refers to a statement before it: a pronoun in its first words ("Russia denied
    it"), or "the claim", "the report" and the like not followed by a clause of their own ("the report that
    ..." states something else)."""
    lowered = sentence.lowered
    if not POINTERS.isdisjoint(lowered[:REFERENCE_REACH]):
        return True
    # "That is false.", "That's a lie.", "Those figures are wrong." (only heading the sentence: "... said that was
    # not the case" points back as often at something else the story said, FNC-1 by story -0.007)
    if lowered and (
        lowered[0] == "that's"
        or (lowered[0] in ("that", "those") and len(lowered) > 1 and lowered[1] in POINTED_AFTER_THAT)
    ):
        return True
    for i, word in enumerate(lowered[:-1]):
        if word == "the" and lowered[i + 1] in POINTED_NOUNS:
            following = lowered[i + 2] if i + 2 < len(lowered) else ""
            if following not in ("that", "of", "about"):
                return True
    return False


def _one_correction_each(hits: Sequence[Hit]) -> list[Hit]:
    """The hits with one correction per sentence, the heaviest: "An earlier version of this article incorrectly
    gave ..." is one correction, not two."""
    heaviest: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        if hit.kind == CORRECTION:
            place = (hit.where, hit.sentence)
            if place not in heaviest or hit.weight > heaviest[place].weight:
                heaviest[place] = hit
    return [hit for hit in hits if hit.kind != CORRECTION or heaviest[(hit.where, hit.sentence)] is hit]


def _corrects_the_claim(hit: Hit, sentences: Sequence[_Sentence], overlaps: Sequence[float]) -> bool:
    """Whether a correction takes the claim back: it says an error ("incorrectly said", "wrongly reported") in a
    sentence that names the claim (ABOUT_OVERLAP of its words): "An earlier version of this article incorrectly
    said the judge had blocked the merger"; not a misspelt name or a wrong date beside it."""
    if not (hit.kind == CORRECTION and hit.where == "body" and hit.distance <= 1):
        return False
    if overlaps[hit.sentence] < ABOUT_OVERLAP:
        return False
    return _corrects_the_report(sentences[hit.sentence].lowered)


def _corrects_the_report(words: Sequence[str]) -> bool:
    """Whether a sentence says the report was in error: an error word (ERRORS, or "in error") with "version" or "this
    article" (story, report, ...), or next to a verb of reporting ("wrongly reported", "said in error"); not an error
    of the event ("ballots were incorrectly counted", "erroneously arrested", "wrongly convicted", "arrested in
    error")."""
    said = any(
        (word in ERRORS and i + 1 < len(words) and words[i + 1] in REPORTING_VERBS)
        or (word in REPORTING_VERBS and tuple(words[i + 1 : i + 3]) == ("in", "error"))
        for i, word in enumerate(words)
    )
    if said or (ERRORS.isdisjoint(words) and not _holds(words, ("in", "error"))):
        return said
    return "version" in words or any(
        word == "this" and i + 1 < len(words) and words[i + 1] in REPORT_NOUNS for i, word in enumerate(words)
    )


def _assemble(
    claim: _Claim,
    title: _Sentence,
    sentences: Sequence[_Sentence],
    overlaps: Sequence[float],
    distances: Sequence[int],
    hits: Sequence[Hit],
    stated: bool,
    asserted: bool,
    beside: frozenset[int],
    debunk_denied: bool,
) -> Analysis:
    weighed = [_as_far(hit) if hit.where == "body" and hit.sentence in beside else hit for hit in hits]
    dispute, distance, endorsement = cue_sums(_one_correction_each(weighed))
    strong = [
        h
        for h in hits
        if h.kind in STRONG_DISPUTE_KINDS
        and (
            (h.weight >= STRONG_MIN and h.distance == 0)
            or (
                h.distance <= 1
                and h.text.startswith(MISSED_FIGURE)
                and not (h.where == "body" and h.sentence in beside)  # a figure of something else
            )
            or _corrects_the_claim(h, sentences, overlaps)
        )
    ]
    disputes = sorted((h for h in weighed if DIRECTIONS[h.kind][0] >= 0.8), key=lambda h: -h.weight)
    best = max(range(len(sentences)), key=overlaps.__getitem__) if sentences else -1
    words: dict[str, set[str]] = {scope: set() for scope in SCOPES}
    words["claimtext"] = _vocabulary(claim.sentence)
    words["claim"] = _vocabulary(title)
    for sentence, gap in zip(sentences, distances, strict=True):
        words[SCOPES[min(gap + 1, 3)]] |= _vocabulary(sentence)
    body_stems = frozenset().union(*(s.content for s in sentences))
    claim_kinds = {kind for kind, _, _ in _scan(claim.sentence)}
    return Analysis(
        hits=tuple(hits),
        dispute=dispute,
        distance=distance,
        endorsement=endorsement,
        overlap=max(overlaps, default=0.0),
        coverage=len(body_stems & claim.stems) / len(claim.stems) if claim.stems else 0.0,
        anchors=distances.count(0),
        sentences=len(sentences),
        claim_negative=not claim_kinds.isdisjoint({CONTRADICTION, COUNTER_VOICE, DOUBT, CORRECTION}),
        claim_negated=bool(claim.negated),
        claim_debunks=claim.debunks,
        claim_question=_is_question(claim.sentence),
        claim_hedged=not claim_kinds.isdisjoint({HEDGE, DISTANCING_VERB}),
        governed=bool(strong),
        figure_missed=any(h.text.startswith(MISSED_FIGURE) for h in strong),
        claim_sentence=sentences[best].text if best >= 0 and overlaps[best] > 0 else title.text,
        disputing_sentence=_sentence_of(disputes[0], title, sentences) if disputes else "",
        words={scope: frozenset(found) for scope, found in words.items()},
        stats=_stats(claim, title, sentences, overlaps, hits),
        body=tuple(s.text for s in sentences),
        overlaps=tuple(overlaps),
        asserted=asserted,
        beside=beside,
        stated=stated,
        debunk_denied=debunk_denied,
    )


def cue_sums(hits: Sequence[Hit]) -> tuple[float, float, float]:
    """The weighted dispute, distance and endorsement of these cues (D, H and E of rule_stance)."""
    return (
        sum(hit.weight * DIRECTIONS[hit.kind][0] for hit in hits),
        sum(hit.weight * DIRECTIONS[hit.kind][1] for hit in hits),
        sum(hit.weight for hit in hits if hit.kind == ENDORSEMENT),
    )


def _as_far(hit: Hit) -> Hit:
    """A cue of a sentence beside the claim, weighed as one far from it."""
    far = len(DECAY) - 1
    return Hit(hit.kind, hit.text, round(STRENGTH[hit.kind] * DECAY[far], 4), hit.where, far, hit.sentence)


def _sentence_of(hit: Hit, title: _Sentence, sentences: Sequence[_Sentence]) -> str:
    return title.text if hit.sentence < 0 else sentences[hit.sentence].text


def _stats(
    claim: _Claim,
    title: _Sentence,
    sentences: Sequence[_Sentence],
    overlaps: Sequence[float],
    hits: Sequence[Hit],
) -> dict[str, float]:
    """Numeric claim-conditioned features: how fully and how often the article restates the claim."""
    ranked = sorted(overlaps, reverse=True)
    lead = sentences[:LEAD_SENTENCES]
    claim_numbers = claim.numbers
    body_numbers = {n.group().replace(",", "") for s in sentences for n in _numbers(s.text, claim.labels)}
    stats = {
        "top3_overlap": sum(ranked[:3]) / 3,
        "lead_overlap": max(
            (len(s.content & claim.stems) / max(1, len(claim.stems)) for s in lead), default=0.0
        ),
        "title_overlap": len(title.content & claim.stems) / max(1, len(claim.stems)),
        "stating_share": sum(1 for o in overlaps if o >= ANCHOR_OVERLAP) / max(1, len(sentences)),
        "claim_words": math.log1p(len(claim.stems)),
        "numbers_match": float(bool(claim_numbers & body_numbers)),
        "numbers_miss": float(bool(claim_numbers) and not claim_numbers & body_numbers),
        "questions": math.log1p(sum(1 for s in sentences if s.text.rstrip().endswith("?"))),
        "quotes": math.log1p(sum(s.lowered.count('"') for s in sentences) / 2),
    }
    negated_anywhere = sum(1 for h in hits if h.kind in (NEGATION, HEADLINE_NEGATION))
    stats["negation_x_claim_negated"] = float(bool(claim.negated)) * math.log1p(negated_anywhere)
    stats.update(_body_counts(claim, sentences, overlaps))
    return stats


def _body_counts(
    claim: _Claim, sentences: Sequence[_Sentence], overlaps: Sequence[float]
) -> dict[str, float]:
    """Body-wide counts of refuting, hedging and confirming words, unscoped: in the lead, in the whole body,
    where the first refutation stands relative to the sentence that states the claim, how much of the claim
    the refuting sentences restate, and whether the claim and the body agree in refutation parity (the
    polarity feature of the FNC-1 baseline).

    A title-only item has no body to count: its features are left out (0), not read as "nothing refuted"
    (the training pairs all have bodies, so that value would push a plain headline towards disputes)."""
    count = len(sentences)
    if not count:
        return {}
    refuting = [sum(1 for w in s.lowered if w in REFUTING or w.endswith("n't")) for s in sentences]
    hedging = [sum(1 for w in s.lowered if w in HEDGING) for s in sentences]
    confirming = [sum(1 for w in s.lowered if w in CONFIRMING) for s in sentences]
    claim_refuting = sum(1 for w in claim.sentence.lowered if w in REFUTING or w.endswith("n't"))
    lead = slice(0, BODY_LEAD)
    first = next((i for i, n in enumerate(refuting) if n), -1)
    best = max(range(count), key=overlaps.__getitem__) if count else -1
    total = sum(refuting)
    questions = sum(s.text.count("?") for s in sentences)
    return {
        "refute_body": math.log1p(total),
        "refute_lead": math.log1p(sum(refuting[lead])),
        "refute_share": sum(1 for n in refuting if n) / max(1, count),
        "refute_density": total / max(1, sum(len(s.lowered) for s in sentences)) * 10,
        "hedge_body": math.log1p(sum(hedging)),
        "hedge_lead": math.log1p(sum(hedging[lead])),
        "confirm_body": math.log1p(sum(confirming)),
        "confirm_lead": math.log1p(sum(confirming[lead])),
        # How much of the claim the sentences with a refuting (hedging) word restate.
        "refute_overlap": max((o for o, n in zip(overlaps, refuting, strict=True) if n), default=0.0),
        "hedge_overlap": max((o for o, n in zip(overlaps, hedging, strict=True) if n), default=0.0),
        "refute_first": (first + 1) / count if first >= 0 else 1.5,
        "refute_before_claim": float(0 <= first <= best),
        "refute_near_claim": 1.0 / (1 + abs(first - best)) if first >= 0 and best >= 0 else 0.0,
        "polarity_claim": float(claim_refuting % 2),
        "polarity_body": float(total % 2),
        "polarity_agree": float(claim_refuting % 2 == total % 2),
        "question_marks": math.log1p(questions),
        "lead_question": float(any("?" in s.text for s in sentences[lead])),
    }


def rule_stance(analysis: Analysis) -> Stance:
    """The explainable rule: disputes on enough scoped doubt, neutral on distance, supports on a statement.

    D = weighted dispute cues, H = weighted distance cues, E = weighted endorsements (weights are STRENGTH
    times DECAY at the cue's distance from the claim):
    - disputes when D >= DISPUTE_MIN and D > E, or when a strong cue governs the claim (``governed``),
      unless the claim itself denies or debunks (``claim_debunks``): then the article agrees with it, but
      for a negation of that very debunk ("not a hoax", ``debunk_denied``);
    - supports for a wire item whose headline states the claim over a line that only credits a source
      (``headline_led``);
    - neutral when D + H >= DOUBT_MIN and D + H > E;
    - supports when the body endorses or plainly states the claim, otherwise neutral.

    A title-only item (no body: many RSS items) is its headline: any distance cue in it (attribution, a
    hedge, a question) makes it neutral, and a headline about the claim with none states it (supports).
    """
    dispute, distance, endorse = analysis.dispute, analysis.distance, analysis.endorsement
    if analysis.governed or (dispute >= DISPUTE_MIN and dispute > endorse):
        # A claim that is itself a denial or a debunk ("... death hoax", "officials deny ..."): the
        # article's words of dispute repeat it.
        return Stance.SUPPORTS if analysis.echoes_the_claim else Stance.DISPUTES
    if analysis.title_only and analysis.stats.get("title_overlap", 0.0) > 0:
        return Stance.NEUTRAL if dispute + distance > endorse else Stance.SUPPORTS
    if analysis.headline_led:
        return Stance.SUPPORTS
    if dispute + distance >= DOUBT_MIN and dispute + distance > endorse:
        return Stance.NEUTRAL
    if endorse > 0 or analysis.stated:
        return Stance.SUPPORTS
    return Stance.NEUTRAL


def skepticism(analysis: Analysis) -> float:
    """0..1: how much doubt and distance surround the claim; endorsement lowers it. For a claim that is
    itself a denial or a debunk the article's words of dispute repeat it (rule_stance), so they do not count."""
    dispute = 0.0 if analysis.echoes_the_claim else analysis.dispute
    raw = 0.7 * dispute + 0.35 * analysis.distance - 0.3 * analysis.endorsement
    return round(1.0 - math.exp(-raw), 3) if raw > 0 else 0.0


def scope_of(hit: Hit) -> str:
    """The model scope of a hit: claim (headline or distance 0), near (1) or far (2+)."""
    return SCOPES[min(hit.distance + 1, 3)]
