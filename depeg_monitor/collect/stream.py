"""One venue's WebSocket stream: connect, subscribe, keep alive, reconnect — the socket's owner.

The venue's stream module (venues/<venue>_ws.py) says what to send and reads each frame; this
owns the socket and every wait. Per connection: open it (after a token call where the venue
needs one), wait for the welcome where there is one, send the subscriptions and check their
acknowledgements, answer and send keepalives, and read frames within the frame cap. Quotes go
through the same quality screen as polled ones, then to the sink. A venue asking for a new
connection, or a connection reaching the venue's age limit, is a routine reconnect; anything
else that ends a connection is a failure, retried with capped exponential backoff and jitter.

Liveness is not message age: a quiet stablecoin book may send nothing for minutes. A stream is
healthy while it is connected, its subscriptions are confirmed, its keepalive is answered and
no subscribed market has stayed silent since subscribing for longer than silent_after (the
venue that acks a symbol it does not have, then sends nothing). While it is not healthy the
venue's REST collector polls at its normal interval (see `healthy` and `changed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp
import structlog

from depeg_monitor.clock import Clock
from depeg_monitor.collect.reconcile import disagreements
from depeg_monitor.collect.rules import StreamRules
from depeg_monitor.collect.screen import Screen
from depeg_monitor.health.registry import Component, StreamDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.stream import (
    Acked,
    Alive,
    Connection,
    Keepalive,
    Reconnect,
    Refused,
    StreamEvent,
    StreamSpec,
    rebased,
    resolve,
)

log = structlog.get_logger(__name__)

Sink = Callable[[Sequence[Quote]], None]

STABLE_AFTER = 60.0  # a connection up this long resets the failure count (backoff starts over)
ROUTINE_DELAY = 0.2  # before reconnecting on the venue's request
RECONNECT_WINDOW = 3600.0  # /health counts reconnects over the last hour
MALFORMED_LOG_INTERVAL = 60.0  # a stream of bad frames is logged at most this often
# A streamed and a polled quote this close in time (seconds) should show the same book.
RECONCILE_GAP = 5.0


class StreamDown(Exception):
    """The connection ended in a way that is not routine; str() is safe to show."""


class _Routine(Exception):
    """The connection ends on purpose: the venue asked, or it reached its age limit."""


@dataclass(slots=True)
class _Link:
    """One connection's state, as /health and the REST fallback see it."""

    plan: Connection
    current: Connection | None = None  # what this session subscribed with (acks refer to it)
    connected: bool = False
    subscribed_at: float | None = None  # monotonic, when the subscriptions were sent
    pending: set[str] = field(default_factory=set)  # sent, not yet acknowledged
    confirmed: set[str] = field(default_factory=set)
    heard: set[str] = field(default_factory=set)  # symbols with a quote since subscribing
    refused: dict[str, str] = field(default_factory=dict)  # symbol → the venue's reason
    error: str | None = None


def backoff(failures: int, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds before reconnect attempt `failures` (1, 2, …): 1 s doubling up to cap, with
    jitter over the upper half, so many monitors cut at once do not come back in step."""
    ceiling = min(cap, 2.0 ** max(0, failures - 1))
    return ceiling * (0.5 + rng() / 2)


class StreamCollector:
    def __init__(
        self,
        spec: StreamSpec,
        rules: StreamRules,
        markets: Callable[[], Mapping[str, str]],
        session: aiohttp.ClientSession,
        clock: Clock,
        health: Component,
        metrics: Metrics,
        screen: Screen,
        sink: Sink,
        rest_base_url: str = "",
    ) -> None:
        """markets: the markets to stream now (market → REST spelling), the ones the REST
        listing confirmed; read at each (re)connect."""
        self.name = spec.name
        self.spec = spec
        self.rules = rules
        self._markets = markets
        self._session = session
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._screen = screen
        self._sink = sink
        self._rest_base_url = rest_base_url
        self.log = log.bind(venue=spec.name, stream=True)
        self._links: list[_Link] = []
        self._keys: dict[str, str] = {}  # stream spelling → market
        self._reconnects: deque[float] = deque()  # monotonic times, the last hour
        self._frames_at: float | None = None  # epoch, the last frame of any connection
        self._malformed_said = float("-inf")
        self._was_healthy = False
        self._last: dict[str, Quote] = {}  # market → its last streamed (screened) quote
        self._disagreeing: dict[str, str] = {}  # market → how it disagrees with REST, now
        # Set whenever `healthy` may have changed: the REST collector waits on it to poll at
        # its normal interval at once when the stream stops being healthy.
        self.changed = asyncio.Event()

    # ------------------------------------------------------------------ the REST side's view

    @property
    def healthy(self) -> bool:
        """Connected, every subscription confirmed, keepalive answered, no market silent."""
        if not self._links:
            return False
        now = self._clock.monotonic()
        for link in self._links:
            if not link.connected or link.pending or link.subscribed_at is None:
                return False
            if self._silent(link, now):
                return False
        return True

    def _silent(self, link: _Link, now: float) -> list[str]:
        """The link's confirmed symbols without a quote since subscribing for silent_after."""
        if link.subscribed_at is None or now - link.subscribed_at < self.rules.silent_after:
            return []
        return sorted(s for s in link.confirmed if s not in link.heard)

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the venue's connections open until stop is set."""
        markets = self._markets()
        self._keys = {self.spec.symbol(m): m for m in markets}
        plans = self.spec.connections(self.rules.url, list(self._keys))
        self._links = [_Link(p) for p in plans]
        if not self._links:
            return
        self._report()
        async with asyncio.TaskGroup() as group:
            for i, link in enumerate(self._links):
                group.create_task(self._keep(link, stop), name=f"stream:{self.name}:{i}")
            group.create_task(self._watch(stop), name=f"stream:{self.name}:watch")

    async def _watch(self, stop: asyncio.Event) -> None:
        """Re-judge health once a second: a market falls silent without any frame saying so."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
            self._report()

    async def _keep(self, link: _Link, stop: asyncio.Event) -> None:
        """One connection, reopened until stop: at once after a routine end, with backoff
        after a failure."""
        failures = 0
        while not stop.is_set():
            opened = self._clock.monotonic()
            delay = ROUTINE_DELAY
            try:
                await self._session_once(link, stop)
            except _Routine as e:
                self.log.info("stream_reconnecting", reason=str(e))
                failures = 0
                self._metrics.stream_reconnects.labels(self.name, "routine").inc()
            except StreamDown as e:
                if self._clock.monotonic() - opened >= STABLE_AFTER:
                    failures = 0
                failures += 1
                link.error = str(e)
                delay = backoff(failures, self.rules.max_backoff)
                if failures == 1:
                    self.log.warning("stream_down", error=str(e), retry_in=round(delay, 1))
                self._metrics.stream_reconnects.labels(self.name, "failure").inc()
            except Exception as e:  # a bug here must not end the stream for good
                self.log.exception("stream_crashed")
                failures += 1
                link.error = f"internal error ({type(e).__name__})"
                delay = backoff(failures, self.rules.max_backoff)
            finally:
                link.connected = False
                link.subscribed_at = None
                link.pending.clear()
                link.confirmed.clear()
                link.heard.clear()
                self._report()
            if stop.is_set():
                break
            self._reconnects.append(self._clock.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()

    async def _endpoint(self, link: _Link) -> tuple[Connection, Keepalive]:
        """Where to connect now and what to send: the plan, less any symbol the venue refused,
        at the URL the venue's token call gives where it needs one (KuCoin)."""
        spec = self.spec
        base, keepalive = self.rules.url, spec.keepalive
        if spec.token_path is not None and spec.from_token is not None:
            url = self._rest_base_url.rstrip("/") + spec.token_path
            try:
                async with asyncio.timeout(self.rules.connect_timeout):
                    async with self._session.post(url) as resp:
                        body = await resp.content.read(1 << 16)
                        answer = Response(
                            resp.status, body.decode("utf-8", "replace"), resp.headers
                        )
                base, keepalive = spec.from_token(answer)
                if self.rules.url and self.rules.url != spec.url:  # a configured stream_url
                    base = rebased(base, self.rules.url)
            except VenueError as e:
                raise StreamDown(f"token: {e}") from None
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                raise StreamDown(f"token: {_network_error(e)}") from None
        elif not link.refused:
            return link.plan, keepalive
        symbols = [s for s in link.plan.symbols if s not in link.refused]
        plans = spec.connections(base, symbols) if symbols else []
        if not plans:
            raise StreamDown("nothing left to subscribe (every market refused)")
        return plans[0], keepalive

    async def _session_once(self, link: _Link, stop: asyncio.Event) -> None:
        plan, keepalive = await self._endpoint(link)
        rules, clock = self.rules, self._clock
        timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0)
        try:
            async with asyncio.timeout(rules.connect_timeout):
                ws = await self._session.ws_connect(
                    plan.url,
                    autoping=False,  # pings are answered here, so they count as signs of life
                    heartbeat=None,
                    max_msg_size=self.spec.max_frame,
                    timeout=timeout,
                    compress=0,
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise StreamDown(f"connect: {_network_error(e)}") from None
        async with ws:
            link.connected = True
            link.error = None
            reader = _Reader(ws, keepalive, clock, stop)
            if self.spec.welcome:
                await self._await_welcome(reader, link)
            link.current = plan
            symbols = [s for s in plan.symbols if s not in link.refused]
            for message in plan.subscribe:
                await ws.send_str(message)
            link.pending = set(symbols)
            subscribed = link.subscribed_at = clock.monotonic()
            self._report()
            opened = clock.monotonic()
            while not stop.is_set():
                max_age = self.spec.max_age
                if max_age is not None and clock.monotonic() - opened >= max_age * 0.99:
                    raise _Routine("connection age limit")
                if link.pending and clock.monotonic() - subscribed > rules.ack_timeout:
                    missing = ", ".join(sorted(link.pending)[:5])
                    raise StreamDown(
                        f"subscriptions not confirmed in {rules.ack_timeout:g}s: {missing}"
                    )
                text = await reader.next_text()
                if text is None:
                    continue  # a ping answered, a ping sent, or time to look at the clock
                self._frame(text, link)

    async def _await_welcome(self, reader: _Reader, link: _Link) -> None:
        deadline = self._clock.monotonic() + self.rules.ack_timeout
        while self._clock.monotonic() < deadline:
            text = await reader.next_text()
            if text is None:
                continue
            if any(isinstance(e, Alive) for e in self._events(text)):
                return
        raise StreamDown(f"no welcome within {self.rules.ack_timeout:g}s")

    def _events(self, text: str) -> list[StreamEvent]:
        try:
            return list(self.spec.parse(text, self._keys, self._clock.now()))
        except VenueError as e:
            self._malformed(str(e))
        except Exception as e:  # the backstop: a parser bug on a hostile frame is malformed
            self._malformed(f"{ErrorKind.MALFORMED.value}: {type(e).__name__}")
        return []

    def _frame(self, text: str, link: _Link) -> None:
        self._frames_at = self._clock.now()
        quotes: list[Quote] = []
        for event in self._events(text):
            event = resolve(event, link.current or link.plan)  # an ack by message id
            if isinstance(event, Quote):
                quotes.append(event)
            elif isinstance(event, Acked):
                done = set(event.symbols)  # an ack naming nothing (an unknown id) confirms nothing
                link.confirmed |= done & (link.pending | link.confirmed)
                link.pending -= done
                if not link.pending:
                    self._report()
            elif isinstance(event, Refused):
                self._refused(link, event)
            elif isinstance(event, Reconnect):
                raise _Routine(f"venue asked: {event.reason}")
        self._metrics.stream_frames.labels(self.name).inc()
        if not quotes:
            return
        screened = self._screen(quotes, self._clock.now())
        for q in screened.good:
            symbol = self.spec.symbol(f"{q.coin}/{q.quote_ccy}")
            link.heard.add(symbol)
        if screened.good:
            for q in screened.good:
                self._last[f"{q.coin}/{q.quote_ccy}"] = q
            self._sink(screened.good)

    def live(self) -> dict[tuple[str, str], Quote]:
        """While healthy, the last streamed quote of each market ((coin, quote) → quote): a
        venue streams a market's book when it changes, so a healthy stream's silence means it
        has not — the quote is as good now as when it came. Empty while not healthy."""
        if not self.healthy:
            return {}
        return {(q.coin, q.quote_ccy): q for q in self._last.values()}

    def reconcile(self, polled: Sequence[Quote]) -> None:
        """Compare a poll's quotes with the last streamed ones: a stream far from its venue's
        own REST answer is logged (once per market while it lasts), counted and shown."""
        found = disagreements(self._last, polled, self.rules.reconcile_band, RECONCILE_GAP)
        now = {d.market for d in found}
        for d in found:
            self._metrics.stream_disagreements.labels(self.name).inc()
            if d.market not in self._disagreeing:
                self.log.warning(
                    "stream_disagrees_with_rest",
                    market=d.market,
                    streamed=d.streamed,
                    polled=d.polled,
                    gap_pct=round(d.gap * 100, 3),
                )
        checked = {f"{q.coin}/{q.quote_ccy}" for q in polled}
        self._disagreeing = {
            m: text for m, text in self._disagreeing.items() if m not in checked
        } | {d.market: f"{d.market} {d.streamed:.4f} vs REST {d.polled:.4f}" for d in found}
        if now or checked:
            self._report()

    def _refused(self, link: _Link, event: Refused) -> None:
        """A refused symbol is not asked for again on this connection's next subscribe; a
        refused subscribe as a whole ends the connection (it is retried with backoff)."""
        if not event.symbols:
            raise StreamDown(f"subscribe refused: {event.reason}")
        for s in event.symbols:
            link.refused[s] = event.reason
            link.pending.discard(s)
        self.log.warning(
            "stream_subscription_refused", symbols=list(event.symbols), reason=event.reason
        )
        self._report()

    def _malformed(self, why: str) -> None:
        self._metrics.stream_malformed.labels(self.name).inc()
        now = self._clock.monotonic()
        if now - self._malformed_said >= MALFORMED_LOG_INTERVAL:
            self._malformed_said = now
            self.log.warning("stream_frame_malformed", error=why)

    # ------------------------------------------------------------------ health

    def _report(self) -> None:
        now_m = self._clock.monotonic()
        while self._reconnects and now_m - self._reconnects[0] > RECONNECT_WINDOW:
            self._reconnects.popleft()
        healthy = self.healthy
        silent = sorted(
            self._keys.get(s, s) for link in self._links for s in self._silent(link, now_m)
        )
        refused = sorted(self._keys.get(s, s) for link in self._links for s in link.refused)
        detail = StreamDetail(
            connections=len(self._links),
            connected=sum(link.connected for link in self._links),
            confirmed=sum(len(link.confirmed) for link in self._links),
            subscribed=sum(len(link.plan.symbols) for link in self._links),
            last_frame=self._frames_at,
            reconnects_hour=len(self._reconnects),
            fallback=not healthy,
            silent=tuple(silent),
            refused=tuple(refused),
        )
        now = self._clock.now()
        errors = [link.error for link in self._links if link.error and not link.connected]
        if errors:
            self._health.error(now, errors[0], detail)
        else:
            notes = []
            if silent:
                notes.append(f"silent since subscribing: {', '.join(silent)}")
            if refused:
                notes.append(f"refused: {', '.join(refused)}")
            if self._disagreeing:
                notes.append(
                    "disagrees with REST: " + "; ".join(sorted(self._disagreeing.values()))
                )
            if not healthy and not notes:
                notes.append("connecting")
            self._health.ok(now, "; ".join(notes) or None, detail)
        self._metrics.stream_up.labels(self.name).set(1.0 if healthy else 0.0)
        if healthy != self._was_healthy:
            self._was_healthy = healthy
            if healthy:
                self.log.info(
                    "stream_healthy", markets=sum(len(lk.confirmed) for lk in self._links)
                )
            elif silent:
                self.log.warning("stream_markets_silent", markets=silent)
            self.changed.set()


class _Reader:
    """Frames off one socket, with its keepalive: pings answered and sent, and a connection
    with no sign of life (any frame, ping or pong) within keepalive.timeout declared dead."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        keepalive: Keepalive,
        clock: Clock,
        stop: asyncio.Event,
    ) -> None:
        self._ws = ws
        self._ka = keepalive
        self._clock = clock
        self._stop = stop
        now = clock.monotonic()
        self._alive_at = now
        self._ping_at = now + keepalive.interval
        self._pings = 0

    async def next_text(self) -> str | None:
        """The next text frame, or None after a keepalive step or a second of nothing."""
        ka, clock = self._ka, self._clock
        now = clock.monotonic()
        if now - self._alive_at > ka.timeout:
            raise StreamDown(f"no sign of life for {now - self._alive_at:.0f}s")
        if ka.ping is not None and now >= self._ping_at:
            self._pings += 1
            self._ping_at = now + ka.interval
            await self._ws.send_str(ka.ping(self._pings))
            return None
        # Wake for the next ping, and when the connection would count as dead: a read that
        # waited a whole second past the timeout would give a dead connection up late.
        wait = min(1.0, self._alive_at + ka.timeout - now)
        if ka.ping is not None:
            wait = min(wait, self._ping_at - now)
        try:
            async with asyncio.timeout(max(wait, 0.01)):
                msg = await self._ws.receive()
        except TimeoutError:
            return None
        kind = msg.type
        if kind is aiohttp.WSMsgType.TEXT:
            self._alive_at = clock.monotonic()
            return str(msg.data)
        if kind is aiohttp.WSMsgType.BINARY:
            self._alive_at = clock.monotonic()
            raise StreamDown("binary frame (not a text feed)")
        if kind is aiohttp.WSMsgType.PING:
            self._alive_at = clock.monotonic()
            await self._ws.pong(msg.data)
            return None
        if kind is aiohttp.WSMsgType.PONG:
            self._alive_at = clock.monotonic()
            return None
        if kind is aiohttp.WSMsgType.ERROR:
            err = self._ws.exception()
            raise StreamDown(f"read failed: {_network_error(err) if err else 'unknown'}")
        code = self._ws.close_code
        raise StreamDown(f"closed by the venue (code {code})" if code else "closed by the venue")


def _network_error(e: BaseException) -> str:
    """Words for a connection failure, without the URL (it may carry a token)."""
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, aiohttp.WSServerHandshakeError):
        return f"handshake refused (HTTP {e.status})"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot connect ({e.os_error.strerror or type(e.os_error).__name__})"
    name = type(e).__name__
    if "too big" in str(e).lower() or "message size" in str(e).lower():
        return "frame larger than the cap (malformed)"
    return name
