"""Engines and schema upgrades on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from depeg_monitor.model import Severity
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import SchemaTooNew, create_engine, upgrade
from depeg_monitor.store.schema import SCHEMA_VERSION, schema_version
from depeg_monitor.store.times import to_dt


async def _old_alert(conn: AsyncConnection, severity: Severity) -> None:
    """An alert row 'a1' for USDC as an older schema's daemon wrote it."""
    await conn.execute(
        text(
            "INSERT INTO alerts (id, ts, severity, kind, coins, title, body)"
            " VALUES ('a1', :ts, :severity, 'first', 'USDC', :title, 'body')"
        ),
        {"ts": to_dt(1_700_000_000.0), "severity": int(severity), "title": severity.name},
    )


async def _old_pending_sms(conn: AsyncConnection, attempts: int) -> None:
    """Alert a1's SMS delivery, still pending after `attempts` tries."""
    await conn.execute(
        text(
            "INSERT INTO deliveries (alert_id, channel, status, attempts, created_at,"
            " updated_at) VALUES ('a1', 'sms', 'pending', :attempts, :ts, :ts)"
        ),
        {"ts": to_dt(1_700_000_000.0), "attempts": attempts},
    )


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


async def test_a_version_1_database_keeps_its_pending_deliveries_through_the_upgrade(
    db_url: str,
) -> None:
    """A database written by version 1 (no first-tried or sent times) is upgraded in place: its
    pending delivery survives and is read back for resuming, with the new columns empty."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:  # make it what version 1 left behind
            for column in ("first_tried_at", "sent_at", "claim_token"):
                await conn.execute(text(f"ALTER TABLE deliveries DROP COLUMN {column}"))
            await conn.execute(text("UPDATE schema_version SET version = 1"))
            await _old_alert(conn, Severity.CRITICAL)
            await _old_pending_sms(conn, attempts=3)
        assert await upgrade(engine) == SCHEMA_VERSION
        pending, known = await alert_history.pending_deliveries(engine)
        assert [(p.channel, p.attempts, p.first_tried_at) for p in pending] == [("sms", 3, None)]
        assert known == {("a1", "sms")}
    finally:
        await engine.dispose()


async def test_a_version_2_database_gains_the_acks_table_and_keeps_its_alerts(
    db_url: str,
) -> None:
    """A database from before `ack` existed is upgraded in place: the acks table is created,
    the version recorded, and its recorded episode can be acknowledged."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:  # make it what version 2 left behind
            await conn.execute(text("DROP TABLE acks"))
            await conn.execute(text("ALTER TABLE deliveries DROP COLUMN claim_token"))
            await conn.execute(text("UPDATE schema_version SET version = 2"))
            await _old_alert(conn, Severity.MAJOR)
        assert await upgrade(engine) == SCHEMA_VERSION == 4
        async with engine.connect() as conn:
            versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
        assert sorted(versions) == [2, 4]
        made = await alert_history.add_ack(
            engine, "USDC", 1_700_000_000.0, Severity.MAJOR, "alice", "seen", 1_700_000_060.0
        )
        assert await alert_history.latest_acks(engine) == [made]
    finally:
        await engine.dispose()


async def test_a_version_3_database_gains_the_lease_table_and_delivery_claims(
    db_url: str,
) -> None:
    """A database from before [ha] is upgraded in place: the leases table and the deliveries'
    claim_token column appear, and its pending deliveries stay pending."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:  # make it what version 3 left behind
            await conn.execute(text("DROP TABLE leases"))
            await conn.execute(text("ALTER TABLE deliveries DROP COLUMN claim_token"))
            await conn.execute(text("UPDATE schema_version SET version = 3"))
            await _old_alert(conn, Severity.CRITICAL)
            await _old_pending_sms(conn, attempts=1)
        assert await upgrade(engine) == SCHEMA_VERSION == 4
        async with engine.connect() as conn:
            claims = (await conn.execute(text("SELECT claim_token FROM deliveries"))).all()
            leases = (await conn.execute(text("SELECT count(*) FROM leases"))).scalar()
        assert [tuple(r) for r in claims] == [(None,)] and leases == 0
        pending, _ = await alert_history.pending_deliveries(engine)
        assert [p.channel for p in pending] == ["sms"]
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


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common interactive umask 022, which would make new files world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An existing, world-readable directory, like a home directory."""
    tmp_path.chmod(0o755)
    return tmp_path


@pytest.mark.usefixtures("loose_umask")
async def test_new_database_is_private_whatever_the_umask(home: Path) -> None:
    """Outside systemd too, the directories made for it are 0700 and the database and its WAL
    0600; a directory that was already there keeps its own mode."""
    db = home / "state" / "sub" / "depeg.db"
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)  # a write: the -wal file exists until the last connection closes
        wal = db.with_name(db.name + "-wal")
        assert wal.exists()
        assert (mode(db), mode(wal)) == (0o600, 0o600)
        assert (mode(db.parent), mode(db.parent.parent)) == (0o700, 0o700)
        assert mode(home) == 0o755
    finally:
        await engine.dispose()


@pytest.mark.usefixtures("loose_umask")
async def test_existing_database_file_is_opened_as_it_is(tmp_path: Path) -> None:
    """A database the operator already has (and its mode) is used, not replaced or changed."""
    db = tmp_path / "depeg.db"
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    db.chmod(0o640)  # e.g. readable by a backup group, on purpose
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        assert await upgrade(engine) == SCHEMA_VERSION  # same schema, not a new empty file
    finally:
        await engine.dispose()
    assert mode(db) == 0o640
