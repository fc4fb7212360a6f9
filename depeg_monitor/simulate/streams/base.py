"""What a simulated venue stream is: answers to a client's frames and update frames, no I/O.

A venue's stream module turns one text frame from a client into an Answer (frames to send back,
markets subscribed or unsubscribed) and a market's tick into the venue's update frame. The
shared handler (streams/server.py) owns the sockets, the timers and the faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import Book

# A frame to send: a JSON-able value (sent as compact JSON text), a str (sent as it is) or
# bytes (a binary frame).
Frame = Any


@dataclass(frozen=True, slots=True)
class Session:
    """What a venue's functions know about one connection at one moment."""

    conn_id: str  # the venue's connection id (connId, conn_id, connectId, connection_id)
    book: Book  # the venue's listed markets now (delisted ones left out)
    subscribed: frozenset[str] = frozenset()  # markets ("BASE/QUOTE") streamed to it
    heartbeats: frozenset[str] = frozenset()  # Coinbase: products on the heartbeat channel

    @property
    def now(self) -> float:
        return self.book.now


@dataclass(frozen=True, slots=True)
class Answer:
    """What the venue does about one client frame."""

    frames: tuple[Frame, ...] = ()
    subscribe: tuple[str, ...] = ()  # markets to start streaming
    unsubscribe: tuple[str, ...] = ()
    heartbeats: tuple[str, ...] = ()  # Coinbase: markets added to the heartbeat channel
    keepalive: bool = False  # a ping (or heartbeat) answered: a mute fault swallows it


@dataclass(frozen=True, slots=True)
class Push:
    """One update of a market: when, its update id, and whether it is the first one sent."""

    now: float  # wall-clock epoch seconds (the injected clock)
    seq: int  # the market's update id: grows by one each time its top of book changes
    snapshot: bool  # the first frame of this market on this connection

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """Keepalive rules in real seconds (event-loop time, not scenario time): the venues'
    own figures by default; scaled() shortens them all for tests."""

    tick: float = 0.02  # how often prices are looked at for changes (not scaled)
    ping_interval: float = 20.0  # Binance pings every 20 s …
    pong_timeout: float = 60.0  # … and closes a client that has not ponged within a minute
    heartbeat: float = 1.0  # Kraken (when idle) and Coinbase (per product) heartbeats
    idle_timeout: float = 30.0  # OKX closes a connection that has sent nothing for 30 s
    subscribe_within: float = 5.0  # Coinbase closes a connection that has not subscribed
    repush: float = 3.0  # Bybit re-pushes an unchanged orderbook.1 snapshot this often
    kucoin_ping_interval: float = 18.0  # bullet-public's pingInterval (sent in ms)
    kucoin_ping_timeout: float = 10.0  # … and pingTimeout: silent longer than both, cut

    def scaled(self, factor: float) -> StreamTiming:
        """Every duration but the tick multiplied by factor (0.05: Binance pings each 1 s)."""
        return replace(
            self,
            **{f.name: getattr(self, f.name) * factor for f in fields(self) if f.name != "tick"},
        )


Answerer = Callable[[str, Session], Answer]
Updater = Callable[[Tick, Push], Frame]
Heartbeat = Callable[[Session, Mapping[str, int]], tuple[Frame, ...]]  # (session, seq by market)


def _nothing(session: Session) -> tuple[Frame, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class StreamApi:
    """A venue's stream as data plus a few functions."""

    name: str
    answer: Answerer  # a client's text frame → the venue's answer
    update: Updater  # a market's tick → its update frame
    places: int  # decimals its prices are written with: a change below them is no change
    first_seq: int = 1  # the update id of the first change of every market
    opened: Callable[[Session], tuple[Frame, ...]] = _nothing  # sent once the socket is open
    heartbeat: Heartbeat | None = None  # sent every timing.heartbeat
    heartbeat_when_idle: bool = False  # … only after that long without another frame (Kraken)
    reconnect_notice: Callable[[Session], Frame] | None = None  # asks the client to reconnect
    server_pings: bool = False  # WebSocket pings from the server, pongs required (Binance)
    # Seconds without any client frame before the server cuts the connection (None: never).
    idle_timeout: Callable[[StreamTiming], float] | None = None
    subscribe_deadline: bool = False  # no subscribe within timing.subscribe_within: closed
    repush: bool = False  # unchanged snapshots sent again every timing.repush (Bybit)
    # ?token= must be one the REST side issued (KuCoin): what any other token gets, then a close.
    bad_token: Callable[[str], Frame] | None = None

    def top(self, t: Tick) -> tuple[float, float, float]:
        """The market's best bid, best ask and last price as the wire shows them."""
        return (round(t.bid, self.places), round(t.ask, self.places), round(t.price, self.places))


def parse(text: str) -> Any:
    """A client's frame as JSON, or None if it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def text_of(frame: Frame) -> str:
    """A frame as the text sent on the wire."""
    return frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":"))


QTY = "25000.00000000"  # the simulated books show this size at the top on both sides
