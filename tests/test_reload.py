"""A running daemon reloads its configuration: new thresholds and routes apply to the open
episode, a bad file is refused and the running configuration kept, and what only a restart
can change is named and left as it was."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from pydantic import SecretStr

from depeg_monitor.clock import SystemClock
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.model import Message
from depeg_monitor.notify.channel import DeliveryError
from depeg_monitor.reload import RELOADED_SECTIONS, RESTART_SECTIONS, plan, reloadable
from depeg_monitor.simulate import SimulatedMarket, parse_scenario

from .waiting import eventually

REPO = Path(__file__).parents[1]

# USDT calm for 2 s, then 1 % under its peg on every venue: minor (0.5 %), not major (1.5 %).
USDT_AT_099: dict[str, object] = {
    "scenario": {"name": "usdt-0.99", "duration": 600, "noise": 0.0},
    "coins": {
        "USDT": {
            "segments": [
                {"kind": "calm", "duration": 2},
                {"kind": "move", "to": 0.99, "duration": 0},
            ]
        }
    },
}
VENUES = ("kraken", "bitstamp", "coinbase")


class Flaky:
    """A channel that refuses (retryably) while `down`, and records each message it takes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.timeout = 1.0
        self.down = False
        self.attempts = 0
        self.received: list[Message] = []

    async def send(self, msg: Message, key: str) -> None:
        self.attempts += 1
        if self.down:
            raise DeliveryError("503 service unavailable", retryable=True)
        self.received.append(msg)

    async def close(self) -> None:
        return None


def write_config(
    path: Path, urls: dict[str, str], db: Path, major: float = 0.015, extra: str = ""
) -> None:
    """USDT on three venues of the simulator, one console channel hearing every severity."""
    venues = "".join(
        f'[venues.{v}]\nbase_url = "{urls[v]}"\npoll_interval = 1\nmarkets = ["USDT/USD"]\n'
        for v in VENUES
    )
    path.write_text(
        f"""
[coins.USDT]
peg = 1.0
{venues}
[classification]
thresholds = {{ minor = 0.005, major = {major}, critical = 0.03 }}
hold_minor = 0
hold_major = 0
volatility_widen_max = 1.0
[alerts]
confirm_minor_hold = 0
[[alerts.routes.minor]]
channels = ["discord"]
[[alerts.routes.major]]
channels = ["discord"]
[[alerts.routes.critical]]
channels = ["discord"]
[channels.discord]
type = "console"
[database]
url = "sqlite+aiosqlite:///{db}"
flush_interval = 0.2
[health]
port = 0
{extra}
"""
    )


def alert_kinds(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [k for (k,) in conn.execute("SELECT kind FROM alerts ORDER BY ts")]


def delivery_statuses(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT a.kind, d.status FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "ORDER BY a.ts"
        )
        return [(k, s) for k, s in rows]


async def started(
    tmp_path: Path, channel: Flaky
) -> tuple[SimulatedMarket, Daemon, asyncio.Event, asyncio.Task[None], Path, Path]:
    market = SimulatedMarket(parse_scenario(USDT_AT_099), SystemClock())
    await market.start()
    cfg, db = tmp_path / "config.toml", tmp_path / "history.db"
    write_config(cfg, market.base_urls(), db)
    settings = load_settings(cfg, environ={})
    d = Daemon(
        settings, SystemClock(), {"discord": channel}, reload_from=lambda: load_settings(cfg, {})
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(d.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    return market, d, stop, task, cfg, db


async def test_a_lowered_major_threshold_escalates_the_open_episode_without_losing_it(
    tmp_path: Path,
) -> None:
    """With USDT's minor episode open and its first alert still waiting in the outbox (the
    channel down), a reload lowering major below the deviation escalates it on the next
    cycles: one first alert, then an escalation, both delivered once the channel is back."""
    channel = Flaky("discord")
    channel.down = True
    market, d, stop, task, cfg, db = await started(tmp_path, channel)
    try:
        await eventually(lambda: channel.attempts >= 1, 30, "the first alert's attempt")
        await eventually(lambda: alert_kinds(db) == ["first"], 10, "the first alert recorded")
        assert d.state.last_severity["USDT"].label == "minor"

        write_config(cfg, market.base_urls(), db, major=0.008)
        d.reload()
        await eventually(lambda: d.rules.detection.coins[0].levels.major == 0.008, 10, "the reload")
        await eventually(lambda: "escalated" in alert_kinds(db), 10, "the escalation")
        channel.down = False
        await eventually(
            lambda: [s for _, s in delivery_statuses(db)] == ["delivered", "delivered"],
            30,
            "both deliveries",
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await market.stop()
    assert alert_kinds(db) == ["first", "escalated"]
    assert d.state.last_severity["USDT"].label == "major"
    text = "\n".join(m.title + "\n" + m.body for m in channel.received)
    assert "USDT" in text and "MAJOR" in text.upper()


async def test_a_bad_configuration_is_refused_with_its_reasons_and_the_old_one_kept(
    tmp_path: Path,
) -> None:
    """A reload of a file with an impossible threshold and a route to a channel that does not
    exist is refused: the log names each setting, its value and why; the monitor keeps
    running — and alerting — with the configuration it had."""
    channel = Flaky("discord")
    market, d, stop, task, cfg, db = await started(tmp_path, channel)
    try:
        before = d.rules
        write_config(
            cfg,
            market.base_urls(),
            db,
            major=1.5,
            extra='[[alerts.routes.minor]]\nchannels = ["pager"]\n',
        )
        with structlog.testing.capture_logs() as logs:
            d.reload()
            await eventually(
                lambda: any(e["event"] == "config_reload_refused" for e in logs), 10, "refusal"
            )
        problems = [e for e in logs if e["event"] == "config_reload_problem"]
        assert any(
            "classification.thresholds.major" in e["where"] and "1.5" in e["problem"]
            for e in problems
        ), problems
        assert d.rules is before
        last = d.state.last_cycle
        await eventually(lambda: d.state.last_cycle != last, 10, "another cycle")
        await eventually(lambda: alert_kinds(db) == ["first"], 30, "the minor alert, as before")
        await eventually(lambda: len(channel.received) == 1, 10, "its delivery")
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await market.stop()
    assert not any(e["event"] == "config_reloaded" for e in logs)


async def test_a_channel_added_by_a_reload_has_its_delivery_counters_at_zero(
    tmp_path: Path,
) -> None:
    """A channel a reload adds shows in /metrics at once, its failed and expired deliveries at
    0 (so an alert rule on their increase sees the first failure)."""
    market, d, stop, task, cfg, db = await started(tmp_path, Flaky("discord"))
    try:
        write_config(cfg, market.base_urls(), db, extra='[channels.ops]\ntype = "console"\n')
        d.reload()
        await eventually(lambda: "ops" in d.settings.channels, 10, "the reload")
        url = f"http://127.0.0.1:{d.health_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as r:
            page = await r.text()
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await market.stop()
    assert 'depeg_deliveries_total{channel="ops",outcome="failed"} 0.0' in page
    assert 'depeg_deliveries_total{channel="ops",outcome="expired"} 0.0' in page


def _settings(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Any:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    return load_settings(cfg, environ=env or {})


BASE = """
[coins.USDT]
[coins.USDC]
[venues.kraken]
markets = ["USDT/USD", "USDC/USD"]
[channels.console]
type = "console"
severities = ["critical"]
"""


def test_what_needs_a_restart_is_named_and_kept(tmp_path: Path) -> None:
    """A new poll interval, port, database URL or coin is reported as needing a restart and
    the running value kept; a coin's new thresholds and a new route apply."""
    running = _settings(tmp_path, BASE)
    new = _settings(
        tmp_path,
        BASE.replace('markets = ["USDT/USD"', 'poll_interval = 5\nmarkets = ["USDT/USD"')
        + "[coins.USDT.thresholds]\nmajor = 0.01\n[coins.DAI]\n[health]\nport = 9999\n"
        + '[[alerts.routes.major]]\nchannels = ["console"]\n',
        {"DEPEG_DATABASE__URL": "postgresql+psycopg://depeg:DBPASS@db.internal/depeg"},
    )
    p = plan(running, new)
    applied = {c.where for c in p.changes}
    waiting = {c.where: c.line() for c in p.needs_restart}
    assert applied == {"coins.USDT.thresholds", "alerts.routes.major"}
    assert set(waiting) == {
        "venues.kraken.poll_interval",
        "coins.DAI",
        "health.port",
        "database.url",
    }
    assert waiting["coins.DAI"] == "coins.DAI: added"
    assert waiting["database.url"] == "database.url: unset → postgresql+psycopg://***"
    assert p.settings.venues["kraken"].poll_interval == running.venues["kraken"].poll_interval
    assert p.settings.health.port == 8080 and set(p.settings.coins) == {"USDT", "USDC"}
    assert p.settings.thresholds_for("USDT").major == 0.01
    assert all(reloadable(w) for w in applied) and not any(reloadable(w) for w in waiting)
    assert "DBPASS" not in repr([c.line() for c in (*p.changes, *p.needs_restart)])


def test_every_section_is_either_reloaded_or_kept_for_a_restart() -> None:
    """No settings section is left out of the reload's partition (a new section must choose)."""
    from depeg_monitor.config import Settings

    assert set(RELOADED_SECTIONS) | set(RESTART_SECTIONS) | {"coins"} == set(Settings.model_fields)


def test_a_changed_secret_is_reported_without_its_value(tmp_path: Path) -> None:
    """A channel's new webhook URL and a new phone number are in the summary, masked."""
    sms = '[channels.sms]\ntype = "twilio"\nfrom_number = "+15550001111"\nto_numbers = ["{}"]\n'
    running = _settings(
        tmp_path,
        BASE + sms.format("+15551234567"),
        {"DEPEG_CHANNELS__HOOK__URL": "discord://1/OLDTOKEN"},
    )
    new = _settings(
        tmp_path,
        BASE + sms.format("+15557654321"),
        {"DEPEG_CHANNELS__HOOK__URL": "discord://1/NEWTOKEN"},
    )
    lines = [c.line() for c in plan(running, new).changes]
    assert lines == [
        "channels.sms.to_numbers: ['+1555****567'] → ['+1555****321']",
        "channels.hook.url: discord://*** → discord://***",
    ]
    text = repr(lines)
    assert "OLDTOKEN" not in text and "NEWTOKEN" not in text and "7654321" not in text
    assert "1234567" not in text
    assert plan(running, running).changes == ()
    assert isinstance(new.channels["hook"].url, SecretStr)
