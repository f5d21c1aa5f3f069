"""Stance toward a claim and the framing cues behind it: explainable rules plus an optional learned layer."""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from watcher.domain import Cue, Framing, Stance
from watcher.framing_model import FramingModel, load_shipped

logger = logging.getLogger(__name__)

__all__ = [
    "SHIPPED",
    "Analysis",
    "FramingModel",
    "Hit",
    "analyse",
    "frame",
    "rule_stance",
]

# Cue kinds. The dispute kinds push towards "disputes", the distancing kinds towards "neutral" and
# endorsement towards "supports"; attribution ("the minister said") marks a reported claim.
CONTRADICTION = "contradiction"
COUNTER_VOICE = "counter_voice"
SCARE_QUOTES = "scare_quotes"
HEADLINE_QUESTION = "headline_question"
HEADLINE_FRAMING = "headline_framing"
DISTANCING_VERB = "distancing_verb"
HEDGE = "hedge"
ATTRIBUTION = "attribution"
ENDORSEMENT = "endorsement"
NEGATION = "negation"

DISPUTE_KINDS = frozenset(
    {CONTRADICTION, NEGATION, COUNTER_VOICE, SCARE_QUOTES, HEADLINE_QUESTION, HEADLINE_FRAMING}
)
DISTANCE_KINDS = frozenset({DISTANCING_VERB, HEDGE, ATTRIBUTION})

# How much one cue, at full proximity, counts towards its direction.
STRENGTH: dict[str, float] = {
    CONTRADICTION: 1.0,
    NEGATION: 0.6,
    COUNTER_VOICE: 0.7,
    SCARE_QUOTES: 0.5,
    HEADLINE_QUESTION: 0.6,
    HEADLINE_FRAMING: 0.6,
    DISTANCING_VERB: 0.5,
    HEDGE: 0.5,
    ATTRIBUTION: 0.2,
    ENDORSEMENT: 0.8,
}

# Proximity: a cue in a sentence that states the claim counts fully, one a few sentences away much
# less, and one far away hardly at all (it is usually about something else).
DECAY = (1.0, 0.7, 0.45, 0.25)
FAR_WEIGHT = 0.1
LEAD_SENTENCES = 2
# Attribution is only worth reporting where it frames the claim itself.
ATTRIBUTION_MIN_WEIGHT = 0.7

# Rule thresholds (see rule_stance).
DISPUTE_MIN = 0.9
DOUBT_MIN = 0.45
ANCHOR_OVERLAP = 0.5
STATED_OVERLAP = 0.5

_LEXICON_SOURCE: dict[str, tuple[str, ...]] = {
    HEDGE: (
        "reportedly",
        "allegedly",
        "according to",
        "unconfirmed",
        "unverified",
        "it is said",
        "is said to",
        "are said to",
        "was said to",
        "were said to",
        "it is claimed",
        "rumor",
        "rumors",
        "rumour",
        "rumours",
        "rumored",
        "rumoured",
        "apparently",
        "supposedly",
        "purportedly",
        "appears to",
        "appear to",
        "appeared to",
        "seems to",
        "seem to",
        "seemed to",
        "may have",
        "might have",
        "could have",
        "believed to",
        "thought to be",
        "sources say",
        "sources said",
        "speculation",
        "speculated",
        "if true",
        "unclear",
        "not clear",
        "not yet clear",
        "could not be verified",
        "cannot be verified",
        "not independently verified",
        "could not independently verify",
        "not been verified",
        "neither confirm nor deny",
        "would not confirm",
        "declined to confirm",
        "not confirmed",
        "yet to be confirmed",
        "unsubstantiated",
        "viral",
        "circulating",
    ),
    DISTANCING_VERB: (
        "claimed",
        "claims",
        "claiming",
        "alleged",
        "alleges",
        "alleging",
        "asserted",
        "asserts",
        "purported",
        "purports",
        "insisted",
        "insists",
        "contended",
        "contends",
        "so-called",
        "supposed",
    ),
    ATTRIBUTION: ("said", "says", "told", "stated", "wrote", "tweeted", "posted"),
    COUNTER_VOICE: (
        "denied",
        "denies",
        "deny",
        "denying",
        "denial",
        "dismissed",
        "dismisses",
        "dismissing",
        "rejected",
        "rejects",
        "rejecting",
        "rebuffed",
        "rebuffs",
        "refuted",
        "refutes",
        "refuting",
        "disputed",
        "disputes",
        "disputing",
        "pushed back",
        "pushes back",
        "played down",
        "downplayed",
        "contradicted",
        "contradicts",
        "dismissed as nonsense",
        "called it nonsense",
        "rejected the claim",
        "slammed",
    ),
    CONTRADICTION: (
        "not true",
        "untrue",
        "isn't true",
        "no evidence",
        "no proof",
        "false",
        "falsely",
        "fake",
        "faked",
        "debunked",
        "debunk",
        "debunks",
        "debunking",
        "hoax",
        "hoaxes",
        "myth",
        "misleading",
        "baseless",
        "unfounded",
        "fabricated",
        "fabrication",
        "bogus",
        "satire",
        "satirical",
        "prank",
        "never happened",
        "did not happen",
        "didn't happen",
        "no truth",
        "incorrect",
        "nonsense",
        "made up",
        "made-up",
        "photoshopped",
        "doctored",
        "not real",
        "not the case",
        "retracted",
        "inaccurate",
        "erroneous",
        "no basis",
        "a lie",
        "lies",
        "scam",
        "spoof",
        "parody",
        "misinformation",
        "disinformation",
        "not actually",
        "in reality",
    ),
    ENDORSEMENT: (
        "confirmed",
        "confirms",
        "confirm",
        "confirming",
        "confirmation",
        "indeed",
        "data show",
        "data shows",
        "data showed",
        "figures show",
        "figures showed",
        "statistics show",
        "records show",
        "evidence shows",
        "proved",
        "proves",
        "proven",
        "verified",
        "it is true",
        "it's true",
        "officially",
        "turns out",
        "turned out",
        "authentic",
        "genuine",
        "announced",
    ),
}

NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nor",
        "without",
        "hardly",
        "neither",
        "cannot",
        "unable",
        "declined",
        "refused",
        "yet",
        "nothing",
    }
)
# Tokens that end a negation's scope: "not, as reported, ..." does not negate what follows the comma.
CLAUSE_BREAKS = frozenset({",", ";", ":", "(", ")", "but", "however"})
NEGATION_WINDOW = 3
# Negators that, right before the claim's own words, deny it ("not", "never"; not "without", "unable").
CLAIM_NEGATORS = frozenset({"not", "never", "no", "nothing"})

STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being has have had "
    "do does did this that these those it its it's he she they them his her their we our you your i me my "
    "not no will would can could should may might must shall than then there here what which who whom "
    "whose when where why how all any some more most other such only own same so too very s t just over "
    "into out up down about after before again further once also new says said report reports reported "
    "after amid via".split()
)
QUESTION_OPENERS = frozenset(
    "has have had is are was were do does did can could will would should may might must why how what".split()
)
QUANTITY_WORDS = frozenset(
    "surpass surpassed surpasses overtake overtaken overtook outpace outpaced outnumber outnumbered exceed "
    "exceeded exceeds more less fewer larger bigger higher lower record most least double doubled triple "
    "tripled percent million billion thousand".split()
)
CONTRAST_WORDS = frozenset(
    "only just actually fact while whereas compared versus vs fewer less lower rather instead merely barely "
    "still behind short".split()
)

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*|[,;:()?]")
_SENTENCE_RE = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTE_RE = re.compile(r"[\"“]([^\"“”]{1,60})[\"”]|(?<![A-Za-z])['‘]([^'‘’]{1,40})['’](?![A-Za-z])")
SCARE_QUOTE_MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found in the title or body, with the weight its proximity to the claim gives it."""

    kind: str
    text: str
    weight: float  # lexicon strength x proximity, 0..1
    where: str  # "title" | "body"
    distance: int  # sentences from the nearest sentence that states the claim; 0 in the title


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the rules (and the learned layer) look at for one claim and article."""

    hits: tuple[Hit, ...]
    overlap: float  # best share of the claim's content words found in one body sentence
    coverage: float  # share of the claim's content words found anywhere in the body
    anchors: int  # body sentences that state the claim
    sentences: int
    claim_negative: bool  # the claim itself says something is false or denied ("... is a hoax")
    claim_question: bool
    claim_hedged: bool  # the claim text itself hedges ("reportedly", "claims")
    near_words: tuple[str, ...]  # word stems of the sentences that state the claim and their neighbours
    title_words: tuple[str, ...]
    claim_words: tuple[str, ...]

    def score(self, kinds: Iterable[str]) -> float:
        """Weighted sum of the hits of the given kinds."""
        wanted = frozenset(kinds)
        return sum(hit.weight for hit in self.hits if hit.kind in wanted)


class _Shipped(enum.Enum):
    MODEL = "shipped"


SHIPPED = _Shipped.MODEL
"""Default for ``frame(model=...)``: the model shipped in watcher/models/framing.json."""


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: str
    words: tuple[str, ...]


def _build_lexicon() -> dict[str, tuple[_Phrase, ...]]:
    # Indexed by first word; longest phrases first so "dismissed as nonsense" wins over "dismissed".
    index: dict[str, list[_Phrase]] = {}
    for kind, phrases in _LEXICON_SOURCE.items():
        for phrase in phrases:
            words = tuple(phrase.split())
            index.setdefault(words[0], []).append(_Phrase(kind, words))
    return {
        first: tuple(sorted(group, key=lambda p: len(p.words), reverse=True))
        for first, group in index.items()
    }


LEXICON = _build_lexicon()


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match "surpassed" with "surpasses"."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def split_sentences(text: str) -> list[str]:
    """Split on paragraph breaks, then after sentence-final punctuation followed by a capital."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(part.strip() for part in _SENTENCE_RE.split(paragraph) if part.strip())
    return sentences


def tokenize(sentence: str) -> list[str]:
    """Words (case kept, curly apostrophes normalised) and the punctuation that bounds clauses."""
    return [token.replace("’", "'") for token in _TOKEN_RE.findall(sentence)]


def content_stems(tokens: Iterable[str]) -> set[str]:
    return {stem(token) for token in tokens if token[0].isalnum() and token.lower() not in STOPWORDS}


def _negated(lowered: Sequence[str], start: int) -> bool:
    for token in reversed(lowered[max(0, start - NEGATION_WINDOW) : start]):
        if token in CLAUSE_BREAKS:
            return False
        if token in NEGATORS or token.endswith("n't"):
            return True
    return False


def _subject(tokens: Sequence[str], start: int) -> str:
    """Up to two capitalised words right before a verb: "Moscow denied", "the Kremlin denied"."""
    words: list[str] = []
    for token in reversed(tokens[max(0, start - 2) : start]):
        if not token[:1].isupper():
            break
        words.insert(0, token)
    return " ".join(words)


def _scan_phrases(tokens: Sequence[str]) -> list[tuple[str, str]]:
    """Lexicon cues in one sentence as (kind, text), negation applied.

    A negated hedge, distancing verb, denial or contradiction is dropped ("not a rumour", "did not
    deny", "not false"); a negated endorsement becomes a hedge ("could not confirm").
    """
    lowered = [token.lower() for token in tokens]
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(lowered):
        phrase = _match_at(lowered, i)
        if phrase is None:
            i += 1
            continue
        end = i + len(phrase.words)
        text = " ".join(tokens[i:end])
        negated = phrase.words[0] not in NEGATORS and _negated(lowered, i)
        if not negated:
            if phrase.kind in (COUNTER_VOICE, ATTRIBUTION):
                text = f"{_subject(tokens, i)} {text}".strip()
            found.append((phrase.kind, text))
        elif phrase.kind == ENDORSEMENT:
            found.append((HEDGE, " ".join(tokens[max(0, i - NEGATION_WINDOW) : end])))
        i = end
    return found


def _match_at(lowered: Sequence[str], i: int) -> _Phrase | None:
    for phrase in LEXICON.get(lowered[i], ()):
        if tuple(lowered[i : i + len(phrase.words)]) == phrase.words:
            return phrase
    return None


def _scare_quotes(sentence: str, claim: set[str]) -> list[str]:
    """Short quoted spans that repeat the claim's own words: the "surpassed" of a sceptical report."""
    found = []
    for match in _QUOTE_RE.finditer(sentence):
        quoted = match.group(1) or match.group(2) or ""
        words = tokenize(quoted)
        if 0 < len(words) <= SCARE_QUOTE_MAX_WORDS and content_stems(words) & claim:
            found.append(f'"{quoted.strip()}"')
    return found


def _contrary_figures(sentence: str, lowered: Sequence[str], claim_numbers: set[str]) -> list[str]:
    """Figures that differ from the claim's, stated with a contrast ("only 1.3 million", "in fact 40")."""
    if not CONTRAST_WORDS.intersection(lowered):
        return []
    numbers = [n for n in _NUMBER_RE.findall(sentence) if n.replace(",", "") not in claim_numbers]
    # Years say when, not how much.
    numbers = [n for n in numbers if not (len(n) == 4 and n.startswith(("19", "20")))]
    return [f"contrary figure {n}" for n in numbers[:1]]


@dataclass(frozen=True, slots=True)
class _Claim:
    stems: set[str]
    numbers: set[str]
    quantitative: bool


def _parse_claim(claim_text: str) -> _Claim:
    tokens = tokenize(claim_text)
    stems = content_stems(tokens)
    numbers = {n.replace(",", "") for n in _NUMBER_RE.findall(claim_text)}
    quantitative = bool(numbers) or bool({t.lower() for t in tokens} & QUANTITY_WORDS)
    return _Claim(stems=stems, numbers=numbers, quantitative=quantitative)


def _overlaps(sentences: Sequence[list[str]], claim: set[str]) -> list[float]:
    if not claim:
        return [0.0 for _ in sentences]
    return [len(content_stems(tokens) & claim) / len(claim) for tokens in sentences]


def _normalise(text: str) -> str:
    return " ".join(token.lower() for token in tokenize(text))


def _anchor_indexes(
    sentences: Sequence[str], overlaps: Sequence[float], evidence: Sequence[str]
) -> list[int]:
    """Sentences that state the claim: the matcher's evidence, else those sharing most of its words."""
    wanted = [_normalise(item) for item in evidence if item.strip()]
    anchors = [
        i
        for i, sentence in enumerate(sentences)
        if any(w and (w in _normalise(sentence) or _normalise(sentence) in w) for w in wanted)
    ]
    anchors += [i for i, overlap in enumerate(overlaps) if overlap >= ANCHOR_OVERLAP and i not in anchors]
    if not anchors and overlaps:
        best = max(range(len(overlaps)), key=overlaps.__getitem__)
        # Nothing states the claim clearly: the best sentence and the lead stand in for it.
        anchors = sorted({0, best})
    return sorted(anchors)


def _distances(count: int, anchors: Sequence[int]) -> list[int]:
    if not anchors:
        return [0] * count
    distances = [min(abs(i - a) for a in anchors) for i in range(count)]
    # The lead frames the whole story, wherever else the claim is restated.
    for i in range(min(LEAD_SENTENCES, count)):
        distances[i] = min(distances[i], 1)
    return distances


def _proximity(distance: int) -> float:
    return DECAY[distance] if distance < len(DECAY) else FAR_WEIGHT


def _negated_claim(tokens: Sequence[str], claim: set[str]) -> list[str]:
    """A negator right before the claim's own words: "does not have Ebola", "never surpassed"."""
    lowered = [token.lower() for token in tokens]
    for i, token in enumerate(lowered):
        if token not in CLAIM_NEGATORS and not token.endswith("n't"):
            continue
        for j in range(i + 1, min(i + 1 + NEGATION_WINDOW, len(lowered))):
            if lowered[j] in CLAUSE_BREAKS:
                break
            if lowered[j] not in STOPWORDS and stem(lowered[j]) in claim:
                return [" ".join(tokens[i : j + 1])]
    return []


def _sentence_cues(
    sentence: str, words: Sequence[str], distance: int, claim: _Claim
) -> list[tuple[str, str]]:
    found = _scan_phrases(words)
    found += [(SCARE_QUOTES, text) for text in _scare_quotes(sentence, claim.stems)]
    if distance <= 1:
        found += [(NEGATION, text) for text in _negated_claim(words, claim.stems)]
        if claim.quantitative:
            lowered = [w.lower() for w in words]
            found += [(CONTRADICTION, text) for text in _contrary_figures(sentence, lowered, claim.numbers)]
    if any(kind in (CONTRADICTION, NEGATION) for kind, _ in found):
        # "confirmed that it does not have Ebola", "proved to be untrue": the confirmation is of the denial.
        found = [(kind, text) for kind, text in found if kind != ENDORSEMENT]
    return found


def _body_hits(
    sentences: Sequence[str], tokens: Sequence[list[str]], distances: Sequence[int], claim: _Claim
) -> list[Hit]:
    hits: list[Hit] = []
    for sentence, words, distance in zip(sentences, tokens, distances, strict=True):
        proximity = _proximity(distance)
        for kind, text in _sentence_cues(sentence, words, distance, claim):
            if kind == ATTRIBUTION and proximity < ATTRIBUTION_MIN_WEIGHT:
                continue
            hits.append(Hit(kind, text, round(STRENGTH[kind] * proximity, 4), "body", distance))
    return hits


def _title_hits(title: str, claim: _Claim, body: Sequence[Hit]) -> list[Hit]:
    """Cues in the headline, plus headline_question and headline_framing.

    headline_framing marks a headline that doubts or distances itself from the claim while the
    sentences that state the claim in the body do not.
    """
    title = title.strip()
    if not title:
        return []
    tokens = tokenize(title)
    found = _scan_phrases(tokens) + [(SCARE_QUOTES, text) for text in _scare_quotes(title, claim.stems)]
    hits = [Hit(kind, text, STRENGTH[kind], "title", 0) for kind, text in found if kind != ATTRIBUTION]
    if title.endswith("?") or ("?" in title and tokens and tokens[0].lower() in QUESTION_OPENERS):
        hits.append(Hit(HEADLINE_QUESTION, title, STRENGTH[HEADLINE_QUESTION], "title", 0))
    near_body = {hit.kind for hit in body if hit.distance <= 1}
    for hit in list(hits):
        doubting = hit.kind in (CONTRADICTION, COUNTER_VOICE, SCARE_QUOTES, DISTANCING_VERB, HEDGE)
        if doubting and hit.kind not in near_body:
            hits.append(
                Hit(HEADLINE_FRAMING, f"headline: {hit.text}", STRENGTH[HEADLINE_FRAMING], "title", 0)
            )
    return hits


def _echoes_claim(hit: Hit, claim_lower: str) -> bool:
    # "Apple denies the bending reports" is supported, not disputed, by a body saying "Apple denied".
    if hit.kind not in (CONTRADICTION, COUNTER_VOICE):
        return False
    words = [w for w in hit.text.lower().split() if w not in STOPWORDS]
    return bool(words) and stem(words[-1]) in {stem(w) for w in claim_lower.split()}


def analyse(claim_text: str, title: str, text: str, evidence: Sequence[str] = ()) -> Analysis:
    """Find the framing cues of an article towards a claim, weighted by proximity to the claim."""
    claim = _parse_claim(claim_text)
    sentences = split_sentences(text)
    tokens = [tokenize(sentence) for sentence in sentences]
    overlaps = _overlaps(tokens, claim.stems)
    distances = _distances(len(sentences), _anchor_indexes(sentences, overlaps, evidence))
    body = _body_hits(sentences, tokens, distances, claim)
    claim_scan = _scan_phrases(tokenize(claim_text))
    claim_kinds = {kind for kind, _ in claim_scan}
    claim_lower = " ".join(token.lower() for token in tokenize(claim_text))
    hits = tuple(hit for hit in body + _title_hits(title, claim, body) if not _echoes_claim(hit, claim_lower))
    body_stems = set().union(*(content_stems(t) for t in tokens)) if tokens else set()
    return Analysis(
        hits=hits,
        overlap=max(overlaps, default=0.0),
        coverage=len(body_stems & claim.stems) / len(claim.stems) if claim.stems else 0.0,
        anchors=sum(1 for d in distances if d == 0),
        sentences=len(sentences),
        claim_negative=bool(claim_kinds & {CONTRADICTION, COUNTER_VOICE}),
        claim_question=claim_text.strip().endswith("?"),
        claim_hedged=bool(claim_kinds & {HEDGE, DISTANCING_VERB}),
        near_words=tuple(
            stem(w)
            for words, d in zip(tokens, distances, strict=True)
            if d <= 1
            for w in words
            if w[0].isalnum()
        ),
        title_words=tuple(stem(w) for w in tokenize(title) if w[0].isalnum()),
        claim_words=tuple(stem(w) for w in tokenize(claim_text) if w[0].isalnum()),
    )


def rule_stance(analysis: Analysis) -> Stance:
    """The explainable rule: disputes on enough doubt, neutral on distance, supports on a plain statement.

    D = weighted dispute cues (contradiction, counter_voice, scare_quotes, headline_*), H = weighted
    distancing cues (distancing_verb, hedge, attribution), E = weighted endorsement.
    - disputes when D >= DISPUTE_MIN and D > E;
    - neutral when D + H >= DOUBT_MIN and D + H > E (reported, attributed or only mildly doubted);
    - supports when the body states the claim (a sentence shares >= STATED_OVERLAP of its words)
      or endorses it; otherwise neutral.
    """
    dispute = analysis.score(DISPUTE_KINDS)
    distance = analysis.score(DISTANCE_KINDS)
    endorse = analysis.score((ENDORSEMENT,))
    if dispute >= DISPUTE_MIN and dispute > endorse:
        return Stance.DISPUTES
    if dispute + distance >= DOUBT_MIN and dispute + distance > endorse:
        return Stance.NEUTRAL
    if endorse > 0 or analysis.overlap >= STATED_OVERLAP:
        return Stance.SUPPORTS
    return Stance.NEUTRAL


def skepticism(analysis: Analysis) -> float:
    """0..1: how much doubt and distance surround the claim; endorsement lowers it."""
    dispute = analysis.score(DISPUTE_KINDS)
    distance = analysis.score(DISTANCE_KINDS)
    endorse = analysis.score((ENDORSEMENT,))
    raw = 0.7 * dispute + 0.35 * distance - 0.3 * endorse
    return round(max(0.0, 1.0 - math.exp(-raw)) if raw > 0 else 0.0, 3)


def _cues(analysis: Analysis) -> tuple[Cue, ...]:
    """Distinct cues, strongest first; cues far from the claim are left out of what people read."""
    best: dict[tuple[str, str], float] = {}
    for hit in analysis.hits:
        if hit.weight >= STRENGTH[hit.kind] * DECAY[-1]:
            key = (hit.kind, hit.text)
            best[key] = max(best.get(key, 0.0), hit.weight)
    ordered = sorted(best.items(), key=lambda item: -item[1])
    return tuple(Cue(kind=kind, text=text) for (kind, text), _ in ordered)


@lru_cache(maxsize=1)
def _shipped() -> FramingModel | None:
    return load_shipped()


def frame(
    claim_text: str,
    title: str,
    text: str,
    evidence: Sequence[str] = (),
    *,
    model: FramingModel | _Shipped | None = SHIPPED,
) -> Framing:
    """How an article frames a claim: stance, skepticism (0..1) and the cues found.

    :param evidence: the sentences the matcher found for the claim; cues near them weigh most.
    :param model: the learned layer; the default is the shipped one, ``None`` uses the rules alone.
    """
    analysis = analyse(claim_text, title, text, evidence)
    learned = _shipped() if model is SHIPPED else model
    if isinstance(learned, FramingModel):
        stance = learned.predict(analysis, rule_stance(analysis))
    else:
        stance = rule_stance(analysis)
    return Framing(stance=stance, skepticism=skepticism(analysis), cues=_cues(analysis))
