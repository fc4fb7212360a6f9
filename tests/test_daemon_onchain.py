"""The composition root with the chain source, in-process against the simulated node: on the
USDe day (Binance alone crashes, the pools hold) no critical; when the pools fall with the
exchanges, critical within one poll, naming a pool."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands.demo import TerminalChannel, demo_settings
from depeg_monitor.config import Settings, load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.model import Message
from depeg_monitor.simulate import SimulatedMarket, load_scenario
from depeg_monitor.simulate.chain.config import chain_sections

from .test_daemon import tweak
from .waiting import eventually

REPO = Path(__file__).parents[1]
SPEED = 10.0  # scenario seconds per wall second: a block every 1.2 s
POOLS = ("curve-usde-usdc", "univ3-usde-usdt", "curve-3pool")


def onchain_settings(market: SimulatedMarket, tmp_path: Path) -> Settings:
    """The demo's settings with three of the simulator's pools and its USDe feed, as the
    [chains] / [pools] / [oracles] tables a user writes."""
    settings = demo_settings(
        load_settings(REPO / "config.example.toml"), market.base_urls(), SPEED, tmp_path
    )
    url = market.rpc_urls()["ethereum"]
    sections = chain_sections(url, settings.coins, ["USDE"], 12.0 / SPEED, only=POOLS)
    return tweak(settings, **sections)


Run = tuple[Daemon, SimulatedMarket, list[str], asyncio.Event, asyncio.Task[None]]


async def _run(scenario: str, tmp_path: Path, **sections: dict[str, Any]) -> Run:
    """The daemon on the scenario; the third item collects the SMS channel's texts (title
    and body)."""
    clock = SystemClock()
    played = load_scenario(REPO / "scenarios" / scenario).with_time_scale(SPEED)
    market = SimulatedMarket(played, clock)
    await market.start()
    texts: list[str] = []

    def text(msg: Message) -> str:
        texts.append(f"{msg.title}\n{msg.body}")
        return texts[-1]

    channels = {
        n: TerminalChannel(n, text if n == "sms" else str) for n in ("discord", "email", "sms")
    }
    settings = tweak(onchain_settings(market, tmp_path), **sections)
    d = Daemon(settings, clock, dict(channels))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(d.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    return d, market, texts, stop, task


async def test_the_usde_day_raises_no_critical_while_the_pools_hold(tmp_path: Path) -> None:
    """Binance's USDE/USDT at 0.65 for two scenario minutes, the pools ≥ 0.994: the price
    follows the pools and the other exchanges, nothing major or critical is sent; every pool
    is a passing venue in /health and its quotes reach the book with their depth."""
    d, market, sms, stop, task = await _run("usde-dislocation.toml", tmp_path)
    try:
        await eventually(
            lambda: {q.venue for q in d.book.current()} >= set(POOLS), 20, "pool quotes"
        )
        (chain,) = d.chains
        assert chain.block is not None and "chainlink-usde-usd" in chain.readings
        await eventually(lambda: market.scenario_time() > 200, 40, "past the crash")
        prices = d.state.last_price
        assert prices["USDE"] is not None and prices["USDE"] > 0.99
        assert not any("CRITICAL" in x or "MAJOR" in x for x in sms), sms
        checks = d.report().checks
        for pool in POOLS:
            assert checks[f"venue:{pool}"].status == "pass", checks[f"venue:{pool}"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await market.stop()


async def test_pools_falling_with_the_exchanges_page_critical_within_one_poll(
    tmp_path: Path,
) -> None:
    _, market, sms, stop, task = await _run(
        "onchain-all-fall.toml", tmp_path, classification={"hold_critical": 0.0}
    )
    try:
        t = market.prices.crossing_time("curve-usde-usdc", "USDE", "USDC", 0.97)
        assert t is not None
        await eventually(lambda: any("CRITICAL" in x and "USDE" in x for x in sms), 40, "page")
        paged = time.time()
        page = next(x for x in sms if "CRITICAL" in x)
        assert any(p in page for p in POOLS), page
        assert "Chainlink USDE/USD" in page and "oracle lags" in page, page  # context only
        poll = 12.0 / SPEED
        late = paged - market.wall_time(t)
        print(f"paged {late:.2f} s after the pools crossed -3 %")
        assert late < poll + 1.0, f"paged {late:.2f} s after the pools crossed -3 %"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await market.stop()
