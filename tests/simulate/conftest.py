"""Fixtures: a simulated market on loopback driven by a ManualClock, an HTTP client, and
WebSocket clients of its venue streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import SimulatedMarket, parse_scenario
from depeg_monitor.simulate.streams import StreamTiming
from depeg_monitor.simulate.streams.server import Publication

from .streaming import TEST_TIMING, Client, stream_url

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


StartStreams = Callable[..., Awaitable[SimulatedMarket]]
Connect = Callable[..., Awaitable[Client]]


@pytest.fixture
async def stream_market(clock: ManualClock) -> AsyncIterator[StartStreams]:
    """Start a simulated market with short stream keepalive rules (TEST_TIMING by default)."""
    started: list[SimulatedMarket] = []

    async def start(
        data: dict[str, Any],
        timing: StreamTiming = TEST_TIMING,
        on_publish: Callable[[Publication], None] | None = None,
    ) -> SimulatedMarket:
        scenario = parse_scenario(data)
        market = SimulatedMarket(scenario, clock, stream_timing=timing, on_publish=on_publish)
        await market.start()
        started.append(market)
        return market

    yield start
    for market in started:
        await market.stop()


@pytest.fixture
async def connect(http: aiohttp.ClientSession) -> AsyncIterator[Connect]:
    """Open a reading WebSocket client to a venue's stream (closed after the test)."""
    clients: list[Client] = []

    async def open_(
        market: SimulatedMarket, venue: str, url: str | None = None, **kw: Any
    ) -> Client:
        ws = await http.ws_connect(url or await stream_url(http, market, venue), **kw)
        client = Client(ws)
        clients.append(client)
        return client

    yield open_
    for client in clients:
        await client.close()
