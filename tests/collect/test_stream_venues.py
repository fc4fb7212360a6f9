"""Each streaming venue's REST and stream collectors, built as the daemon builds them, against
the simulated market on 127.0.0.1: subscribe and ack, reconnect after a drop, REST at its
normal interval while the stream is down, the silent-market report, and the keepalive.

The scenario clock is held at t = 0 while the collectors start and moved to a fault or a price
step only once the stream is healthy (SimulatedMarket.started_at, as in test_daemon_streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import SystemClock
from depeg_monitor.collect import StreamCollector, VenueCollector, build_collectors
from depeg_monitor.commands.demo import demo_settings
from depeg_monitor.config import Settings, load_settings
from depeg_monitor.health.evaluate import Check, evaluate
from depeg_monitor.health.registry import HealthRegistry, Kind, StreamDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.rules import collector_rules, health_rules
from depeg_monitor.simulate import VENUE_NAMES, SimulatedMarket, parse_scenario
from depeg_monitor.simulate.streams import StreamTiming
from depeg_monitor.venues.stream import Keepalive, StreamSpec
from depeg_monitor.venues.streams import STREAMS

from ..test_daemon import tweak
from ..waiting import eventually

REPO = Path(__file__).parents[2]
VENUES = tuple(STREAMS)
BASE = load_settings(REPO / "config.example.toml")
# The market each test moves or silences: the venue's first configured one.
FIRST = {v: BASE.venues[v].markets[0] for v in VENUES}
STEP = 0.97  # the moved coin's level after a step (inside the quality band)
BACKOFF = 0.2  # the longest wait between reconnects here (the config's is a minute)
# Quiet keepalive timing for the keepalive test: every server keepalive well inside the
# scaled-down client timeout, and Bybit's re-push of an unchanged book (itself a sign of life)
# well outside it, so only keepalives keep the connection alive.
KEEPALIVE = Keepalive(None, interval=0.1, timeout=0.4)
QUIET_TIMING = StreamTiming(
    ping_interval=0.1,
    pong_timeout=5.0,
    heartbeat=0.05,
    repush=30.0,
    kucoin_ping_interval=0.1,
    kucoin_ping_timeout=0.3,
)


def scenario(venue: str, *faults: dict[str, Any], step_at: float | None = None) -> dict[str, Any]:
    """Only `venue` served, no noise; optionally the coin of its first market steps to STEP."""
    data: dict[str, Any] = {
        "scenario": {"duration": 3600, "noise": 0.0},
        "venues": {v: {"enabled": False} for v in VENUE_NAMES if v != venue},
        "faults": [{"venue": venue, **f} for f in faults],
    }
    if step_at is not None:
        coin = FIRST[venue].partition("/")[0]
        step = [
            {"kind": "calm", "duration": step_at},
            {"kind": "calm", "level": STEP, "duration": 1},
        ]
        data["coins"] = {coin: {"segments": step}}
    return data


def one_market_at_gemini(venue: str) -> dict[str, Any]:
    """Gemini advises ≤ 1 request/s and is asked once per market: with its three markets
    its polls are 3.7 s apart; with one, 1.2 s (the tests that count polls stay short)."""
    return {"markets": [FIRST[venue]]} if venue == "gemini" else {}


@dataclass
class Rig:
    venue: str
    market: SimulatedMarket
    settings: Settings
    health: HealthRegistry
    collector: VenueCollector
    stream: StreamCollector
    quotes: list[Quote] = field(default_factory=list)
    gets: list[tuple[float, str]] = field(default_factory=list)  # REST GETs: (epoch, path)

    def at(self, t: float) -> float:
        """Run the scenario from t now; the wall time at which scenario time t is now."""
        now = time.time()
        self.market.started_at = now - t
        return now

    def polls(self, since: float = 0.0) -> list[float]:
        """Start times (epoch) of the REST polls since `since`. A poll is a run of the ticker
        requests it makes (one per market at Coinbase, Bitstamp and Gemini, spread by the
        rate budget, in no fixed order); polls never overlap, and listing reads are left out."""
        reqs = self.collector.spec.requests(self.collector.markets.spellings())
        paths = {r.path for r in reqs}
        ticker = [t for t, path in self.gets if any(path.endswith(p) for p in paths)]
        return [t for t in ticker[:: len(reqs)] if t >= since]

    @property
    def polled(self) -> bool:
        """The first REST poll is over (its answers counted)."""
        st = self.health.get(Kind.VENUE, self.venue)
        return st is not None and (st.last_ok is not None or st.last_error is not None)

    def check(self) -> Check:
        """/health's stream:<venue> line now."""
        report = evaluate(self.health, time.time(), health_rules(self.settings), {}, None)
        return report.checks[f"stream:{self.venue}"]

    def detail(self) -> StreamDetail:
        st = self.health.get(Kind.STREAM, self.venue)
        assert st is not None and isinstance(st.detail, StreamDetail)
        return st.detail

    def streamed(self, since: float, below: float = 0.99) -> list[Quote]:
        """Quotes of the first market received after `since` (epoch) priced below `below`."""
        coin, quote = FIRST[self.venue].split("/")
        return [
            q
            for q in self.quotes
            if (q.coin, q.quote_ccy) == (coin, quote) and q.ts_received >= since and q.price < below
        ]


@contextlib.asynccontextmanager
async def running(
    venue: str,
    data: dict[str, Any],
    tmp_path: Path,
    timing: StreamTiming | None = None,
    keepalive: Keepalive | None = None,
    healthy: bool = True,
    **venue_settings: Any,
) -> AsyncIterator[Rig]:
    """The venue's collector and stream, built by build_collectors from the demo settings
    restricted to it, started (listing check, then both loops), its first poll over and (if
    `healthy`) its stream healthy; stopped after."""
    clock = SystemClock()
    market = SimulatedMarket(parse_scenario(data), clock, stream_timing=timing)
    await market.start()
    market.started_at = time.time() + 1e9  # held at scenario time 0 until moved
    settings = demo_settings(BASE, market.base_urls(), 1.0, tmp_path, market.stream_urls())
    settings = tweak(settings, venues={venue: venue_settings})
    rules = [r for r in collector_rules(settings) if r.venue == venue]
    rules = [
        dataclasses.replace(r, stream=dataclasses.replace(r.stream, max_backoff=BACKOFF))
        for r in rules
        if r.stream is not None
    ]
    spec: StreamSpec = STREAMS[venue]
    if keepalive is not None:
        spec = dataclasses.replace(
            spec, keepalive=dataclasses.replace(keepalive, ping=spec.keepalive.ping)
        )
    gets: list[tuple[float, str]] = []

    async def on_request(
        _: aiohttp.ClientSession, __: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        if params.method == "GET" and not params.url.path.endswith("/ws"):
            gets.append((time.time(), params.url.path))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request)
    session = aiohttp.ClientSession(trace_configs=[trace])
    health = HealthRegistry()
    quotes: list[Quote] = []
    (collector,) = build_collectors(
        rules, session, clock, health, Metrics(), quotes.extend, streams={venue: spec}
    )
    assert collector.stream is not None
    rig = Rig(venue, market, settings, health, collector, collector.stream, quotes, gets)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await collector.start()
        tasks = [
            asyncio.create_task(collector.run(stop)),
            asyncio.create_task(rig.stream.run(stop)),
        ]
        if healthy:
            await eventually(lambda: rig.stream.healthy, 5, f"the {venue} stream healthy")
        await eventually(lambda: rig.polled, 5, f"the first {venue} poll")
        yield rig
    finally:
        stop.set()
        await market.stop()  # closes the sockets, so the stream loop sees its stop at once
        # A poll in flight retries its network errors until its deadline: cancelled, as the
        # daemon's supervisor does after its grace.
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()


@pytest.mark.parametrize("venue", VENUES)
async def test_a_price_step_arrives_streamed(venue: str, tmp_path: Path) -> None:
    """Subscribed and acknowledged, the stream brings a price step within half a second of the
    simulator publishing it, with no REST poll in between."""
    data = scenario(venue, step_at=100.0)
    async with running(venue, data, tmp_path, poll_interval=30.0, stream_poll_interval=60.0) as rig:
        assert (
            rig.detail().confirmed == rig.detail().subscribed == len(rig.collector.markets.polled)
        )
        asked = rig.market.requests[venue]
        moved = rig.at(99.8) + 0.2
        await eventually(lambda: bool(rig.streamed(moved)), 3, "the step, streamed")
        first = rig.streamed(moved)[0]
        pub = rig.market.first_publication(venue, FIRST[venue], lambda p: p.price < 0.99)
        assert pub is not None
        assert -0.01 <= first.ts_received - pub.wall < 0.5
        assert first.ts_received - moved < 0.5
        assert rig.market.requests[venue] == asked  # no REST poll brought it
        assert rig.check().status == "pass"


@pytest.mark.parametrize("venue", VENUES)
async def test_a_dropped_stream_reconnects(venue: str, tmp_path: Path) -> None:
    """A stream cut by the venue (and refused for a moment) turns unhealthy, reconnects, is
    healthy again and streams the next price step."""
    drop = {"kind": "stream_drop", "start": 50.0, "end": 50.3}
    data = scenario(venue, drop, step_at=100.0)
    async with running(venue, data, tmp_path, poll_interval=30.0, stream_poll_interval=60.0) as rig:
        rig.at(49.95)
        await eventually(lambda: not rig.stream.healthy, 2, "the stream to notice the drop")
        await eventually(lambda: rig.stream.healthy, 4, "the stream healthy again")
        assert rig.detail().reconnects_hour >= 1
        moved = rig.at(99.9) + 0.1
        await eventually(lambda: bool(rig.streamed(moved)), 3, "the step, streamed")
        assert rig.check().status == "pass"


@pytest.mark.parametrize("venue", VENUES)
async def test_rest_polls_at_its_interval_while_the_stream_is_down(
    venue: str, tmp_path: Path
) -> None:
    """While the stream cannot connect REST polls at poll_interval; once it is healthy, after
    the slot already due, REST is at stream_poll_interval."""
    one = one_market_at_gemini(venue)
    # Refused from the start until the test moves the scenario past the window's end.
    data = scenario(venue, {"kind": "stream_drop", "start": 0.0, "end": 1000.0})
    async with running(
        venue, data, tmp_path, healthy=False, poll_interval=0.1, stream_poll_interval=60.0, **one
    ) as rig:
        interval = rig.collector.interval  # stretched to the venue's rate limit
        await eventually(lambda: len(rig.polls()) >= 2, interval + 1.0, "two polls")
        first, second = rig.polls()[:2]
        assert second - first == pytest.approx(interval, abs=0.15)
        assert not rig.stream.healthy and rig.detail().connected == 0
        rig.at(1000.5)
        await eventually(lambda: rig.stream.healthy, 4, "the stream healthy")
        assert rig.detail().reconnects_hour >= 1
        up = time.time()
        await asyncio.sleep(2 * interval + 0.15)  # at poll_interval: two polls at least
        assert len(rig.polls(up)) <= 1  # only the slot already due


@pytest.mark.parametrize("venue", VENUES)
async def test_a_silent_market_is_reported(venue: str, tmp_path: Path) -> None:
    """A market acknowledged but silent since subscribing is named by /health after
    stream_silent_after, and REST is back at poll_interval at once (Kraken and Gemini, whose
    rate limits space polls wider than stream_silent_after, never left it)."""
    one = one_market_at_gemini(venue)
    silent = FIRST[venue]
    data = scenario(venue, {"kind": "stream_silent", "start": 0, "end": 3600, "markets": [silent]})
    async with running(
        venue,
        data,
        tmp_path,
        poll_interval=0.1,
        stream_poll_interval=60.0,
        stream_silent_after=0.8,
        **one,
    ) as rig:
        interval = rig.collector.interval
        await eventually(lambda: bool(rig.detail().silent), 3, "the silent market reported")
        reported = time.time() - 0.05  # seen within eventually()'s 20 ms of the report
        assert rig.detail().silent == (silent,) and not rig.stream.healthy
        check = rig.check()
        assert check.status == "warn"
        assert check.output is not None and silent in check.output
        await eventually(lambda: len(rig.polls(reported)) >= 2, 2 * interval + 1.0, "two polls")
        first, second = rig.polls(reported)[:2]
        if interval < rig.stream.rules.silent_after:  # relaxed until the report woke it
            assert first - reported < 0.3
        else:
            assert first - reported < interval + 0.1
        assert second - first == pytest.approx(interval, abs=0.15)


@pytest.mark.parametrize("venue", VENUES)
async def test_unanswered_keepalives_reopen_the_connection(venue: str, tmp_path: Path) -> None:
    """With keepalives unanswered the connection is declared dead within the venue's
    keepalive timeout (scaled down here) and reopened; on a quiet book it stays up."""
    mute = {"kind": "stream_mute_pings", "start": 50.0, "end": 50.6}
    data = scenario(venue, mute)
    ka = None if venue == "kucoin" else KEEPALIVE  # KuCoin's comes from its token call
    async with running(
        venue,
        data,
        tmp_path,
        timing=QUIET_TIMING,
        keepalive=ka,
        poll_interval=30.0,
        stream_poll_interval=60.0,
    ) as rig:
        timeout = KEEPALIVE.timeout
        await asyncio.sleep(timeout + 0.1)  # a quiet book: no price frame, only keepalives
        assert rig.stream.healthy and rig.detail().reconnects_hour == 0
        muted = time.monotonic()
        rig.at(49.98)
        await eventually(lambda: not rig.stream.healthy, timeout + 1.0, "the dead connection")
        assert time.monotonic() - muted < timeout + 0.35
        st = rig.health.get(Kind.STREAM, venue)
        assert st is not None and st.error is not None and "no sign of life" in st.error
        await eventually(
            lambda: rig.market.scenario_time() > 50.6 and rig.stream.healthy,
            3,
            "the connection reopened and healthy",
        )
        assert rig.detail().reconnects_hour >= 1
