"""Database failures in words, from the driver's own errors: what went wrong and where, never
the password; lasting ones (a wrong password, a missing database) marked so /health fails."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from depeg_monitor.store.db import (
    MissingDirectory,
    classify_db_error,
    create_engine,
    upgrade,
)

from ..postgres import TempPostgres

SECRET = "s3cret-pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def problem_of(url: str) -> tuple[str, bool]:
    engine = create_engine(url)
    try:
        with pytest.raises(Exception) as info:
            await upgrade(engine)
        p = classify_db_error(info.value, engine.url)
        return p.text, p.lasting
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_wrong_password_says_authentication_failed_and_lasts(
    pg_server: TempPostgres,
) -> None:
    """A wrong password is 'authentication failed' at the host, without the password."""
    url = pg_server.add_password_user("depeg_pw", "right-pw").replace("right-pw", SECRET)
    text, lasting = await problem_of(url + "/postgres")
    assert text.startswith("database unavailable: authentication failed")
    assert f"postgresql at 127.0.0.1:{pg_server.port}/postgres" in text
    assert SECRET not in text and lasting


@pytest.mark.postgres
async def test_a_missing_database_is_named_as_such(pg_server: TempPostgres) -> None:
    """Connecting to a database that was never created says so, and it lasts."""
    text, lasting = await problem_of(pg_server.url("never_created"))
    assert "the database does not exist" in text and lasting


async def test_a_refused_connection_is_not_lasting() -> None:
    """Nobody listening at the port: 'connection refused', which may mend by itself."""
    port = closed_port()
    text, lasting = await problem_of(f"postgresql+psycopg://u:{SECRET}@127.0.0.1:{port}/d")
    assert f"connection refused (is the server running?) (postgresql at 127.0.0.1:{port}/d)" in text
    assert SECRET not in text and not lasting


def test_an_uninstalled_driver_is_unsupported() -> None:
    """A mysql:// URL (no driver installed) is an unsupported driver, not a traceback."""
    with pytest.raises(Exception) as info:
        create_engine(f"mysql://u:{SECRET}@db.example.com/x")
    text = classify_db_error(info.value, f"mysql://u:{SECRET}@db.example.com/x").text
    assert text == "database unavailable: unsupported database driver (mysql at db.example.com/x)"


def test_an_explicit_path_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    """An explicit SQLite path whose directory does not exist is refused, nothing created."""
    db = tmp_path / "typo" / "depeg.db"
    with pytest.raises(MissingDirectory, match="does not exist"):
        create_engine(f"sqlite+aiosqlite:///{db}", create_dirs=False)
    assert not db.parent.exists()
