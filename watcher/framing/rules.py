"""The explainable rules of framing: cues, their proximity to the claim, a rule stance and skepticism."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.domain import Cue, Stance
from watcher.text.normalize import clean_text, light_stem
from watcher.text.sentences import split_plain_sentences
from watcher.text.stopwords import ENGLISH_CORE
from watcher.text.tokens import clause_tokens

logger = logging.getLogger(__name__)

__all__ = ["Analysis", "Hit", "analyse", "rule_stance", "skepticism"]

# Cue kinds (DIRECTIONS says which way each one pushes). attribution ("the minister said") marks a
# reported claim; negation is the claim's own words denied ("does not have Ebola").
CONTRADICTION = "contradiction"
NEGATION = "negation"
COUNTER_VOICE = "counter_voice"
SCARE_QUOTES = "scare_quotes"
HEADLINE_QUESTION = "headline_question"
HEADLINE_FRAMING = "headline_framing"
DISTANCING_VERB = "distancing_verb"
HEDGE = "hedge"
ATTRIBUTION = "attribution"
ENDORSEMENT = "endorsement"

# Share of each cue's weight that goes to the dispute score (D) and to the distance score (H). A
# distancing verb does both: "claimed" keeps the claim at arm's length and also casts doubt on it,
# which is why style guides prefer a plain "said".
DIRECTIONS: dict[str, tuple[float, float]] = {
    CONTRADICTION: (1.0, 0.0),
    NEGATION: (1.0, 0.0),
    COUNTER_VOICE: (1.0, 0.0),
    SCARE_QUOTES: (1.0, 0.0),
    HEADLINE_QUESTION: (1.0, 0.0),
    HEADLINE_FRAMING: (1.0, 0.0),
    DISTANCING_VERB: (0.5, 0.5),
    HEDGE: (0.0, 1.0),
    ATTRIBUTION: (0.0, 1.0),
    ENDORSEMENT: (0.0, 0.0),
}

# How much one cue counts, at full proximity, towards its direction.
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
# less, one far away hardly at all (it is usually about something else). The lead frames the whole
# story, so its sentences are never further than 1 from the claim.
DECAY = (1.0, 0.7, 0.45, 0.25)
FAR_WEIGHT = 0.1
LEAD_SENTENCES = 2
# Attribution is only worth reporting where it frames the claim itself.
ATTRIBUTION_MIN_PROXIMITY = 0.7

# Rule thresholds (see rule_stance).
DISPUTE_MIN = 0.7
DOUBT_MIN = 0.45
ANCHOR_OVERLAP = 0.5
STATED_OVERLAP = 0.5

# Phrases, "|"-separated, matched on lowercased words; the longest match at a position wins.
_LEXICON_SOURCE: dict[str, str] = {
    HEDGE: (
        "reportedly|allegedly|according to|unconfirmed|unverified|it is said|is said to|are said to|"
        "was said to|were said to|it is claimed|rumor|rumors|rumour|rumours|rumored|rumoured|apparently|"
        "supposedly|purportedly|appears to|appear to|appeared to|seems to|seem to|seemed to|may have|"
        "might have|could have|believed to|thought to be|sources say|sources said|speculation|speculated|"
        "if true|unclear|not clear|not yet clear|could not be verified|cannot be verified|"
        "not independently verified|could not independently verify|not been verified|"
        "neither confirm nor deny|would not confirm|could not confirm|cannot confirm|unable to confirm|"
        "declined to confirm|not confirmed|yet to be confirmed|unsubstantiated"
    ),
    DISTANCING_VERB: (
        "claimed|claims|claiming|alleged|alleges|alleging|asserted|asserts|purported|purports|insisted|"
        "insists|contended|contends|so-called|supposed"
    ),
    ATTRIBUTION: "said|says|told|stated|announced|wrote|tweeted|posted",
    COUNTER_VOICE: (
        "denied|denies|deny|denying|denial|dismissed|dismisses|dismissing|rejected|rejects|rejecting|"
        "rebuffed|rebuffs|refuted|refutes|refuting|disputed|disputes|disputing|pushed back|pushes back|"
        "played down|downplayed|contradicted|contradicts|dismissed as nonsense|called it nonsense|"
        "rejected the claim"
    ),
    CONTRADICTION: (
        "not true|untrue|isn't true|no evidence|no proof|false|falsely|fake|faked|debunked|debunk|debunks|"
        "debunking|hoax|hoaxes|myth|misleading|baseless|unfounded|fabricated|fabrication|bogus|satire|"
        "satirical|prank|never happened|did not happen|didn't happen|no truth|incorrect|nonsense|made up|"
        "made-up|photoshopped|doctored|not real|not the case|retracted|inaccurate|erroneous|no basis|a lie|"
        "scam|spoof|parody|misinformation|disinformation|not actually|in reality"
    ),
    ENDORSEMENT: (
        "confirmed|confirms|confirm|confirming|confirmation|indeed|data show|data shows|data showed|"
        "figures show|figures showed|statistics show|records show|evidence shows|proved|proves|proven|"
        "verified|it is true|it's true|officially|turns out|turned out"
    ),
}

# A negator up to NEGATION_WINDOW words before a cue cancels it, unless a clause break comes between.
NEGATORS = frozenset(
    "not no never nor nobody without hardly neither cannot unable declined refused yet nothing".split()
)
CLAUSE_BREAKS = frozenset({",", ";", ":", "(", ")", "but", "however"})
NEGATION_WINDOW = 3
# Negators that deny the claim's own words right after them ("not", "never"; not "unable", "without").
CLAIM_NEGATORS = frozenset({"not", "never", "no", "nothing"})

QUESTION_OPENERS = frozenset(
    "has have had is are was were do does did can could will would should may might must why how what".split()
)
DOUBT_WORDS = frozenset({"really", "actually", "truly", "true", "real"})
HEADLINE_DOUBTS = frozenset({CONTRADICTION, COUNTER_VOICE, SCARE_QUOTES, DISTANCING_VERB, HEDGE})
# A claim with figures or a comparison ("surpassed") can be contradicted by contrary figures.
QUANTITY_WORDS = frozenset(
    "surpass surpassed surpasses overtake overtaken overtook outpace outpaced outnumber outnumbered exceed "
    "exceeded exceeds more less fewer larger bigger higher lower record most least double doubled triple "
    "tripled percent million billion thousand".split()
)
CONTRAST_WORDS = frozenset(
    "only just actually fact while whereas compared versus vs fewer less lower rather instead merely barely "
    "still behind short".split()
)

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTE_RE = re.compile(r"[\"“]([^\"“”]{1,60})[\"”]|(?<![A-Za-z])['‘]([^'‘’]{1,40})['’](?![A-Za-z])")
SCARE_QUOTE_MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found in the title or body, with the weight its proximity to the claim gives it."""

    kind: str
    text: str
    weight: float  # lexicon strength x proximity
    where: str  # "title" | "body"
    distance: int  # sentences to the nearest one stating the claim, up to len(DECAY) (far); 0 in the title


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the rules (and the learned layer) look at for one claim and article."""

    hits: tuple[Hit, ...]
    dispute: float  # D: weighted sum of the dispute cues (see DIRECTIONS)
    distance: float  # H: weighted sum of the distance cues
    endorsement: float  # weighted sum of the endorsements
    overlap: float  # best share of the claim's content words found in one body sentence
    coverage: float  # share of the claim's content words found anywhere in the body
    anchors: int  # body sentences that state the claim
    sentences: int
    claim_negative: bool  # the claim itself says something is false or denied ("... is a hoax")
    claim_question: bool
    claim_hedged: bool  # the claim itself hedges ("reportedly", "claims")
    claim_words: frozenset[str]  # word stems of the claim
    near_words: frozenset[str]  # word stems of the sentences within 1 of the claim
    body_words: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: str
    words: tuple[str, ...]


def _build_lexicon() -> dict[str, tuple[_Phrase, ...]]:
    # Indexed by first word, longest phrases first so "dismissed as nonsense" wins over "dismissed".
    index: dict[str, list[_Phrase]] = {}
    for kind, phrases in _LEXICON_SOURCE.items():
        for phrase in phrases.split("|"):
            words = tuple(phrase.split())
            index.setdefault(words[0], []).append(_Phrase(kind, words))
    return {first: tuple(sorted(group, key=lambda p: -len(p.words))) for first, group in index.items()}


LEXICON = _build_lexicon()


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    tokens: list[str]
    lowered: list[str]
    words: frozenset[str]  # stems of every word
    content: frozenset[str]  # stems of the words that are not stopwords


def _sentence(text: str) -> _Sentence:
    tokens = clause_tokens(text)
    lowered = [token.lower() for token in tokens]
    words = {token for token in lowered if token[0].isalnum()}
    return _Sentence(
        text=text,
        tokens=tokens,
        lowered=lowered,
        words=frozenset(map(light_stem, words)),
        content=frozenset(map(light_stem, words - ENGLISH_CORE)),
    )


def _negator(lowered: Sequence[str], start: int) -> int | None:
    """Index of a negator up to NEGATION_WINDOW words before ``start`` in the same clause, if any."""
    for i in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        if lowered[i] in CLAUSE_BREAKS:
            return None
        if lowered[i] in NEGATORS or lowered[i].endswith("n't"):
            return i
    return None


def _subject(tokens: Sequence[str], start: int) -> str:
    """Up to two capitalised words right before a verb: "Moscow denied", "(The) Kremlin denied"."""
    words: list[str] = []
    for token in reversed(tokens[max(0, start - 2) : start]):
        if not token[:1].isupper() or token in ("The", "A", "An"):
            break
        words.insert(0, token)
    return " ".join(words)


def _match_at(lowered: Sequence[str], i: int) -> _Phrase | None:
    for phrase in LEXICON.get(lowered[i], ()):
        if tuple(lowered[i : i + len(phrase.words)]) == phrase.words:
            return phrase
    return None


def _scan_phrases(sentence: _Sentence) -> list[tuple[str, str]]:
    """Lexicon cues of one sentence as (kind, text), negation applied.

    A negated hedge, distancing verb, denial or contradiction is dropped ("not a rumour", "did not
    deny", "not false"); a negated endorsement becomes a hedge ("could not confirm").
    """
    tokens, lowered = sentence.tokens, sentence.lowered
    found: list[tuple[str, str]] = []
    end = 0
    # Only words that start a phrase need a look; "end" skips the words of the last match.
    for i in [i for i, word in enumerate(lowered) if word in LEXICON]:
        phrase = _match_at(lowered, i) if i >= end else None
        if phrase is None:
            continue
        end = i + len(phrase.words)
        negator = None if phrase.words[0] in NEGATORS else _negator(lowered, i)
        if negator is None:
            text = " ".join(tokens[i:end])
            if phrase.kind in (COUNTER_VOICE, ATTRIBUTION):
                text = f"{_subject(tokens, i)} {text}".strip()
            found.append((phrase.kind, text))
        elif phrase.kind == ENDORSEMENT:
            found.append((HEDGE, " ".join(tokens[negator:end])))
    return found


def _scare_quotes(text: str, claim: frozenset[str]) -> list[str]:
    """Short quoted spans that repeat the claim's own words: the "surpassed" of a sceptical report."""
    found = []
    for match in _QUOTE_RE.finditer(text):
        quoted = (match.group(1) or match.group(2) or "").strip()
        words = [w.lower() for w in clause_tokens(quoted) if w[0].isalnum()]
        if (
            0 < len(words) <= SCARE_QUOTE_MAX_WORDS
            and {light_stem(w) for w in words if w not in ENGLISH_CORE} & claim
        ):
            found.append(f'"{quoted}"')
    return found


@dataclass(frozen=True, slots=True)
class _Claim:
    sentence: _Sentence
    stems: frozenset[str]  # content stems
    numbers: frozenset[str]
    quantitative: bool  # has figures or a comparison that contrary figures can contradict


def _parse_claim(claim_text: str) -> _Claim:
    sentence = _sentence(claim_text)
    numbers = frozenset(n.replace(",", "") for n in _NUMBER_RE.findall(claim_text))
    quantitative = bool(numbers) or not QUANTITY_WORDS.isdisjoint(sentence.lowered)
    return _Claim(sentence=sentence, stems=sentence.content, numbers=numbers, quantitative=quantitative)


def _contrary_figures(sentence: _Sentence, claim: _Claim) -> list[str]:
    """A figure other than the claim's, stated with a contrast: "only 1.3 million", "in fact 40"."""
    if not claim.quantitative or CONTRAST_WORDS.isdisjoint(sentence.lowered):
        return []
    for number in _NUMBER_RE.findall(sentence.text):
        is_year = len(number) == 4 and number.startswith(("19", "20"))  # years say when, not how much
        if not is_year and number.replace(",", "") not in claim.numbers:
            return [f"contrary figure {number}"]
    return []


def _negated_claim(sentence: _Sentence, claim: _Claim) -> list[str]:
    """A negator right before the claim's own words: "does not have Ebola", "never surpassed"."""
    lowered = sentence.lowered
    for i, token in enumerate(lowered):
        if token not in CLAIM_NEGATORS and not token.endswith("n't"):
            continue
        for j in range(i + 1, min(i + 1 + NEGATION_WINDOW, len(lowered))):
            if lowered[j] in CLAUSE_BREAKS:
                break
            if lowered[j] not in ENGLISH_CORE and light_stem(lowered[j]) in claim.stems:
                return [" ".join(sentence.tokens[i : j + 1])]
    return []


def _sentence_cues(sentence: _Sentence, distance: int, claim: _Claim) -> list[tuple[str, str]]:
    found = _scan_phrases(sentence)
    found += [(SCARE_QUOTES, text) for text in _scare_quotes(sentence.text, claim.stems)]
    if distance <= 1:
        found += [(NEGATION, text) for text in _negated_claim(sentence, claim)]
        found += [(CONTRADICTION, text) for text in _contrary_figures(sentence, claim)]
    if any(kind in (CONTRADICTION, NEGATION) for kind, _ in found):
        # "confirmed that it does not have Ebola", "proved to be untrue": what is confirmed is the denial.
        found = [(kind, text) for kind, text in found if kind != ENDORSEMENT]
    return found


def _anchors(sentences: Sequence[_Sentence], overlaps: Sequence[float], evidence: Sequence[str]) -> list[int]:
    """Sentences that state the claim: the matcher's evidence, else those sharing most of its words."""
    anchors = {i for i, overlap in enumerate(overlaps) if overlap >= ANCHOR_OVERLAP}
    # Compared as lowercased words, so that the matcher's own sentence splitting and clipping ("...")
    # still find the sentence: one contains the other.
    wanted = [joined for joined in (" ".join(_sentence(item).lowered) for item in evidence) if joined]
    for i, sentence in enumerate(sentences if wanted else ()):
        joined = " ".join(sentence.lowered)
        if any(w in joined or joined in w for w in wanted):
            anchors.add(i)
    if not anchors and sentences:
        # Nothing states the claim clearly: the closest sentence stands in for it.
        anchors.add(max(range(len(overlaps)), key=overlaps.__getitem__))
    return sorted(anchors)


def _distances(count: int, anchors: Sequence[int]) -> list[int]:
    """Sentences from each sentence to the nearest anchor; the lead is never further than 1."""
    distances = [len(DECAY) if anchors else 0] * count
    for anchor in anchors:
        for i in range(max(0, anchor - len(DECAY)), min(count, anchor + len(DECAY) + 1)):
            distances[i] = min(distances[i], abs(i - anchor))
    for i in range(min(LEAD_SENTENCES, count)):
        distances[i] = min(distances[i], 1)
    return distances


def _proximity(distance: int) -> float:
    return DECAY[distance] if distance < len(DECAY) else FAR_WEIGHT


def _body_hits(sentences: Sequence[_Sentence], distances: Sequence[int], claim: _Claim) -> list[Hit]:
    hits: list[Hit] = []
    for sentence, distance in zip(sentences, distances, strict=True):
        proximity = _proximity(distance)
        for kind, text in _sentence_cues(sentence, distance, claim):
            if kind == ATTRIBUTION and proximity < ATTRIBUTION_MIN_PROXIMITY:
                continue
            hits.append(Hit(kind, text, round(STRENGTH[kind] * proximity, 4), "body", distance))
    return hits


def _is_question(sentence: _Sentence) -> bool:
    text = sentence.text.rstrip()
    return text.endswith("?") or (
        "?" in text and bool(sentence.lowered) and sentence.lowered[0] in QUESTION_OPENERS
    )


def _title_hits(title: str, claim: _Claim, body: Sequence[Hit]) -> list[Hit]:
    """Cues in the headline, plus headline_question and headline_framing.

    headline_framing marks a headline that doubts or distances itself from the claim where the body
    around the claim does not: a "hoax" headline over a plain report, or "Has NATO really ...?".
    """
    if not title.strip():
        return []
    sentence = _sentence(title.strip())
    found = _scan_phrases(sentence) + [(SCARE_QUOTES, t) for t in _scare_quotes(sentence.text, claim.stems)]
    hits = [Hit(kind, text, STRENGTH[kind], "title", 0) for kind, text in found if kind != ATTRIBUTION]
    if _is_question(sentence):
        hits.append(Hit(HEADLINE_QUESTION, sentence.text, STRENGTH[HEADLINE_QUESTION], "title", 0))
    near_body = {hit.kind for hit in body if hit.distance <= 1}
    hits += [
        Hit(HEADLINE_FRAMING, f"headline: {hit.text}", STRENGTH[HEADLINE_FRAMING], "title", 0)
        for hit in hits
        if _frames_apart(hit, sentence, near_body)
    ]
    return hits


def _frames_apart(hit: Hit, title: _Sentence, near_body: set[str]) -> bool:
    if hit.kind == HEADLINE_QUESTION:
        # A plain question may just be a teaser; "really", "actually" make it doubt the claim.
        doubting_body = any(DIRECTIONS[kind][0] > 0 for kind in near_body)
        return not DOUBT_WORDS.isdisjoint(title.lowered) and not doubting_body
    return hit.kind in HEADLINE_DOUBTS and hit.kind not in near_body


def _echoes_claim(hit: Hit, claim: _Sentence) -> bool:
    # A claim that itself says "denies" or "hoax" is repeated, not disputed, by a body that says so.
    if hit.kind not in (CONTRADICTION, COUNTER_VOICE):
        return False
    return light_stem(hit.text.split()[-1].lower()) in claim.words


def analyse(claim_text: str, title: str, text: str, evidence: Sequence[str] = ()) -> Analysis:
    """Find the framing cues of an article towards a claim, weighted by their proximity to it.

    All four texts are read as :func:`clean_text` gives them (invisible format characters dropped).
    """
    claim_text, title, text = clean_text(claim_text), clean_text(title), clean_text(text)
    evidence = [clean_text(e) for e in evidence]
    claim = _parse_claim(claim_text)
    claim_sentence = claim.sentence
    sentences = [_sentence(part) for part in split_plain_sentences(text)]
    overlaps = [len(s.content & claim.stems) / len(claim.stems) if claim.stems else 0.0 for s in sentences]
    distances = _distances(len(sentences), _anchors(sentences, overlaps, evidence))
    body = _body_hits(sentences, distances, claim)
    hits = [hit for hit in body + _title_hits(title, claim, body) if not _echoes_claim(hit, claim_sentence)]
    claim_kinds = {kind for kind, _ in _scan_phrases(claim_sentence)}
    body_words = frozenset().union(*(s.words for s in sentences))
    return Analysis(
        hits=tuple(hits),
        dispute=sum(hit.weight * DIRECTIONS[hit.kind][0] for hit in hits),
        distance=sum(hit.weight * DIRECTIONS[hit.kind][1] for hit in hits),
        endorsement=sum(hit.weight for hit in hits if hit.kind == ENDORSEMENT),
        overlap=max(overlaps, default=0.0),
        coverage=len(body_words & claim.stems) / len(claim.stems) if claim.stems else 0.0,
        anchors=distances.count(0),
        sentences=len(sentences),
        claim_negative=not claim_kinds.isdisjoint({CONTRADICTION, COUNTER_VOICE}),
        claim_question=_is_question(claim_sentence),
        claim_hedged=not claim_kinds.isdisjoint({HEDGE, DISTANCING_VERB}),
        claim_words=claim_sentence.words,
        near_words=frozenset().union(*(s.words for s, d in zip(sentences, distances, strict=True) if d <= 1)),
        body_words=body_words,
    )


def rule_stance(analysis: Analysis) -> Stance:
    """The explainable rule: disputes on enough doubt, neutral on distance, supports on a plain statement.

    D = weighted dispute cues (contradiction, negation, counter_voice, scare_quotes, headline_*, half of
    distancing_verb), H = weighted distance cues (hedge, attribution, half of distancing_verb), E =
    weighted endorsement. A weight is the cue's STRENGTH times its proximity to the claim (DECAY):
    - disputes when D >= DISPUTE_MIN and D > E;
    - neutral when D + H >= DOUBT_MIN and D + H > E (reported, attributed or mildly doubted);
    - supports when the body endorses or plainly states the claim (a sentence holds >= STATED_OVERLAP
      of its words), otherwise neutral.
    """
    dispute, distance, endorse = analysis.dispute, analysis.distance, analysis.endorsement
    if dispute >= DISPUTE_MIN and dispute > endorse:
        return Stance.DISPUTES
    if dispute + distance >= DOUBT_MIN and dispute + distance > endorse:
        return Stance.NEUTRAL
    if endorse > 0 or analysis.overlap >= STATED_OVERLAP:
        return Stance.SUPPORTS
    return Stance.NEUTRAL


def skepticism(analysis: Analysis) -> float:
    """0..1: how much doubt and distance surround the claim; endorsement lowers it."""
    raw = 0.7 * analysis.dispute + 0.35 * analysis.distance - 0.3 * analysis.endorsement
    return round(1.0 - math.exp(-raw), 3) if raw > 0 else 0.0


def cues(analysis: Analysis) -> tuple[Cue, ...]:
    """Distinct cues, strongest first; those far from the claim are left out of what people read."""
    best: dict[tuple[str, str], float] = {}
    for hit in analysis.hits:
        if hit.weight >= STRENGTH[hit.kind] * DECAY[-1]:
            best[(hit.kind, hit.text)] = max(best.get((hit.kind, hit.text), 0.0), hit.weight)
    ordered = sorted(best.items(), key=lambda item: -item[1])
    return tuple(Cue(kind=kind, text=text) for (kind, text), _ in ordered)
