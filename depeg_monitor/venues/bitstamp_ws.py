"""Bitstamp stream: the `order_book_<pair>` channel (the top of the book on every change).

Connect `url` (`wss://ws.bitstamp.net`, or config's stream_url) and send one
`{"event":"bts:subscribe","data":{"channel":"order_book_usdcusd"}}` per market.
`{"event":"bts:subscription_succeeded","channel":"order_book_usdcusd","data":{}}` →
Acked(("usdcusd",)) — sent even for a pair that does not exist, which then stays silent (the
loop's silent-market report). `bts:error` naming an order_book channel → Refused((pair,), …);
one naming no channel is about the connection → VenueError(CLIENT_ERROR).
`{"event":"bts:request_reconnect"}` → Reconnect.

Frames: `{"event":"data","channel":"order_book_<pair>","data":{"microtimestamp":"…µs",
"bids":[[price, amount],…],"asks":[…]}}` → a Quote at the midpoint of the best bid and ask
(no last, no volume), ts_exchange from microtimestamp; a side of the book empty → no quote.
Other channels (diff_order_book_, live_trades_) are ignored. Client heartbeat
`{"event":"bts:heartbeat"}` every 30 s; its answer (an event `bts:heartbeat`, unverified)
→ Alive; dead after 60 s without a sign of life. The stream spelling is the lower-case pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.fields import envelope, text_of
from depeg_monitor.venues.frames_ws import (
    US,
    best,
    dumps,
    epoch,
    frame_object,
    name,
    obj,
    stream_quote,
)
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

NAME = "bitstamp"
URL = "wss://ws.bitstamp.net"
PREFIX = "order_book_"
HEARTBEAT = dumps({"event": "bts:heartbeat"})

symbol = spelling(lower=True)


def subscribe(sym: str) -> str:
    return dumps({"event": "bts:subscribe", "data": {"channel": PREFIX + sym}})


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    if not symbols:
        return []
    return [Connection(url, tuple(subscribe(s) for s in symbols), tuple(symbols))]


def _pair(channel: Any) -> str | None:
    """The pair an order_book_<pair> channel names (None for any other channel)."""
    text = name(channel)
    if text is None or not text.startswith(PREFIX):
        return None
    return text[len(PREFIX) :] or None


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    event = frame.get("event")
    pair = _pair(frame.get("channel"))
    if event == "data":
        return _book(pair, frame, keys, received)
    if event == "bts:subscription_succeeded":
        return [Acked((pair,))] if pair is not None else []
    if event == "bts:request_reconnect":
        return [Reconnect("bts:request_reconnect")]
    if event == "bts:heartbeat":
        return [Alive()]
    if event == "bts:error":
        data = envelope(frame.get("data"))
        code, message = text_of(data.get("code")), text_of(data.get("message"), 200)
        reason = f"{code} {message}".strip() or "bts:error"
        if pair is not None:
            return [Refused((pair,), reason)]
        raise VenueError(ErrorKind.CLIENT_ERROR, f"bts:error {reason}")
    return []


def _book(
    pair: str | None, frame: dict[str, Any], keys: Mapping[str, str], received: float
) -> list[Any]:
    market = keys.get(pair) if pair is not None else None
    if market is None:
        return []
    data = obj(frame.get("data"), "data")
    q = stream_quote(
        NAME,
        market,
        received,
        bid=best(data.get("bids"), "bids"),
        ask=best(data.get("asks"), "asks"),
        ts_exchange=epoch(data.get("microtimestamp"), US),
    )
    return [q] if q is not None else []


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=lambda n: HEARTBEAT, interval=30.0, timeout=60.0),
    # An order_book push is the top 100 of each side, ~30 B a level: ~6 KB; 64 KB is ample.
    max_frame=64 << 10,
)
