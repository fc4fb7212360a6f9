"""`depeg-monitor db upgrade` and `depeg-monitor status` against a real SQLite file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

from depeg_monitor.cli import main
from depeg_monitor.store.db import create_engine
from depeg_monitor.store.schema import aggregates, alert_items, alerts, health_history
from depeg_monitor.store.times import to_dt


def write_config(tmp_path: Path, db: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[coins.USDC]\n[coins.DAI]\n[database]\nurl = "sqlite+aiosqlite:///{db}"\n')
    return cfg


async def populate(db: Path, now: float) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{db}")

    def agg(coin: str, ts: float, price: float | None, sev: int) -> dict[str, object]:
        dev = None if price is None else price - 1
        return {"ts": to_dt(ts), "coin": coin, "resolution": "raw", "price": price,
                "deviation": dev, "venues_used": 4, "severity": sev}  # fmt: skip

    def alert(aid: str, ts: float, coin: str, kind: str, sev: int) -> list[dict[str, object]]:
        return [
            {"id": aid, "ts": to_dt(ts), "severity": sev, "kind": kind, "coins": coin,
             "title": "t", "body": "b"},
            {"alert_id": aid, "coin": coin, "severity": sev, "kind": kind},
        ]  # fmt: skip

    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(aggregates),
                [agg("USDC", now - 60, 0.99, 0), agg("USDC", now - 5, 0.9612, 2),
                 agg("DAI", now - 5, None, 0)],
            )  # fmt: skip
            a1 = alert("a1", now - 100, "USDC", "first", 1)
            a2 = alert("a2", now - 50, "USDC", "escalated", 2)
            d1 = alert("d1", now - 90, "DAI", "first", 1)
            d2 = alert("d2", now - 30, "DAI", "resolved", 0)
            await conn.execute(insert(alerts), [a1[0], a2[0], d1[0], d2[0]])
            await conn.execute(insert(alert_items), [a1[1], a2[1], d1[1], d2[1]])
            await conn.execute(
                insert(health_history),
                [
                    {"ts": to_dt(now - 120), "component": "db", "status": "fail", "error": "old"},
                    {"ts": to_dt(now - 10), "component": "db", "status": "pass", "error": None},
                    {"ts": to_dt(now - 10), "component": "venue:okx", "status": "warn",
                     "error": "HTTP 503"},
                ],
            )  # fmt: skip
    finally:
        await engine.dispose()


def test_status_prints_prices_firing_alerts_and_health(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After db upgrade and some history, status shows the latest of each, from the file."""
    db = tmp_path / "state" / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert "schema version 1" in capsys.readouterr().out
    asyncio.run(populate(db, time.time()))

    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    usdc = next(line for line in lines if line.strip().startswith("USDC") and "venues" in line)
    assert "0.96120" in usdc and "-3.880%" in usdc and "major" in usdc
    assert any("DAI" in line and "no quorum" in line for line in lines)
    firing = out.split("firing alerts:")[1].split("health")[0]
    assert "USDC" in firing and "escalated" in firing
    assert "DAI" not in firing  # its last alert resolved it
    health = out.split("health (")[1]
    assert "venue:okx" in health and "HTTP 503" in health and "old" not in health


def test_status_on_a_database_without_schema_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that was never upgraded gives exit 1 and a hint, not a traceback."""
    (tmp_path / "empty.db").touch()  # a database file, but no tables
    cfg = write_config(tmp_path, tmp_path / "empty.db")
    assert main(["status", "--config", str(cfg)]) == 1
    assert "db upgrade" in capsys.readouterr().err


def test_status_without_a_database_file_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for status before the daemon ever ran says so, and leaves no empty file behind."""
    db = tmp_path / "never.db"
    cfg = write_config(tmp_path, db)
    assert main(["status", "--config", str(cfg)]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not db.exists()


def test_status_escapes_venue_text_read_from_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A venue's error stored in health history prints escaped, on its component's line."""
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    hostile = "EGeneral:Invalid\x1b[2J\r\nFAKE LINE  db pass\u202e"

    async def store() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    insert(health_history),
                    [{"ts": to_dt(time.time()), "component": "venue:kraken", "status": "warn",
                      "error": hostile}],
                )  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(store())
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert not any(line.startswith("FAKE LINE") for line in lines)
    (kraken,) = [line for line in lines if "venue:kraken" in line]
    assert kraken.endswith("EGeneral:Invalid\\x1b[2J\\r\\nFAKE LINE  db pass\\u202e")
