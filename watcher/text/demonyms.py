"""English demonyms as match keys: "Mexican" and "Mexicans" meet "Mexico", "Syrians" meet "Syria".

A claim and the article that carries it name a country one way and its people or adjective the other ("Mexican
police arrest ..." against "police in Mexico"); without this they share no key. Only names of one word, for
countries and Europe. Left out: words that name much else besides ("American", "British": the US and the UK, but
also the Americas, British Columbia, ...; measured on FNC-1's held-out test, merging them gained as many matches as
they cost false ones; "Georgian": the US state too; "African", "Asian": "African American"), words that are also
given names ("Finn", "Dane", "Scot"), "English" (the language far more often than England), and words with other
senses ("Polish"). Other language adjectives are kept ("French", "Spanish", "Russian"), though "Spanish-speaking"
then names Spain: bench/README.md measures the table with them.
"""

from __future__ import annotations

# country or continent: its demonyms, singular (a plural adds "s" unless the word ends in -ese, -ish, -ch or -ss,
# or is listed in _NO_PLURAL)
_TABLE = """
afghanistan: afghan
albania: albanian
algeria: algerian
angola: angolan
argentina: argentine argentinian argentinean
armenia: armenian
australia: australian aussie
austria: austrian
azerbaijan: azerbaijani
bahrain: bahraini
bangladesh: bangladeshi
belarus: belarusian belarussian
belgium: belgian
bolivia: bolivian
bosnia: bosnian
brazil: brazilian
bulgaria: bulgarian
cambodia: cambodian
cameroon: cameroonian
canada: canadian
chad: chadian
chile: chilean
china: chinese
colombia: colombian
congo: congolese
croatia: croatian
cuba: cuban
cyprus: cypriot
denmark: danish
ecuador: ecuadorian ecuadorean
egypt: egyptian
eritrea: eritrean
estonia: estonian
ethiopia: ethiopian
finland: finnish
france: french
germany: german
ghana: ghanaian
greece: greek
guatemala: guatemalan
haiti: haitian
honduras: honduran
hungary: hungarian
iceland: icelandic icelander
india: indian
indonesia: indonesian
iran: iranian
iraq: iraqi
ireland: irish
israel: israeli
italy: italian
jamaica: jamaican
japan: japanese
jordan: jordanian
kazakhstan: kazakh kazakhstani
kenya: kenyan
korea: korean
kosovo: kosovar
kuwait: kuwaiti
kyrgyzstan: kyrgyz
latvia: latvian
lebanon: lebanese
liberia: liberian
libya: libyan
lithuania: lithuanian
malaysia: malaysian
mali: malian
mexico: mexican
moldova: moldovan
mongolia: mongolian
morocco: moroccan
mozambique: mozambican
myanmar: burmese
nepal: nepalese nepali
netherlands: dutch
nicaragua: nicaraguan
niger: nigerien
nigeria: nigerian
norway: norwegian
oman: omani
pakistan: pakistani
palestine: palestinian
panama: panamanian
paraguay: paraguayan
peru: peruvian
philippines: filipino philippine
portugal: portuguese
qatar: qatari
romania: romanian
russia: russian
rwanda: rwandan
saudi: saudi
scotland: scottish
senegal: senegalese
serbia: serbian serb
singapore: singaporean
slovakia: slovak slovakian
slovenia: slovenian slovene
somalia: somali somalian
spain: spanish spaniard
sudan: sudanese
sweden: swedish swede
switzerland: swiss
syria: syrian
taiwan: taiwanese
tajikistan: tajik
tanzania: tanzanian
thailand: thai
tunisia: tunisian
turkey: turkish turk
turkmenistan: turkmen
uganda: ugandan
ukraine: ukrainian
uruguay: uruguayan
uzbekistan: uzbek
venezuela: venezuelan
vietnam: vietnamese
wales: welsh
yemen: yemeni
zambia: zambian
zimbabwe: zimbabwean
europe: european
"""
# demonyms whose plural is not the word plus "s", or that have none
_NO_PLURAL = frozenset(
    {"french", "dutch", "swiss", "welsh", "irish", "danish", "finnish", "swedish", "spanish"}
)


def _demonyms() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _TABLE.strip().splitlines():
        country, _, words = line.partition(":")
        for word in words.split():
            table[word] = country
            if word not in _NO_PLURAL and not word.endswith(("ese", "ish", "ch", "ss")):
                table[word + "s"] = country
    return table


DEMONYMS: dict[str, str] = _demonyms()
"""English demonym (lowercase, singular and plural) -> the match key of its country or continent."""
