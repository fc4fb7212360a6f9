"""One WebSocket handler for every simulated venue stream, and the publisher that feeds it.

A connection is answered by its venue's pure functions (streams/<venue>.py); this module owns
the sockets and the time. Every `timing.tick` (20 ms of wall time) the publisher reads each
subscribed market's tick at the current scenario time — the prices the REST ticker shows — and
sends the venue's update frame to every connection whose last frame of that market showed
another top of book (bid, ask, last at the venue's precision). The first frame of each new top
is recorded as a Publication, so a benchmark knows when the simulator published a price.
Keepalive timers (Binance pings, heartbeats, idle cuts) run on the event loop's clock, in
real seconds (StreamTiming); faults on the scenario clock, as the REST side's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog
from aiohttp import WSMsgType, web

from depeg_monitor.simulate.faults import HTML_ERROR, stream_faults
from depeg_monitor.simulate.scenario import Fault, Scenario
from depeg_monitor.simulate.streams import STREAMS
from depeg_monitor.simulate.streams.base import (
    Frame,
    Push,
    Session,
    StreamApi,
    StreamTiming,
    text_of,
)
from depeg_monitor.simulate.venues.base import Book

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Top = tuple[float, float, float]  # bid, ask, last as the wire shows them

# How long close() waits for the client's close frame before it drops the socket.
CLOSE_TIMEOUT = 1.0
MAX_CLIENT_FRAME = 1 << 16  # the largest frame a client may send (bytes)
OVERSIZED = 1 << 20  # bytes of padding in an "oversized" malformed frame
GOING_AWAY = 1001
POLICY = 1008  # the simulator's code for a client that broke a keepalive rule (real: unverified)


@dataclass(frozen=True, slots=True)
class Publication:
    """A market's new top of book, as first written to a subscribed client."""

    venue: str
    market: str  # BASE/QUOTE
    t: float  # scenario time of the prices
    bid: float
    ask: float
    price: float  # last
    seq: int  # the market's update id in the frame
    wall: float  # time.time() just after the frame was written (real time, not the clock's)


@dataclass(eq=False)
class _Conn:
    venue: str
    api: StreamApi
    request: web.Request
    ws: web.WebSocketResponse
    conn_id: str
    opened_t: float  # scenario time it opened
    opened_at: float  # event-loop time it opened
    subscribed: set[str] = field(default_factory=set)
    heartbeats: set[str] = field(default_factory=set)
    ever_subscribed: bool = False
    last: dict[str, Top] = field(default_factory=dict)  # market → top last sent
    pushed: dict[str, float] = field(default_factory=dict)  # market → loop time last sent
    last_sent: float = 0.0
    last_client: float = 0.0
    last_ping: float = 0.0
    last_heartbeat: float = 0.0
    unanswered: float | None = None  # loop time of the oldest ping not yet ponged
    notified: set[int] = field(default_factory=set)  # reconnect notices sent (fault index)
    spoiled: set[int] = field(default_factory=set)  # malformed windows announced (fault index)
    closing: bool = False

    def session(self, book: Book) -> Session:
        return Session(self.conn_id, book, frozenset(self.subscribed), frozenset(self.heartbeats))


class StreamHub:
    """Every open stream connection of a simulated market, and the task that publishes."""

    def __init__(
        self,
        scenario: Scenario,
        scenario_time: Callable[[], float],
        book: Callable[[str, float], Book],
        timing: StreamTiming,
        on_publish: Callable[[Publication], None] | None = None,
        keep: int = 100_000,
    ) -> None:
        self._scenario = scenario
        self._scenario_time = scenario_time
        self._book = book
        self.timing = timing
        self._on_publish = on_publish
        self.publications: deque[Publication] = deque(maxlen=keep)
        self.frames_sent: dict[str, int] = {v: 0 for v in STREAMS}
        self.passes = 0  # publisher passes so far (tests wait for a few to see what did not come)
        self._conns: dict[str, list[_Conn]] = {v: [] for v in STREAMS}
        self._tops: dict[tuple[str, str], tuple[Top, int]] = {}
        self._recorded: dict[tuple[str, str], Top] = {}
        self._tokens: set[str] = set()
        self._faults = {v: stream_faults(scenario, v) for v in STREAMS}
        self._task: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[bool]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._publish_forever(), name="simulated-streams")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        conns = [c for cs in self._conns.values() for c in cs]
        await asyncio.gather(*(c.ws.close(code=GOING_AWAY) for c in conns), return_exceptions=True)
        for task in list(self._closers):
            task.cancel()

    # -- what callers need to know -----------------------------------------------------------

    def issue_token(self) -> str:
        """A KuCoin bullet token the stream will accept."""
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return token

    def connections(self, venue: str) -> int:
        return len(self._conns.get(venue, ()))

    # -- connecting --------------------------------------------------------------------------

    def handler(self, venue: str) -> Handler:
        api = STREAMS[venue]

        async def handle(request: web.Request) -> web.StreamResponse:
            t = self._scenario_time()
            refusal = self._refusal(venue, t)
            if refusal is not None:
                return await _refuse(request, refusal)
            conn_id = request.query.get("connectId") or secrets.token_hex(4)
            ws = web.WebSocketResponse(
                autoping=False, timeout=CLOSE_TIMEOUT, max_msg_size=MAX_CLIENT_FRAME
            )
            await ws.prepare(request)
            if api.bad_token is not None and request.query.get("token") not in self._tokens:
                await ws.send_str(text_of(api.bad_token(conn_id)))
                await ws.close(code=POLICY, message=b"token")
                return ws
            now = asyncio.get_running_loop().time()
            conn = _Conn(venue, api, request, ws, conn_id, t, now, last_client=now, last_ping=now)
            conn.last_heartbeat = now
            self._conns[venue].append(conn)
            log.debug("stream_opened", venue=venue, conn_id=conn_id)
            try:
                for frame in api.opened(conn.session(self._book(venue, t))):
                    await self._send(conn, frame)
                async for msg in ws:
                    await self._received(conn, msg.type, msg.data)
            except ConnectionError:
                pass
            finally:
                self._conns[venue].remove(conn)
                log.debug("stream_closed", venue=venue, conn_id=conn_id)
            return ws

        return handle

    def _refusal(self, venue: str, t: float) -> Fault | None:
        """A fault that keeps the stream from opening now: the venue down, or a stream drop."""
        refusing = ("down", "stream_drop")
        return next((f for _, f in self._faults[venue] if f.kind in refusing and f.active(t)), None)

    async def _received(self, conn: _Conn, kind: WSMsgType, data: object) -> None:
        now = asyncio.get_running_loop().time()
        conn.last_client = now
        t = self._scenario_time()
        muted = self._active(conn.venue, t, "stream_mute_pings") is not None
        if kind == WSMsgType.PING:
            if not muted:
                await conn.ws.pong(data if isinstance(data, bytes) else b"")
        elif kind == WSMsgType.PONG:
            conn.unanswered = None
        elif kind == WSMsgType.TEXT and isinstance(data, str):
            answer = conn.api.answer(data, conn.session(self._book(conn.venue, t)))
            if answer.keepalive and muted:
                return
            for frame in answer.frames:
                await self._send(conn, frame)
            conn.subscribed.update(answer.subscribe)
            conn.heartbeats.update(answer.heartbeats)
            conn.ever_subscribed |= bool(answer.subscribe or answer.heartbeats)
            for m in answer.unsubscribe:
                conn.subscribed.discard(m)
                conn.last.pop(m, None)

    # -- publishing --------------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        while True:
            await asyncio.sleep(self.timing.tick)
            try:
                await self.publish()
            except Exception:  # a bug here must not stop every stream
                log.exception("stream_publish_failed")

    async def publish(self) -> None:
        """One pass: faults, keepalives and changed prices for every open connection."""
        t = self._scenario_time()
        now = asyncio.get_running_loop().time()
        for venue, conns in self._conns.items():
            live = [c for c in conns if not c.closing]
            if not live:
                continue
            book = self._book(venue, t)
            self._advance(venue, book, live)
            for conn in live:
                try:
                    await self._serve(conn, book, t, now)
                except ConnectionError:
                    conn.closing = True
        self.passes += 1

    def _advance(self, venue: str, book: Book, conns: Iterable[_Conn]) -> None:
        """Each subscribed market's top now; its update id grows when the top changed."""
        api = STREAMS[venue]
        for m in {m for c in conns for m in c.subscribed}:
            tick = book.ticks.get(m)
            if tick is None:
                continue
            top, prev = api.top(tick), self._tops.get((venue, m))
            if prev is None:
                self._tops[venue, m] = (top, api.first_seq)
            elif prev[0] != top:
                self._tops[venue, m] = (top, prev[1] + 1)

    async def _serve(self, conn: _Conn, book: Book, t: float, now: float) -> None:
        venue, api, timing = conn.venue, conn.api, self.timing
        faults = self._faults[venue]
        for i, f in faults:
            if f.kind in ("down", "stream_drop") and f.start <= t and conn.opened_t < f.end:
                self._drop(conn, f)
                return
            if f.kind == "stream_reconnect" and api.reconnect_notice is not None:
                if i in conn.notified and t >= f.end:
                    self._close(conn, GOING_AWAY, b"reconnect")
                    return
                if i not in conn.notified and conn.opened_t < f.start <= t:
                    conn.notified.add(i)
                    await self._send(conn, api.reconnect_notice(conn.session(book)))
        muted = self._active(venue, t, "stream_mute_pings") is not None
        if self._keepalive_broken(conn, now):
            return
        if api.server_pings and not muted and now - conn.last_ping >= timing.ping_interval:
            conn.last_ping = now
            conn.unanswered = conn.unanswered if conn.unanswered is not None else now
            await conn.ws.ping(b"simulated")
        spoil = self._active(venue, t, "stream_malformed")
        if spoil is not None:
            await self._announce_malformed(conn, book, spoil)
        await self._updates(conn, book, t, now, spoil)
        if api.heartbeat is not None and not muted:
            await self._heartbeat(conn, book, t, now)

    def _keepalive_broken(self, conn: _Conn, now: float) -> bool:
        """Close a connection that broke its venue's keepalive rules; True if it did."""
        api, timing = conn.api, self.timing
        if conn.unanswered is not None and now - conn.unanswered > timing.pong_timeout:
            self._close(conn, POLICY, b"pong timeout")
        elif api.idle_timeout is not None and now - conn.last_client > api.idle_timeout(timing):
            self._close(conn, POLICY, b"idle")
        elif (
            api.subscribe_deadline
            and not conn.ever_subscribed
            and now - conn.opened_at > timing.subscribe_within
        ):
            self._close(conn, POLICY, b"no subscribe")
        return conn.closing

    async def _updates(
        self, conn: _Conn, book: Book, t: float, now: float, spoil: Fault | None
    ) -> None:
        api = conn.api
        for m in sorted(conn.subscribed):
            tick = book.ticks.get(m)
            if tick is None or self._silent(conn.venue, m, t):
                continue  # delisted, or the scenario has it go silent
            top, seq = self._tops[conn.venue, m]
            changed = conn.last.get(m) != top
            due = api.repush and now - conn.pushed.get(m, now) >= self.timing.repush
            if not (changed or due):
                continue
            frame = api.update(tick, Push(book.now, seq, snapshot=m not in conn.last))
            if spoil is not None and spoil.mode != "oversized" and spoil.covers(m):
                await self._send_spoiled(conn, frame, spoil.mode)
            else:
                await self._send(conn, frame)
            conn.last[m], conn.pushed[m] = top, now
            if changed:
                self._record(conn.venue, m, t, top, seq)

    async def _announce_malformed(self, conn: _Conn, book: Book, fault: Fault) -> None:
        """The first malformed frame of a window, sent at once (prices may not be moving)."""
        i = self._scenario.faults.index(fault)
        covered = [m for m in sorted(conn.subscribed) if fault.covers(m) and m in book.ticks]
        if i in conn.spoiled or not covered:
            return
        conn.spoiled.add(i)
        m = covered[0]
        seq = self._tops.get((conn.venue, m), ((0.0, 0.0, 0.0), conn.api.first_seq))[1]
        frame = conn.api.update(book.ticks[m], Push(book.now, seq, snapshot=m not in conn.last))
        await self._send_spoiled(conn, frame, fault.mode)

    async def _heartbeat(self, conn: _Conn, book: Book, t: float, now: float) -> None:
        api, timing = conn.api, self.timing
        assert api.heartbeat is not None
        seqs = {m: s for (v, m), (_, s) in self._tops.items() if v == conn.venue}
        if api.heartbeat_when_idle:
            if conn.subscribed and now - conn.last_sent >= timing.heartbeat:
                for frame in api.heartbeat(conn.session(book), seqs):
                    await self._send(conn, frame)
        elif conn.heartbeats and now - conn.last_heartbeat >= timing.heartbeat:
            conn.last_heartbeat = now
            beating = frozenset(m for m in conn.heartbeats if not self._silent(conn.venue, m, t))
            session = Session(conn.conn_id, book, frozenset(conn.subscribed), beating)
            for frame in api.heartbeat(session, seqs):
                await self._send(conn, frame)

    def _record(self, venue: str, market: str, t: float, top: Top, seq: int) -> None:
        if self._recorded.get((venue, market)) == top:
            return
        self._recorded[venue, market] = top
        pub = Publication(venue, market, t, top[0], top[1], top[2], seq, time.time())
        self.publications.append(pub)
        if self._on_publish is not None:
            self._on_publish(pub)

    # -- faults ------------------------------------------------------------------------------

    def _active(self, venue: str, t: float, kind: str) -> Fault | None:
        return next((f for _, f in self._faults[venue] if f.kind == kind and f.active(t)), None)

    def _silent(self, venue: str, market: str, t: float) -> bool:
        return any(
            f.kind == "stream_silent" and f.active(t) and f.covers(market)
            for _, f in self._faults[venue]
        )

    def _drop(self, conn: _Conn, fault: Fault) -> None:
        if fault.kind == "stream_drop" and fault.mode == "close":
            self._close(conn, GOING_AWAY, b"dropped")
            return
        conn.closing = True
        if conn.request.transport is not None:
            conn.request.transport.abort()  # no close frame: the host went away

    def _close(self, conn: _Conn, code: int, why: bytes) -> None:
        """Close in the background: close() waits for the client's answer."""
        conn.closing = True
        task = asyncio.create_task(conn.ws.close(code=code, message=why))
        self._closers.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[bool]) -> None:
        self._closers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("stream_close_failed", error=repr(task.exception()))

    # -- writing -----------------------------------------------------------------------------

    async def _send(self, conn: _Conn, frame: Frame) -> None:
        if isinstance(frame, bytes):
            await conn.ws.send_bytes(frame)
        else:
            await conn.ws.send_str(text_of(frame))
        conn.last_sent = asyncio.get_running_loop().time()
        self.frames_sent[conn.venue] += 1

    async def _send_spoiled(self, conn: _Conn, frame: Frame, mode: str) -> None:
        text = text_of(frame)
        if mode == "binary":
            await self._send(conn, text.encode())
        elif mode == "oversized":
            pad = json.dumps({"pad": "x" * OVERSIZED})
            await self._send(conn, text[:-1] + "," + pad[1:] if text.endswith("}") else pad)
        else:  # truncated: the JSON cut off half-way
            await self._send(conn, text[: max(1, len(text) // 2)])


async def _refuse(request: web.Request, fault: Fault) -> web.StreamResponse:
    """The upgrade refused the way the fault says: like REST while down, else dropped."""
    if fault.kind == "down" and fault.mode == "http500":
        return web.Response(status=500, text=HTML_ERROR.replace("502 Bad Gateway", "500"))
    if fault.kind == "down" and fault.mode == "hang":
        await asyncio.sleep(3600)
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)  # never sent: the connection is already gone
