"""What the commands that open the database (status, db upgrade, silence) share: the engine
the daemon would open, and anything that goes wrong there as one line (exit 1)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.config import Settings
from depeg_monitor.config.validate import SUPPORTED_DRIVERS
from depeg_monitor.store.db import MissingDirectory, SchemaTooNew, create_engine, describe_db_error
from depeg_monitor.terminal import printable

EXIT_RUNTIME = 1
EXIT_CONFIG = 2


class NotAUrl(Exception):
    """database.url does not parse as a database URL (a configuration problem: exit 2)."""


# What opening, upgrading or reading a database can raise: the driver's errors (wrapped by
# SQLAlchemy), the file system's, a driver that is not installed, a path that does not exist.
DB_ERRORS: tuple[type[BaseException], ...] = (
    NotAUrl,
    SQLAlchemyError,
    OSError,
    ImportError,
    MissingDirectory,
    SchemaTooNew,
)


# aiosqlite's worker threads (their name ends with the target's), and how long to wait for
# them to finish once the engine is disposed.
_AIOSQLITE_WORKER = "(_connection_worker_thread)"
SETTLE = 1.0


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The daemon's database, opened as the daemon opens it — the default state directory is
    created if missing, a directory named in database.url is not (MissingDirectory) — and
    disposed of afterwards, its SQLite worker threads finished before the loop closes."""
    url = database_url(settings)
    before = set(threading.enumerate())
    engine = create_engine(url, create_dirs=settings.database.url is None)
    try:
        yield engine
    finally:
        await engine.dispose()
        await _settle([t for t in threading.enumerate() if t not in before])


def database_url(settings: Settings) -> str:
    """The URL the daemon would open; NotAUrl if SQLAlchemy cannot read it (it raises a bare
    ValueError for a port that is not a number, and its own message says nothing useful)."""
    url = settings.database.resolved_url()
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise NotAUrl from None
    return url


async def _settle(started: list[threading.Thread]) -> None:
    """Wait, with the loop running, for the aiosqlite workers this engine started. After a
    failed connect one still posts its clean-up to this loop; were asyncio.run to close the
    loop first, that thread would print a traceback ("Event loop is closed",
    omnilib/aiosqlite#241) under the command's one line."""
    loop = asyncio.get_running_loop()
    until = loop.time() + SETTLE
    for t in started:
        if t.name.endswith(_AIOSQLITE_WORKER):
            await asyncio.to_thread(t.join, max(0.0, until - loop.time()))


def db_problem(command: str, e: BaseException, settings: Settings) -> int:
    """Say what went wrong in one line on stderr — where, never a password — and return the
    exit code: 2 for a URL that is not one, else 1."""
    if isinstance(e, NotAUrl):  # the URL is not quoted back: it may hold a password
        where = settings.origin.where(("database", "url"))
        why = f"{where} is not a database URL (e.g. {SUPPORTED_DRIVERS})"
        print(f"{command}: {printable(why)}", file=sys.stderr)
        return EXIT_CONFIG
    if isinstance(e, MissingDirectory):
        why = f"{e} (database.url); create it, or correct the path"
    elif isinstance(e, SchemaTooNew):
        why = str(e)
    else:
        why = describe_db_error(e, settings.database.resolved_url())
    print(f"{command}: {printable(why)}", file=sys.stderr)
    return EXIT_RUNTIME
