"""The database holds claims to what the CLI and feeds.yaml check: a threshold from 0 to 1, never NaN."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.exc import IntegrityError

from storage.sql import SqlStore
from watcher.domain import Claim, ClaimSpec, utcnow
from watcher.errors import ConflictError, NotFoundError, StorageError


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -0.1, 1.5])
async def test_the_database_refuses_a_threshold_out_of_range(store: SqlStore, threshold: float) -> None:
    claim = Claim(id=0, name="a", text="NATO ammunition", threshold=threshold)
    if math.isnan(threshold) and store.engine.dialect.name == "sqlite":
        # SQLite stores a NaN as NULL: the claim gets the default threshold, never a NaN one.
        assert (await store.add_claim(claim, now=utcnow())).threshold is None
        return
    with pytest.raises(StorageError, match="threshold must be a number from 0 to 1"):
        await store.add_claim(claim, now=utcnow())
    good = await store.add_claim(Claim(id=0, name="b", text="NATO ammunition", threshold=0.5), now=utcnow())
    with pytest.raises(StorageError, match="threshold must be a number from 0 to 1"):
        await store.update_claim(
            Claim(id=good.id, name="b", text="NATO ammo", threshold=threshold), now=utcnow()
        )
    with pytest.raises(IntegrityError):  # feeds.yaml never gets this far: config validation refuses it
        await store.sync_claims(
            [ClaimSpec(name="c", text="NATO ammunition", threshold=threshold)], now=utcnow()
        )
    assert [c.threshold for c in await store.list_claims()] == [0.5]


async def test_a_taken_name_is_a_conflict(store: SqlStore) -> None:
    await store.add_claim(Claim(id=0, name="a", text="NATO ammunition"), now=utcnow())
    with pytest.raises(ConflictError, match="already exists"):
        await store.add_claim(Claim(id=0, name="a", text="NATO ammunition"), now=utcnow())


@pytest.mark.parametrize("ref", ["99999999999999999999", 2**63, "0", "9" * 5000, "0" * 5000])
async def test_ids_beyond_int64_are_not_found(store: SqlStore, ref: str | int) -> None:
    with pytest.raises(NotFoundError, match="an id is a number from 1 to 9223372036854775807"):
        await store.get_claim(ref, include_deleted=True)


@pytest.mark.parametrize("ref", ["\u00b2", "\u0661", "\u2460"])
async def test_an_id_in_other_digits_is_no_claim_not_a_crash(store: SqlStore, ref: str) -> None:
    await store.add_claim(Claim(id=0, name="a", text="NATO ammunition"), now=utcnow())
    with pytest.raises(NotFoundError):
        await store.get_claim(ref, include_deleted=True)


async def test_remove_frees_the_name_even_when_the_hidden_name_is_taken(store: SqlStore) -> None:
    now = utcnow()
    stop = await store.add_claim(Claim(id=0, name="stop", text="NATO ammunition"), now=now)
    await store.add_claim(Claim(id=0, name=f"stop~{stop.id}", text="NATO shells"), now=now)
    await store.remove_claim(stop.id, now=now)
    hidden = await store.get_claim(stop.id, include_deleted=True)
    assert hidden.name == f"stop~{stop.id}~"
    assert (await store.add_claim(Claim(id=0, name="stop", text="NATO ammunition"), now=now)).name == "stop"
