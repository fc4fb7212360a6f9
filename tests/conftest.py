"""Shared fixtures: a throwaway PostgreSQL server for the run, and database URLs for tests.

- pg_server (session): a real PostgreSQL started with initdb + pg_ctl on 127.0.0.1 (free port),
  as the postgres OS user when running as root; .host, .port, .user (trust auth, superuser).
- pg_url: a fresh, empty database per test (`postgresql+psycopg://…`), dropped afterwards.
- sqlite_url: `sqlite+aiosqlite:///<tmp_path>/test.db`.
- db_url: parametrised over both, so a test runs once on SQLite and once on PostgreSQL.
- pg_control: .stop() / .start() the server in the middle of a test (database outage);
  the server is started again after the test whatever happens.
- (autouse) any test during which asyncio reports an aiohttp session or connector nobody
  closed fails: a channel or client that leaks one per failed request would otherwise only
  print "Unclosed client session" somewhere in the output.

Without the server binaries the PostgreSQL tests skip, unless $CI is set: then they fail.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres import PostgresUnavailable, TempPostgres

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    """A PostgreSQL server for the whole test session (skipped, or failed in CI, if absent)."""
    try:
        server = TempPostgres.create()
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"{e}; CI must install postgresql (see .ci/run)")
        pytest.skip(f"{e}; install postgresql to run the PostgreSQL tests")
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_url(pg_server: TempPostgres) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test."""
    name = f"t{os.getpid()}_{next(_db_counter)}"
    url = str(pg_server.create_database(name))
    yield url
    if pg_server.running():
        pg_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in this test's temp dir (the file does not exist yet)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def pg_control(pg_server: TempPostgres) -> Iterator[TempPostgres]:
    """Stop and start the session's PostgreSQL server mid-test; restarted afterwards."""
    yield pg_server
    if not pg_server.running():
        pg_server.start()


class _UnclosedWatch(logging.Handler):
    """Keeps asyncio's reports of an aiohttp session or connector that was never closed."""

    LEAKS = ("Unclosed client session", "Unclosed connector")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if any(leak in text for leak in self.LEAKS):
            self.found.append(text.splitlines()[0])


@pytest.fixture(autouse=True)
def _no_unclosed_aiohttp() -> Iterator[None]:
    """Fails the test if asyncio reports an unclosed aiohttp session or connector during it."""
    watch = _UnclosedWatch()
    logger = logging.getLogger("asyncio")
    logger.addHandler(watch)
    try:
        with warnings.catch_warnings():
            # aiohttp warns (ResourceWarning) before it reports to asyncio: under -W error that
            # warning would end its __del__ before the report, and the leak would go unseen.
            for leak in _UnclosedWatch.LEAKS:
                warnings.filterwarnings("always", leak, ResourceWarning)
            yield
            gc.collect()  # what the test dropped in a cycle reports now, while watch listens
    finally:
        logger.removeHandler(watch)
    if watch.found:
        pytest.fail("asyncio reported: " + "; ".join(dict.fromkeys(watch.found)), pytrace=False)


# One real daemon's /metrics and /health (tests/scrape.py), for the tests that read them.
from .scrape import daemon_scrape  # noqa: E402, F401
