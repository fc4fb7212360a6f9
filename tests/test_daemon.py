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

from depeg_monitor import daemon as daemon_module
from depeg_monitor.clock import SystemClock
from depeg_monitor.commands.demo import TerminalChannel, demo_settings
from depeg_monitor.config import Settings, load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.simulate import SimulatedMarket, load_scenario, parse_scenario

REPO = Path(__file__).parents[1]

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
        settings.venues["kraken"].timeout = 1.0  # the hanging start-up listing check gives up soon
        d = Daemon(settings, clock, dict(channels))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        for _ in range(100):
            if d.state.last_price.get("USDC") is not None:
                break
            await asyncio.sleep(0.1)
        assert d.state.last_price["USDC"] is not None
        await asyncio.sleep(3)  # CoinGecko allows a poll every ~8 s: it must not be asked more
        budget = [
            name
            for name, st in d.health.all().items()
            if st.error is not None and "rate budget" in st.error
        ]
        assert budget == []
        stop.set()
        await asyncio.wait_for(task, 5)
    finally:
        await market.stop()
    assert channels["discord"].received == []


async def test_a_crashing_task_is_restarted_and_shown_in_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long-lived task that dies of a bug runs again, and /health's registry says it crashed."""
    monkeypatch.setattr(daemon_module, "RESTART_DELAY", 0.01)
    d = Daemon(Settings())
    runs = 0
    stop = asyncio.Event()

    async def flaky(st: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("bug")
        await st.wait()

    task = d._supervised("collect:test", flaky, stop)
    for _ in range(100):
        if runs >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert runs == 2
    state = d.health.get("collect:test")
    assert state is not None
    assert state.error == "crashed: RuntimeError"


async def test_database_down_at_start_is_prepared_when_it_returns(
    tmp_path: Path, pg_url: str, pg_control: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started while PostgreSQL is down, the monitor runs anyway, and once the server is back
    it creates the schema and writes the price history it kept."""
    monkeypatch.setattr(daemon_module, "DB_RETRY_INTERVAL", 0.5)
    clock = SystemClock()
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "calm.toml"), clock)
    await market.start()
    pg_control.stop()
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"), market.base_urls(), 1.0, tmp_path
        )
        settings.database.url = SecretStr(pg_url)
        d = Daemon(settings, clock, {})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(2)
        assert d.state.last_price.get("USDC") is not None  # prices flow without a database
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
