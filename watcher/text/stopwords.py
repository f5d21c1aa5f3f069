"""Function words: per language for matching, and the short English list the framing rules use."""

from __future__ import annotations

# Small hand-kept lists: articles, pronouns, prepositions, conjunctions, auxiliaries and the
# reporting verbs every news story uses. Corpus statistics take care of the rest once the
# matcher has seen some articles; these lists only have to be good enough for a cold start.
_LISTS: dict[str, str] = {
    "en": """
        a about above across after again against ago all almost along already also although always am
        among an and another any anyone anything are around as at back be became because become been
        before being below between both but by can cannot could did do does doing done down during each
        either else even ever every few for from further get gets getting got had has have having he her
        here hers herself him himself his how however i if in including into is it its itself just last
        least less let like made make many may me might more most much must my myself near neither never
        next no nor not now of off often on once one only onto or other others our ours ourselves out
        over own per perhaps rather really s same say said saying says see seen shall she should since
        so some something still such t than that the their theirs them themselves then there these they
        this those though through thus to too toward towards under until up upon us very via was we well
        were what whatever when where whether which while who whom whose why will with within without
        would yet you your yours yourself yourselves
        according reportedly told tell tells week weeks year years today yesterday tomorrow day days
        time mr mrs ms new news report reports reported
    """,
    "de": """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
        auch auf aus bei beim bin bis bist da damit dann das dass dein deine dem den denn der des dessen
        deshalb die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer
        eines er es etwa euer eure für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich
        ihm ihn ihnen ihr ihre im in indem ins ist jede jedem jeden jeder jedes jene jetzt kann kein keine
        können könnte man manche mehr mein meine mit muss müssen nach nicht nichts noch nun nur ob oder
        ohne sehr sein seine seit sich sie sind so solche soll sollen sollte sondern sowie über um und
        uns unser unter viel vom von vor war waren warum was weil welche welchem welchen welcher wenn
        wer werde werden wie wieder will wir wird wo wurde wurden zu zum zur zwar zwischen laut sagte
        sagt sagen jahr jahre heute gestern
    """,
    "fr": """
        a à afin ai aie aient ainsi alors après as au aucun aussi autre autres aux avec avait avant avez
        avoir avons ayant c ce ceci cela celle celles celui cependant ces cet cette ceux chaque chez comme
        comment d dans de depuis des dès donc dont du elle elles en encore entre es est et étaient était
        été être eu eux fait faire font hors il ils j je l la le les leur leurs lors lui m ma mais me même
        mes moi mon n ne ni nos notre nous on ont ou où par parce pas pendant peu peut plus pour pourquoi
        qu quand que quel quelle quelles quels qui quoi s sa sans se selon ses si sien son sont sous sur
        t ta te tes toi ton tous tout toute toutes très tu un une vers vos votre vous y déclaré dit selon
        année ans aujourd hier
    """,
    "es": """
        a al algo algunas algunos ante antes como con contra cual cuando de del desde donde dos durante
        e el él ella ellas ellos en entre era eran es esa esas ese eso esos esta está están estas este
        esto estos fue fueron ha había han hasta hay la las le les lo los más me mi mientras muy ni no
        nos nosotros o otra otras otro otros para pero poco por porque que qué quien se sea ser si sí sin
        sobre son su sus también tanto te tiene tienen todo todos tras tu tus un una unas uno unos y ya
        yo dijo según año años hoy ayer
    """,
    "it": """
        a ad agli ai al alla alle allo anche ancora che chi ci come con contro cui da dai dal dalla dalle
        degli dei del dell della delle dello di dopo dove e è ed era erano essere fa gli ha hanno i il in
        io la le lei lo loro lui ma mi molto ne negli nei nel nella nelle nello no noi non nostro o per
        perché più poi quale quando quella quelle quello questa queste questo se sei si sia siamo sono
        sta su sua sue sui sul sulla suo suoi tra tu tutti tutto un una uno vi voi detto secondo anno
        anni oggi ieri
    """,
    "pt": """
        a à ao aos as às até com como da das de dela dele deles do dos e é ela elas ele eles em entre era
        eram essa esse esta está estão este eu foi foram há isso isto já la lhe mais mas me mesmo meu
        minha muito na não nas nem no nos nós o os ou para pela pelas pelo pelos por porque quando que
        quem se sem ser seu seus si sobre sua suas também te tem têm um uma umas uns vai você disse
        segundo ano anos hoje ontem
    """,
    "nl": """
        aan al als bij dan dat de deze die dit door du een en er hem het hij hoe hun ik in is je kan maar
        me meer men met mij naar niet nog nu of om onder ons ook op over te tegen toe tot uit van veel
        voor want was wat we werd wie wij wordt worden zal ze zei zich zij zijn zo zou volgens jaar jaren
        vandaag gisteren
    """,
    "ru": """
        а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже для
        до его ее её если есть еще ещё же за здесь и из или им их к как ко когда кто ли либо между меня
        мне может мы на над надо наш не него нее неё нет ни них но ну о об однако он она они оно от по
        под после при про с со так также такой там те тем то того тоже только том ты у уже хотя чего
        чем что чтобы эта эти это этого этой этом этот я заявил сообщил по словам год года лет сегодня
    """,
    "uk": """
        а але без би був була були було бути в вже від він вона вони воно все всі де для до є його її
        з за і із й їх як який яка які коли кожен ми на над не ні по при про та так також те ти тих то
        того тому у хоча це ці цей що щоб я заявив повідомив рік року років сьогодні
    """,
    "pl": """
        a aby ale bo by był była były było być czy dla do gdy gdzie i ich ile im jak jaki jako je jego jej
        jest jeszcze już ku lub ma mają mi między mnie na nad nie niż o od oraz po pod przez przy się są
        ta tak także tam te tego tej ten to tu tylko w we więc z za ze że żeby powiedział według rok roku
        lat dzisiaj
    """,
}

STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _LISTS.items()}
EMPTY: frozenset[str] = frozenset()


def stopwords(lang: str) -> frozenset[str]:
    """The function words of ``lang`` (ISO 639-1) that matching drops, empty for a language without a list."""
    return STOPWORDS.get(lang, EMPTY)


# The framing rules compare the claim's content words with each sentence's, on light stems. Their
# list is shorter than STOPWORDS["en"] (it keeps "according", "told", "year", ...) and the shipped
# framing model's word features were learned with it, so the two lists stay apart.
ENGLISH_CORE = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being has have had "
    "do does did this that these those it its it's he she they them his her their we our you your i me my "
    "not no will would can could should may might must shall than then there here what which who whom "
    "whose when where why how all any some more most other such only own same so too very s t just over "
    "into out up down about after before again further once also new says said report reports reported "
    "amid via".split()
)
"""English function words left out of the framing rules' content words (matched on lowercased words)."""
