"""The simulated market: one aiohttp server on 127.0.0.1, each venue under its own prefix.

A request is answered in three steps: work out scenario time from the injected clock, let a
scripted fault take over if one is in force at that venue, otherwise build the venue's book
(without its delisted markets) and call its route. Routes are pure functions, so every venue's
shape lives in its module; garbage and poisons spoil what the route built.

Each venue with a public WebSocket is also served at `/<venue>/ws` (streams/server.py), from
the same books at the same scenario time; KuCoin's token comes from its REST bullet-public.

The Ethereum node answers JSON-RPC at `POST /ethereum` (chain/rpc.py) over contracts whose
state follows the scenario (chain/evm.py; pools and feeds are venues, chain/contracts.py).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog
from aiohttp import web

from depeg_monitor.clock import Clock
from depeg_monitor.simulate.chain import rpc
from depeg_monitor.simulate.chain.contracts import NODE
from depeg_monitor.simulate.chain.evm import Chain
from depeg_monitor.simulate.faults import (
    ENDLESS_CHUNK,
    HTML_ERROR,
    active_fault,
    deep_nesting,
    delisted_markets,
    gzip_bomb,
    malformed,
    poison_fields,
    strip_price_fields,
)
from depeg_monitor.simulate.pricing import PriceModel
from depeg_monitor.simulate.scenario import BODY_POISONS, Fault, Scenario
from depeg_monitor.simulate.streams import STREAMS, StreamTiming
from depeg_monitor.simulate.streams import kucoin as kucoin_stream
from depeg_monitor.simulate.streams.server import Publication, StreamHub
from depeg_monitor.simulate.venues import APIS
from depeg_monitor.simulate.venues.base import Ask, Book, RateLimitHit, Reply, Route, VenueApi

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SimulatedMarket:
    """Serves a scenario on loopback; scenario time = (clock.now() - start) × time_scale.

    stream_timing: the streams' keepalive rules (StreamTiming().scaled(0.05) for tests);
    on_publish: called with each new top of book as it is first written to a stream client
    (also kept in .publications).
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        stream_timing: StreamTiming | None = None,
        on_publish: Callable[[Publication], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.prices = PriceModel(scenario)
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self.started_at: float | None = None  # clock.now() at start: scenario time 0
        self._hits: dict[int, int] = {}  # rate-limit fault index → requests inside it
        self.requests: dict[str, int] = {v: 0 for v in scenario.enabled_venues()}
        if scenario.chain_enabled:
            self.requests[NODE] = 0
        self.chain = Chain(scenario, self.prices, self.wall_time)
        self.streams = StreamHub(
            scenario,
            self.scenario_time,
            partial(self._book, fault=None),
            stream_timing or StreamTiming(),
            on_publish,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        for venue in self.scenario.enabled_venues():
            app.add_subapp(f"/{venue}", self._venue_app(APIS[venue]))
        if self.scenario.chain_enabled:
            app.router.add_post(f"/{NODE}", self._rpc)
        # A short shutdown timeout: a "hang" fault must not hold up stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        self._host = host
        self._port = int(self._runner.addresses[0][1])
        self.started_at = self._clock.now()
        self.streams.start()
        log.info("simulation_started", scenario=self.scenario.scenario.name, port=self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self.streams.close()
            await self._runner.cleanup()
            self._runner = None
            log.info("simulation_stopped", scenario=self.scenario.scenario.name)

    async def __aenter__(self) -> SimulatedMarket:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what callers need to know -----------------------------------------------------------

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the simulated market is not running; call start() first")
        return self._port

    def base_urls(self) -> dict[str, str]:
        """venue → base_url, e.g. binance → http://127.0.0.1:PORT/binance."""
        return {v: f"http://{self._host}:{self.port}/{v}" for v in self.scenario.enabled_venues()}

    def stream_urls(self) -> dict[str, str]:
        """venue → stream_url for the venues that stream, e.g. ws://127.0.0.1:PORT/binance/ws."""
        return {
            v: f"ws://{self._host}:{self.port}/{v}/ws"
            for v in self.scenario.enabled_venues()
            if v in STREAMS
        }

    def rpc_urls(self) -> dict[str, str]:
        """chain → rpc_url of the simulated node: {"ethereum": "http://127.0.0.1:PORT/ethereum"}
        (empty when the scenario disables it)."""
        if not self.scenario.chain_enabled:
            return {}
        return {NODE: f"http://{self._host}:{self.port}/{NODE}"}

    def env_overrides(self) -> dict[str, str]:
        """Environment variables pointing the daemon's venues (REST and streams) and its chain
        source (DEPEG_CHAINS__ETHEREUM__RPC_URL) at this market."""
        env = {f"DEPEG_VENUES__{v.upper()}__BASE_URL": url for v, url in self.base_urls().items()}
        env |= {f"DEPEG_VENUES__{v.upper()}__STREAM_URL": u for v, u in self.stream_urls().items()}
        env |= {f"DEPEG_CHAINS__{c.upper()}__RPC_URL": u for c, u in self.rpc_urls().items()}
        return env

    @property
    def publications(self) -> list[Publication]:
        """Each new top of book as first written to a stream client, oldest first."""
        return list(self.streams.publications)

    def first_publication(
        self, venue: str, market: str, where: Callable[[Publication], bool] = lambda p: True
    ) -> Publication | None:
        """The first publication of `market` (BASE/QUOTE) at `venue` that `where` accepts,
        e.g. lambda p: p.price < 0.97 — its .wall is when the simulator streamed it."""
        return next(
            (
                p
                for p in self.streams.publications
                if p.venue == venue and p.market == market and where(p)
            ),
            None,
        )

    def scenario_time(self) -> float:
        if self.started_at is None:
            return 0.0
        return max(0.0, (self._clock.now() - self.started_at) * self.scenario.time_scale)

    def wall_time(self, t: float) -> float:
        """The clock time (epoch seconds) at which scenario time t happens."""
        if self.started_at is None:
            raise RuntimeError("the simulated market has not started")
        return self.started_at + t / self.scenario.time_scale

    @property
    def finished(self) -> bool:
        return self.scenario_time() >= self.scenario.duration

    def price_at(self, venue: str, coin: str, quote: str, t: float) -> float:
        """The last price `venue` serves for COIN/QUOTE at scenario time t."""
        return self.prices.price_at(venue, coin, quote, t)

    # -- serving -----------------------------------------------------------------------------

    def _venue_app(self, api: VenueApi) -> web.Application:
        app = web.Application()
        for path, route in api.routes:
            app.router.add_get(path, self._handler(api, route))
        if api.name in STREAMS:
            app.router.add_get("/ws", self.streams.handler(api.name))
        if api.name == "kucoin":
            app.router.add_post(kucoin_stream.TOKEN_PATH, self._handler(api, self._bullet))
        return app

    def _bullet(self, ask: Ask, book: Book) -> Reply:
        """KuCoin's bullet-public: a fresh token for this market's KuCoin stream."""
        endpoint = self.stream_urls()["kucoin"]
        return kucoin_stream.bullet(self.streams.issue_token(), endpoint, self.streams.timing)

    def _book(self, venue: str, t: float, fault: Fault | None) -> Book:
        now = self._clock.now()
        if fault is not None and fault.kind == "stale":
            # A lagging cache (OKX warns of it): the data and its timestamps from `age` ago.
            t = max(0.0, t - fault.age)
            now -= fault.age / self.scenario.time_scale
        gone = delisted_markets(self.scenario, venue, t)
        ticks = {
            m: self.prices.tick(venue, m, t) for m in self.scenario.markets(venue) if m not in gone
        }
        return Book(venue=venue, now=now, ticks=ticks)

    def _handler(self, api: VenueApi, route: Route) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests[api.name] = self.requests.get(api.name, 0) + 1
            t = self.scenario_time()
            fault = active_fault(self.scenario, api.name, t)
            if fault is not None and fault.kind in ("down", "rate_limit"):
                return await self._fault_reply(request, api, fault, t)
            ask, book = Ask(request.match_info, request.query), self._book(api.name, t, fault)
            if fault is not None and fault.kind == "poison":
                return await _poisoned(request, api, route, ask, book, fault)
            reply = route(ask, book)
            if fault is not None and fault.kind == "garbage":
                return _garbage(reply, fault)
            return _respond(reply)

        return handle

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        """POST /ethereum: the node's JSON-RPC, unless a node fault answers instead."""
        self.requests[NODE] += 1
        t = self.scenario_time()
        fault = rpc.node_fault(self.scenario, t)
        body = await request.read()
        if fault is not None and fault.kind == "down":
            return await _down(request, fault)
        if fault is not None and fault.kind == "rate_limit" and fault.mode == "":
            hit = self._rate_limit_hit(fault, t)
            error = rpc.error(rpc.request_id(body), rpc.INFURA_RATE_LIMIT)
            return _respond(Reply(429, error, {"Retry-After": hit.seconds_text}))
        return _respond(Reply(200, rpc.answer(self.chain, body, t, fault)))

    def _rate_limit_hit(self, fault: Fault, t: float) -> RateLimitHit:
        key = self.scenario.faults.index(fault)
        self._hits[key] = self._hits.get(key, 0) + 1
        remaining = (fault.end - t) / self.scenario.time_scale
        return RateLimitHit(
            retry_after=max(1, math.ceil(remaining)),
            hits=self._hits[key],
            ban_after=fault.ban_after,
            until=self._clock.now() + remaining,
            scripted=_scripted_wait(fault),
        )

    async def _fault_reply(
        self, request: web.Request, api: VenueApi, fault: Fault, t: float
    ) -> web.StreamResponse:
        if fault.kind == "rate_limit":
            return _respond(api.rate_limited(self._rate_limit_hit(fault, t)))
        return await _down(request, fault)


async def _down(request: web.Request, fault: Fault) -> web.StreamResponse:
    """A `down` fault's answer: drop the connection, HTTP 500, or hang."""
    if fault.mode == "http500":
        return web.Response(status=500, text=HTML_ERROR.replace("502 Bad Gateway", "500"))
    if fault.mode == "hang":
        # Real seconds: the client's own timeout is what this exercises.
        await asyncio.sleep(3600)
    # "drop": close the connection without a word, like a host that went away.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)  # never sent: the connection is already gone


def _respond(reply: Reply) -> web.Response:
    if isinstance(reply.body, str):
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)
    return web.Response(
        status=reply.status,
        body=json.dumps(reply.body, separators=(",", ":")),
        content_type="application/json",
        headers=reply.headers,
    )


def _garbage(reply: Reply, fault: Fault) -> web.Response:
    body: Any = reply.body
    if fault.mode == "missing_fields":
        return _respond(Reply(reply.status, strip_price_fields(body), reply.headers))
    if fault.mode == "html":
        return web.Response(status=200, text=HTML_ERROR, content_type="text/html")
    return web.Response(status=reply.status, text=malformed(body), content_type="application/json")


def _scripted_wait(fault: Fault) -> tuple[str, str] | None:
    """A rate limit's scripted wait as (seconds, milliseconds) header text, if it has one."""
    if fault.retry_after_text is not None:
        return fault.retry_after_text, fault.retry_after_text
    if fault.retry_after is not None:
        return _number_text(fault.retry_after), _number_text(fault.retry_after * 1000)
    return None


def _number_text(x: float) -> str:
    """1e12 → "1000000000000" (a header carries digits); inf and nan as Python spells them."""
    return str(int(x)) if math.isfinite(x) and x == int(x) else repr(x)


async def _poisoned(
    request: web.Request, api: VenueApi, route: Route, ask: Ask, book: Book, fault: Fault
) -> web.StreamResponse:
    """The venue's answer poisoned, if the request covers one of the fault's markets."""
    named = api.markets_named(ask, book)
    covered = named or tuple(book.ticks)  # a request naming no market asks for them all
    targets = [m for m in covered if fault.covers(m)]
    if not targets:
        return _respond(route(ask, book))
    if fault.mode in BODY_POISONS:
        return await _body_poison(request, fault.mode)
    # One market asked for: the whole answer is about it (Coinbase's ticker names no market).
    # Otherwise spoil the rows of the fault's markets, found by the names they go by.
    whole = len(named) == 1 or not fault.markets
    names = (
        None if whole else frozenset(n.upper() for m in targets for n in api.names(book.ticks[m]))
    )
    reply = route(ask, book)
    if isinstance(reply.body, str):
        return _respond(reply)
    return _respond(
        Reply(reply.status, poison_fields(reply.body, fault.mode, names), reply.headers)
    )


async def _body_poison(request: web.Request, mode: str) -> web.StreamResponse:
    if mode == "deep_nesting":
        return web.Response(status=200, body=deep_nesting(), content_type="application/json")
    if mode == "gzip_bomb":
        bomb = await asyncio.to_thread(gzip_bomb)
        # A StreamResponse with the encoding set by hand: aiohttp sends the bytes as they are.
        resp = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        resp.content_length = len(bomb)
        try:
            await resp.prepare(request)
            await resp.write(bomb)
            await resp.write_eof()
        except ConnectionError:  # reset, or aiohttp's 'Connection lost' while draining
            pass  # the client gave up part-way, as a bounded reader should
        return resp
    return await _endless(request)


async def _endless(request: web.Request) -> web.StreamResponse:
    """A JSON array that never ends, 64 KiB a chunk, until the client goes away."""
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(request)
        await resp.write(b"[")
        while request.transport is not None and not request.transport.is_closing():
            await resp.write(ENDLESS_CHUNK)
            # write() only waits when the socket's buffer is full; a fast reader never fills
            # it, so yield each chunk or the server's event loop would serve nothing else.
            await asyncio.sleep(0)
    except ConnectionError:  # the client hung up: reset, or lost while draining
        pass
    return resp
