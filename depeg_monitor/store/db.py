"""Engines and schema upgrades: a SQLite file by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from depeg_monitor.store.schema import SCHEMA_VERSION, metadata, schema_version
from depeg_monitor.store.times import to_dt

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DbProblem:
    """A database error in words, safe to show: what went wrong and where, never a password.

    lasting: it will not cure itself (a wrong password, a missing database, no driver) —
    /health fails until someone fixes it; otherwise the database is down or unreachable.
    """

    text: str
    lasting: bool


# (words in the driver's own message, what we say, lasting) — psycopg 3 and sqlite3 wordings.
_KNOWN = (
    ("password authentication failed", "authentication failed (check the user and password)", True),
    ("authentication failed", "authentication failed (check the user and password)", True),
    ("no password supplied", "authentication failed (no password given)", True),
    ("does not exist", "the database does not exist", True),
    ("connection refused", "connection refused (is the server running?)", False),
    ("failed to resolve host", "cannot resolve the host name", False),
    ("could not translate host name", "cannot resolve the host name", False),
    ("timeout", "no answer in time", False),
    ("timed out", "no answer in time", False),
    ("unable to open database file", "cannot open the database file", True),
    ("readonly database", "the database file is read-only", True),
    ("permission denied", "permission denied", True),
    ("server closed the connection", "the server closed the connection", False),
    ("the database system is starting up", "the server is starting up", False),
    ("the database system is shutting down", "the server is shutting down", False),
)


def classify_db_error(e: BaseException, url: URL | str | None = None) -> DbProblem:
    """The driver's own error, read for its meaning; the host (or file) named, not its text."""
    if isinstance(e, NoSuchModuleError | ModuleNotFoundError):
        return DbProblem(_said("unsupported database driver", url), True)
    message = " ".join(str(getattr(e, "orig", None) or e).lower().split())
    for needle, words, lasting in _KNOWN:
        if needle in message:
            return DbProblem(_said(words, url), lasting)
    return DbProblem(_said(f"{type(e).__name__}", url), False)


def describe_db_error(e: BaseException, url: URL | str | None = None) -> str:
    """One line, secret-free: 'database unavailable: connection refused (… at db:5432)'."""
    return classify_db_error(e, url).text


def where(url: URL | str | None) -> str:
    """'postgresql at db.example.com:5432/depeg', 'sqlite file data/x.db' — never a password."""
    if url is None:
        return ""
    try:
        u = make_url(url)
    except Exception:  # an unparsable URL: say nothing rather than echo it
        return ""
    backend = u.get_backend_name()
    if backend == "sqlite":
        return f"sqlite file {u.database or ':memory:'}"
    host = u.host or "localhost"
    port = f":{u.port}" if u.port else ""
    db = f"/{u.database}" if u.database else ""
    return f"{backend} at {host}{port}{db}"


def _said(words: str, url: URL | str | None) -> str:
    place = where(url)
    return f"database unavailable: {words}" + (f" ({place})" if place else "")


class SchemaTooNew(RuntimeError):
    """The database was upgraded by a newer depeg-monitor than this one."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers (depeg-monitor status) never block the daemon's writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).expanduser()


def prepare_sqlite_file(path: Path) -> None:
    """Create the database's missing directories 0700 and the file 0600, whatever the umask.

    The database holds alert history and delivery rows: other local users have no business
    reading it. SQLite gives its -wal and -shm files the database file's mode. A directory or
    file that already exists is left as it is (/var/lib, or the operator's own choice).
    """
    missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by someone else: theirs
            continue
        d.chmod(0o700)  # the umask can only take bits away from mkdir's mode; be exact
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class MissingDirectory(RuntimeError):
    """An explicit SQLite path whose directory does not exist (a typo, not a place to create)."""


def create_engine(url: str, *, create_dirs: bool = True) -> AsyncEngine:
    """An async engine for url; a SQLite file is created private, and its directory too when
    create_dirs (the default state directory) — an explicit path in a missing directory is
    MissingDirectory instead, so a typo never quietly starts an empty database elsewhere."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db_file = sqlite_file(url)
        if db_file is not None and not u.query.get("uri"):  # a file: URI names no plain path
            if not create_dirs and not db_file.parent.is_dir():
                raise MissingDirectory(f"directory {db_file.parent} does not exist")
            prepare_sqlite_file(db_file)
        engine = create_async_engine(u)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return create_async_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=5)


async def current_version(conn: AsyncConnection) -> int | None:
    """The recorded schema version, or None for an empty database."""
    has_table = await conn.run_sync(lambda c: c.dialect.has_table(c, schema_version.name))
    if not has_table:
        return None
    v = (
        await conn.execute(
            select(schema_version.c.version).order_by(schema_version.c.version.desc()).limit(1)
        )
    ).scalar()
    return None if v is None else int(v)


# What each version added to tables that existed before it (portable SQL: SQLite and
# PostgreSQL both take ADD COLUMN with a timestamp type this way).
_STEPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        2,
        (
            "ALTER TABLE deliveries ADD COLUMN first_tried_at TIMESTAMP WITH TIME ZONE",
            "ALTER TABLE deliveries ADD COLUMN sent_at TIMESTAMP WITH TIME ZONE",
        ),
    ),
    (4, ("ALTER TABLE deliveries ADD COLUMN claim_token BIGINT",)),  # leases: create_all
)


async def upgrade(engine: AsyncEngine, now: float | None = None) -> int:
    """Bring the database to the current schema; returns the version it is now at."""
    import time

    async with engine.begin() as conn:
        before = await current_version(conn)
        if before is not None and before > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database schema is version {before}, this program knows up to {SCHEMA_VERSION}"
            )
        # create_all makes what is missing (all of it in an empty database); a table that
        # already exists gets the columns later versions added, each step in order.
        await conn.run_sync(metadata.create_all, checkfirst=True)
        if before is not None:
            for version, statements in _STEPS:
                if before < version:
                    for sql in statements:
                        await conn.execute(text(sql))
        if before != SCHEMA_VERSION:
            await conn.execute(
                insert(schema_version).values(
                    version=SCHEMA_VERSION,
                    applied_at=to_dt(now if now is not None else time.time()),
                )
            )
            log.info("database_upgraded", before=before, after=SCHEMA_VERSION)
    return SCHEMA_VERSION
