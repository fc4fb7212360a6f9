"""`depeg-monitor ack` against a SQLite file, and through the command line against a running
daemon watching a simulated market."""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from depeg_monitor.alerts.render import utc
from depeg_monitor.cli import main
from depeg_monitor.clock import SystemClock
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon, Timings
from depeg_monitor.model import Alert, AlertItem, AlertKind, Message, Severity
from depeg_monitor.simulate import SimulatedMarket, parse_scenario
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import alerts
from depeg_monitor.store.times import from_dt

from ..waiting import eventually

T0 = 1_700_000_000.0


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration watching USDC and DAI, its database a file in tmp_path."""
    monkeypatch.delenv("DEPEG_CONFIG", raising=False)
    monkeypatch.delenv("DEPEG_DATABASE__URL", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        "[coins.USDC]\n[coins.DAI]\n[venues.kraken]\nmarkets = ['USDC/USD', 'DAI/USD']\n"
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "state.db"}"\n'
    )
    return path


def record(cfg: Path, *notices: tuple[str, AlertKind, Severity, float]) -> list[Any]:
    """Alerts recorded as the daemon records them; returns the acks stored afterwards."""

    async def go() -> list[Any]:
        engine = create_engine(f"sqlite+aiosqlite:///{cfg.parent / 'state.db'}")
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                for coin, kind, sev, ts in notices:
                    item = AlertItem(coin, sev, kind, None)
                    alert = Alert(str(uuid.uuid4()), ts, sev, kind, (item,), ("discord",))
                    await alert_history.insert_alert(conn, alert, Message("t", "b"))
            return await alert_history.list_acks(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_an_open_episode_is_acknowledged_by_the_user_running_the_command(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ack usdc` records an ack of USDC's open major episode by the OS user, says what it
    stops, and `status` shows it beside the firing alert."""
    record(cfg, ("USDC", AlertKind.FIRST, Severity.MAJOR, T0))
    assert main(["ack", "usdc", "--reason", "bank run,\n  watching", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "acknowledged USDC's major episode (since 2023-11-14 22:13:20 UTC)" in out
    assert f"by {getpass.getuser()}: bank run, watching" in out
    assert "until it goes past major or resolves" in out
    [ack] = record(cfg)
    assert (ack.coin, ack.since, ack.severity, ack.by) == (
        "USDC",
        T0,
        Severity.MAJOR,
        getpass.getuser(),
    )
    assert main(["status", "--config", str(cfg)]) == 0
    status = capsys.readouterr().out
    assert f"acknowledged (major) by {getpass.getuser()}" in status
    assert "bank run, watching — no reminders until it goes past major" in status


def test_status_says_when_the_episode_went_past_the_level_acknowledged(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Acknowledged at major, then escalated to critical: `status` still names the ack and
    says reminders are back; acknowledged again, they stop at critical."""
    record(cfg, ("USDC", AlertKind.FIRST, Severity.MAJOR, T0))
    assert main(["ack", "USDC", "--by", "alice", "--config", str(cfg)]) == 0
    record(cfg, ("USDC", AlertKind.ESCALATED, Severity.CRITICAL, T0 + 60))
    capsys.readouterr()
    assert main(["status", "--config", str(cfg)]) == 0
    status = capsys.readouterr().out
    assert "acknowledged (major) by alice" in status
    assert "since escalated to critical: reminders back" in status
    assert main(["ack", "USDC", "--by", "bob", "--config", str(cfg)]) == 0
    assert "acknowledged USDC's critical episode" in capsys.readouterr().out
    assert main(["status", "--config", str(cfg)]) == 0
    assert "acknowledged (critical) by bob" in capsys.readouterr().out


@pytest.mark.parametrize(
    "history",
    [
        (),
        (
            ("USDC", AlertKind.FIRST, Severity.MAJOR, T0),
            ("USDC", AlertKind.RESOLVED, Severity.MAJOR, T0 + 60),
        ),
    ],
    ids=["never-fired", "resolved"],
)
def test_without_an_open_episode_nothing_is_acknowledged(
    cfg: Path, capsys: pytest.CaptureFixture[str], history: Any
) -> None:
    """A coin that is not firing (never, or no longer) cannot be acknowledged: exit 1, a line
    saying so, and no ack stored to hang over its next episode."""
    record(cfg, *history)
    assert main(["ack", "USDC", "--by", "alice", "--config", str(cfg)]) == 1
    assert "ack: USDC has no open episode to acknowledge" in capsys.readouterr().err
    assert record(cfg) == []


def test_a_coin_the_configuration_does_not_watch_is_refused(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ack USTD` (for USDT) is refused with the coins watched, exit 2."""
    assert main(["ack", "USTD", "--config", str(cfg)]) == 2
    assert "no coin 'USTD' in the configuration (coins: USDC, DAI)" in capsys.readouterr().err


# --- through the command line, against a running daemon ------------------------------------


class ShiftedClock(SystemClock):
    """The market's clock: real time, plus a jump when the test wants the scenario's end."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return super().now() + self.offset


@dataclass
class Recorder:
    """A channel that keeps every message it is given."""

    name: str = "console"
    timeout: float = 1.0
    messages: list[Message] = field(default_factory=list)

    async def send(self, msg: Message, key: str) -> None:
        self.messages.append(msg)

    async def close(self) -> None:
        return None

    def titled(self, word: str) -> list[Message]:
        return [m for m in self.messages if word in m.title]


# USDC sits at 0.98 (a 2 % major) for an hour, then is back at its peg.
HOUR_OF_MAJOR: dict[str, object] = {
    "scenario": {"name": "hour-of-major", "duration": 4000},
    "coins": {
        "USDC": {
            "segments": [
                {"kind": "calm", "duration": 2},
                {"kind": "move", "to": 0.98, "duration": 0},
                {"kind": "hold", "duration": 3600},
                {"kind": "move", "to": 1.0, "duration": 0},
                {"kind": "hold", "duration": 400},
            ]
        }
    },
}


def daemon_config(tmp_path: Path, urls: dict[str, str]) -> Path:
    """Major reminders every second; the database a file the commands open too."""
    venues = "".join(
        f'[venues.{v}]\nbase_url = "{urls[v]}"\nmarkets = ["USDC/USD"]\npoll_interval = 0.5\n'
        for v in ("kraken", "bitstamp")
    )
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[coins.USDC]
{venues}
[channels.console]
type = "console"
[alerts]
reminder_major = 1
reminder_backoff = 1
[alerts.routes]
minor = [{{ channels = ["console"] }}]
major = [{{ channels = ["console"] }}]
critical = [{{ channels = ["console"] }}]
[classification]
hold_minor = 0
hold_major = 0
clear_hold = 1
[database]
url = "sqlite+aiosqlite:///{tmp_path / "depeg.db"}"
flush_interval = 0.1
[health]
port = 0
[logging]
level = "error"
""")
    return cfg


async def cli(*argv: str) -> tuple[int, str]:
    """The command as an operator runs it: a process of its own."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "depeg_monitor",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def reminders_after(url: str, ts: float) -> list[float]:
    """When the daemon decided each reminder it recorded after ts."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            q = select(alerts.c.ts).where(alerts.c.kind == AlertKind.REMINDER.value)
            return [t for t in map(from_dt, (await conn.execute(q)).scalars()) if t > ts]
    finally:
        await engine.dispose()


async def test_ack_on_a_running_daemon_stops_its_reminders_and_the_resolution_says_so(
    tmp_path: Path,
) -> None:
    """USDC's major reminds every second; once `depeg-monitor ack USDC` has run, the daemon
    sends no more reminders (within the re-read of the acks), `status` shows the ack, and
    the episode's resolution says who acknowledged it, when and why."""
    market_clock = ShiftedClock()
    market = SimulatedMarket(parse_scenario(HOUR_OF_MAJOR), market_clock)
    await market.start()
    refresh = 0.2
    try:
        cfg = daemon_config(tmp_path, market.base_urls())
        url = f"sqlite+aiosqlite:///{tmp_path / 'depeg.db'}"
        channel = Recorder()
        daemon = Daemon(
            load_settings(cfg),
            SystemClock(),
            {"console": channel},
            Timings(silence_refresh=refresh),
        )
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        try:
            await asyncio.wait_for(ready.wait(), 30)
            await eventually(lambda: len(channel.titled("reminder")) >= 2, 60, "major reminders")
            assert channel.titled("MAJOR depeg: USDC")[0].title.endswith("— new")

            rc, out = await cli(
                "ack", "USDC", "--by", "alice", "--reason", "bank run", "--config", str(cfg)
            )
            assert rc == 0, out
            [ack] = await asyncio.wait_for(_acks(url), 10)
            # Two re-reads and a cycle for the daemon to see it; then five reminders' worth of
            # time in which, without the ack, five would have been sent.
            settled = ack.at + 2 * refresh + 1.5
            seen = len(channel.messages)
            await eventually(lambda: time.time() > settled + 5, 30, "five reminder intervals")
            assert await reminders_after(url, settled) == []
            assert (
                len(channel.titled("reminder"))
                - len([m for m in channel.messages[:seen] if "reminder" in m.title])
                <= 2
            )  # at most those decided before the daemon re-read the acks

            rc, status = await cli("status", "--config", str(cfg))
            assert rc == 0, status
            assert "acknowledged (major) by alice" in status and ": bank run" in status

            market_clock.offset = 3700.0  # the scenario's end: USDC back at its peg
            await eventually(lambda: bool(channel.titled("Resolved")), 60, "the resolution")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    finally:
        await market.stop()
    [resolved] = channel.titled("Resolved")
    assert f"acknowledged by alice at {utc(ack.at)}: bank run" in resolved.body


async def _acks(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        return await alert_history.list_acks(engine)
    finally:
        await engine.dispose()
