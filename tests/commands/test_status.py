"""`depeg-monitor status` against a real SQLite file (written by the store's own functions or
by a real daemon) and against databases that cannot be read."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from depeg_monitor.cli import main
from depeg_monitor.clock import SystemClock
from depeg_monitor.commands import scenarios
from depeg_monitor.commands.demo import TerminalChannel
from depeg_monitor.commands.status import span
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.model import Alert, AlertItem, AlertKind, DeliveryStatus, Message, Severity
from depeg_monitor.simulate import SimulatedMarket
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import (
    SCHEMA_VERSION,
    aggregates,
    alert_items,
    alerts,
    health_history,
)
from depeg_monitor.store.times import to_dt

from ..postgres import TempPostgres

SECRET = "s3cret-pw"


def write_config(tmp_path: Path, db: Path, extra: str = "") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[coins.USDC]\n[coins.DAI]\n[venues.kraken]\nmarkets = ['USDC/USD', 'DAI/USD']\n"
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n{extra}'
    )
    return cfg


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health_rows(engine_url: str, ts: float, rows: Sequence[tuple[str, str, str | None]]) -> None:
    async def store() -> None:
        engine = create_engine(engine_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    insert(health_history),
                    [
                        {"ts": to_dt(ts), "component": c, "status": s, "error": e}
                        for c, s, e in rows
                    ],
                )
        finally:
            await engine.dispose()

    asyncio.run(store())


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
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
    asyncio.run(populate(db, time.time()))

    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("daemon running: last report")
    usdc = next(line for line in lines if line.strip().startswith("USDC") and "venues" in line)
    assert "0.96120" in usdc and "-3.880%" in usdc and "major" in usdc
    assert any("DAI" in line and "no quorum" in line for line in lines)
    firing = out.split("firing alerts:")[1].split("silences:")[0]
    assert "USDC" in firing and "escalated" in firing
    assert "DAI" not in firing  # its last alert resolved it
    health = out.split("health (")[1]
    assert "venue:okx" in health and "HTTP 503" in health and "old" not in health


@pytest.mark.parametrize(
    ("age", "interval", "said"),
    [
        (600, 60, "daemon not running? last report 10 min ago (expected every 60 s)"),
        (88, 30, "daemon not running? last report 8? s ago (expected every 30 s)"),
        (88, 60, "daemon running: last report 8? s ago (every 60 s)"),
        (600, 300, "daemon running: last report 10 min ago (every 5 min)"),
    ],
)
def test_status_says_when_the_daemon_stopped_reporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], age: float, interval: float, said: str
) -> None:
    """A last health row older than two of the configured health intervals is said plainly to
    mean the daemon is not running; one within them is shown as a running daemon's."""
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db, f"[health]\nhistory_interval = {interval}\n")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    health_rows(f"sqlite+aiosqlite:///{db}", time.time() - age, [("db", "pass", None)])
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert fnmatch.fnmatchcase(first, said)  # 8?: a second may pass before status reads it


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.5, "0.5 s"), (3, "3 s"), (88, "88 s"), (600, "10 min"), (3 * 3600 + 300, "3 h 5 min"),
     (2 * 86400 + 3 * 3600, "2 d 3 h"), (-2, "0 s")],
)  # fmt: skip
def test_durations_are_said_as_people_say_them(seconds: float, said: str) -> None:
    """Ages and intervals read as 88 s, 10 min, 3 h 5 min — never as 5400s or 0 s for 0.5."""
    assert span(seconds) == said


def test_status_before_the_daemon_ever_reported_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prepared database with no health rows yet is not shown as a running daemon."""
    cfg = write_config(tmp_path, tmp_path / "depeg.db")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.startswith("daemon not running? it has not reported yet")


async def record(db: Path, now: float) -> None:
    """Silences and alerts with their deliveries, written as the daemon writes them."""
    engine = create_engine(f"sqlite+aiosqlite:///{db}")

    def alert(aid: str, ago: float, kind: AlertKind, sev: Severity, *coins: str) -> Alert:
        items = tuple(AlertItem(c, sev, kind, None) for c in coins)
        return Alert(aid, now - ago, sev, kind, items, (), suppressed=None)

    try:
        await alert_history.add_silence(engine, "USDT", now - 60, now + 7200, "binance maint", now)
        await alert_history.add_silence(engine, None, now + 3600, now + 7200, "upgrade", now)
        await alert_history.add_silence(engine, "DAI", now - 7200, now - 3600, "over", now)
        gone = await alert_history.add_silence(engine, "FDUSD", now - 60, now + 60, "x", now)
        await alert_history.expire_silence(engine, gone, now - 1)
        crit = alert("c1", 40, AlertKind.ESCALATED, Severity.CRITICAL, "USDC", "DAI")
        quiet = Alert(
            "q1", now - 20, Severity.MINOR, AlertKind.FIRST,
            (AlertItem("USDT", Severity.MINOR, AlertKind.FIRST, None),), (), "silenced",
        )  # fmt: skip
        old = [
            alert(f"o{i}", 1000 + i, AlertKind.REMINDER, Severity.MAJOR, "USDC") for i in range(12)
        ]
        async with engine.begin() as conn:
            for a in (crit, quiet, *old):
                await alert_history.insert_alert(conn, a, Message("title", "body"))
            for channel in ("discord", "sms", "email"):
                await alert_history.insert_delivery(conn, "c1", channel, now - 40)
            await alert_history.update_delivery(
                conn, "c1", "discord", DeliveryStatus.DELIVERED, 1, None, now - 39
            )
            await alert_history.update_delivery(
                conn, "c1", "sms", DeliveryStatus.FAILED, 3, "Twilio: HTTP 401\x1b[2J", now - 30
            )
            await alert_history.insert_delivery(
                conn, "c1", "discord-backup", now - 30, fallback_for="sms"
            )
    finally:
        await engine.dispose()


def test_status_shows_silences_and_the_last_alerts_with_who_heard_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Silences in force or to come are listed; the latest alerts show time, coins, severity
    and kind, and each channel's delivery: delivered, failed with why, pending, a fallback —
    and an alert kept from everyone says why it was not sent."""
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    asyncio.run(record(db, time.time()))
    capsys.readouterr()

    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    silences = out.split("silences:\n")[1].split("last alerts:")[0].splitlines()
    assert len(silences) == 2  # the ended and the expired one are not in force
    assert "USDT" in silences[0] and "left)" in silences[0] and "binance maint" in silences[0]
    assert "ALL" in silences[1] and "(in " in silences[1] and "upgrade" in silences[1]

    recent = out.split("last alerts:\n")[1].split("health")[0].splitlines()
    assert len(recent) == 2 * 10  # the ten latest, each with its deliveries
    assert "minor" in recent[0] and "first" in recent[0] and "USDT" in recent[0]
    assert recent[1].strip() == "→ not sent: silenced"
    assert "critical" in recent[2] and "escalated" in recent[2] and "USDC, DAI" in recent[2]
    assert " s ago)" in recent[2]
    heard = recent[3]
    assert "discord delivered" in heard
    assert "sms failed after 3 attempts: Twilio: HTTP 401\\x1b[2J" in heard
    assert "email pending" in heard
    assert "discord-backup pending (standing in for sms)" in heard
    assert "\x1b" not in out
    assert "reminder" in recent[4] and recent[5].strip() == "→ no delivery recorded"


def test_status_finds_the_daemons_database_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no [database] url, status reads the database in $STATE_DIRECTORY, as `run` does,
    whatever the current directory."""
    state, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    state.mkdir()
    elsewhere.mkdir()
    cfg = tmp_path / "config.toml"
    cfg.write_text("[coins.USDC]\n[venues.kraken]\nmarkets = ['USDC/USD']\n")
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    monkeypatch.chdir(elsewhere)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    health_rows(
        f"sqlite+aiosqlite:///{state / 'depeg-monitor.db'}", time.time(), [("db", "pass", None)]
    )
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.startswith("daemon running")
    assert list(elsewhere.iterdir()) == []


def test_status_finds_the_database_beside_the_configuration_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without $STATE_DIRECTORY either, the database is data/ beside the configuration file:
    prepared from one directory, status finds it from another and creates nothing there."""
    conf, one, other = tmp_path / "etc", tmp_path / "one", tmp_path / "other"
    for d in (conf, one, other):
        d.mkdir()
    cfg = conf / "config.toml"
    cfg.write_text("[coins.USDC]\n[venues.kraken]\nmarkets = ['USDC/USD']\n")
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.chdir(one)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    health_rows(
        f"sqlite+aiosqlite:///{conf / 'data' / 'depeg-monitor.db'}",
        time.time(),
        [("db", "pass", None)],
    )
    monkeypatch.chdir(other)
    capsys.readouterr()
    assert main(["status", "--config", "../etc/config.toml"]) == 0
    assert capsys.readouterr().out.startswith("daemon running")
    assert list(one.iterdir()) == [] and list(other.iterdir()) == []


def test_status_says_where_it_looked_for_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No database yet in the default place: status names the file and how it was chosen."""
    cfg = tmp_path / "config.toml"
    cfg.write_text("[coins.USDC]\n[venues.kraken]\nmarkets = ['USDC/USD']\n")
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"status: no database at {tmp_path / 'data' / 'depeg-monitor.db'} ")
    assert "$STATE_DIRECTORY, else data/ beside the configuration file" in err
    assert not (tmp_path / "data").exists()


def _status(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "depeg_monitor", "status", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("DEPEG_")},
    )


async def _status_until(cfg: Path, first_line: str, within: float) -> str:
    """Run `status` until its first line starts with first_line; its whole output."""
    loop = asyncio.get_running_loop()
    until = loop.time() + within
    while True:
        done = await asyncio.to_thread(_status, cfg)
        assert done.returncode == 0, done.stderr
        if done.stdout.startswith(first_line):
            return done.stdout
        if loop.time() > until:
            raise AssertionError(f"status never said {first_line!r}:\n{done.stdout}")
        await asyncio.sleep(0.1)


async def test_status_follows_a_real_daemon_from_running_to_stopped(tmp_path: Path) -> None:
    """While the daemon runs, status says so and shows its prices and health; once it stops,
    status says it is not running."""
    clock = SystemClock()
    market = SimulatedMarket(scenarios.load("calm"), clock)
    await market.start()
    try:
        urls = market.base_urls()
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[coins.USDC]
[venues.kraken]
base_url = "{urls["kraken"]}"
markets = ["USDC/USD"]
poll_interval = 1
[venues.bitstamp]
base_url = "{urls["bitstamp"]}"
markets = ["USDC/USD"]
poll_interval = 1
[channels.console]
type = "console"
[alerts.routes]
minor = [{{ channels = ["console"] }}]
major = [{{ channels = ["console"] }}]
critical = [{{ channels = ["console"] }}]
[database]
url = "sqlite+aiosqlite:///{tmp_path / "depeg.db"}"
flush_interval = 0.1
[health]
port = 0
history_interval = 0.5
[logging]
level = "error"
""")
        settings = load_settings(cfg)
        daemon = Daemon(settings, clock, {"console": TerminalChannel("console", str)})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        try:
            out = await _status_until(cfg, "daemon running", 30)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        assert "health (" in out
        out = await _status_until(cfg, "daemon not running? last report", 30)
        assert "(expected every 0.5 s)" in out
    finally:
        await market.stop()


async def test_status_shows_each_pool_and_feed_with_its_block_and_price(tmp_path: Path) -> None:
    """A real daemon polling the simulated chain on the USDe day: status lists each pool
    with its chain, last block and that block's age and its last price, the Chainlink feed
    with its answer, and a pool whose address has no code with why it was set aside."""
    from ..test_daemon import tweak
    from ..test_daemon_onchain import SPEED, onchain_settings

    clock = SystemClock()
    market = SimulatedMarket(scenarios.load("usde-dislocation").with_time_scale(SPEED), clock)
    await market.start()
    try:
        nowhere = "0x" + "ab" * 20  # no contract there: set aside at start-up
        coins = [
            {"symbol": "USDE", "address": "0x" + "cd" * 20, "decimals": 18},
            {"symbol": "USDC", "address": "0x" + "ef" * 20, "decimals": 6},
        ]
        settings = tweak(
            onchain_settings(market, tmp_path),
            database={"flush_interval": 0.1},
            health={"history_interval": 0.5},
            pools={
                "curve-nowhere": {
                    "kind": "curve",
                    "address": nowhere,
                    "coins": coins,
                    "markets": ["USDE/USDC"],
                }
            },
        )
        daemon = Daemon(settings, clock, {n: TerminalChannel(n, str) for n in settings.channels})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        cfg = write_config(tmp_path, tmp_path / "demo.db", "[health]\nhistory_interval = 0.5\n")
        rpc_url = market.rpc_urls()["ethereum"]
        try:
            loop = asyncio.get_running_loop()
            until = loop.time() + 30
            while True:
                done = await asyncio.to_thread(_status, cfg)
                assert done.returncode == 0, done.stderr
                lines = {line.split()[0]: line for line in done.stdout.splitlines() if line}
                if all(
                    "block" in lines.get(p, "") and "no price" not in lines.get(p, "")
                    for p in ("curve-usde-usdc", "univ3-usde-usdt", "chainlink-usde-usd")
                ) and all("block" in lines.get(p, "") for p in ("curve-nowhere", "curve-3pool")):
                    break
                assert loop.time() < until, done.stdout
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        await market.stop()
    out = done.stdout
    assert "on-chain pools and feeds:" in out
    block = r"ethereum block \d+ \([\d.]+ s old\)"
    par = r"(0\.99|1\.00)\d+"
    assert re.search(rf"curve-usde-usdc +pass +{block}  USDE {par} USDC", out), out
    assert re.search(rf"univ3-usde-usdt +pass +{block}  USDE {par} USDT", out), out
    assert re.search(rf"curve-3pool +pass +{block}  DAI {par} USDC, USDT {par} USDC", out), out
    assert re.search(rf"chainlink-usde-usd +pass +{block}  Chainlink USDE/USD {par}, updated", out)
    (aside,) = [line for line in out.splitlines() if line.startswith("  curve-nowhere")]
    assert re.search(rf"curve-nowhere +warn +{block}  no price recorded  set aside, failed", aside)
    assert "no contract at the address" in aside, aside
    assert rpc_url not in out


def test_status_on_a_database_without_schema_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that was never upgraded gives exit 1 and a hint, not a traceback."""
    (tmp_path / "empty.db").touch()  # a database file, but no tables
    cfg = write_config(tmp_path, tmp_path / "empty.db")
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "has no tables yet" in err and "db upgrade" in err and len(err.splitlines()) == 1


def test_status_on_a_database_of_an_older_version_says_to_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database a previous version left (schema 2, no acks table) gives exit 1 and the
    upgrade to run, in one line, instead of an OperationalError."""
    db = tmp_path / "old.db"

    async def make_old() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                await conn.execute(text("DROP TABLE acks"))
                await conn.execute(text("UPDATE schema_version SET version = 2"))
        finally:
            await engine.dispose()

    asyncio.run(make_old())
    cfg = write_config(tmp_path, db)
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "schema version 2" in err and "db upgrade" in err and len(err.splitlines()) == 1


def test_status_without_a_database_file_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for status before the daemon ever ran says so, and leaves no empty file behind."""
    db = tmp_path / "never.db"
    cfg = write_config(tmp_path, db)
    assert main(["status", "--config", str(cfg)]) == 1
    assert f"no database at {db} (database.url)" in capsys.readouterr().err
    assert not db.exists()


def test_status_with_postgresql_down_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody listening at the database's port: one line naming the host, no password, exit 1."""
    port = closed_port()
    monkeypatch.setenv("DEPEG_DATABASE__URL", f"postgresql+psycopg://u:{SECRET}@127.0.0.1:{port}/d")
    cfg = write_config(tmp_path, tmp_path / "unused.db")
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "status: database unavailable: connection refused (is the server running?) "
        f"(postgresql at 127.0.0.1:{port}/d)\n"
    )


@pytest.mark.postgres
def test_status_with_a_wrong_password_says_authentication_failed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pg_server: TempPostgres,
) -> None:
    """A wrong database password is 'authentication failed' in one line, the password unsaid."""
    url = pg_server.add_password_user("depeg_status", "right-pw").replace("right-pw", SECRET)
    monkeypatch.setenv("DEPEG_DATABASE__URL", url + "/postgres")
    cfg = write_config(tmp_path, tmp_path / "unused.db")
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("status: database unavailable: authentication failed")
    assert SECRET not in err and len(err.splitlines()) == 1


def test_status_escapes_venue_text_read_from_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A venue's error stored in health history prints escaped, on its component's line."""
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    hostile = "EGeneral:Invalid\x1b[2J\r\nFAKE LINE  db pass\u202e"
    health_rows(f"sqlite+aiosqlite:///{db}", time.time(), [("venue:kraken", "warn", hostile)])
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert not any(line.startswith("FAKE LINE") for line in lines)
    (kraken,) = [line for line in lines if "venue:kraken" in line]
    assert kraken.endswith("EGeneral:Invalid\\x1b[2J\\r\\nFAKE LINE  db pass\\u202e")


@pytest.mark.parametrize("position", ["before", "after"])
def test_status_takes_config_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], position: str
) -> None:
    """`depeg-monitor --config X status` reads X just as `status --config X` does."""
    db = tmp_path / "depeg.db"
    cfg = write_config(tmp_path, db)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    argv = (
        ["--config", str(cfg), "status"]
        if position == "before"
        else ["status", "--config", str(cfg)]
    )
    capsys.readouterr()
    assert main(argv) == 0
    assert "prices:" in capsys.readouterr().out
