"""Reading the daemon's database for a report command (alerts, history): the database the
daemon would open, and every way that fails said in one line with an exit code."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.commands.database import (
    DB_ERRORS,
    EXIT_RUNTIME,
    database_url,
    db_problem,
    opened,
)
from depeg_monitor.config import Settings
from depeg_monitor.store.db import sqlite_file
from depeg_monitor.store.db import where as describe_place
from depeg_monitor.store.schema import SCHEMA_VERSION
from depeg_monitor.store.status import NoSchema, SchemaTooOld
from depeg_monitor.terminal import printable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failed:
    code: int  # the exit code; the reason is already on stderr


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    value: T


def read_database(
    command: str, settings: Settings, reader: Callable[[AsyncEngine], Awaitable[T]]
) -> Read[T] | Failed:
    """reader's answer from the daemon's database, or Failed after saying why on stderr.
    A SQLite file that does not exist is not created: the daemon never ran here."""
    try:
        url = database_url(settings)
        db_file = sqlite_file(url)
    except DB_ERRORS as e:  # a URL that does not parse
        return Failed(db_problem(command, e, settings))
    if db_file is not None and not db_file.is_file():
        how = (
            "database.url"
            if settings.database.url is not None
            else "no database.url: $STATE_DIRECTORY, else data/ beside the configuration file"
        )
        print(
            f"{command}: no database at {printable(str(db_file))} ({how}) — has the daemon run "
            "with this configuration?",
            file=sys.stderr,
        )
        return Failed(EXIT_RUNTIME)

    async def read() -> T:
        async with opened(settings) as engine:
            return await reader(engine)

    try:
        return Read(asyncio.run(read()))
    except NoSchema:
        print(
            f"{command}: the database ({printable(describe_place(url))}) has no tables yet — "
            "the daemon creates them when it starts, or run `depeg-monitor db upgrade`",
            file=sys.stderr,
        )
        return Failed(EXIT_RUNTIME)
    except SchemaTooOld as e:
        print(
            f"{command}: the database ({printable(describe_place(url))}) is at schema version "
            f"{e.found}, this version reads {SCHEMA_VERSION} — run `depeg-monitor db upgrade` "
            "(the daemon does it when it starts)",
            file=sys.stderr,
        )
        return Failed(EXIT_RUNTIME)
    except DB_ERRORS as e:
        return Failed(db_problem(command, e, settings))
