"""SQLAlchemy 2 models. Only storage/ sees these; the rest of watcher sees watcher.domain records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite stores naive UTC text; reads come back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    # The URL before a permanent redirect moved the feed (None if never moved): feeds.yaml keeps naming it.
    config_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    outlet: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="ZZ")
    language: Mapped[str] = mapped_column(String(8), default="und")
    leaning: Mapped[str] = mapped_column(String(16), default="unknown")
    ownership: Mapped[str] = mapped_column(String(16), default="unknown")
    interval_s: Mapped[int] = mapped_column(Integer, default=900)
    source: Mapped[str] = mapped_column(String(16), default="config")  # config | cli | opml
    full_text: Mapped[str] = mapped_column(String(8), default="auto")  # never | auto | always
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    next_poll_at: Mapped[datetime] = mapped_column(index=True)
    leased_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_full_fetch_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_warning: Mapped[str | None] = mapped_column(Text)  # e.g. malformed XML that still parsed
    last_new_items: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    body_digest: Mapped[str | None] = mapped_column(String(64))  # the last 200 body that parsed


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "key"),
        Index("ix_articles_pending", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(600))  # at most ~530 chars (long GUIDs are hashed)
    guid: Mapped[str | None] = mapped_column(String(2048))
    # At most 2,048 characters: add_articles stores a longer link as "" (no link). TEXT, as first migrated.
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(2048), index=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8), default="und")
    published_at: Mapped[datetime | None]  # the feed's date clamped to first seen, else first seen
    published_at_basis: Mapped[str] = mapped_column(String(16), default="published")  # | clamped | first_seen
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    # The first stored article of the same story (same canonical URL or same content); itself if original.
    story_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), index=True)
    processed_at: Mapped[datetime | None]  # NULL = not yet matched against the claims
    leased_until: Mapped[datetime | None]
    page_text: Mapped[str | None] = mapped_column(Text)  # the page's main text, when it added to the feed's
    page_fetched_at: Mapped[datetime | None]  # once per article, whatever the outcome
    page_error: Mapped[str | None] = mapped_column(Text)
    # The current version (1 until a revision; earlier ones are in article_versions) and its feed date.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None]
    # Stored by its feed's first successful poll without a date of its own: an archive item, not news.
    backlog: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ArticleVersionRow(Base):
    """Every version of a revised article's feed title and text, never overwritten.

    Written when the first revision arrives: version 1 (the original, from the article row) and version 2;
    an article never revised has no rows here.
    """

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime | None]  # the feed's revision time (Atom updated, JSON Feed date_modified)
    seen_at: Mapped[datetime]


class ClaimRow(Base):
    __tablename__ = "claims"
    # NULL (the matcher's default) or 0..1; PostgreSQL orders NaN above every number, so NaN is refused too.
    __table_args__ = (CheckConstraint("threshold >= 0 AND threshold <= 1", name="threshold_range"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    threshold: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="active")
    source: Mapped[str] = mapped_column(String(16), default="cli")  # config | cli
    language: Mapped[str | None] = mapped_column(String(8))  # None: detected when compiled
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    detect_leased_until: Mapped[datetime | None]
    # when detection must run again though no match is new (held article revisions fall due)
    detect_due_at: Mapped[datetime | None]


class ClaimPauseRow(Base):
    """A span a claim was paused (it matched nothing then), so that shift detection does not read it as
    silence of the press. Written when a claim's status changes."""

    __tablename__ = "claim_pauses"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    paused_at: Mapped[datetime]
    resumed_at: Mapped[datetime | None]  # NULL: paused still


class MatchRow(Base):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("claim_id", "article_id"),
        Index("ix_matches_undetected", "claim_id", "detected_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    score: Mapped[float] = mapped_column(Float)
    lexical: Mapped[float] = mapped_column(Float)
    semantic: Mapped[float | None] = mapped_column(Float)
    stance: Mapped[str] = mapped_column(String(16))
    skepticism: Mapped[float] = mapped_column(Float)
    cues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    matched_at: Mapped[datetime]
    detected_at: Mapped[datetime | None]  # NULL = shift detection has not seen it yet
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # the article version framed
    unmatched_at: Mapped[datetime | None]  # a revision of the article no longer matches the claim


class MatchRevisionRow(Base):
    """A matched article's revision seen through the claim: the match before and after (for article_revised)."""

    __tablename__ = "match_revisions"
    __table_args__ = (UniqueConstraint("match_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    story_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    version: Mapped[int] = mapped_column(Integer)
    previous_version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None]
    revised_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("claim_id", "dedupe_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    match_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(index=True)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)  # found in a backlog: never delivered


class DestinationRow(Base):
    """Delivery state per destination name. URLs and secrets stay in the environment, never here."""

    __tablename__ = "destinations"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "destination"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    digest_id: Mapped[str | None] = mapped_column(String(80))  # the digest it first went out in, if any
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class StateRow(Base):
    """Small key/value facts shared by workers: last cycle time, schema notes."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


# Core handles of the same tables, for the queries in storage/sql/ (SQLAlchemy Core, no ORM sessions).
feeds_t = cast(Table, FeedRow.__table__)
articles_t = cast(Table, ArticleRow.__table__)
article_versions_t = cast(Table, ArticleVersionRow.__table__)
claims_t = cast(Table, ClaimRow.__table__)
claim_pauses_t = cast(Table, ClaimPauseRow.__table__)
matches_t = cast(Table, MatchRow.__table__)
match_revisions_t = cast(Table, MatchRevisionRow.__table__)
events_t = cast(Table, EventRow.__table__)
deliveries_t = cast(Table, DeliveryRow.__table__)
destinations_t = cast(Table, DestinationRow.__table__)
state_t = cast(Table, StateRow.__table__)
