"""The outbox: send the deliveries that are due, and digests, and record what each send did."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from storage import Store
from watcher import metrics
from watcher.domain import Delivery, DeliveryStatus, DeliveryUpdate, Destination, utcnow
from watcher.notify.digest import plan_digests
from watcher.notify.payload import EventBundle
from watcher.notify.render import render_digest_for, render_for
from watcher.notify.retry import SendResult, apply_outcome
from watcher.outbox.sender import Sender

logger = logging.getLogger(__name__)

T = TypeVar("T")

LEASE_AGAIN_S = 1.0
MISSING_FROM_CONFIG = "destination no longer in the configuration"


class Outbox:
    """Delivers what detection queued: due deliveries and digests, each sent and its outcome recorded.

    At least once, with a stable id: a delivery is leased, then claimed right before its send, and the
    outcome is written only on a row that is still ours. The outcome write runs to its end even when the
    caller is cancelled, so a shutdown never loses the record of a send that happened.
    """

    def __init__(
        self,
        store: Store,
        sender: Sender,
        destinations: Iterable[Destination],
        clock: Callable[[], datetime] = utcnow,
        *,
        lease_s: float,
        public_url: str | None = None,
        lease_again_s: float = LEASE_AGAIN_S,
    ) -> None:
        """:param lease_s: how long a worker holds the deliveries it leased before another may take them.
        :param public_url: the daemon's address for people; alerts then link to the claim's report.
        :param lease_again_s: while some destination's queue is still being sent, how often to look for
            deliveries that fell due for the others."""
        self.store = store
        self.sender = sender
        self.destinations = {d.name: d for d in destinations}
        self.clock = clock
        self.lease_s = lease_s
        self.public_url = public_url
        self.lease_again_s = lease_again_s
        self._lock = asyncio.Lock()
        self._rng = random.Random()

    async def deliver_due(self, limit: int = 100) -> tuple[int, int]:
        """Send every delivery that is due. Returns (delivered, failed attempts).

        Destinations are served concurrently and independently: each has its own queue, leased again as
        soon as it is done, so a slow or hung receiver holds back only its own deliveries. Within a
        destination deliveries go one after another: Slack is paced at one message per second per URL and
        a queue must not outlive its lease. Destinations with a digest get their due events batched into
        one message.
        """
        if self._lock.locked():
            return 0, 0  # the other delivery job of this process is at it
        async with self._lock:
            return await self._deliver_due(limit)

    async def _deliver_due(self, limit: int) -> tuple[int, int]:
        delivered, failed = await self.deliver_digests()
        digests = [d.name for d in self.destinations.values() if d.digest_minutes > 0]
        busy: dict[str, asyncio.Task[list[bool]]] = {}
        # Destinations whose last queue sent nothing: their retries are scheduled later; don't spin.
        resting: set[str] = set()
        async with asyncio.TaskGroup() as workers:
            while True:
                due = await self.store.lease_due_deliveries(
                    self.clock(), limit, lease_s=self.lease_s, exclude=[*digests, *busy, *resting]
                )
                for name, queue in _by_destination(due).items():
                    busy[name] = workers.create_task(self._deliver_queue(queue), name=f"deliver to {name}")
                if not busy:
                    return delivered, failed
                # Lease again when a queue is done, and now and then meanwhile: deliveries queued since
                # for destinations that are idle must not wait for a busy one.
                await asyncio.wait(
                    busy.values(), timeout=self.lease_again_s, return_when=asyncio.FIRST_COMPLETED
                )
                for name, task in list(busy.items()):
                    if task.done():
                        del busy[name]
                        outcomes = task.result()
                        delivered += sum(outcomes)
                        failed += len(outcomes) - sum(outcomes)
                        if not any(outcomes):
                            resting.add(name)

    async def deliver_digests(self) -> tuple[int, int]:
        """Send the digests that are due (see notify.digest.plan_digests). Returns (delivered, failed)."""
        digest_dests = {n: d for n, d in self.destinations.items() if d.digest_minutes > 0}
        if not digest_dests:
            return 0, 0
        now = self.clock()
        pending = await self.store.pending_deliveries(list(digest_dests), now)
        delivered = failed = 0
        for batch in plan_digests(pending, digest_dests, now):
            ids = [d.id for d in batch.deliveries]
            if not await self.store.lease_digest(ids, batch.digest_id, now, lease_s=self.lease_s):
                continue  # another worker is sending it
            try:
                ok = await self._send_digest(
                    digest_dests[batch.destination], batch.digest_id, batch.deliveries
                )
            except Exception:
                metrics.UNEXPECTED.labels("deliver").inc()
                logger.exception("unexpected error sending digest %s", batch.digest_id)
                ok = False
            delivered += len(ids) if ok else 0
            failed += 0 if ok else len(ids)
        return delivered, failed

    async def _send_digest(self, dest: Destination, digest_id: str, deliveries: Sequence[Delivery]) -> bool:
        bundles = []
        for d in deliveries:
            event = await self.store.get_event(d.event_id)
            claim = await self.store.get_claim(event.claim_id, include_deleted=True)
            bundles.append(
                EventBundle(
                    event=event, claim=claim, matches=tuple(await self.store.matches_by_id(event.match_ids))
                )
            )
        body = render_digest_for(dest, bundles, public_url=self.public_url)
        result = await self.sender.send(dest, body, message_id=digest_id, now=utcnow())

        label = f"digest {digest_id} ({len(deliveries)} events)"
        return await _finish_even_if_cancelled(self._record_outcome(deliveries, dest, result, label=label))

    async def _deliver_queue(self, queue: Sequence[Delivery]) -> list[bool]:
        return [await self._guarded_deliver(d) for d in queue]

    async def _guarded_deliver(self, delivery: Delivery) -> bool:
        try:
            return await self.deliver(delivery)
        except Exception:
            metrics.UNEXPECTED.labels("deliver").inc()
            logger.exception(
                "unexpected error delivering %s", delivery.id, extra={"delivery_id": delivery.id}
            )
            return False

    async def deliver(self, delivery: Delivery) -> bool:
        """Send one delivery and record the outcome (retry schedule, dead, or destination disabled)."""
        dest = self.destinations.get(delivery.destination)
        if dest is None:
            # Only this delivery is cancelled: the destination is not disabled, so that putting it back in
            # the configuration (same name) is all it takes for new alerts to reach it again.
            cancel = DeliveryUpdate(
                status=DeliveryStatus.CANCELLED,
                attempts=delivery.attempts,
                next_attempt_at=None,
                last_error=MISSING_FROM_CONFIG,
                last_status=None,
            )
            if await self.store.update_delivery(delivery.id, cancel, lease=delivery.leased_until):
                logger.warning(
                    "delivery %s cancelled: destination %s is no longer in the configuration",
                    delivery.id,
                    delivery.destination,
                    extra={"delivery_id": delivery.id, "destination": delivery.destination},
                )
            return False
        lease = await self.store.claim_delivery(delivery, self.clock(), lease_s=self.lease_s)
        if lease is None:
            # Our lease ran out and another worker took it, or the destination was disabled meanwhile.
            logger.info(
                "delivery %s skipped: no longer ours to send", delivery.id, extra={"delivery_id": delivery.id}
            )
            return False
        event = await self.store.get_event(delivery.event_id)
        claim = await self.store.get_claim(event.claim_id, include_deleted=True)
        matches = await self.store.matches_by_id(event.match_ids)
        body = render_for(dest, event, claim, matches, public_url=self.public_url)
        # Signatures carry the real time of the attempt (receivers check it against their clocks).
        result = await self.sender.send(dest, body, message_id=event.id, now=utcnow())
        ok = await _finish_even_if_cancelled(
            self._record_outcome([delivery], dest, result, label=event.id, lease=lease)
        )
        if ok and matches:
            first = min(m.article.first_seen_at for m in matches)
            metrics.DELIVERY_LATENCY.observe((self.clock() - first).total_seconds())
        return ok

    async def _record_outcome(
        self,
        deliveries: Sequence[Delivery],
        dest: Destination,
        result: SendResult,
        *,
        label: str,
        lease: datetime | None = None,
    ) -> bool:
        """Record one send's outcome on the deliveries it carried (one event, or a digest's), and log it
        in one line: a digest is one message, and so is its outcome."""
        now = self.clock()
        updates = [apply_outcome(d, result, now, self._rng) for d in deliveries]
        lost = 0
        for delivery, update in zip(deliveries, updates, strict=True):
            if not await self.store.update_delivery(delivery.id, update, lease=lease):
                lost += 1
            metrics.DELIVERIES.labels(update.status.value).inc()
        update = updates[0]
        extra = {
            "delivery_id": deliveries[0].id,
            "destination": dest.name,
            "status": result.status,
            "attempt": update.attempts,
        }
        if lost:
            logger.warning(
                "%s to %s: outcome not recorded on %d of %d deliveries, changed meanwhile (no longer ours)",
                label,
                dest.name,
                lost,
                len(deliveries),
                extra=extra,
            )
        if update.status is DeliveryStatus.DELIVERED:
            logger.info("delivered %s to %s (attempt %d)", label, dest.name, update.attempts, extra=extra)
            return True
        if update.disable_destination:
            # Once per send, after its own deliveries are recorded: the rest of a digest is not "other
            # pending deliveries", and their outcomes must not race the cancellation.
            n = await self.store.disable_destination(dest.name, update.last_error or "disabled", self.clock())
            logger.warning(
                "destination %s is gone and now disabled: it answered %s with %s; %d other pending "
                "deliveries cancelled; `watcher alerts retry ID` enables it again",
                dest.name,
                label,
                update.last_error or f"HTTP {result.status}",
                n,
                extra=extra,
            )
            return False
        logger.warning(
            "delivery %s to %s failed (attempt %d, now %s): %s",
            label,
            dest.name,
            update.attempts,
            update.status.value,
            update.last_error,
            extra=extra,
        )
        return False


def _by_destination(deliveries: Iterable[Delivery]) -> dict[str, list[Delivery]]:
    queues: dict[str, list[Delivery]] = {}
    for d in deliveries:
        queues.setdefault(d.destination, []).append(d)
    return queues


async def requeue(store: Store, delivery_id: int, now: datetime) -> Delivery:
    """Make a delivery due again at ``now``; a cancelled one re-enables its destination first."""
    delivery = await store.get_delivery(delivery_id)
    if delivery.status is DeliveryStatus.CANCELLED:
        await store.enable_destination(delivery.destination)
    return await store.retry_delivery(delivery_id, now)


async def _finish_even_if_cancelled(work: Awaitable[T]) -> T:
    """Await ``work`` to its end: a cancellation waits for it to finish, then goes on.

    The send it records has happened; losing its outcome would send it again after the lease.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
