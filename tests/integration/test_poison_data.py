"""Data the pipeline cannot read holds up only itself. One article that the matcher or the framing cannot read:
the rest of its batch is matched in the same cycle, and it is set aside with an error naming it, not leased again
and failing at every lease. One claim whose detection fails: the other claims' alerts are raised in the same
cycle, and it is tried again when its lease ends. A round of matching that fails while feeds are still polled: the
cycle says so (poll-once exits 1)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import watcher.pipeline as pipeline_module
from storage.sql import SqlStore
from tests.integration.test_pipeline import SlowFeed, settings_for, until
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.stories import CLAIM, DENIAL, STRAIGHT, fresh, rss
from watcher import metrics
from watcher.cli import cli
from watcher.config import ClaimSpec
from watcher.domain import EventType
from watcher.pipeline import CycleReport, Pipeline

POISON = (
    "kyiv-2",
    "NATO ammunition production: the figures",
    "NATO has surpassed Russia, a poisoned text says.",
)


def failing_on(title: str, explain: Callable[..., Any]) -> Callable[..., Any]:
    """The framing as shipped, raising for the article with this title: a fault no real text is known to cause."""

    def framed(claim: str, article_title: str, *args: Any, **kwargs: Any) -> Any:
        if article_title == title:
            raise ValueError("cannot read this article")
        return explain(claim, article_title, *args, **kwargs)

    return framed


async def test_one_article_that_cannot_be_framed_does_not_hold_back_its_batch(
    server: FeedServer,
    store: SqlStore,
    make_pipeline: Any,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.routes["/kyiv.xml"] = Route(body=rss("Kyiv Post", [STRAIGHT, POISON], pub_date=fresh()))
    monkeypatch.setattr(pipeline_module, "explain", failing_on(POISON[1], pipeline_module.explain))
    failures = metrics.UNEXPECTED.labels("match")._value.get()
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url), clock)

    with caplog.at_level(logging.ERROR, logger="watcher.pipeline"):
        report = await pipeline.cycle(all=True)

    # The other articles of the batch are matched and framed in this cycle, the straight report and the denial.
    matches = await store.list_matches()
    assert sorted(m.article.title for m in matches) == sorted([STRAIGHT[1], DENIAL[1]])
    assert report.matches == 2
    # The poisoned one is named in one error and counted; it is done with (not leased again).
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and "matching article" in r.getMessage()
    ]
    assert len(errors) == 1 and "news.example/kyiv-2" in errors[0].getMessage()
    assert metrics.UNEXPECTED.labels("match")._value.get() == failures + 1
    assert await store.lease_unprocessed_articles(clock.now + timedelta(hours=1), 100, lease_s=300) == []


WHEAT = ClaimSpec(name="wheat-record", text="Farmers gathered a record wheat harvest this year")


async def test_one_claim_whose_detection_fails_does_not_hold_back_the_others(
    server: FeedServer,
    store: SqlStore,
    make_pipeline: Any,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    detect_shifts = pipeline_module.detect_shifts

    def failing(claim: Any, *args: Any, **kwargs: Any) -> Any:
        if claim.name == CLAIM.name:
            raise ValueError("cannot read these matches")
        return detect_shifts(claim, *args, **kwargs)

    monkeypatch.setattr(pipeline_module, "detect_shifts", failing)
    clock = Clock()
    # The claim that fails is leased first (claims by id), the wheat claim after it.
    pipeline = await make_pipeline(replace(settings_for(server, db_url), claims=(CLAIM, WHEAT)), clock)

    with caplog.at_level(logging.ERROR, logger="watcher.pipeline"):
        await pipeline.cycle(all=True)

    claims = {c.name: c.id for c in await store.list_claims()}
    raised = {(e.claim_id, e.type) for e in await store.list_events()}
    assert (claims[WHEAT.name], EventType.FIRST_SEEN) in raised
    assert not any(claim == claims[CLAIM.name] for claim, _ in raised)
    errors = [r for r in caplog.records if "detecting shifts of claim" in r.getMessage()]
    assert len(errors) == 1 and CLAIM.name in errors[0].getMessage()

    # Readable again: the claim is detected once its lease has ended, and its first alert goes out.
    monkeypatch.setattr(pipeline_module, "detect_shifts", detect_shifts)
    clock.advance(minutes=6)
    await pipeline.detect()
    raised = {(e.claim_id, e.type) for e in await store.list_events()}
    assert (claims[CLAIM.name], EventType.FIRST_SEEN) in raised


async def test_a_batch_in_which_no_article_is_framed_is_kept_to_be_matched_again(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault that may be the framing's, not an article's (no article of the batch framed): nothing is set
    aside, and the articles are matched once it is gone."""
    explain = pipeline_module.explain

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("cannot frame anything")

    monkeypatch.setattr(pipeline_module, "explain", broken)
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url), clock)
    await pipeline.poll(CycleReport(), all=True)
    with pytest.raises(ValueError, match="cannot frame anything"):
        await pipeline.match_pending()
    assert await store.list_matches() == []

    monkeypatch.setattr(pipeline_module, "explain", explain)
    clock.advance(minutes=6)  # the failed batches' leases have ended
    assert await pipeline.match_pending() == 2


async def test_a_round_that_fails_while_feeds_are_polled_is_counted_in_the_cycle_report(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of matching that fails while a slow feed is still answering: its articles stay leased, so the last
    round, which succeeds, does not match them. The cycle says so (``rounds_failed``; poll-once exits 1 on it)
    instead of reading as a cycle that did all its work."""
    slow = SlowFeed(server)
    asked, release = slow.asked, slow.release
    explain = pipeline_module.explain

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("cannot frame anything")

    monkeypatch.setattr(pipeline_module, "explain", broken)
    failures = metrics.UNEXPECTED.labels("process")._value.get()
    settings = settings_for(server, db_url)
    settings = replace(
        settings,
        # Kyiv Post's one article stored first, in one round of its own; the slow feed's last.
        feeds=(settings.feeds[0], slow.spec),
        http=replace(settings.http, total_timeout_s=SlowFeed.HOLD_TIMEOUT_S),  # the test ends the slow answer
    )
    pipeline = await make_pipeline(settings, Clock())
    cycle = asyncio.create_task(pipeline.cycle(all=True))
    try:
        await asyncio.wait_for(asked.wait(), 60)

        async def failed() -> bool:
            return bool(metrics.UNEXPECTED.labels("process")._value.get() > failures)

        await until("a round to fail", failed)
        monkeypatch.setattr(pipeline_module, "explain", explain)  # the last round frames again
    finally:
        release.set()
        report = await asyncio.wait_for(cycle, 120)  # a failure above must not leave the cycle running
    assert report.as_dict()["rounds_failed"] == report.rounds_failed == 1
    # Kyiv Post's article is held by the failed round's lease: the last round matched only the slow feed's.
    assert (report.new_articles, report.matches) == (2, 0) and await store.list_matches() == []
    assert (await store.counts())["articles_pending"] == 1


def test_poll_once_exits_1_when_a_round_of_its_cycle_failed(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit status poll-once gives such a cycle (above: how a real one comes about), for cron and scripts."""

    async def cycle(self: Pipeline, **kwargs: Any) -> CycleReport:
        return CycleReport(feeds_polled=2, new_articles=2, rounds_failed=1)

    monkeypatch.setattr(Pipeline, "cycle", cycle)
    config = tmp_path / "feeds.yaml"
    config.write_text("matching: {model: null}\nfeeds: []\n")
    runner = CliRunner()
    args = ["--config", str(config), "poll-once", "--json"]
    result = runner.invoke(cli, args, env={"WATCHER_DATABASE_URL": sqlite_url})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rounds_failed"] == 1
    assert "error: matching new articles failed in 1 round of this cycle" in result.stderr
