"""What every venue's stream module provides: connections to open, frames to send, frames read.

A stream module (venues/<venue>_ws.py, beside the venue's REST module) does no I/O. It says
where to connect and what to send for a set of markets (split where the venue caps symbols per
connection), how the connection is kept alive, and turns one received text frame into events:
quotes, subscriptions confirmed or refused, a request to reconnect, or a sign of life. A frame
it cannot read raises VenueError(MALFORMED), never anything else. collect/stream.py owns the
socket and everything that waits. This module is that contract and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import Response, SymbolFn


@dataclass(frozen=True, slots=True)
class Connection:
    """One socket's plan: the URL to open, the text frames that subscribe, what they ask for."""

    url: str
    subscribe: tuple[str, ...]  # sent in order once open (after the welcome, where awaited)
    symbols: tuple[str, ...]  # the stream spellings these frames subscribe to


class Acked(NamedTuple):
    """The venue confirmed these subscriptions (stream spellings)."""

    symbols: tuple[str, ...]


class Refused(NamedTuple):
    """The venue refused these subscriptions; () refuses the whole subscribe (Coinbase, for
    one bad product). reason is the venue's own words, safe to show."""

    symbols: tuple[str, ...]
    reason: str


class Reconnect(NamedTuple):
    """The venue asks for a new connection (maintenance, a forced 24 h cut): routine."""

    reason: str


class Alive(NamedTuple):
    """A keepalive answer, heartbeat or welcome: the connection is alive, nothing to price."""


StreamEvent = Quote | Acked | Refused | Reconnect | Alive

# (frame text, stream key → market "BASE/QUOTE", received) → events; raises VenueError
ParseFrameFn = Callable[[str, Mapping[str, str], float], list[StreamEvent]]
# (base URL, stream spellings) → the connections carrying them, split at the venue's caps
ConnectionsFn = Callable[[str, Sequence[str]], list[Connection]]


@dataclass(frozen=True, slots=True)
class Keepalive:
    """How a connection is kept alive: the client's ping (None where the server pings and the
    WebSocket layer answers, as Binance does), how often, and how long without any sign of
    life (a frame, a pong) before the connection counts as dead."""

    ping: Callable[[int], str] | None  # the n-th ping's text frame
    interval: float
    timeout: float


class Endpoint(NamedTuple):
    """Where a token call says to connect, and the keepalive it sets (KuCoin's bullet)."""

    url: str
    keepalive: Keepalive


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A venue's stream as data plus a few functions."""

    name: str  # the venue, as in VenueSpec.name
    url: str  # the public endpoint; config's stream_url overrides it (the simulator)
    symbol: SymbolFn  # market "BASE/QUOTE" → stream spelling
    connections: ConnectionsFn
    parse: ParseFrameFn
    keepalive: Keepalive
    # Largest text frame accepted, in bytes: sized from the venue's largest real frame with
    # headroom; a bigger one is malformed and the connection is reopened.
    max_frame: int = 1 << 16
    welcome: bool = False  # wait for a welcome frame (an Alive) before subscribing (KuCoin)
    # POST this path on the venue's REST base URL before each connect; its answer, read by
    # from_token, gives the URL to use and the keepalive (KuCoin's bullet-public).
    token_path: str | None = None
    from_token: Callable[[Response], Endpoint] | None = None
    # The venue cuts connections at this age (24 h): reconnect a little before, on our terms.
    max_age: float | None = None
