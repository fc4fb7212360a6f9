"""The stream's connection loop against a WebSocket server on 127.0.0.1: subscribe and ack,
quotes through the quality screen, keepalive, reconnects, the silent market, bad frames."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from depeg_monitor.clock import SystemClock
from depeg_monitor.collect.quality import QualityRules
from depeg_monitor.collect.rules import StreamRules
from depeg_monitor.collect.screen import Screen
from depeg_monitor.collect.stream import StreamCollector, backoff
from depeg_monitor.health.evaluate import _stream_check
from depeg_monitor.health.registry import HealthRegistry, Kind, StreamDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.stream import (
    Acked,
    Alive,
    Connection,
    Keepalive,
    Reconnect,
    Refused,
    StreamEvent,
    StreamSpec,
)

from ..waiting import eventually

PEGS = {"USDT": 1.0, "USDC": 1.0, "DAI": 1.0}


def _parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    """A toy venue's frames: {"ack": [..]}, {"refuse": s}, {"q": s, "p": price}, pong."""
    if text == "pong":
        return [Alive()]
    try:
        frame = json.loads(text)
    except ValueError:
        raise VenueError(ErrorKind.MALFORMED, "not JSON") from None
    if not isinstance(frame, dict):
        raise VenueError(ErrorKind.MALFORMED, "not an object")
    if "ack" in frame:
        return [Acked(tuple(frame["ack"]))]
    if "refuse" in frame:
        return [Refused((frame["refuse"],), "no such market")]
    if "reconnect" in frame:
        return [Reconnect("maintenance")]
    market = keys.get(frame.get("q", ""))
    if market is None:
        return []
    coin, quote = market.split("/")
    price = float(frame["p"])
    return [Quote("toy", coin, quote, price, price, price, None, None, None, received)]


def _connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    return [Connection(url, (json.dumps({"subscribe": list(symbols)}),), tuple(symbols))]


def spec(ping: bool = True, timeout: float = 1.0) -> StreamSpec:
    return StreamSpec(
        name="toy",
        url="",
        symbol=lambda m: m.replace("/", "").lower(),
        connections=_connections,
        parse=_parse,
        keepalive=Keepalive((lambda n: "ping") if ping else None, 0.2, timeout),
    )


@dataclass
class ToyVenue:
    """The server side: acks what it is asked for (except `unknown`, acked then silent),
    answers pings unless muted, and publishes prices on request."""

    url: str = ""
    unknown: set[str] = field(default_factory=set)
    refuse: set[str] = field(default_factory=set)
    mute_pings: bool = False
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    subscribes: list[list[str]] = field(default_factory=list)
    connects: int = 0

    async def publish(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.send_str(text)

    async def drop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()


@pytest.fixture
async def venue() -> AsyncIterator[ToyVenue]:
    v = ToyVenue()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        v.connects += 1
        v.sockets.append(ws)
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                if not v.mute_pings:
                    await ws.send_str("pong")
                continue
            asked = json.loads(msg.data)["subscribe"]
            v.subscribes.append(asked)
            for s in asked:
                if s in v.refuse:
                    await ws.send_str(json.dumps({"refuse": s}))
            await ws.send_str(json.dumps({"ack": [s for s in asked if s not in v.refuse]}))
        v.sockets.remove(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    v.url = f"ws://127.0.0.1:{port}/ws"
    yield v
    await runner.cleanup()


@dataclass
class Running:
    stream: StreamCollector
    received: list[Quote]
    registry: HealthRegistry
    metrics: Metrics
    stop: asyncio.Event
    task: asyncio.Task[None]

    def detail(self) -> StreamDetail:
        st = self.registry.get(Kind.STREAM, "toy")
        assert st is not None
        return st.detail if isinstance(st.detail, StreamDetail) else StreamDetail()

    def counted(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, {"venue": "toy", **labels}) or 0.0


@pytest.fixture
async def run_stream(venue: ToyVenue) -> AsyncIterator[Any]:
    started: list[Running] = []
    session = aiohttp.ClientSession()

    async def start(
        markets: tuple[str, ...] = ("USDC/USD", "USDT/USD"),
        ping: bool = True,
        silent: float = 30,
        dead_after: float = 1.0,
    ) -> Running:
        registry, metrics, clock = HealthRegistry(), Metrics(), SystemClock()
        received: list[Quote] = []
        screen = Screen(
            "toy", QualityRules((0.5, 2.0), 120.0, PEGS, 5.0), metrics, structlog.get_logger()
        )
        rules = StreamRules(venue.url, silent_after=silent, ack_timeout=1.0, max_backoff=0.5)
        stream = StreamCollector(
            spec(ping, dead_after),
            rules,
            lambda: {m: m for m in markets},
            session,
            clock,
            registry.component(Kind.STREAM, "toy"),
            metrics,
            screen,
            received.extend,
        )
        stop = asyncio.Event()
        r = Running(
            stream, received, registry, metrics, stop, asyncio.create_task(stream.run(stop))
        )
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop.set()
        await asyncio.wait_for(r.task, 5)
    await session.close()


async def test_subscribes_to_its_markets_and_passes_screened_quotes_on(
    venue: ToyVenue, run_stream: Any
) -> None:
    """Once every subscription is acked the stream is healthy; a published price reaches the
    sink at once, and an absurd one (outside the price band) does not."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    assert venue.subscribes == [["usdcusd", "usdtusd"]]
    await venue.publish({"q": "usdcusd", "p": "0.9712"})
    await venue.publish({"q": "usdtusd", "p": "0.1"})  # absurd: dropped by the screen
    await eventually(lambda: len(r.received) >= 1, 5, "a quote")
    await asyncio.sleep(0.1)
    assert [(q.coin, q.price) for q in r.received] == [("USDC", 0.9712)]
    assert r.detail().confirmed == 2 and not r.detail().fallback


async def test_a_dropped_connection_is_reopened_and_resubscribed(
    venue: ToyVenue, run_stream: Any
) -> None:
    """The venue closing the socket ends the stream's health at once; it reconnects within
    the backoff, subscribes again and prices flow again."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    await venue.drop()
    await eventually(lambda: not r.stream.healthy, 5, "unhealthy after the drop")
    await eventually(lambda: r.stream.healthy and venue.connects == 2, 5, "reconnected")
    assert len(venue.subscribes) == 2
    await venue.publish({"q": "usdcusd", "p": "1.0001"})
    await eventually(lambda: len(r.received) == 1, 5, "a quote after the reconnect")
    assert r.detail().reconnects_hour == 1
    assert r.counted("depeg_stream_reconnects_total", cause="failure") == 1


async def test_unanswered_keepalives_declare_the_connection_dead(
    venue: ToyVenue, run_stream: Any
) -> None:
    """With pings unanswered and nothing else arriving, the connection is given up after the
    keepalive timeout and reopened, without waiting for the venue to close it."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    venue.mute_pings = True
    await eventually(lambda: venue.connects >= 2, 5, "a new connection")
    st = r.registry.get(Kind.STREAM, "toy")
    assert st is not None and st.last_error is not None


async def test_a_connection_without_client_pings_is_given_up_at_its_timeout(
    venue: ToyVenue, run_stream: Any
) -> None:
    """Where only the venue keeps the connection alive and it stops, the connection is given
    up once the keepalive timeout has passed, not up to a second later (the read's own wait)."""
    r = await run_stream(ping=False, dead_after=0.3)
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    acked = time.monotonic()  # the ack was the last sign of life: the toy venue never pings
    await eventually(lambda: not r.stream.healthy, 5, "the connection given up")
    assert time.monotonic() - acked < 0.3 + 0.2


async def test_a_market_acked_but_never_updated_is_reported_silent(
    venue: ToyVenue, run_stream: Any
) -> None:
    """A symbol the venue acknowledges and never sends (a pair it does not have) makes the
    stream unhealthy after silent_after, and /health names the market."""
    r = await run_stream(silent=0.5)
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    for _ in range(8):
        await venue.publish({"q": "usdcusd", "p": "1.0"})
        await asyncio.sleep(0.1)
    await eventually(lambda: not r.stream.healthy, 5, "silent market noticed")
    await eventually(lambda: r.detail().silent == ("USDT/USD",), 5, "/health told (once a second)")
    st = r.registry.get(Kind.STREAM, "toy")
    assert st is not None
    check = _stream_check(st, st.last_ok or 0.0)
    assert check.status == "warn"
    assert check.output is not None and "silent since subscribing: USDT/USD" in check.output


async def test_a_refused_market_is_left_out_and_the_rest_stream(
    venue: ToyVenue, run_stream: Any
) -> None:
    """A market the venue refuses is reported and not asked for again; the others confirm."""
    venue.refuse.add("usdtusd")
    r = await run_stream()
    await eventually(lambda: r.detail().confirmed == 1, 5, "one confirmed")
    assert r.detail().refused == ("USDT/USD",)
    await venue.drop()
    await eventually(lambda: len(venue.subscribes) == 2, 5, "resubscribed")
    assert venue.subscribes[1] == ["usdcusd"]


async def test_the_venue_asking_for_a_reconnect_is_routine(
    venue: ToyVenue, run_stream: Any
) -> None:
    """A request to reconnect gives a new connection at once, counted as no failure."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    await venue.publish({"reconnect": 1})
    await eventually(lambda: venue.connects == 2 and r.stream.healthy, 5, "reconnected")
    assert r.counted("depeg_stream_reconnects_total", cause="failure") == 0
    assert r.counted("depeg_stream_reconnects_total", cause="routine") == 1


async def test_malformed_frames_are_counted_and_skipped(venue: ToyVenue, run_stream: Any) -> None:
    """Frames the parser cannot read are counted; the connection stays and the next good
    frame is priced."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    await venue.publish("{not json")
    await venue.publish("[1, 2]")
    await venue.publish({"q": "usdcusd", "p": "0.99"})
    await eventually(lambda: len(r.received) == 1, 5, "the good frame")
    assert r.counted("depeg_stream_malformed_total") == 2
    assert venue.connects == 1


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    """Reconnect waits grow 1, 2, 4 … s up to the cap, each within its upper half."""
    assert [backoff(n, 8.0, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(3, 8.0, lambda: 0.0) == 2.0


async def test_a_stream_far_from_its_venues_rest_answer_is_reported(
    venue: ToyVenue, run_stream: Any
) -> None:
    """A streamed price 3 % away from the REST answer of the same moment is counted and named
    in /health; one within the band is not, and a later agreeing poll clears the report."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    await venue.publish({"q": "usdcusd", "p": "0.97"})
    await venue.publish({"q": "usdtusd", "p": "1.0002"})
    await eventually(lambda: len(r.received) == 2, 5, "two quotes")
    now = r.received[-1].ts_received

    def polled(coin: str, price: float) -> Quote:
        return Quote("toy", coin, "USD", price, None, None, None, None, now, now)

    r.stream.reconcile([polled("USDC", 1.0), polled("USDT", 1.0)])
    assert r.counted("depeg_stream_disagreements_total") == 1
    st = r.registry.get(Kind.STREAM, "toy")
    assert st is not None and st.note is not None
    assert "disagrees with REST: USDC/USD 0.9700 vs REST 1.0000" in st.note
    r.stream.reconcile([polled("USDC", 0.9701)])
    assert st.note is None or "disagrees" not in st.note


async def test_a_healthy_streams_last_quotes_stand_until_it_is_not(
    venue: ToyVenue, run_stream: Any
) -> None:
    """While healthy the stream stands behind each market's last quote (its silence means no
    change); once the connection drops it stands behind nothing."""
    r = await run_stream()
    await eventually(lambda: r.stream.healthy, 5, "healthy")
    await venue.publish({"q": "usdcusd", "p": "0.9990"})
    await eventually(lambda: ("USDC", "USD") in r.stream.live(), 5, "a live quote")
    assert r.stream.live()[("USDC", "USD")].price == 0.999
    venue.mute_pings = True
    await venue.drop()
    await eventually(lambda: r.stream.live() == {}, 5, "nothing live once down")
