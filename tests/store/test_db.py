"""Engines and schema upgrades on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from depeg_monitor.store.db import SchemaTooNew, create_engine, upgrade
from depeg_monitor.store.schema import SCHEMA_VERSION, schema_version


async def test_upgrade_creates_schema_once_and_records_version(db_url: str) -> None:
    """upgrade() on an empty database creates every table; a second run changes nothing."""
    engine = create_engine(db_url)
    try:
        assert await upgrade(engine) == SCHEMA_VERSION
        assert await upgrade(engine) == SCHEMA_VERSION
        async with engine.connect() as conn:
            versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
        assert versions == [SCHEMA_VERSION]
    finally:
        await engine.dispose()


async def test_sqlite_file_and_directory_created_in_wal_mode(tmp_path: Path) -> None:
    """A SQLite URL in a missing directory works: the directory is created, WAL is on."""
    db = tmp_path / "state" / "sub" / "depeg.db"
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert db.exists()
    finally:
        await engine.dispose()


async def test_newer_schema_is_refused(sqlite_url: str) -> None:
    """A database upgraded by a newer release is refused with a clear error, not altered."""
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO schema_version VALUES (:v, '2030-01-01 00:00:00')"),
                {"v": SCHEMA_VERSION + 1},
            )
        with pytest.raises(SchemaTooNew, match="this program knows up to"):
            await upgrade(engine)
    finally:
        await engine.dispose()
