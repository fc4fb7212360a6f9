"""Fixtures: a simulated market on loopback driven by a ManualClock, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import SimulatedMarket, parse_scenario

StartMarket = Callable[[dict[str, Any]], Awaitable[SimulatedMarket]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
async def start_market(clock: ManualClock) -> AsyncIterator[StartMarket]:
    started: list[SimulatedMarket] = []

    async def start(data: dict[str, Any]) -> SimulatedMarket:
        market = SimulatedMarket(parse_scenario(data), clock)
        await market.start()
        started.append(market)
        return market

    yield start
    for market in started:
        await market.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
