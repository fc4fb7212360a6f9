"""The composition root run in-process against the simulated market."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands.demo import TerminalChannel, demo_settings
from depeg_monitor.config import Settings, load_settings
from depeg_monitor.daemon import Daemon, Timings
from depeg_monitor.simulate import SimulatedMarket, load_scenario, parse_scenario

from .waiting import eventually

REPO = Path(__file__).parents[1]


def tweak(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """The same (frozen) settings with some values changed, e.g. venues={"kraken": {...}}."""

    def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for k, v in changes.items():
            out[k] = merge(out.get(k) or {}, v) if isinstance(v, dict) else v
        return out

    return Settings.model_validate(merge(settings.model_dump(mode="python"), sections))


# Calm prices, but Kraken never answers: a collector is always mid-request.
HANGING_KRAKEN: dict[str, object] = {
    "scenario": {"name": "hang", "duration": 600},
    "faults": [{"venue": "kraken", "kind": "down", "mode": "hang", "start": 0, "end": 600}],
}


async def test_stop_is_prompt_even_with_a_venue_hanging(tmp_path: Path) -> None:
    """Venues poll within their rate limits, and with one venue hanging a stop still ends run()
    within seconds."""
    clock = SystemClock()
    market = SimulatedMarket(parse_scenario(HANGING_KRAKEN), clock)
    await market.start()
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, tmp_path
        )
        channels = {"discord": TerminalChannel("discord", str)}
        # the hanging start-up listing check gives up soon
        settings = tweak(settings, venues={"kraken": {"timeout": 1.0}})
        d = Daemon(settings, clock, dict(channels))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await eventually(lambda: d.state.last_price.get("USDC") is not None, 10, "a USDC price")
        await asyncio.sleep(
            3
        )  # a window in which CoinGecko (a poll per ~8 s) must not be asked more
        budget = [
            st.key for st in d.health.all() if st.error is not None and "rate budget" in st.error
        ]
        assert budget == []
        stop.set()
        await asyncio.wait_for(task, 5)
    finally:
        await market.stop()
    assert channels["discord"].received == []


async def test_database_down_at_start_is_prepared_when_it_returns(
    tmp_path: Path, pg_url: str, pg_control: Any
) -> None:
    """Started while PostgreSQL is down, the monitor runs anyway, and once the server is back
    it creates the schema and writes the price history it kept."""
    clock = SystemClock()
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "calm.toml"), clock)
    await market.start()
    pg_control.stop()
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, tmp_path
        )
        settings = tweak(settings, database={"url": SecretStr(pg_url)})
        d = Daemon(settings, clock, {}, Timings(db_retry_interval=0.5))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await eventually(
            lambda: d.state.last_price.get("USDC") is not None, 30, "prices without a database"
        )
        pg_control.start()
        engine = create_async_engine(pg_url)
        rows = 0
        for _ in range(60):
            await asyncio.sleep(0.5)
            try:
                async with engine.connect() as conn:
                    rows = (await conn.execute(text("SELECT count(*) FROM quotes"))).scalar_one()
            except DBAPIError:
                continue
            if rows:
                break
        await engine.dispose()
        stop.set()
        await asyncio.wait_for(task, 15)
    finally:
        await market.stop()
    assert rows > 0


# USDT steps from its peg to 0.95 on every venue at t = 4 s, while six venues are poisoned at
# once, each the way the hostile stand-in tried: NaN and negative volumes, far-future times,
# a body nested 100,000 deep, a gzip bomb, an endless body, a huge Retry-After and a delisting.
POISONED: dict[str, object] = {
    "scenario": {"name": "poisoned", "duration": 120},
    "coins": {
        "USDT": {
            "segments": [
                {"kind": "calm", "duration": 4},
                {"kind": "move", "to": 0.95, "duration": 0},
            ]
        }
    },
    "faults": [
        {"venue": "bitstamp", "kind": "poison", "mode": "nan_volume", "start": 0, "end": 120},
        {"venue": "kraken", "kind": "poison", "mode": "negative_volume", "start": 0, "end": 120},
        {"venue": "coinbase", "kind": "poison", "mode": "future_timestamp", "start": 0, "end": 120},
        {"venue": "okx", "kind": "poison", "mode": "deep_nesting", "start": 0, "end": 120},
        {"venue": "binance", "kind": "poison", "mode": "gzip_bomb", "start": 0, "end": 120},
        {"venue": "kucoin", "kind": "poison", "mode": "endless_body", "start": 0, "end": 120},
        {"venue": "bybit", "kind": "rate_limit", "retry_after": 1e12, "start": 0, "end": 120},
    ],
}

# Every venue answers, but every price is 0: as unusable as every venue down.
ALL_ZERO: dict[str, object] = {
    "scenario": {"name": "all-zero", "duration": 120},
    "faults": [
        {"venue": v, "kind": "poison", "mode": "zero_price", "start": 2, "end": 120}
        for v in (
            "binance",
            "coinbase",
            "kraken",
            "bitstamp",
            "okx",
            "bybit",
            "gemini",
            "kucoin",
            "coingecko",
        )
    ],
}


async def _run_daemon(
    scenario: dict[str, object], tmp_path: Path, **health: Any
) -> tuple[Daemon, asyncio.Task[None], asyncio.Event, SimulatedMarket, dict[str, Any]]:
    clock = SystemClock()
    market = SimulatedMarket(parse_scenario(scenario), clock)
    await market.start()
    settings = demo_settings(
        load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, tmp_path
    )
    settings = tweak(settings, health=health)
    channels = {"sms": TerminalChannel("sms", str)}
    d = Daemon(settings, clock, dict(channels))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(d.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    return d, task, stop, market, channels


async def test_poisoned_venues_cannot_silence_a_real_depeg(tmp_path: Path) -> None:
    """With six venues poisoned at once, USDT's fall to 0.95 still pages CRITICAL within
    seconds, and /health names every poisoned venue as not passing, with its reason."""
    d, task, stop, market, channels = await _run_daemon(POISONED, tmp_path)
    try:
        for _ in range(300):
            titles = channels["sms"].received
            if any("CRITICAL" in t and "USDT" in t for t in titles):
                break
            await asyncio.sleep(0.1)
        assert any("CRITICAL" in t and "USDT" in t for t in channels["sms"].received)
        checks = d.report().checks
        for venue in ("bitstamp", "kraken", "coinbase", "okx", "binance", "kucoin", "bybit"):
            check = checks[f"venue:{venue}"]
            assert check.status != "pass" and check.output, venue
        assert "paused until" in (checks["venue:bybit"].output or "")
        assert "future" in (checks["venue:coinbase"].output or "")
        price = d.state.last_price["USDT"]
        assert price is not None and abs(price - 0.95) < 0.005
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await market.stop()


async def test_every_venue_unusable_fails_health_like_every_venue_down(tmp_path: Path) -> None:
    """Every venue answering price 0 turns /health to fail and sends 'monitor degraded' on the
    same short timescale as every venue being down."""
    d, task, stop, market, channels = await _run_daemon(ALL_ZERO, tmp_path, degraded_after=2.0)
    try:
        for _ in range(200):
            if any("degraded" in t for t in channels["sms"].received):
                break
            await asyncio.sleep(0.1)
        report = d.report()
        assert report.status == "fail"
        assert report.checks["venues"].output == "every venue is failing"
        assert any("degraded" in t for t in channels["sms"].received)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await market.stop()


BUSY_PORT_CONFIG = """
[coins.USDT]
[venues.kraken]
markets = ["USDT/USD"]
base_url = "http://127.0.0.1:{closed}"
[venues.bitstamp]
markets = ["USDT/USD"]
base_url = "http://127.0.0.1:{closed}"
[aggregation]
min_venues = 1
[channels.log]
type = "console"
[[alerts.routes.minor]]
channels = ["log"]
[[alerts.routes.major]]
channels = ["log"]
[[alerts.routes.critical]]
channels = ["log"]
[health]
port = {port}
"""


def test_a_busy_health_port_is_one_line_and_exit_1_before_the_database_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` with its health port taken says so in one line and exits 1, no traceback, and
    creates no database (it had not been touched yet)."""
    import socket

    from depeg_monitor.cli import main

    with socket.socket() as taken, socket.socket() as free:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
        config = tmp_path / "config.toml"
        port = taken.getsockname()[1]
        config.write_text(BUSY_PORT_CONFIG.format(port=port, closed=closed))
        monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
        code = main(["run", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"health endpoint 127.0.0.1:{port}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "state" / "depeg-monitor.db").exists()


@pytest.mark.postgres
async def test_a_wrong_database_password_fails_health_with_the_reason(
    tmp_path: Path, pg_server: Any
) -> None:
    """With a wrong PostgreSQL password the monitor still runs, but /health fails for the store
    and says 'authentication failed' (never the password)."""
    clock = SystemClock()
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "calm.toml"), clock)
    await market.start()
    url = pg_server.add_password_user("depeg_wrong", "right-pw").replace("right-pw", "nope-pw")
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, tmp_path
        )
        settings = tweak(settings, database={"url": SecretStr(url + "/postgres")})
        d = Daemon(settings, clock, {"sms": TerminalChannel("sms", str)})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        check = d.report().checks["db"]
        assert check.status == "fail"
        assert "authentication failed" in (check.output or "")
        assert "nope-pw" not in (check.output or "")
        await eventually(lambda: d.state.last_price.get("USDT") is not None, 30, "prices")
        stop.set()
        await asyncio.wait_for(task, 15)
    finally:
        await market.stop()
