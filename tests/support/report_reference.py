"""Plain per-match versions of the report's single passes, the reference the page is checked against."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from watcher.domain import LEANINGS, OWNERSHIPS, Match
from watcher.report import (
    COUNTRY_PALETTE,
    LEANING_COLORS,
    OTHER_COLOR,
    OWNERSHIP_COLORS,
    STANCE_COLORS,
    STANCES,
    Buckets,
    Series,
    Story,
    View,
    publication_time,
)
from watcher.shifts import segment_value


def plain_country(m: Match) -> str:
    """A match's country as shift detection compares it, "ZZ" for none."""
    return segment_value("country", m.article.country) or "ZZ"


def plain_known(dimension: str, value: str, allowed: Sequence[str]) -> str:
    normalised = segment_value(dimension, value)
    return normalised if normalised is not None and normalised in allowed else "unknown"


def plain_build_views(stories: Sequence[Story], buckets: Buckets) -> list[View]:
    """``report.build_views``, each story's bucket and segments worked out per view."""

    def view(
        key: str, label: str, segment: Callable[[Match], str], keys: Sequence[tuple[str, str, str]]
    ) -> View:
        counts = {k: [0] * buckets.count for k, _, _ in keys}
        for s in stories:
            counts[segment(s.first)][buckets.index(publication_time(s.first.article).at)] += 1
        series = tuple(Series(k, lab, color, tuple(counts[k])) for k, lab, color in keys if any(counts[k]))
        return View(key, label, series)

    ranked = [c for c, _ in Counter(plain_country(s.first) for s in stories).most_common()]
    top = ranked if len(ranked) <= len(COUNTRY_PALETTE) + 1 else ranked[: len(COUNTRY_PALETTE)]
    palette = (*COUNTRY_PALETTE, OTHER_COLOR)
    country_keys = [(c, "unknown" if c == "ZZ" else c, palette[i]) for i, c in enumerate(top)]
    return [
        view("stance", "Stance", lambda m: m.stance.value,
             [(s.value, s.value.capitalize(), STANCE_COLORS[s]) for s in STANCES]),
        view("country", "Country", lambda m: plain_country(m) if plain_country(m) in top else "other",
             [*country_keys, ("other", "other", OTHER_COLOR)]),
        view("leaning", "Leaning", lambda m: plain_known("leaning", m.article.leaning, LEANINGS),
             [(k, k, LEANING_COLORS[k]) for k in LEANINGS]),
        view("ownership", "Ownership", lambda m: plain_known("ownership", m.article.ownership, OWNERSHIPS),
             [(k, k, OWNERSHIP_COLORS[k]) for k in OWNERSHIPS]),
    ]  # fmt: skip
