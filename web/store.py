"""The web app's database: the review queue, moderators, API tokens and failed logins.

SQLAlchemy Core over a URL, so SQLite (the default, in WAL mode) and a server database such as
PostgreSQL (``postgresql+psycopg://user@host/db``, with the driver installed) run the same code.
Everything SQLite-specific is in ``_sqlite_engine``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
SQLITE_BUSY_TIMEOUT_S = 30  # how long a writer waits for another process's write lock

metadata = MetaData()

comments = Table(
    "comments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("decision", String(16), nullable=False),  # the policy's decision: review or block
    Column("model", String(200), nullable=False),
    Column("source", String(16), nullable=False),  # form or api
    Column("submitted_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, default=PENDING),
    Column("reviewer", String(64)),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("reason", Text),
    Index("ix_comments_status_id", "status", "id"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex; the token is never stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

failed_logins = Table(
    "failed_logins", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_failed_logins_client_at", "client", "at"),
)


class StoreError(ValueError):
    """A request the database cannot satisfy; the message says why. A ValueError, so that the CLI reports
    it as a one-line user error like any other bad value."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


class AlreadyDecided(Conflict):
    def __init__(self, comment: Comment) -> None:
        super().__init__(f"comment #{comment.id} was already {comment.status} by {comment.reviewer}")
        self.comment = comment


@dataclass(frozen=True)
class NewComment:
    text: str
    score: float
    decision: str
    model: str
    source: str
    submitted_by: str


@dataclass(frozen=True)
class Comment:
    id: int
    text: str
    score: float
    decision: str
    model: str
    source: str
    submitted_by: str
    created_at: datetime
    status: str
    reviewer: str | None
    reviewed_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class CommentPage:
    items: list[Comment]
    status: str | None  # None: every status
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (everything is written in UTC); PostgreSQL aware ones in the
    # server's time zone. Either way, UTC.
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _record(cls: type, row: Any) -> Any:
    values = {k: _utc(v) if isinstance(v, datetime) else v for k, v in row._mapping.items()}
    return cls(**{k: values[k] for k in cls.__dataclass_fields__})


def _sqlite_folder(url: str) -> Path | None:
    """The folder an SQLite database file goes in; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if parsed.database.startswith("file:") else Path(parsed.database).parent


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, instead of pysqlite's own implicit one.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that read first could fail
        # with SQLITE_BUSY (not retried) when another process committed in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


class Store:
    """All database access of the web app and of the `moderation token` / `moderation user` commands."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def create_schema(self) -> None:
        """Create missing tables. Safe when several workers start at once."""
        try:
            folder = _sqlite_folder(self.url)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            try:
                self._create_tables()
            except (IntegrityError, ProgrammingError):
                # A server database may let two workers both see a table missing; the loser's CREATE
                # fails, and by now the winner's tables exist, so a second pass has nothing to create.
                self._create_tables()
        except (SQLAlchemyError, OSError) as exc:
            where = make_url(self.url).render_as_string(hide_password=True)
            raise StoreError(f"cannot use the database {where}: {getattr(exc, 'orig', None) or exc}") from exc

    def _create_tables(self) -> None:
        with self._tx(write=True) as conn:
            metadata.create_all(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(write=write)
            with conn.begin():
                yield conn

    def ping(self) -> None:
        with self._tx() as conn:
            conn.execute(text("SELECT 1"))

    # The review queue

    def enqueue(self, items: Sequence[NewComment]) -> list[int]:
        """Add comments to the queue in one transaction; their ids, in order."""
        if not items:
            return []
        now = utcnow()
        rows = [{**asdict(item), "created_at": now, "status": PENDING} for item in items]
        with self._tx(write=True) as conn:
            result = conn.execute(insert(comments).returning(comments.c.id, sort_by_parameter_order=True), rows)
            return [row.id for row in result]

    def comment(self, comment_id: int) -> Comment:
        with self._tx() as conn:
            row = conn.execute(select(comments).where(comments.c.id == comment_id)).first()
        if row is None:
            raise NotFound(f"no comment #{comment_id}")
        return _record(Comment, row)

    def comments_page(self, status: str | None, page: int, page_size: int) -> CommentPage:
        """One page of the queue, newest first; ``page`` is clamped to the pages there are."""
        where = comments.c.status == status if status else true()
        with self._tx() as conn:
            total = conn.execute(select(func.count()).select_from(comments).where(where)).scalar_one()
            pages = max(1, math.ceil(total / page_size))
            page = min(max(page, 1), pages)
            rows = conn.execute(select(comments).where(where).order_by(comments.c.id.desc())
                                .limit(page_size).offset((page - 1) * page_size)).all()
        return CommentPage([_record(Comment, r) for r in rows], status, page, pages, total)

    def status_counts(self) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute(select(comments.c.status, func.count()).group_by(comments.c.status)).all()
        return {status: 0 for status in STATUSES} | {status: n for status, n in rows}

    def decide(self, comment_id: int, status: str, reviewer: str, reason: str | None) -> Comment:
        """Approve or reject a pending comment. Of two moderators deciding at once, exactly one wins;
        the other gets ``AlreadyDecided`` naming who did."""
        if status not in (APPROVED, REJECTED):
            raise ValueError(f"a decision is {APPROVED} or {REJECTED}, not {status!r}")
        with self._tx(write=True) as conn:
            changed = conn.execute(
                update(comments).where(comments.c.id == comment_id, comments.c.status == PENDING)
                .values(status=status, reviewer=reviewer, reviewed_at=utcnow(), reason=reason or None)
            ).rowcount
            row = conn.execute(select(comments).where(comments.c.id == comment_id)).first()
        if row is None:
            raise NotFound(f"no comment #{comment_id}")
        comment = _record(Comment, row)
        if not changed:
            raise AlreadyDecided(comment)
        return comment

    # Moderators

    def add_user(self, username: str, password_hash: str) -> UserRecord:
        try:
            with self._tx(write=True) as conn:
                row = conn.execute(insert(users).values(username=username, password_hash=password_hash,
                                                        created_at=utcnow()).returning(*users.c)).one()
        except IntegrityError:
            raise Conflict(f"a moderator named {username!r} already exists") from None
        return _record(UserRecord, row)

    def user(self, user_id: int) -> UserRecord | None:
        with self._tx() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return _record(UserRecord, row) if row else None

    def user_by_name(self, username: str) -> UserRecord | None:
        with self._tx() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return _record(UserRecord, row) if row else None

    def users(self) -> list[UserRecord]:
        with self._tx() as conn:
            return [_record(UserRecord, r) for r in conn.execute(select(users).order_by(users.c.username))]

    # API tokens

    def add_token(self, name: str, token_hash: str) -> TokenRecord:
        try:
            with self._tx(write=True) as conn:
                row = conn.execute(insert(api_tokens).values(name=name, token_hash=token_hash, created_at=utcnow())
                                   .returning(*api_tokens.c)).one()
        except IntegrityError:
            raise Conflict(f"a token named {name!r} already exists; revoke it or pick another name") from None
        return _record(TokenRecord, row)

    def active_token(self, token_hash: str) -> TokenRecord | None:
        with self._tx() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash,
                                                        api_tokens.c.revoked_at.is_(None))).first()
        return _record(TokenRecord, row) if row else None

    def tokens(self) -> list[TokenRecord]:
        with self._tx() as conn:
            rows = conn.execute(select(api_tokens).order_by(api_tokens.c.name)).all()
        return [_record(TokenRecord, r) for r in rows]

    def revoke_token(self, name: str) -> TokenRecord:
        with self._tx(write=True) as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                         .values(revoked_at=utcnow()))
            row = conn.execute(select(api_tokens).where(api_tokens.c.name == name)).first()
        if row is None:
            raise NotFound(f"no token named {name!r}; `moderation token list` shows them")
        return _record(TokenRecord, row)

    # Failed logins, for rate limiting across every worker

    def record_failed_login(self, client: str, forget_before: datetime) -> None:
        with self._tx(write=True) as conn:
            conn.execute(delete(failed_logins).where(failed_logins.c.client == client,
                                                     failed_logins.c.at < forget_before))
            conn.execute(insert(failed_logins).values(client=client, at=utcnow()))

    def failed_logins_since(self, client: str, since: datetime) -> int:
        with self._tx() as conn:
            return conn.execute(select(func.count()).select_from(failed_logins)
                                .where(failed_logins.c.client == client, failed_logins.c.at >= since)).scalar_one()

    def clear_failed_logins(self, client: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(delete(failed_logins).where(failed_logins.c.client == client))
