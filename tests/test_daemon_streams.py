"""The composition root with streams on, in-process against the simulated market's streams."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands.demo import TerminalChannel, demo_settings
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.simulate import SimulatedMarket, load_scenario

from .test_daemon import tweak
from .waiting import eventually

REPO = Path(__file__).parents[1]
STREAMING = ("binance", "coinbase", "kraken", "bitstamp", "okx", "bybit", "gemini", "kucoin")


async def test_a_streamed_fall_pages_long_before_the_next_poll(tmp_path: Path) -> None:
    """With every venue polled only every 30 s, USDC stepping past critical pages CRITICAL
    within a second through the streams; every stream is healthy in /health, and polling
    runs at the relaxed interval."""
    clock = SystemClock()
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "latency.toml"), clock)
    await market.start()
    market.started_at = time.time() + 1e9  # held at scenario time 0 until the streams are up
    try:
        settings = demo_settings(
            load_settings(REPO / "config.example.toml"),
            market.base_urls(),
            1.0,
            tmp_path,
            market.stream_urls(),
        )
        venues = {v: {"poll_interval": 30.0, "stream_poll_interval": 60.0} for v in STREAMING}
        settings = tweak(
            settings,
            venues={**venues, "coingecko": {"enabled": False}},
            classification={"hold_critical": 0.0},
        )
        channels = {"sms": TerminalChannel("sms", str)}
        d = Daemon(settings, clock, dict(channels))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)

        def streams_pass() -> bool:
            checks = d.report().checks
            return all(checks.get(f"stream:{v}", None) is not None for v in STREAMING) and all(
                checks[f"stream:{v}"].status == "pass" for v in STREAMING
            )

        await eventually(streams_pass, 20, "every stream healthy")
        requests_before = dict(market.requests)
        market.started_at = time.time()  # the step to 0.95 comes 5 s from now
        step = market.wall_time(5.05)
        await eventually(
            lambda: any("CRITICAL" in t and "USDC" in t for t in channels["sms"].received),
            15,
            "the critical page",
        )
        paged = time.time()
        assert paged - step < 1.0, f"paged {paged - step:.2f} s after the step"
        # No venue polled more than once meanwhile (Coinbase asks once per market in a poll).
        asked = {v: market.requests[v] - requests_before[v] for v in STREAMING}
        assert all(n <= len(settings.venues[v].markets) for v, n in asked.items()), asked
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await market.stop()
