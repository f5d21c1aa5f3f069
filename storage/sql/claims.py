"""Claims and matches: the claims table (CRUD, config sync, detection leases) and the matches found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.base import SyncReport
from storage.sql.core import SqlBase, insert
from storage.sql.rows import ARTICLE_COLS, to_claim, to_match
from storage.tables import articles_t, claims_t, feeds_t, matches_t
from watcher.domain import Claim, ClaimSpec, ClaimStatus, Framing, Match, MatchScore
from watcher.errors import ConflictError, NotFoundError, StorageError

_INT64_MAX = 2**63 - 1


def _claim_refused(exc: IntegrityError, claim: Claim) -> StorageError:
    """What a refused claim write means: its threshold out of range (NaN included), or its name taken."""
    if "threshold_range" in str(exc.orig):
        return StorageError(f"claim {claim.name!r}: the threshold must be a number from 0 to 1")
    return ConflictError(f"a claim named {claim.name!r} already exists")


def _match_query() -> Select[Any]:
    """Matches with their claim's name and their article (what rows.to_match reads)."""
    return select(
        matches_t.c.id.label("match_id"),
        matches_t.c.claim_id,
        claims_t.c.name.label("claim_name"),
        matches_t.c.score,
        matches_t.c.lexical,
        matches_t.c.semantic,
        matches_t.c.stance,
        matches_t.c.skepticism,
        matches_t.c.cues,
        matches_t.c.evidence,
        matches_t.c.matched_at,
        *ARTICLE_COLS,
    ).select_from(
        matches_t.join(claims_t, claims_t.c.id == matches_t.c.claim_id)
        .join(articles_t, articles_t.c.id == matches_t.c.article_id)
        .join(feeds_t, feeds_t.c.id == articles_t.c.feed_id)
    )


class ClaimQueries(SqlBase):
    """The claims table and the matches table."""

    # claims

    async def sync_claims(self, specs: Sequence[ClaimSpec], *, now: datetime) -> SyncReport:
        added = updated = 0
        async with self.engine.begin() as conn:
            rows = {r["name"]: r for r in (await conn.execute(select(claims_t))).mappings()}
            for s in specs:
                values = {
                    "text": s.text,
                    "keywords": list(s.keywords),
                    "threshold": s.threshold,
                    "status": s.status,
                    "language": s.language,
                }
                row = rows.get(s.name)
                if row is None:
                    await conn.execute(
                        claims_t.insert().values(
                            name=s.name, source="config", created_at=now, updated_at=now, **values
                        )
                    )
                    added += 1
                elif row["deleted_at"] is None and any(row[k] != v for k, v in values.items()):
                    await conn.execute(
                        update(claims_t).where(claims_t.c.id == row["id"]).values(updated_at=now, **values)
                    )
                    updated += 1
        return SyncReport(added=added, updated=updated)

    async def add_claim(self, claim: Claim, *, now: datetime, source: str = "cli") -> Claim:
        try:
            async with self.engine.begin() as conn:
                res = await conn.execute(
                    claims_t.insert()
                    .values(
                        name=claim.name,
                        text=claim.text,
                        keywords=list(claim.keywords),
                        threshold=claim.threshold,
                        status=claim.status.value,
                        language=claim.language,
                        source=source,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(claims_t.c.id)
                )
                claim_id = res.scalar_one()
        except IntegrityError as exc:
            raise _claim_refused(exc, claim) from None
        return await self.get_claim(claim_id)

    async def get_claim(self, ref: str | int, *, include_deleted: bool = False) -> Claim:
        if (isinstance(ref, int) or str(ref).isdigit()) and not 0 < int(ref) <= _INT64_MAX:
            raise NotFoundError(f"no claim {str(ref)[:40]!r}: an id is a number from 1 to {_INT64_MAX}")
        cond = (
            claims_t.c.id == int(ref)
            if isinstance(ref, int) or str(ref).isdigit()
            else claims_t.c.name == ref
        )
        if not include_deleted:
            cond = and_(cond, claims_t.c.deleted_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(claims_t).where(cond))).mappings().first()
        if row is None:
            raise NotFoundError(f"no claim {ref!r} (give its id or name; see `watcher claims list`)")
        return to_claim(row)

    async def list_claims(self, *, status: ClaimStatus | None = None) -> list[Claim]:
        q = select(claims_t).where(claims_t.c.deleted_at.is_(None)).order_by(claims_t.c.id)
        if status is not None:
            q = q.where(claims_t.c.status == status.value)
        async with self.engine.connect() as conn:
            return [to_claim(r) for r in (await conn.execute(q)).mappings()]

    async def update_claim(self, claim: Claim, *, now: datetime) -> Claim:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(claims_t)
                    .where(claims_t.c.id == claim.id)
                    .values(
                        name=claim.name,
                        text=claim.text,
                        keywords=list(claim.keywords),
                        threshold=claim.threshold,
                        status=claim.status.value,
                        language=claim.language,
                        updated_at=now,
                    )
                )
        except IntegrityError as exc:
            raise _claim_refused(exc, claim) from None
        return await self.get_claim(claim.id)

    async def remove_claim(self, claim_id: int, *, now: datetime) -> None:
        """Hide the claim and free its name: it is renamed NAME~ID (with more ``~`` while that is taken)."""
        async with self.engine.begin() as conn:
            name = (await conn.execute(select(claims_t.c.name).where(claims_t.c.id == claim_id))).scalar_one()
            hidden = f"{name}~{claim_id}"
            while (await conn.execute(select(claims_t.c.id).where(claims_t.c.name == hidden))).first():
                hidden += "~"
            await conn.execute(
                update(claims_t)
                .where(claims_t.c.id == claim_id)
                .values(deleted_at=now, status=ClaimStatus.PAUSED.value, name=hidden)
            )

    async def lease_claims_to_detect(self, now: datetime, *, lease_s: float) -> list[Claim]:
        pending = select(matches_t.c.claim_id).where(matches_t.c.detected_at.is_(None)).distinct()
        free = or_(claims_t.c.detect_leased_until.is_(None), claims_t.c.detect_leased_until < now)
        pick = (
            select(claims_t.c.id)
            .where(claims_t.c.id.in_(pending), claims_t.c.deleted_at.is_(None), free)
            .order_by(claims_t.c.id)
            .with_for_update(skip_locked=True)
        )
        until = now + timedelta(seconds=lease_s)
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(
                update(claims_t).where(claims_t.c.id.in_(ids)).values(detect_leased_until=until)
            )
            rows = (
                await conn.execute(select(claims_t).where(claims_t.c.id.in_(ids)).order_by(claims_t.c.id))
            ).mappings()
            return [to_claim(r) for r in rows]

    # matches

    async def save_matches(
        self, article_ids: Sequence[int], results: Sequence[tuple[MatchScore, Framing]], now: datetime
    ) -> int:
        async with self.engine.begin() as conn:
            inserted = 0
            if results:
                story = dict(
                    (
                        await conn.execute(
                            select(articles_t.c.id, articles_t.c.story_id).where(
                                articles_t.c.id.in_({m.article_id for m, _ in results})
                            )
                        )
                    ).all()
                )
                stmt = insert(self.dialect, matches_t).on_conflict_do_nothing(
                    index_elements=["claim_id", "article_id"]
                )
                for m, f in results:
                    res = await conn.execute(
                        stmt.values(
                            claim_id=m.claim_id,
                            article_id=m.article_id,
                            story_id=story.get(m.article_id) or m.article_id,
                            score=m.score,
                            lexical=m.lexical,
                            semantic=m.semantic,
                            stance=f.stance.value,
                            skepticism=f.skepticism,
                            cues=[{"kind": c.kind, "text": c.text} for c in f.cues],
                            evidence=list(m.evidence),
                            matched_at=now,
                        )
                    )
                    inserted += res.rowcount or 0
            if article_ids:
                await conn.execute(
                    update(articles_t)
                    .where(articles_t.c.id.in_(article_ids))
                    .values(processed_at=now, leased_until=None)
                )
        return inserted

    async def list_matches(self, *, claim_id: int | None = None, limit: int = 100) -> list[Match]:
        q = _match_query()
        if claim_id is not None:
            q = q.where(matches_t.c.claim_id == claim_id)
        q = q.order_by(matches_t.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [to_match(r) for r in (await conn.execute(q)).mappings()]

    async def matches_for_claim(self, claim_id: int) -> list[Match]:
        q = _match_query().where(matches_t.c.claim_id == claim_id).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return [to_match(r) for r in (await conn.execute(q)).mappings()]

    async def matches_by_id(self, ids: Sequence[int]) -> list[Match]:
        if not ids:
            return []
        q = _match_query().where(matches_t.c.id.in_(ids)).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return [to_match(r) for r in (await conn.execute(q)).mappings()]
