"""The web app's database: the review queue, moderators and their sessions, API tokens, rate limits,
model promotions and background audit jobs.

SQLAlchemy Core over a URL, so SQLite (the default, in WAL mode) and a server database such as
PostgreSQL (``postgresql+psycopg://user@host/db``, with the driver installed) run the same code.
Everything SQLite-specific is in ``_sqlite_engine``. There are no migration scripts: a database made by
an older version gets the tables and nullable columns it lacks when the app or a command opens it.
"""

from __future__ import annotations

import math
import os
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
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    true,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, ProgrammingError, SQLAlchemyError

from moderation.errors import InputError

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
    Column("source", String(16), nullable=False),  # form, api or feedback
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
    Column("disabled_at", DateTime(timezone=True)),
)

# Server-side sessions: the cookie holds a random token whose hash is here, so logging out, a new
# password, disabling or removing a moderator ends the session even where a copy of the cookie survives.
sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex; the token is never stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Rate-limited events (failed logins, anonymous requests) shared by every worker: ``kind`` says which,
# ``client`` is the address, ``subject`` what was tried (the username of a failed login).
rate_events = Table(
    "rate_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("client", String(64), nullable=False),
    Column("subject", String(64), nullable=False, default=""),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_events_kind_client_at", "kind", "client", "at"),
)

# Which model serves: the newest row wins, in every worker (each checks for a newer row every few seconds).
# A rollback is a promotion of the model the rolled-back one replaced.
promotions = Table(
    "promotions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_path", Text, nullable=False),
    Column("model_id", String(200), nullable=False),
    Column("replaced_path", Text, nullable=False),
    Column("replaced_id", String(200), nullable=False),
    Column("promoted_by", String(64), nullable=False),
    Column("promoted_at", DateTime(timezone=True), nullable=False),
    Column("audit_job", Integer),  # the audit that cleared it; None with an override
    Column("override_reason", Text),  # set when promoted without a passing audit
    Column("rollback_of", Integer),
)

# Audits started from the web app, run by a detached process that records how they ended.
jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_path", Text, nullable=False),
    Column("model_id", String(200), nullable=False),
    Column("reference_path", Text, nullable=False),
    Column("reference_id", String(200), nullable=False),
    Column("report", String(200), nullable=False),  # folder name under the reports folder
    Column("log_path", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_by", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("gates_passed", Integer),  # 1 / 0 once finished; None while running or when it failed
    Column("detail", Text),
    Index("ix_jobs_model_id", "model_id", "id"),
)


class StoreError(InputError):
    """A request the database cannot satisfy; the message says why (the CLI prints it as one line)."""


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
    disabled_at: datetime | None


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_client`` events of a kind from one address since ``since``, and at most ``per_subject``
    of them about one subject (None: no per-subject limit)."""

    since: datetime
    per_client: int
    per_subject: int | None = None


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Promotion:
    id: int
    model_path: str
    model_id: str
    replaced_path: str
    replaced_id: str
    promoted_by: str
    promoted_at: datetime
    audit_job: int | None
    override_reason: str | None
    rollback_of: int | None


RUNNING, FINISHED, FAILED = "running", "finished", "failed"


@dataclass(frozen=True)
class Job:
    id: int
    model_path: str
    model_id: str
    reference_path: str
    reference_id: str
    report: str
    log_path: str
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    gates_passed: int | None
    detail: str | None


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


def _filter(status: str | None, decision: str | None) -> Any:
    """The comments of one status and one policy decision; None for either: any."""
    return and_(comments.c.status == status if status else true(),
                comments.c.decision == decision if decision else true())


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


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (it holds password hashes and comments); SQLite
    gives its -wal and -shm files the same mode."""
    folder = _sqlite_folder(url)
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(make_url(url).database)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o600)


def _add_missing_columns(conn: Connection) -> None:
    """Nullable columns added since a database was created (a new table is made whole by create_all)."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


class Store:
    """All database access of the web app and of the `moderation token` / `moderation user` commands."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
        except (ImportError, NoSuchModuleError) as exc:  # NoSuchModuleError is also an ArgumentError
            where = make_url(url).render_as_string(hide_password=True)
            raise StoreError(f"the database driver for {where} is not installed ({exc}); for PostgreSQL, "
                             "pip install psycopg") from None
        except ArgumentError:
            raise StoreError("the database URL is not a URL SQLAlchemy can read; use e.g. "
                             "sqlite:////var/lib/moderation/web.db or postgresql+psycopg://user@host/dbname") from None

    def create_schema(self) -> None:
        """Create missing tables. Safe when several workers start at once."""
        try:
            _private_sqlite_file(self.url)
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
            _add_missing_columns(conn)

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

    def comments_page(self, status: str | None, page: int, page_size: int,
                      decision: str | None = None) -> CommentPage:
        """One page of the queue, newest first; ``page`` is clamped to the pages there are. ``decision`` keeps
        the comments the policy decided that way ("review": the band between the thresholds, for a human)."""
        where = _filter(status, decision)
        with self._tx() as conn:
            total = conn.execute(select(func.count()).select_from(comments).where(where)).scalar_one()
            pages = max(1, math.ceil(total / page_size))
            page = min(max(page, 1), pages)
            rows = conn.execute(select(comments).where(where).order_by(comments.c.id.desc())
                                .limit(page_size).offset((page - 1) * page_size)).all()
        return CommentPage([_record(Comment, r) for r in rows], status, page, pages, total)

    def status_counts(self, decision: str | None = None) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute(select(comments.c.status, func.count()).where(_filter(None, decision))
                                .group_by(comments.c.status)).all()
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

    def record_feedback(self, item: NewComment, status: str) -> Comment:
        """A label a client sends (``POST /api/v1/feedback``), stored as an already-decided comment, so that
        moderators' decisions and clients' corrections are one set of labels (the ``reviews`` data set)."""
        if status not in (APPROVED, REJECTED):
            raise ValueError(f"a label is {APPROVED} or {REJECTED}, not {status!r}")
        now = utcnow()
        with self._tx(write=True) as conn:
            row = conn.execute(insert(comments).values(
                **asdict(item), created_at=now, status=status, reviewer=item.submitted_by, reviewed_at=now,
                reason="feedback").returning(*comments.c)).one()
        return _record(Comment, row)

    def decided(self) -> list[Comment]:
        """Every approved or rejected comment, oldest decision first: the moderators' labels."""
        with self._tx() as conn:
            rows = conn.execute(select(comments).where(comments.c.status != PENDING)
                                .order_by(comments.c.reviewed_at, comments.c.id)).all()
        return [_record(Comment, r) for r in rows]

    # Moderators

    def add_user(self, username: str, password_hash: str) -> UserRecord:
        try:
            with self._tx(write=True) as conn:
                row = conn.execute(insert(users).values(username=username, password_hash=password_hash,
                                                        created_at=utcnow()).returning(*users.c)).one()
        except IntegrityError:
            raise Conflict(f"a moderator named {username!r} already exists") from None
        return _record(UserRecord, row)

    def user_by_name(self, username: str) -> UserRecord | None:
        with self._tx() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return _record(UserRecord, row) if row else None

    def users(self) -> list[UserRecord]:
        with self._tx() as conn:
            return [_record(UserRecord, r) for r in conn.execute(select(users).order_by(users.c.username))]

    def _user_id(self, conn: Connection, username: str) -> int:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if user_id is None:
            raise NotFound(f"no moderator named {username!r}; `moderation user list` shows them")
        return user_id

    def set_password(self, username: str, password_hash: str) -> None:
        """A new password; every session of the moderator ends."""
        with self._tx(write=True) as conn:
            user_id = self._user_id(conn, username)
            conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            self._end_sessions(conn, user_id)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (every session ends, no new login) or enable a moderator."""
        with self._tx(write=True) as conn:
            user_id = self._user_id(conn, username)
            conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=utcnow() if disabled else None))
            if disabled:
                self._end_sessions(conn, user_id)

    def remove_user(self, username: str) -> None:
        """Remove a moderator and their sessions; their past decisions keep their name."""
        with self._tx(write=True) as conn:
            user_id = self._user_id(conn, username)
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))

    # Sessions

    def open_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        with self._tx(write=True) as conn:
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at < utcnow()))
            conn.execute(insert(sessions).values(token_hash=token_hash, user_id=user_id, created_at=utcnow(),
                                                 expires_at=expires_at))

    def session_user(self, token_hash: str) -> UserRecord | None:
        """The moderator of a live session: not revoked, not expired, moderator not disabled or removed."""
        with self._tx() as conn:
            row = conn.execute(
                select(users).join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None),
                       sessions.c.expires_at > utcnow(), users.c.disabled_at.is_(None))).first()
        return _record(UserRecord, row) if row else None

    def end_session(self, token_hash: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(revoked_at=utcnow()))

    @staticmethod
    def _end_sessions(conn: Connection, user_id: int) -> None:
        conn.execute(update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))

    # API tokens

    def add_token(self, name: str, token_hash: str) -> TokenRecord:
        """A new token; the name of a revoked one can be reused (the revoked one is renamed ``name~id``)."""
        try:
            with self._tx(write=True) as conn:
                old = conn.execute(select(api_tokens).where(api_tokens.c.name == name)).first()
                if old is not None and old.revoked_at is None:
                    raise Conflict(f"a token named {name!r} is active; revoke it first or pick another name")
                if old is not None:
                    conn.execute(update(api_tokens).where(api_tokens.c.id == old.id)
                                 .values(name=f"{name[:50]}~{old.id}"))
                row = conn.execute(insert(api_tokens).values(name=name, token_hash=token_hash, created_at=utcnow())
                                   .returning(*api_tokens.c)).one()
        except IntegrityError:
            raise Conflict(f"a token named {name!r} was just created by someone else; pick another name") from None
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

    # Rate limits, shared by every worker

    def claim(self, kind: str, client: str, subject: str, limit: RateLimit) -> int | None:
        """Record an event unless it would break ``limit``: its id, or None when over the limit. Counting
        and recording are one transaction, so parallel requests cannot all slip under the limit."""
        with self._tx(write=True) as conn:
            if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
                conn.execute(text("LOCK TABLE rate_events IN SHARE ROW EXCLUSIVE MODE"))
            mine = (rate_events.c.kind == kind) & (rate_events.c.client == client)
            conn.execute(delete(rate_events).where(mine, rate_events.c.at < limit.since))
            counts = conn.execute(select(func.count(), func.count().filter(rate_events.c.subject == subject))
                                  .where(mine)).one()
            if counts[0] >= limit.per_client or (limit.per_subject is not None and counts[1] >= limit.per_subject):
                return None
            return conn.execute(insert(rate_events).values(kind=kind, client=client, subject=subject, at=utcnow())
                                .returning(rate_events.c.id)).scalar_one()

    def forget(self, kind: str, client: str, subject: str) -> None:
        """Drop the events of one subject from one address (a successful login clears its own failures)."""
        with self._tx(write=True) as conn:
            conn.execute(delete(rate_events).where(rate_events.c.kind == kind, rate_events.c.client == client,
                                                   rate_events.c.subject == subject))

    # Promotions

    def promote(self, model_path: str, model_id: str, replaced_path: str, replaced_id: str, promoted_by: str, *,
                audit_job: int | None = None, override_reason: str | None = None,
                rollback_of: int | None = None) -> Promotion:
        with self._tx(write=True) as conn:
            row = conn.execute(insert(promotions).values(
                model_path=model_path, model_id=model_id, replaced_path=replaced_path, replaced_id=replaced_id,
                promoted_by=promoted_by, promoted_at=utcnow(), audit_job=audit_job,
                override_reason=override_reason, rollback_of=rollback_of).returning(*promotions.c)).one()
        return _record(Promotion, row)

    def latest_promotion_id(self) -> int | None:
        """Cheap enough for every worker to ask every few seconds."""
        with self._tx() as conn:
            return conn.execute(select(func.max(promotions.c.id))).scalar_one()

    def promotions(self, limit: int = 20) -> list[Promotion]:
        """Newest first."""
        with self._tx() as conn:
            rows = conn.execute(select(promotions).order_by(promotions.c.id.desc()).limit(limit)).all()
        return [_record(Promotion, r) for r in rows]

    # Audit jobs

    def add_job(self, model_path: str, model_id: str, reference_path: str, reference_id: str, report: str,
                log_path: str, started_by: str) -> Job:
        with self._tx(write=True) as conn:
            row = conn.execute(insert(jobs).values(
                model_path=model_path, model_id=model_id, reference_path=reference_path, reference_id=reference_id,
                report=report, log_path=log_path, status=RUNNING, started_by=started_by,
                started_at=utcnow()).returning(*jobs.c)).one()
        return _record(Job, row)

    def job(self, job_id: int) -> Job:
        with self._tx() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no audit job #{job_id}")
        return _record(Job, row)

    def jobs(self, limit: int = 50) -> list[Job]:
        """Newest first."""
        with self._tx() as conn:
            rows = conn.execute(select(jobs).order_by(jobs.c.id.desc()).limit(limit)).all()
        return [_record(Job, r) for r in rows]

    def finish_job(self, job_id: int, status: str, gates_passed: bool | None, detail: str | None) -> None:
        with self._tx(write=True) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status=status, finished_at=utcnow(), detail=detail,
                gates_passed=None if gates_passed is None else int(gates_passed)))
