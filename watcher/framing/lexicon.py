"""Stance cue lexicon: cue kinds, the phrases of each, and the restricted stance vocabulary the model reads."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ATTRIBUTION",
    "CONTRADICTION",
    "CORRECTION",
    "COUNTER_EVIDENCE",
    "COUNTER_VOICE",
    "DIRECTIONS",
    "DISPUTE_KINDS",
    "DISTANCING_VERB",
    "DOUBT",
    "ENDORSEMENT",
    "HEADLINE_NEGATION",
    "HEADLINE_QUESTION",
    "HEDGE",
    "LEXICON",
    "NEGATION",
    "SCARE_QUOTES",
    "STANCE_VOCABULARY",
    "STRENGTH",
    "STRONG_DISPUTE_KINDS",
    "Phrase",
]

# Cue kinds. negation is the claim's own predicate denied ("has not surpassed"); counter_voice a voice that
# denies or rejects; doubt a report that questions; contradiction a plain statement of falsehood;
# counter_evidence a fact that contradicts ("alive and well", "still produces more"); correction a
# retraction; headline_negation a headline that negates the claim.
CONTRADICTION = "contradiction"
NEGATION = "negation"
COUNTER_VOICE = "counter_voice"
DOUBT = "doubt"
COUNTER_EVIDENCE = "counter_evidence"
CORRECTION = "correction"
SCARE_QUOTES = "scare_quotes"
HEADLINE_QUESTION = "headline_question"
HEADLINE_NEGATION = "headline_negation"
DISTANCING_VERB = "distancing_verb"
HEDGE = "hedge"
ATTRIBUTION = "attribution"
ENDORSEMENT = "endorsement"

# Share of each cue's weight that goes to the dispute score (D) and to the distance score (H).
DIRECTIONS: dict[str, tuple[float, float]] = {
    CONTRADICTION: (1.0, 0.0),
    NEGATION: (1.0, 0.0),
    COUNTER_VOICE: (1.0, 0.0),
    DOUBT: (0.8, 0.2),
    COUNTER_EVIDENCE: (1.0, 0.0),
    CORRECTION: (1.0, 0.0),
    SCARE_QUOTES: (1.0, 0.0),
    HEADLINE_QUESTION: (0.6, 0.4),
    HEADLINE_NEGATION: (1.0, 0.0),
    DISTANCING_VERB: (0.5, 0.5),
    HEDGE: (0.0, 1.0),
    ATTRIBUTION: (0.0, 1.0),
    ENDORSEMENT: (0.0, 0.0),
}

# How much one cue counts, at full proximity, towards its direction.
STRENGTH: dict[str, float] = {
    CONTRADICTION: 1.0,
    NEGATION: 0.9,
    COUNTER_VOICE: 0.9,
    DOUBT: 0.8,
    COUNTER_EVIDENCE: 0.9,
    CORRECTION: 0.9,
    SCARE_QUOTES: 0.5,
    HEADLINE_QUESTION: 0.6,
    HEADLINE_NEGATION: 1.0,
    DISTANCING_VERB: 0.5,
    HEDGE: 0.5,
    ATTRIBUTION: 0.2,
    ENDORSEMENT: 0.8,
}

DISPUTE_KINDS = frozenset(kind for kind, (dispute, _) in DIRECTIONS.items() if dispute >= 0.8)
# A cue of these kinds governing the claim sentence (or in the headline) never lets the stance be supports.
STRONG_DISPUTE_KINDS = frozenset(
    {CONTRADICTION, NEGATION, COUNTER_VOICE, DOUBT, COUNTER_EVIDENCE, CORRECTION, HEADLINE_NEGATION}
)

# Phrases, "|"-separated, matched on lowercased tokens; the longest match at a position wins.
_SOURCE: dict[str, str] = {
    HEDGE: (
        "reportedly|allegedly|according to|unconfirmed|unverified|it is said|is said to|are said to|"
        "was said to|were said to|it is claimed|rumor|rumors|rumour|rumours|rumored|rumoured|apparently|"
        "supposedly|purportedly|appears to|appear to|appeared to|seems to|seem to|seemed to|may have|"
        "might have|could have|believed to|thought to be|sources say|sources said|speculation|speculated|"
        "if true|unclear|not clear|not yet clear|could not be verified|cannot be verified|"
        "not independently verified|could not independently verify|not been verified|has not been verified|"
        "neither confirm nor deny|would not confirm|could not confirm|cannot confirm|unable to confirm|"
        "declined to confirm|declined to comment|not confirmed|yet to be confirmed|unsubstantiated|"
        "possibly|potentially|perhaps|maybe|suggests|suggested|would appear|too early to say|remains to be seen|"
        "could|may|might|whether|on track to|no decision|did not respond|has not responded|have not responded|"
        "did not immediately respond|did not reply|has not commented|have not commented|did not comment|"
        "no immediate comment|there have been reports|there were reports|there are reports|amid reports|"
        "following reports|according to reports|considers|considering|mulls|mulling|is weighing|are weighing|"
        "weighing up|weighs whether|weighing whether|unknown|not known|to probe|probe into|probing|"
        "to investigate|investigating whether|investigation into|weighs"
    ),
    DISTANCING_VERB: (
        "claimed|claims|claiming|claim that|claim to|accused of|alleged|alleges|alleging|asserted|asserts|"
        "purported|purports|purporting|insisted|insists|contended|contends|so-called|supposed|touted|boasted|"
        "boasts"
    ),
    ATTRIBUTION: "said|says|told|stated|announced|wrote|tweeted|posted",
    COUNTER_VOICE: (
        "denied|denies|deny|denying|denial|denials|dismissed|dismisses|dismissing|rejected|rejects|reject|"
        "rejecting|rebuffed|rebuffs|refuted|refutes|refute|refuting|disputed|disputes|dispute|disputing|"
        "pushed back|pushes back|played down|downplayed|contradicted|contradicts|rubbished|rubbishes|"
        "dismissed as nonsense|dismissed as false|dismissed as fake|dismissed the claim|dismissed the report|"
        "called it nonsense|rejected the claim|rejected the report|rebutted|rebuts|scoffed|scoffed at|"
        "ridiculed|laughed off|brushed aside|brushed off|shot down|poured cold water|pours cold water|"
        "pouring cold water|pour cold water|slammed the claim|"
        "took issue|challenged the claim|disagree|disagrees|disagreed|contradicting|contrary to reports|"
        "contrary to claims|contrary to rumours|contrary to rumors|contrary to what|dispel|dispels|dispelled|"
        "dispelling|scotched|quashed rumours|quashed rumors|quashed speculation|quashed reports|"
        "put an end to rumours|put an end to rumors|put an end to speculation|putting an end to rumours|"
        "putting an end to rumors|putting an end to speculation|ending rumours|ending rumors|ending speculation|"
        "ended speculation|ruled out|rules out|ruling out|rule out|shuts down rumors|shuts down rumours|"
        "shut down rumors|shut down rumours|rumor put to rest|rumour put to rest|rumors put to rest|"
        "rumours put to rest|despite reports|despite claims|despite rumours|despite rumors|despite speculation|"
        # "contrary to" with what was said, not "contrary to expectations" or "to popular belief" (which assert).
        "contrary to posts|contrary to online posts|contrary to social media|contrary to media reports|"
        "contrary to news reports|contrary to earlier reports|contrary to initial reports|contrary to some reports|"
        "contrary to the claim|contrary to the claims|contrary to the report|contrary to allegations|"
        "contrary to assertions|contrary to statements|contrary to speculation"
    ),
    DOUBT: (
        "cast doubt|casts doubt|casting doubt|cast doubts|raised doubts|raises doubts|doubt|doubts|doubted|"
        "doubting|doubtful|questioned|questions|question|questioning|skeptical|sceptical|skeptic|"
        "skeptics|sceptics|skepticism|scepticism|unlikely|dubious|implausible|improbable|do not add up|"
        "does not add up|don't add up|doesn't add up|did not add up|didn't add up|does not hold up|doesn't hold up|"
        "did not hold up|didn't hold up|do not hold up|don't hold up|fails to hold up|failed to hold up|"
        "does not hold water|doesn't hold water|did not hold water|didn't hold water|do not hold water|"
        "don't hold water|does not stand up|doesn't stand up|did not stand up|didn't stand up|little evidence|"
        "scant evidence|no sign|no signs|little sign|exaggerated|exaggeration|overstated|overstates|"
        "overblown|inflated|misleading|cherry-picked|cherry picked|cherry-picking|questionable|far-fetched|"
        "not convinced|unconvinced|unconvincing|hard to believe|wary|unproven|flawed|contested|"
        "not so fast|premature|probably not|taken with a grain of salt|"
        "grain of salt|caution against|cautioned against|warned against|not supported by|no data|too soon to|"
        "undercutting the theory|undercuts the theory|undercut the theory|undercutting claims|undercuts claims|"
        "undercutting the claim|undercuts the claim|undermining claims|undermines claims|undermining the claim|"
        "undermines the claim"
    ),
    CONTRADICTION: (
        "not true|untrue|isn't true|wasn't true|no evidence|no proof|false|falsely|fake|faked|debunked|debunk|"
        "debunks|debunking|hoax|hoaxes|myth|baseless|unfounded|fabricated|fabrication|bogus|satire|"
        "satirical|prank|never happened|did not happen|didn't happen|no truth|incorrect|nonsense|made up|"
        "made-up|photoshopped|doctored|not real|not the case|inaccurate|erroneous|no basis|a lie|"
        # Not "lying" alone: "lying in state", "found lying in the street".
        "is lying|are lying|was lying|were lying|been lying|lying about|scam|spoof|parody|misinformation|"
        "disinformation|not actually|in reality|wrong|"
        "fact check|fact-check|fact-checkers|fact checkers|urban legend|conspiracy theory|not happening|"
        "isn't happening|is not a thing|are not a thing|isn't a thing|aren't a thing|not what it seems|"
        "isn't what it seems|not what it appears|figment|hoaxer|hoaxers|is rubbish|called rubbish|complete rubbish|"
        "utter rubbish|total rubbish|bullshit|made it all up|too good to check|no record of|no records of|"
        "wide of the mark|off the mark|nothing to the reports|nothing to reports|nothing to the claim|"
        "nothing to the claims|nothing to the rumours|nothing to the rumors|nothing to the story|no substance to|"
        "will not go ahead|won't go ahead|not go ahead|not going ahead"
    ),
    CORRECTION: (
        "correction|corrected|retracted|retraction|retracts|clarification|an earlier version|"
        "a previous version|walked back|walks back|backtracked|setting the record straight|set the record straight|"
        "sets the record straight|put the record straight|puts the record straight|"
        "putting the record straight|apologised|apologized|erratum|mistakenly|"
        "wrongly|in error|misreported|misquoted|"
        # Not "withdrew" alone: troops, candidates and products are withdrawn far more often than reports.
        "withdrew the report|withdrew its report|withdrew that report|withdrew the story|withdrew its story|"
        "withdrew the article|withdrew its article|withdrew the claim|withdrew his claim|withdrew her claim|"
        "withdrew their claim|withdrew the claims|withdrew the allegation|withdrew the allegations|"
        "withdrew the statement|withdrew its statement|withdrew his statement|withdrew her statement|"
        "report was withdrawn|story was withdrawn|article was withdrawn|claim was withdrawn|"
        "report has been withdrawn|story has been withdrawn|article has been withdrawn|"
        "claims were withdrawn|allegations were withdrawn"
    ),
    COUNTER_EVIDENCE: (
        "alive and well|still alive|safe and well|safe and sound|is alive|was alive|turned up alive|"
        "found alive|still in office|still produces|still produce|still leads|still lead|still ahead|"
        "remains ahead|remain ahead|lags behind|lag behind|far behind|still outproduces|still outnumber|"
        "still outnumbers|has not changed|hasn't changed|remains unchanged|was not reversed|"
        "has not been reversed|hasn't been reversed|here to stay|well short of|called off|calls off|"
        "call off|calling off|shelved|shelves plan|shelves plans|shelves the plan|shelves its plan|drops plan|drops plans|"
        "drops the plan|abandons plan|abandons plans|abandoned plans|abandoned the plan|put off its plan|"
        "puts off its plan|put on hold|no increased risk|no link|no causal link|not linked to|"
        "no association|is stable|are stable|remain stable|remains stable|remained stable|nowhere near|"
        "far fewer than|far below|well below|far smaller than|far lower than|far less than|a long way from|"
        "a long way short of|fell short of|falls short of|fall short of|fell just short of|falls just short of|"
        "tells a different story|tell a different story|told a different story|telling a different story|"
        "paints a different picture|paint a different picture|painted a different picture"
    ),
    ENDORSEMENT: (
        "confirmed|confirms|confirm|confirming|confirmation|indeed|data show|data shows|data showed|"
        "figures show|figures showed|statistics show|records show|evidence shows|proved|proves|proven|"
        "verified|it is true|it's true|officially|turns out|turned out|agree|agrees|agreed|"
        "acknowledged|acknowledges|admitted|admits|conceded|concedes"
    ),
}


# The same kinds in other languages of the press: French, German, Spanish, Italian, Portuguese, Dutch, Russian
# and Ukrainian. Only the strong, common words of each (a denial, a falsehood, a doubt, a correction, a hedge, an
# attribution, a confirmation), in the forms news use; none that is also an English word of another meaning
# (French "nie" is German "never", "segundo" is Spanish "second"). Matched on the same lowercased tokens,
# elided articles split off ("l'OTAN", "n'a"): see rules.tokenize.
_FOREIGN: dict[str, str] = {
    COUNTER_VOICE: (
        # fr
        "dément|démentent|démenti|démentie|démentis|a démenti|ont démenti|a nié|ont nié|nié|niée|nient|"
        "rejette|rejettent|a rejeté|ont rejeté|réfute|réfuté|réfutent|conteste|contestent|a contesté|"
        # de
        "dementiert|dementierte|dementierten|dementieren|bestreitet|bestreiten|bestritt|bestritten|"
        "weist zurück|wies zurück|zurückgewiesen|widerspricht|widersprach|widersprachen|leugnet|leugneten|"
        # es
        "niega|niegan|negó|negaron|desmiente|desmienten|desmintió|desmintieron|rechaza|rechazó|refuta|"
        "refutó|"
        # it
        "smentisce|smentiscono|smentito|smentita|ha smentito|nega|negano|ha negato|respinge|respinto|"
        "confuta|"
        # pt
        "negou|negaram|desmente|desmentem|desmentiu|desmentiram|rejeita|rejeitou|refutou|"
        # nl
        "ontkent|ontkende|ontkennen|weerspreekt|weersprak|ontkracht|ontkrachtte|verwerpt|"
        # ru
        "опроверг|опровергла|опровергли|опровергает|опровергают|опровержение|отрицает|отрицают|отрицал|"
        "отрицала|отрицали|"
        # uk
        "спростував|спростувала|спростували|спростовує|спростування|заперечує|заперечують|заперечив|"
        "заперечила|заперечили"
    ),
    CONTRADICTION: (
        "fausse|fausses|infox|intox|canular|pas vrai|aucune preuve|sans fondement|infondé|infondée|"
        "désinformation|mensonge|mensonger|mensongère|"
        "falsch|falsche|falschen|falschmeldung|erfunden|frei erfunden|nicht wahr|unwahr|kein beweis|"
        "keine beweise|haltlos|desinformation|lüge|gefälscht|"
        "falso|falsa|falsos|falsas|bulo|bulos|no es cierto|no es verdad|sin fundamento|infundado|"
        "sin pruebas|desinformación|mentira|falsedad|"
        "bufala|bufale|non è vero|infondata|infondato|senza prove|disinformazione|menzogna|"
        "boato|boatos|não é verdade|sem fundamento|sem provas|desinformação|notícia falsa|"
        "onwaar|onjuist|nepnieuws|verzonnen|niet waar|geen bewijs|ongegrond|desinformatie|leugen|"
        "фейк|фейком|фейки|ложь|ложные|ложная|ложной|неправда|дезинформация|не соответствует действительности|"
        "вымысел|брехня|дезінформація|не відповідає дійсності|вигадка"
    ),
    DOUBT: (
        "doute|doutes|met en doute|mettent en doute|sceptique|sceptiques|peu probable|trompeur|trompeuse|"
        "exagéré|exagérée|douteux|douteuse|"
        "zweifel|bezweifelt|bezweifeln|skeptisch|unwahrscheinlich|irreführend|übertrieben|fraglich|"
        "zweifelhaft|"
        "duda|dudas|pone en duda|escéptico|escépticos|engañoso|engañosa|exagerado|exagerada|dudoso|"
        "dubbio|dubbi|mette in dubbio|scettico|scettici|improbabile|fuorviante|esagerato|esagerata|"
        "dúvida|dúvidas|põe em dúvida|cético|céticos|improvável|enganoso|enganosa|duvidoso|"
        "twijfel|twijfelt|betwijfelt|sceptisch|onwaarschijnlijk|misleidend|overdreven|twijfelachtig|"
        "сомнение|сомнения|сомневается|сомневаются|маловероятно|вводит в заблуждение|преувеличено|"
        "сумнів|сумніви|сумнівається|малоймовірно|вводить в оману|перебільшено"
    ),
    CORRECTION: (
        "rectificatif|korrektur|richtigstellung|berichtigung|fe de erratas|rectificación|rettifica|"
        "retificação|rectificatie|correctie|поправка|виправлення"
    ),
    HEDGE: (
        "selon|aurait|auraient|présumé|présumée|prétendument|pourrait|pourraient|"
        "soll|sollen|angeblich|laut|mutmaßlich|könnte|könnten|"
        "según|supuestamente|presuntamente|podría|podrían|"
        "presumibilmente|avrebbe|potrebbe|"
        "supostamente|alegadamente|poderia|"
        "volgens|naar verluidt|vermoedelijk|"
        "якобы|предположительно|нібито|імовірно"
    ),
    ATTRIBUTION: (
        "a déclaré|ont déclaré|a affirmé|sagte|sagten|erklärte|erklärten|dijo|dijeron|afirmó|ha detto|"
        "ha dichiarato|disse|afirmou|zei|verklaarde|заявил|заявила|заявили|сообщил|сообщили|заявив"
    ),
    ENDORSEMENT: (
        "confirmé|a confirmé|ont confirmé|bestätigt|bestätigte|bestätigten|confirmó|confirmado|confirmada|"
        "confermato|confermata|ha confermato|confirmou|bevestigd|bevestigt|bevestigde|подтвердил|подтвердила|"
        "подтвердили|подтверждает|підтвердив|підтвердила|підтвердили"
    ),
}


@dataclass(frozen=True, slots=True)
class Phrase:
    """One lexicon phrase: its cue kind and lowercased words."""

    kind: str
    words: tuple[str, ...]


def _build() -> dict[str, tuple[Phrase, ...]]:
    # Indexed by first word, longest phrases first so "dismissed as nonsense" wins over "dismissed".
    index: dict[str, list[Phrase]] = {}
    for kind, phrases in (*_SOURCE.items(), *_FOREIGN.items()):
        for phrase in phrases.split("|"):
            words = tuple(phrase.replace("-", " - ").replace(" - ", "-").split())
            index.setdefault(words[0], []).append(Phrase(kind, words))
    return {first: tuple(sorted(group, key=lambda p: -len(p.words))) for first, group in index.items()}


LEXICON = _build()

# Claim-independent words the learned layer may read around the claim: negators, modals, hedges,
# reporting and stance verbs, evaluative words. No topic words, so a model cannot learn the stories.
_VOCABULARY_SOURCE = (
    "not no never nor none nothing nobody neither without n't cannot hardly barely no-longer yet still "
    "already but however although though despite whereas while instead rather contrary actually fact "
    "reality really truly indeed true truth false fake hoax untrue wrong right correct incorrect real "
    "myth lie lies lied lying liar may might could would should must can will perhaps maybe possibly "
    "probably likely unlikely apparently seemingly reportedly allegedly supposedly purportedly rumor "
    "rumour rumors rumours rumored speculation speculated claim claims claimed claiming alleged "
    "allegation allegations assert asserted insist insisted contend said say says told tell stated "
    "statement announce announced announcement according source sources spokesman spokeswoman "
    "spokesperson official officials officially confirm confirmed confirms confirmation verify verified "
    "unverified unconfirmed deny denied denies denial reject rejected rejects dismiss dismissed refute "
    "refuted debunk debunked dispute disputed contradict contradicted doubt doubts doubted doubtful "
    "skeptical sceptical question questioned questions dubious misleading exaggerated baseless unfounded "
    "bogus satire prank hoaxes evidence proof proven prove proved show shows showed shown report reports "
    "reported reporting news story photo photos video image images picture pictures photoshopped doctored "
    "fabricated hoaxer believe believed think thought seem seems seemed appear appears appeared suggest "
    "suggests suggested agree agreed agrees disagree disagreed disagrees support supports supported "
    "oppose opposed against favor favour good bad great terrible stupid ridiculous absurd nonsense silly "
    "agreeable wise foolish i me my we our you your us everyone anyone people nobody correction corrected "
    "retracted retraction apologize apologized apologise apologised mistake mistakenly error update "
    "updated later earlier initially originally first new latest after before alive dead died killed safe "
    "well unharmed survived deal real rumour hearsay viral spread spreading internet online twitter "
    "facebook social media website satirical parody spoof joke joking onion prankster fiction fictional "
    "unclear uncertain unknown unable declined refused comment however nevertheless nonetheless anyway "
    "exactly definitely certainly clearly obviously surely absolutely"
).split()
STANCE_VOCABULARY = frozenset(_VOCABULARY_SOURCE)
