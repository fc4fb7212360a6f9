"""Engines and schema upgrades: a SQLite file by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from depeg_monitor.store.schema import SCHEMA_VERSION, metadata, schema_version
from depeg_monitor.store.times import to_dt

log = structlog.get_logger(__name__)


def describe_db_error(e: BaseException) -> str:
    """A short, secret-free description: the class names only, never the URL or message."""
    orig = getattr(e, "orig", None)
    inner = f" ({type(orig).__name__})" if orig is not None else ""
    return f"database unavailable: {type(e).__name__}{inner}"


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


def create_engine(url: str) -> AsyncEngine:
    """An async engine for url; a SQLite file and its directory are created, private."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db_file = sqlite_file(url)
        if db_file is not None and not u.query.get("uri"):  # a file: URI names no plain path
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


async def upgrade(engine: AsyncEngine, now: float | None = None) -> int:
    """Bring the database to the current schema; returns the version it is now at."""
    import time

    async with engine.begin() as conn:
        before = await current_version(conn)
        if before is not None and before > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database schema is version {before}, this program knows up to {SCHEMA_VERSION}"
            )
        # Version 1 is the whole schema; later versions add their own steps here, in order.
        await conn.run_sync(metadata.create_all, checkfirst=True)
        if before != SCHEMA_VERSION:
            await conn.execute(
                insert(schema_version).values(
                    version=SCHEMA_VERSION,
                    applied_at=to_dt(now if now is not None else time.time()),
                )
            )
            log.info("database upgraded", before=before, after=SCHEMA_VERSION)
    return SCHEMA_VERSION
