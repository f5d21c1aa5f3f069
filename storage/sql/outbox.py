"""Events and the outbox: events raised per claim, destinations, and the delivery rows that carry them."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from storage.sql.core import SqlBase, insert, lease_free
from storage.sql.rows import to_delivery, to_event, to_event_summary
from storage.tables import claims_t, deliveries_t, destinations_t, events_t, matches_t
from watcher.domain import (
    Delivery,
    DeliveryStatus,
    DeliveryUpdate,
    Destination,
    Event,
    EventDraft,
)
from watcher.errors import NotFoundError
from watcher.notify.retry import RETRY_WINDOW

logger = logging.getLogger("storage.sql")  # one logger name for the whole SQL store

# The reason earlier versions disabled a destination with when a delivery to it met it missing from the
# configuration; such a destination was left disabled, silently, after it was put back.
LEGACY_MISSING = "no longer in the configuration"


def new_event_id(now: datetime) -> str:
    """Time-ordered, unique event id: evt_<ms since epoch, hex><random>."""
    return f"evt_{int(now.timestamp() * 1000):011x}{secrets.token_hex(6)}"


class OutboxQueries(SqlBase):
    """The events, destinations and deliveries tables."""

    # events and destinations

    async def events_for_claim(self, claim_id: int) -> list[Event]:
        q = (
            select(events_t)
            .where(events_t.c.claim_id == claim_id)
            .order_by(events_t.c.created_at, events_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [to_event(r) for r in (await conn.execute(q)).mappings()]

    async def event_summaries_for_claim(self, claim_id: int) -> list[Event]:
        # The trigger time alone of each event's details: the JSON path is compiled for each database.
        q = (
            select(
                events_t.c.id,
                events_t.c.type,
                events_t.c.claim_id,
                events_t.c.details["trigger_at"].label("trigger_at"),
                events_t.c.created_at,
                events_t.c.backfill,
            )
            .where(events_t.c.claim_id == claim_id)
            .order_by(events_t.c.created_at, events_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [to_event_summary(r) for r in (await conn.execute(q)).mappings()]

    async def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        if not ids:
            return []
        q = select(events_t).where(events_t.c.id.in_(sorted(set(ids)))).order_by(events_t.c.id)
        async with self.engine.connect() as conn:
            return [to_event(r) for r in (await conn.execute(q)).mappings()]

    async def record_events(
        self,
        claim_id: int,
        drafts: Sequence[EventDraft],
        destinations: Sequence[Destination],
        now: datetime,
        *,
        detect_again_at: datetime | None = None,
    ) -> list[Event]:
        out: list[Event] = []
        async with self.engine.begin() as conn:
            disabled = set(
                (
                    await conn.execute(
                        select(destinations_t.c.name).where(destinations_t.c.disabled_at.is_not(None))
                    )
                ).scalars()
            )
            ev_stmt = insert(self.dialect, events_t).on_conflict_do_nothing(
                index_elements=["claim_id", "dedupe_key"]
            )
            dl_stmt = insert(self.dialect, deliveries_t).on_conflict_do_nothing(
                index_elements=["event_id", "destination"]
            )
            for d in drafts:
                event_id = new_event_id(d.created_at)
                res = await conn.execute(
                    ev_stmt.values(
                        id=event_id,
                        claim_id=claim_id,
                        type=d.type.value,
                        dedupe_key=d.dedupe_key,
                        summary=d.summary,
                        details=d.details,
                        match_ids=list(d.match_ids),
                        created_at=d.created_at,
                        backfill=d.backfill,
                    )
                )
                if not res.rowcount:
                    continue  # raised before: a re-run never raises an event twice
                for dest in () if d.backfill else destinations:  # backlog events are recorded only
                    if dest.wants(d.type) and dest.name not in disabled:
                        await conn.execute(
                            dl_stmt.values(
                                event_id=event_id,
                                destination=dest.name,
                                status=DeliveryStatus.PENDING.value,
                                attempts=0,
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                out.append(
                    Event(
                        id=event_id,
                        type=d.type,
                        claim_id=claim_id,
                        dedupe_key=d.dedupe_key,
                        summary=d.summary,
                        details=d.details,
                        match_ids=d.match_ids,
                        created_at=d.created_at,
                        backfill=d.backfill,
                    )
                )
            await conn.execute(
                update(matches_t)
                .where(matches_t.c.claim_id == claim_id, matches_t.c.detected_at.is_(None))
                .values(detected_at=now)
            )
            await conn.execute(
                update(claims_t)
                .where(claims_t.c.id == claim_id)
                .values(detect_leased_until=None, detect_due_at=detect_again_at)
            )
        return out

    async def list_events(self, *, claim_id: int | None = None, limit: int = 100) -> list[Event]:
        q = select(events_t).order_by(events_t.c.created_at.desc(), events_t.c.id.desc()).limit(limit)
        if claim_id is not None:
            q = q.where(events_t.c.claim_id == claim_id)
        async with self.engine.connect() as conn:
            return [to_event(r) for r in (await conn.execute(q)).mappings()]

    async def get_event(self, event_id: str) -> Event:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(events_t).where(events_t.c.id == event_id))).mappings().first()
        if row is None:
            raise NotFoundError(f"no event {event_id!r}")
        return to_event(row)

    async def sync_destinations(self, destinations: Sequence[Destination]) -> None:
        """Register new destinations; warn about each configured one that is disabled (an HTTP 410).

        One that an earlier version disabled only for being missing from the configuration is enabled
        again: it is back. (A missing destination is no longer disabled; only its deliveries are cancelled.)
        """
        names = [d.name for d in destinations]
        async with self.engine.begin() as conn:
            known = set((await conn.execute(select(destinations_t.c.name))).scalars())
            for d in destinations:
                if d.name not in known:
                    await conn.execute(destinations_t.insert().values(name=d.name, kind=d.kind))
            await conn.execute(
                update(destinations_t)
                .where(destinations_t.c.name.in_(names), destinations_t.c.disabled_reason == LEGACY_MISSING)
                .values(disabled_at=None, disabled_reason=None)
            )
            disabled = (
                await conn.execute(
                    select(
                        destinations_t.c.name, destinations_t.c.disabled_at, destinations_t.c.disabled_reason
                    )
                    .where(destinations_t.c.name.in_(names), destinations_t.c.disabled_at.is_not(None))
                    .order_by(destinations_t.c.name)
                )
            ).all()
        for name, since, reason in disabled:
            # Configured, yet nothing is queued for it: say so at every start, or alerts just stop.
            logger.warning(
                "destination %s is disabled since %s (%s): no alerts are queued for it; to enable it again, "
                "run `watcher alerts retry ID` with one of its cancelled deliveries "
                "(`watcher alerts list --status cancelled`)",
                name,
                since.isoformat() if since else "?",
                reason or "no reason recorded",
                extra={"destination": name},
            )

    # deliveries

    async def lease_due_deliveries(
        self, now: datetime, limit: int, *, lease_s: float, exclude: Sequence[str] = ()
    ) -> list[Delivery]:
        """Pending deliveries due by ``now`` (but those to the ``exclude`` destinations), leased.

        A next attempt further ahead than the retry window (which no retry outlasts) was written by a clock
        since set back: it is due now."""
        cond = and_(
            deliveries_t.c.status == DeliveryStatus.PENDING.value,
            or_(
                deliveries_t.c.next_attempt_at <= now,
                deliveries_t.c.next_attempt_at > now + RETRY_WINDOW,
            ),
            lease_free(deliveries_t.c.leased_until, now, lease_s),
        )
        if exclude:
            cond = and_(cond, deliveries_t.c.destination.not_in(exclude))
        pick = (
            select(deliveries_t.c.id)
            .where(cond)
            .order_by(deliveries_t.c.next_attempt_at, deliveries_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [
            to_delivery(r) for r in await self._lease(deliveries_t, pick, now + timedelta(seconds=lease_s))
        ]

    async def pending_deliveries(self, destinations: Sequence[str], now: datetime) -> list[Delivery]:
        """Pending, unleased deliveries to ``destinations`` (due or not), for digest planning."""
        free = lease_free(deliveries_t.c.leased_until, now)
        q = (
            select(deliveries_t)
            .where(
                deliveries_t.c.status == DeliveryStatus.PENDING.value,
                deliveries_t.c.destination.in_(destinations),
                free,
            )
            .order_by(deliveries_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [to_delivery(r) for r in (await conn.execute(q)).mappings()]

    async def lease_digest(
        self, ids: Sequence[int], digest_id: str, now: datetime, *, lease_s: float
    ) -> bool:
        """Lease every delivery of a digest and pin them to ``digest_id``; False if another worker has any."""
        free = lease_free(deliveries_t.c.leased_until, now, lease_s)
        pick = (
            select(deliveries_t.c.id)
            .where(deliveries_t.c.id.in_(ids), deliveries_t.c.status == DeliveryStatus.PENDING.value, free)
            .with_for_update(skip_locked=True)
        )
        async with self.engine.begin() as conn:
            got = set((await conn.execute(pick)).scalars())
            if got != set(ids):
                return False
            await conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id.in_(ids))
                .values(leased_until=now + timedelta(seconds=lease_s), digest_id=digest_id)
            )
        return True

    async def claim_delivery(self, delivery: Delivery, now: datetime, *, lease_s: float) -> datetime | None:
        """Renew our lease on a pending delivery just before sending it.

        Returns the new lease end, or None when the lease is no longer ours (it ran out and another
        worker took the delivery) or the delivery is no longer pending (e.g. its destination was
        disabled): the caller must not send it then.
        """
        until = now + timedelta(seconds=lease_s)
        cond = [deliveries_t.c.id == delivery.id, deliveries_t.c.status == DeliveryStatus.PENDING.value]
        if delivery.leased_until is not None:
            cond.append(deliveries_t.c.leased_until == delivery.leased_until)
        async with self.engine.begin() as conn:
            res = await conn.execute(update(deliveries_t).where(*cond).values(leased_until=until))
        return until if res.rowcount == 1 else None

    async def update_delivery(
        self, delivery_id: int, outcome: DeliveryUpdate, *, lease: datetime | None = None
    ) -> bool:
        """Record an attempt's outcome on a pending delivery (held under ``lease``, when given).

        Returns False, changing nothing, when the delivery is no longer pending or no longer ours.
        """
        cond = [deliveries_t.c.id == delivery_id, deliveries_t.c.status == DeliveryStatus.PENDING.value]
        if lease is not None:
            cond.append(deliveries_t.c.leased_until == lease)
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(deliveries_t)
                .where(*cond)
                .values(
                    status=outcome.status.value,
                    attempts=outcome.attempts,
                    next_attempt_at=outcome.next_attempt_at,
                    last_error=outcome.last_error,
                    last_status=outcome.last_status,
                    delivered_at=outcome.delivered_at,
                    leased_until=None,
                )
            )
        return res.rowcount == 1

    async def disable_destination(self, name: str, reason: str, now: datetime) -> int:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(destinations_t)
                .where(destinations_t.c.name == name)
                .values(disabled_at=now, disabled_reason=reason)
            )
            res = await conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.destination == name, deliveries_t.c.status == DeliveryStatus.PENDING.value
                )
                .values(status=DeliveryStatus.CANCELLED.value, last_error=reason, leased_until=None)
            )
            return res.rowcount or 0

    async def enable_destination(self, name: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(destinations_t)
                .where(destinations_t.c.name == name)
                .values(disabled_at=None, disabled_reason=None)
            )

    async def list_deliveries(
        self, *, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[Delivery]:
        q = select(deliveries_t).order_by(deliveries_t.c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(deliveries_t.c.status == status.value)
        async with self.engine.connect() as conn:
            return [to_delivery(r) for r in (await conn.execute(q)).mappings()]

    async def get_delivery(self, delivery_id: int) -> Delivery:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(deliveries_t).where(deliveries_t.c.id == delivery_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return to_delivery(row)

    async def retry_delivery(self, delivery_id: int, now: datetime) -> Delivery:
        """Make a dead, cancelled or pending delivery due now, with a fresh retry schedule.

        It counts as queued now (``created_at``): its retry window starts again.
        """
        await self.get_delivery(delivery_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.id == delivery_id, deliveries_t.c.status != DeliveryStatus.DELIVERED.value
                )
                .values(
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    leased_until=None,
                    created_at=now,
                )
            )
        return await self.get_delivery(delivery_id)
