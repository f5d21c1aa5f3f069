"""The held-out benchmark's arithmetic: the FNC score as the challenge's scorer.py computes it, and the
Emergent and FNC-1 test readers on small files in their published layouts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.heldout import emergent, fnc_score, fnc_test, stance_test
from watcher.match import MatchSettings


def test_fnc_score_matches_the_challenge_scorer() -> None:
    gold = ["agree", "unrelated", "discuss", "disagree", "unrelated"]
    predicted = ["agree", "unrelated", "agree", "unrelated", "discuss"]
    # agree right 1.0; unrelated right 0.25; discuss as agree 0.25; disagree missed 0; unrelated as discuss 0.
    assert fnc_score(gold, predicted) == pytest.approx(100 * 1.5 / (3 + 0.5))
    assert fnc_score(gold, gold) == pytest.approx(100.0)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_readers_run_on_the_published_layouts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claim = "Singer Adele has died"
    _write(
        tmp_path / "emergent.csv",
        ["", "claimHeadline", "articleHeadline", "y", "y_hat", "articleId", "claimId"],
        [
            ["0", claim, "Adele dies at 35", "for", "for", "a1", "c1"],
            ["1", claim, "Adele dead? Rumours swirl online", "observing", "observing", "a2", "c1"],
            [
                "2",
                claim,
                "Adele death report is a hoax, her spokesman says",
                "against",
                "against",
                "a3",
                "c1",
            ],
        ],
    )
    emergent([tmp_path / "emergent.csv"], rules_only=False)
    out = capsys.readouterr().out
    assert "3 (claim, headline) pairs over 1 claims" in out
    assert "three-class accuracy 1.000" in out
    assert "/3); false matches 0 of 0 other-claim pairs" in out  # one claim: no other-claim pairs
    _write(
        tmp_path / "competition_test_bodies.csv",
        ["Body ID", "articleBody"],
        [
            ["1", "Singer Adele has died at her home in London, her spokesman said. She was 35."],
            ["2", "The central bank left interest rates unchanged on Thursday, citing inflation."],
        ],
    )
    _write(
        tmp_path / "competition_test_stances.csv",
        ["Headline", "Body ID", "Stance"],
        [["Adele has died", "1", "agree"], ["Adele has died", "2", "unrelated"]],
    )
    fnc_test(tmp_path, None, MatchSettings(), rules_only=False)
    out = capsys.readouterr().out
    assert "2 pairs, 1 headlines, 2 bodies" in out
    assert "related P 1.0000  R 1.0000" in out
    assert "FNC score 100.00%" in out
    stance_test(tmp_path, rules_only=False)  # stance alone on the one gold related pair, matching skipped
    out = capsys.readouterr().out
    assert "stance on 1 gold related pairs" in out
    assert "stance alone on the gold related pairs" in out and "accuracy 1.000" in out
