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
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import Response, SymbolFn


@dataclass(frozen=True, slots=True)
class Connection:
    """One socket's plan: the URL to open, the text frames that subscribe, what they ask for."""

    url: str
    subscribe: tuple[str, ...]  # sent in order once open (after the welcome, where awaited)
    symbols: tuple[str, ...]  # the stream spellings these frames subscribe to
    # Where a venue acknowledges a subscribe message only by the id it carried (Binance,
    # Bybit, Gemini, KuCoin): that id → the spellings the message asked for. Ids are the
    # connection-local 1, 2, … of its subscribe frames; `resolve` reads this mapping.
    acks: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


class Acked(NamedTuple):
    """The venue confirmed these subscriptions (stream spellings). An ack that names only the
    subscribe message's id is Acked((), ref=id): `resolve` turns it into that message's
    symbols."""

    symbols: tuple[str, ...]
    ref: str | None = None


class Refused(NamedTuple):
    """The venue refused these subscriptions; () refuses the whole subscribe (Coinbase, for
    one bad product). reason is the venue's own words, safe to show."""

    symbols: tuple[str, ...]
    reason: str
    ref: str | None = None  # the refused subscribe message's id, as for Acked


class Reconnect(NamedTuple):
    """The venue asks for a new connection (maintenance, a forced 24 h cut): routine."""

    reason: str


class Alive(NamedTuple):
    """A keepalive answer, heartbeat or welcome: the connection is alive, nothing to price."""


StreamEvent = Quote | Acked | Refused | Reconnect | Alive


def resolve(event: StreamEvent, conn: Connection) -> StreamEvent:
    """An Acked/Refused naming its subscribe message by ref, with that message's symbols.

    A ref the connection did not send resolves to no symbols: an ack of nothing, or a refusal
    of the whole connection's subscribe. Every other event is returned as it is.
    """
    if isinstance(event, Acked | Refused) and event.ref is not None and not event.symbols:
        return event._replace(symbols=conn.acks.get(event.ref, ()))
    return event


def rebased(url: str, base: str) -> str:
    """`url` (a token call's endpoint with its ?token=…) moved onto `base`'s scheme, host and
    path: how a configured stream_url overrides the endpoint a token call names."""
    target, origin = urlsplit(base), urlsplit(url)
    query = "&".join(q for q in (target.query, origin.query) if q)
    return urlunsplit((target.scheme, target.netloc, target.path, query, ""))


# (frame text, stream key → market "BASE/QUOTE", received) → events; raises VenueError.
# Every module spells a market in frames as its `symbol` does, so keys = {symbol(m): m}.
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
