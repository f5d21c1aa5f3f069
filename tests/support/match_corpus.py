"""Short realistic articles and claims shared by the matcher tests (data only)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.records import make_article
from watcher.domain import Article, Claim

NOW = datetime(2025, 11, 6, 15, 2, tzinfo=UTC)

NATO_AMMO = Claim(id=1, name="nato-ammo", text="NATO has surpassed Russia in ammunition production")
EGG_PRICES = Claim(id=2, name="egg-prices", text="Egg prices in Germany rose 40% in a year")


def article(article_id: int, title: str, text: str, language: str = "en") -> Article:
    return make_article(
        id=article_id, title=title, text=text, language=language, published_at=NOW, first_seen_at=NOW
    )


REPORTS = article(
    10,
    "NATO now outproduces Russia in artillery shells",
    "NATO members have surpassed Russia in ammunition production for the first time since the invasion "
    "of Ukraine, the alliance's secretary general said on Tuesday. European plants now turn out more "
    "than two million shells a year, and output is still rising. The figures could not be independently "
    "verified.",
)
DENIES = article(
    11,
    "Kremlin rejects claims about Western shell output",
    "Moscow on Wednesday dismissed reports that NATO has surpassed Russia in ammunition production as "
    "wishful thinking. Russian factories produce three times more shells than the alliance, a defence "
    "ministry spokesman said. Western analysts say neither side's figures can be checked.",
)
NATO_SUMMIT = article(
    12,
    "NATO leaders gather in Vilnius for two-day summit",
    "Leaders of the 32 NATO members arrived in Vilnius on Tuesday for a summit expected to focus on "
    "Sweden's accession and on air defence for the Baltic states. The war Russia started in Ukraine hangs "
    "over the meeting, officials said. The host city has tightened security around the venue.",
)
BAKERY = article(
    13,
    "Family bakery wins regional bread prize",
    "A family bakery on Main Street has won the regional bread prize for the third year running. The "
    "owners said the secret was a sourdough starter kept alive since 1962.",
)
FRENCH = article(
    14,
    "L'OTAN a dépassé la Russie dans la production de munitions",
    "Les pays de l'OTAN produisent désormais davantage d'obus d'artillerie que la Russie, selon le "
    "secrétaire général de l'Alliance. La production européenne dépasse deux millions d'obus par an.",
    language="fr",
)
FRENCH_CLAIM = Claim(
    id=3, name="otan-munitions", text="L'OTAN a dépassé la Russie dans la production de munitions"
)
FRENCH_REPORT = article(
    15,
    "Munitions : les alliés devant Moscou",
    "Selon l'Alliance, les alliés ont dépassé la Russie dans la production de munitions cette année. "
    "Les usines européennes produisent deux millions d'obus.",
    language="fr",
)

# A day of unrelated news, so that term statistics are warm as in a running daemon: the names
# a claim shares with everyday coverage (NATO, Russia) weigh less than its distinctive words.
BACKGROUND = [
    article(100 + i, title, text)
    for i, (title, text) in enumerate(
        [
            (
                "Russia and Ukraine trade accusations over grain deal",
                "Russia accused Ukraine of breaking the deal.",
            ),
            (
                "NATO chief visits Kyiv",
                "The NATO secretary general met President Zelensky in Kyiv on Monday.",
            ),
            ("Russia raises interest rates again", "The Russian central bank raised its key rate to 16%."),
            ("NATO air policing mission extended", "NATO jets will keep patrolling Baltic skies until 2026."),
            ("Floods hit northern Italy", "Heavy rain flooded villages in Emilia-Romagna on Sunday."),
            ("Stocks rally as inflation cools", "Shares rose in New York after prices grew more slowly."),
            ("Sweden joins NATO after long wait", "Sweden became the alliance's 32nd member on Thursday."),
            ("Russia expels two diplomats", "Moscow ordered two Western diplomats to leave within a week."),
            ("New museum opens in Lisbon", "The museum shows tiles from five centuries."),
            ("Election results delayed", "Counting was slowed by a software fault, officials said."),
            ("Tennis star withdraws from final", "A knee injury forced her out of the tournament."),
            ("NATO and Russia hold rare talks", "Envoys from NATO and Russia met in Brussels."),
        ]
    )
]

# A claim of two parts, a name and what is said of it, and stories that hold one part or both.
PUTIN_DEAD = Claim(id=7, name="putin-dead", text="Putin is dead")
PUTIN_BIRD = article(
    41,
    "Bird soils Putin's suit during speech",
    "A bird left its mark on Vladimir Putin as he spoke at a war memorial in Moscow. Putin carried on with his "
    "speech. Video of Putin and the bird spread online, and the Kremlin made light of it.",
)
PUTIN_REPORTED_DEAD = article(
    42,
    "Putin is dead, state television says",
    "Russian state television said on Monday that President Vladimir Putin is dead. The Kremlin has not "
    "confirmed the report.",
)
PUTIN_DIED = article(
    43,
    "Vladimir Putin has died, the Kremlin says",
    "The Kremlin said on Monday that President Vladimir Putin died overnight at the age of 73.",
)
