"""Claims and matches: the claims table (CRUD, config sync, detection leases) and the matches found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, Select, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import SyncReport
from storage.sql.articles import load_versions
from storage.sql.core import SqlBase, insert, lease_free
from storage.sql.rows import (
    ARTICLE_COLS,
    ARTICLE_SUMMARY_COLS,
    to_claim,
    to_match,
    to_match_revision,
)
from storage.tables import articles_t, claim_pauses_t, claims_t, feeds_t, match_revisions_t, matches_t
from watcher.domain import (
    Claim,
    ClaimPause,
    ClaimSpec,
    ClaimStatus,
    Framing,
    Match,
    MatchRevision,
    MatchScore,
    folded_name,
)
from watcher.errors import ConflictError, NotFoundError, StorageError

_INT64_MAX = 2**63 - 1


async def _name_taken(conn: AsyncConnection, name: str, claim_id: int | None = None) -> None:
    """Refuse a claim name that another claim has in other letter case ("NATO-ammo" beside "nato-ammo"): the two
    would share one report file where file names ignore case, and one name when typed. Names are folded here, not
    by the database's lower(), which follows its locale ("I" is not "i" under a Turkish one)."""
    for other_id, other in await _names_like(conn, name):
        if other != name and other_id != claim_id:
            raise ConflictError(f"a claim named {other!r} already exists (names are compared ignoring case)")


async def _names_like(conn: AsyncConnection, name: str, *, live: bool = False) -> list[tuple[int, str]]:
    """The (id, name) of the claims whose name is ``name`` in any letter case (folded_name); with ``live``, not removed
    ones."""
    folded = folded_name(name)
    if folded is None:
        return []
    q = select(claims_t.c.id, claims_t.c.name)
    if live:
        q = q.where(claims_t.c.deleted_at.is_(None))
    return [(i, n) for i, n in await conn.execute(q) if folded_name(n) == folded]


def _claim_refused(exc: IntegrityError, claim: Claim) -> StorageError:
    """What a refused claim write means: its threshold out of range (NaN included), or its name taken."""
    if "threshold_range" in str(exc.orig):
        return StorageError(f"claim {claim.name!r}: the threshold must be a number from 0 to 1")
    return ConflictError(f"a claim named {claim.name!r} already exists")


async def _status_changed(
    conn: AsyncConnection, claim_id: int, before: str | None, after: str, now: datetime
) -> None:
    """Keep the claim's pauses (see ``Claim.pauses``): pausing it at ``now`` opens one, resuming closes the one
    open. ``before``: its stored status, None for a new claim."""
    if after == before:
        return
    if after == ClaimStatus.PAUSED.value:
        await conn.execute(claim_pauses_t.insert().values(claim_id=claim_id, paused_at=now))
    elif before == ClaimStatus.PAUSED.value:
        await conn.execute(
            update(claim_pauses_t)
            .where(claim_pauses_t.c.claim_id == claim_id, claim_pauses_t.c.resumed_at.is_(None))
            .values(resumed_at=now)
        )


async def _claims_of(conn: AsyncConnection, rows: Sequence[RowMapping]) -> list[Claim]:
    """Claims from their rows, each with its pauses (one query for all)."""
    claims = [to_claim(r) for r in rows]
    if not claims:
        return claims
    q = (
        select(claim_pauses_t)
        .where(claim_pauses_t.c.claim_id.in_([c.id for c in claims]))
        .order_by(claim_pauses_t.c.paused_at, claim_pauses_t.c.id)
    )
    pauses: dict[int, list[ClaimPause]] = {}
    for p in (await conn.execute(q)).mappings():
        pauses.setdefault(p["claim_id"], []).append(
            ClaimPause(paused_at=p["paused_at"], resumed_at=p["resumed_at"])
        )
    return [replace(c, pauses=tuple(pauses[c.id])) if c.id in pauses else c for c in claims]


def _match_query(*, summary: bool = False) -> Select[Any]:
    """Matches with their claim's name and their article (what rows.to_match reads); with ``summary``, without
    the cues and the article's text, URLs and content hash (read as empty)."""
    return select(
        matches_t.c.id.label("match_id"),
        matches_t.c.claim_id,
        claims_t.c.name.label("claim_name"),
        matches_t.c.score,
        matches_t.c.lexical,
        matches_t.c.semantic,
        matches_t.c.stance,
        matches_t.c.skepticism,
        *(() if summary else (matches_t.c.cues,)),
        matches_t.c.evidence,
        matches_t.c.matched_at,
        matches_t.c.version.label("match_version"),
        matches_t.c.unmatched_at,
        *(ARTICLE_SUMMARY_COLS if summary else ARTICLE_COLS),
    ).select_from(
        matches_t.join(claims_t, claims_t.c.id == matches_t.c.claim_id)
        .join(articles_t, articles_t.c.id == matches_t.c.article_id)
        .join(feeds_t, feeds_t.c.id == articles_t.c.feed_id)
    )


async def _read_matches(conn: AsyncConnection, q: Select[Any]) -> list[Match]:
    """The matches ``q`` selects, the versions of their revised articles attached."""
    matches = [to_match(r) for r in (await conn.execute(q)).mappings()]
    versions = await load_versions(conn, [m.article.id for m in matches if m.article.version > 1])
    if not versions:
        return matches
    return [
        replace(m, article=replace(m.article, versions=versions[m.article.id]))
        if m.article.id in versions
        else m
        for m in matches
    ]


class ClaimQueries(SqlBase):
    """The claims table and the matches table."""

    # claims

    async def sync_claims(self, specs: Sequence[ClaimSpec], *, now: datetime) -> SyncReport:
        added = updated = 0
        async with self.engine.begin() as conn:
            found = list((await conn.execute(select(claims_t))).mappings())
            rows = {r["name"]: r for r in found}
            # A claim stored as "NATO-ammo" (by the CLI) is feeds.yaml's "nato-ammo": the file's spelling wins.
            folded = {folded_name(r["name"]): r for r in found if r["deleted_at"] is None}
            folded.pop(None, None)  # a name that is not ASCII is compared as written
            for s in specs:
                values = {
                    "text": s.text,
                    "keywords": list(s.keywords),
                    "threshold": s.threshold,
                    "status": s.status,
                    "language": s.language,
                }
                row = rows.get(s.name) or folded.get(folded_name(s.name))
                if row is not None and row["name"] != s.name:
                    values["name"] = s.name
                if row is None:
                    res = await conn.execute(
                        claims_t.insert()
                        .values(name=s.name, source="config", created_at=now, updated_at=now, **values)
                        .returning(claims_t.c.id)
                    )
                    await _status_changed(conn, res.scalar_one(), None, s.status, now)
                    added += 1
                elif row["deleted_at"] is None and any(row[k] != v for k, v in values.items()):
                    await conn.execute(
                        update(claims_t).where(claims_t.c.id == row["id"]).values(updated_at=now, **values)
                    )
                    await _status_changed(conn, row["id"], row["status"], s.status, now)
                    updated += 1
        return SyncReport(added=added, updated=updated)

    async def add_claim(self, claim: Claim, *, now: datetime, source: str = "cli") -> Claim:
        try:
            async with self.engine.begin() as conn:
                await _name_taken(conn, claim.name)
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
                await _status_changed(conn, claim_id, None, claim.status.value, now)
        except IntegrityError as exc:
            raise _claim_refused(exc, claim) from None
        return await self.get_claim(claim_id)

    async def get_claim(self, ref: str | int, *, include_deleted: bool = False) -> Claim:
        # An id is written in the digits 0-9: "²" or "١" pass str.isdigit() but int() refuses the first, and no name
        # is all digits (claim_name_problem).
        if not isinstance(ref, int) and ref.isdigit() and not ref.isascii():
            raise NotFoundError(f"no claim {ref[:40]!r}: an id is written in the digits 0-9")
        numeric = isinstance(ref, int) or ref.isdigit()
        # int() refuses a string of more than 4,300 digits (leading zeros included), and no id has more than 19.
        digits = ref if isinstance(ref, int) else ref.lstrip("0")[:20] or "0"
        if numeric and not 0 < int(digits) <= _INT64_MAX:
            raise NotFoundError(f"no claim {str(ref)[:40]!r}: an id is a number from 1 to {_INT64_MAX}")
        cond = claims_t.c.id == int(digits) if numeric else claims_t.c.name == ref
        if not include_deleted:
            cond = and_(cond, claims_t.c.deleted_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(claims_t).where(cond))).mappings().first()
            if row is None and isinstance(ref, str) and not numeric:
                # "NATO-Ammo" finds "nato-ammo": names are compared ignoring case
                alike = await _names_like(conn, ref, live=True)
                if len(alike) > 1:
                    raise NotFoundError(
                        f"no claim {ref!r}: {len(alike)} claims have that name in other letter case; give the id "
                        "or the exact name (see `watcher claims list`)"
                    )
                if alike:
                    row = (
                        (await conn.execute(select(claims_t).where(claims_t.c.id == alike[0][0])))
                        .mappings()
                        .first()
                    )
            if row is None:
                raise NotFoundError(f"no claim {ref!r} (give its id or name; see `watcher claims list`)")
            (claim,) = await _claims_of(conn, [row])
        return claim

    async def list_claims(self, *, status: ClaimStatus | None = None) -> list[Claim]:
        q = select(claims_t).where(claims_t.c.deleted_at.is_(None)).order_by(claims_t.c.id)
        if status is not None:
            q = q.where(claims_t.c.status == status.value)
        async with self.engine.connect() as conn:
            return await _claims_of(conn, list((await conn.execute(q)).mappings()))

    async def update_claim(self, claim: Claim, *, now: datetime) -> Claim:
        try:
            async with self.engine.begin() as conn:
                stored = select(claims_t.c.name, claims_t.c.status).where(claims_t.c.id == claim.id)
                name, status = (await conn.execute(stored)).first() or (None, None)
                if name != claim.name:
                    await _name_taken(conn, claim.name, claim.id)  # a rename; not an edit of a name kept
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
                if status is not None:
                    await _status_changed(conn, claim.id, status, claim.status.value, now)
        except IntegrityError as exc:
            raise _claim_refused(exc, claim) from None
        return await self.get_claim(claim.id)

    async def claim_observed(self, claim_id: int, since: datetime | None, until: datetime) -> None:
        pauses = claim_pauses_t.c
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(claim_pauses_t).where(pauses.claim_id == claim_id).with_for_update()
                )
            ).mappings()
            for row in list(rows):
                paused_at, resumed_at = row["paused_at"], row["resumed_at"]
                before = since is not None and paused_at < since  # a part before the span stays a hole
                after = resumed_at is None or resumed_at > until  # so does a part after it
                if paused_at >= until or (
                    since is not None and resumed_at is not None and resumed_at <= since
                ):
                    continue  # outside the span
                this = update(claim_pauses_t).where(pauses.id == row["id"])
                if before:
                    await conn.execute(this.values(resumed_at=since))
                    if after:
                        await conn.execute(
                            claim_pauses_t.insert().values(
                                claim_id=claim_id, paused_at=until, resumed_at=resumed_at
                            )
                        )
                elif after:
                    await conn.execute(this.values(paused_at=until))
                else:
                    await conn.execute(claim_pauses_t.delete().where(pauses.id == row["id"]))

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
        due = or_(claims_t.c.id.in_(pending), claims_t.c.detect_due_at <= now)
        free = lease_free(claims_t.c.detect_leased_until, now, lease_s)
        pick = (
            select(claims_t.c.id)
            .where(due, claims_t.c.deleted_at.is_(None), free)
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
            return await _claims_of(conn, list(rows))

    # matches

    async def save_matches(
        self,
        article_ids: Sequence[int],
        results: Sequence[tuple[MatchScore, Framing]],
        now: datetime,
        *,
        revisions: Sequence[MatchRevision] = (),
        versions: Mapping[int, int] | None = None,
    ) -> int:
        async with self.engine.begin() as conn:
            inserted = 0
            if results:
                found = (
                    await conn.execute(
                        select(articles_t.c.id, articles_t.c.story_id, articles_t.c.version).where(
                            articles_t.c.id.in_({m.article_id for m, _ in results})
                        )
                    )
                ).all()
                story = {aid: story_id for aid, story_id, _ in found}
                version = {aid: v for aid, _, v in found} | dict(versions or {})
                stmt = insert(self.dialect, matches_t).on_conflict_do_nothing(
                    index_elements=["claim_id", "article_id"]
                )
                for m, f in results:
                    res = await conn.execute(
                        stmt.values(
                            claim_id=m.claim_id,
                            article_id=m.article_id,
                            story_id=story.get(m.article_id) or m.article_id,
                            matched_at=now,
                            version=version.get(m.article_id, 1),
                            **_framed(m, f),
                        )
                    )
                    inserted += res.rowcount or 0
            if revisions:
                await _revise_matches(conn, revisions, now)
            if article_ids:
                await _processed(conn, article_ids, versions, now)
        return inserted

    async def matches_for_articles(self, article_ids: Sequence[int]) -> list[Match]:
        if not article_ids:
            return []
        q = _match_query().where(matches_t.c.article_id.in_(article_ids)).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return await _read_matches(conn, q)

    async def revisions_for_claim(self, claim_id: int) -> list[MatchRevision]:
        q = (
            select(match_revisions_t)
            .where(match_revisions_t.c.claim_id == claim_id)
            .order_by(match_revisions_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [to_match_revision(r) for r in (await conn.execute(q)).mappings()]

    async def list_matches(self, *, claim_id: int | None = None, limit: int = 100) -> list[Match]:
        q = _match_query()
        if claim_id is not None:
            q = q.where(matches_t.c.claim_id == claim_id)
        q = q.order_by(matches_t.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return await _read_matches(conn, q)

    async def matches_for_claim(self, claim_id: int) -> list[Match]:
        q = _match_query().where(matches_t.c.claim_id == claim_id).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return await _read_matches(conn, q)

    async def match_summaries_for_claim(self, claim_id: int) -> list[Match]:
        q = _match_query(summary=True).where(matches_t.c.claim_id == claim_id).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return [to_match(r) for r in (await conn.execute(q)).mappings()]

    async def matches_by_id(self, ids: Sequence[int]) -> list[Match]:
        if not ids:
            return []
        q = _match_query().where(matches_t.c.id.in_(ids)).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return await _read_matches(conn, q)


def _framed(m: MatchScore, f: Framing) -> dict[str, Any]:
    """A match row's score and framing columns."""
    return {
        "score": m.score,
        "lexical": m.lexical,
        "semantic": m.semantic,
        "stance": f.stance.value,
        "skepticism": f.skepticism,
        "cues": [{"kind": c.kind, "text": c.text} for c in f.cues],
        "evidence": list(m.evidence),
    }


async def _revise_matches(conn: AsyncConnection, revisions: Sequence[MatchRevision], now: datetime) -> None:
    """Write the new version's score and framing into each match (or mark it no longer matching), keep the
    revisions that changed something, and hand the claims to shift detection again."""
    for r in revisions:
        values: dict[str, Any] = {"detected_at": None}
        if r.update is not None:
            values.update(version=r.version, unmatched_at=None, **_framed(*r.update))
        else:
            values["unmatched_at"] = now
        await conn.execute(update(matches_t).where(matches_t.c.id == r.match_id).values(**values))
    kept = [
        {
            "match_id": r.match_id,
            "claim_id": r.claim_id,
            "article_id": r.article_id,
            "story_id": r.story_id,
            "version": r.version,
            "previous_version": r.previous_version,
            "content_hash": r.content_hash,
            "changes": list(r.changes),
            "before": r.before,
            "after": r.after,
            "diff": r.diff,
            "updated_at": r.updated_at,
            "revised_at": r.revised_at,
        }
        for r in revisions
        if r.changes
    ]
    if kept:
        stmt = insert(conn.dialect.name, match_revisions_t).on_conflict_do_nothing(
            index_elements=["match_id", "version"]
        )
        await conn.execute(stmt, kept)


async def _processed(
    conn: AsyncConnection, article_ids: Sequence[int], versions: Mapping[int, int] | None, now: datetime
) -> None:
    """Release the articles' leases and mark them matched; with ``versions``, only those still at the
    version that was matched (one revised meanwhile stays pending, to be matched again)."""
    if versions is None:
        await conn.execute(
            update(articles_t)
            .where(articles_t.c.id.in_(article_ids))
            .values(processed_at=now, leased_until=None)
        )
        return
    await conn.execute(update(articles_t).where(articles_t.c.id.in_(article_ids)).values(leased_until=None))
    stmt = (
        update(articles_t)
        .where(articles_t.c.id == bindparam("aid"), articles_t.c.version == bindparam("v"))
        .values(processed_at=now)
    )
    await conn.execute(stmt, [{"aid": aid, "v": versions.get(aid, 1)} for aid in article_ids])
