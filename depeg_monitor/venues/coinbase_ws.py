"""Coinbase Exchange stream: the `ticker` and `heartbeat` channels on one connection.

Connect `url` (`wss://ws-feed.exchange.coinbase.com`, or config's stream_url) and, within 5 s,
send `{"type":"subscribe","product_ids":["USDT-USD",...],"channels":["ticker","heartbeat"]}`.
The answer `{"type":"subscriptions","channels":[{"name":"ticker","product_ids":[...]},...]}`
lists every subscription the connection holds (cumulatively) → Acked(the ticker channel's
product_ids). One bad product refuses the whole subscribe:
`{"type":"error","message":"Failed to subscribe","reason":"X-Y is not a valid product"}` →
Refused(("X-Y",), reason), or Refused((), reason) when the reason names no product.

Frames: `ticker` (price, best_bid, best_ask, volume_24h, time ISO-8601 µs — the last trade's
time) → Quote with price = the last trade; `heartbeat` (every second per product) → Alive.
Ticker fires only on trades, so its bid/ask can be stale on a quiet book. Other types are
ignored. No client ping is documented: the heartbeats are the sign of life (dead after 30 s).
The stream spelling is the product id (USDT-USD), as in REST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.fields import text_of
from depeg_monitor.venues.frames_ws import (
    dumps,
    frame_object,
    malformed,
    name,
    rfc3339,
    seq,
    stream_quote,
)
from depeg_monitor.venues.stream import (
    Acked,
    Alive,
    Connection,
    Keepalive,
    Refused,
    StreamEvent,
    StreamSpec,
)

NAME = "coinbase"
URL = "wss://ws-feed.exchange.coinbase.com"
CHANNELS = ("ticker", "heartbeat")
NOT_VALID = " is not a valid product"

symbol = spelling("-")


def subscribe(symbols: Sequence[str]) -> str:
    return dumps({"type": "subscribe", "product_ids": list(symbols), "channels": list(CHANNELS)})


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    if not symbols:
        return []
    return [Connection(url, (subscribe(symbols),), tuple(symbols))]


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    kind = frame.get("type")
    if kind == "ticker":
        return _ticker(frame, keys, received)
    if kind == "heartbeat":
        return [Alive()]
    if kind == "subscriptions":
        subscribed = _subscribed(frame)
        return [Acked(subscribed)] if subscribed else []
    if kind == "error":
        return [_refused(frame)]
    return []


def _ticker(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    product = name(frame.get("product_id"))
    market = keys.get(product) if product is not None else None
    if market is None:
        return []
    q = stream_quote(
        NAME,
        market,
        received,
        last=frame.get("price"),
        bid=frame.get("best_bid"),
        ask=frame.get("best_ask"),
        volume_base=frame.get("volume_24h"),
        ts_exchange=rfc3339(frame.get("time")),
    )
    if q is None:
        raise malformed("ticker without a price")
    return [q]


def _subscribed(frame: dict[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for channel in seq(frame.get("channels"), "channels"):
        if isinstance(channel, dict) and channel.get("name") == "ticker":
            ids = seq(channel.get("product_ids"), "product_ids")
            out += [p for p in ids if isinstance(p, str) and p]
    return tuple(out)


def _refused(frame: dict[str, Any]) -> Refused:
    reason = text_of(frame.get("reason"), 200)
    message = text_of(frame.get("message"), 200)
    words = reason.strip() or message or "error"
    if reason.endswith(NOT_VALID):
        product = reason[: -len(NOT_VALID)].strip()
        if product:
            return Refused((product,), words)
    return Refused((), words)


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=None, interval=1.0, timeout=30.0),
    # A ticker is ~500 B; `subscriptions` lists every product twice (~12 B each).
    max_frame=64 << 10,
)
