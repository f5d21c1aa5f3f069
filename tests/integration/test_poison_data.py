"""Data the pipeline cannot read holds up only itself. One article that the matcher or the framing cannot read:
the rest of its batch is matched in the same cycle, and it is set aside with an error naming it, not leased again
and failing at every lease. One claim whose detection fails: the other claims' alerts are raised in the same
cycle, and it is tried again when its lease ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

import watcher.pipeline as pipeline_module
from storage.sql import SqlStore
from tests.integration.test_pipeline import settings_for
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.stories import CLAIM, DENIAL, STRAIGHT, fresh, rss
from watcher import metrics
from watcher.config import ClaimSpec
from watcher.domain import EventType
from watcher.pipeline import CycleReport

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
