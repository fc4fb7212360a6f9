"""Kraken spot stream (WebSocket v2): the `ticker` channel, updated on every best bid/offer.

Connect `url` (`wss://ws.kraken.com/v2`, or config's stream_url); a `status` frame arrives on
open. Send `{"method":"subscribe","params":{"channel":"ticker","symbol":["USDC/USD",...],
"event_trigger":"bbo","snapshot":true},"req_id":1}` (bbo: an update on every book change, not
only on trades). Kraken acks each symbol on its own:
`{"method":"subscribe","result":{"channel":"ticker","symbol":"USDC/USD"},"success":true}` →
Acked(("USDC/USD",)); `{"method":"subscribe","success":false,"error":"…","symbol":"X/Y"}` →
Refused(("X/Y",), error) (a rejection without a symbol → Refused((), error, ref=req_id)).

Frames: `{"channel":"ticker","type":"snapshot"|"update","data":[{"symbol","bid","ask","last",
"volume","timestamp"?}]}` → one Quote per row (JSON numbers, not strings; price = last; volume
is 24 h base volume; timestamp RFC 3339 where sent, else None). `heartbeat` (about once a
second while subscribed) and `status` frames → Alive. Client ping `{"method":"ping",
"req_id":n}` every 30 s → `{"method":"pong",…}` → Alive; dead after 45 s without a sign.
The stream spelling is the v2 pair BASE/QUOTE with modern codes (BTC, not XBT), upper case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.fields import text_of
from depeg_monitor.venues.frames_ws import (
    dumps,
    frame_object,
    name,
    obj,
    plan,
    ref,
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

NAME = "kraken"
URL = "wss://ws.kraken.com/v2"
CHANNEL = "ticker"

symbol = spelling("/")


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    params = {"channel": CHANNEL, "symbol": list(symbols), "event_trigger": "bbo", "snapshot": True}
    return dumps({"method": "subscribe", "params": params, "req_id": int(msg_id)})


def ping(n: int) -> str:
    return dumps({"method": "ping", "req_id": n})


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    # No limit of symbols per request or connection is documented: one of each.
    if not symbols:
        return []
    return plan(url, [tuple(symbols)], lambda s: [tuple(s)], subscribe)


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    method = frame.get("method")
    if method == "subscribe":
        return _subscribed(frame)
    if method == "pong":
        return [Alive()]
    channel = frame.get("channel")
    if channel == CHANNEL:
        return _tickers(frame, keys, received)
    if channel in ("heartbeat", "status"):
        return [Alive()]
    return []


def _subscribed(frame: dict[str, Any]) -> list[StreamEvent]:
    result = frame.get("result")
    result = result if isinstance(result, dict) else {}
    sym = name(result.get("symbol")) or name(frame.get("symbol"))
    if frame.get("success") is True:
        if result.get("channel") != CHANNEL or sym is None:
            return []
        return [Acked((sym,))]
    reason = text_of(frame.get("error"), 200) or "subscribe failed"
    if sym is not None:
        return [Refused((sym,), reason)]
    return [Refused((), reason, ref(frame.get("req_id")))]


def _tickers(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    out = []
    for row in seq(frame.get("data"), "data"):
        row = obj(row, "ticker row")
        sym = name(row.get("symbol"))
        market = keys.get(sym) if sym is not None else None
        if market is None:
            continue
        q = stream_quote(
            NAME,
            market,
            received,
            last=row.get("last"),
            bid=row.get("bid"),
            ask=row.get("ask"),
            volume_base=row.get("volume"),
            ts_exchange=rfc3339(row.get("timestamp")),
        )
        if q is not None:
            out.append(q)
    return out


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=ping, interval=30.0, timeout=45.0),
    # A ticker row is ~300 B; a snapshot may carry a row per subscribed symbol: 256 KB holds 800.
    max_frame=256 << 10,
)
