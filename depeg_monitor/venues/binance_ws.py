"""Binance spot stream: `<symbol>@bookTicker` on the raw `/ws` endpoint.

Connect the raw endpoint `wss://stream.binance.com:9443/ws` (or config's stream_url, the whole
endpoint URL like every venue's), then send
`{"method":"SUBSCRIBE","params":["usdcusdt@bookTicker",...],"id":k}` with k = 1, 2, … on each
connection: at most 200 params and 4 KB a message (larger frames are reported to go
unanswered, README §2), at most 1,024 streams a connection. The ack `{"result":null,"id":k}` is
Acked((), ref="k"): stream.resolve reads message k's symbols from Connection.acks. An unknown
symbol is acked too and then stays silent — the loop's silent-market report, not a refusal.
`{"error":{"code","msg"},"id":k}` (or a bare `{"code","msg"}`) → Refused.

Frames: bookTicker `{"u","s","b","B","a","A"}` → a Quote at the bid/ask midpoint, no last, no
volume, and no time (ts_exchange None); `serverShutdown` (`{"e":"serverShutdown"}`, or under
stream `!serverShutdown`) → Reconnect. Frames in the combined endpoint's `{"stream","data"}`
wrapper are read too. Other events are ignored.

The stream spelling is the frame's `s` (USDCUSDT); subscribe names it in lower case. The
server pings every 20 s and closes a client silent for a minute; aiohttp answers the pings.
A connection lives 24 h. Binance also allows 5 incoming messages a second per connection
(pongs included): a connection with more than 5 subscribe messages must pace them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.fields import text_of
from depeg_monitor.venues.frames_ws import (
    batches,
    dumps,
    frame_object,
    name,
    obj,
    plan,
    present,
    ref,
    stream_quote,
)
from depeg_monitor.venues.stream import (
    Acked,
    Connection,
    Keepalive,
    Reconnect,
    Refused,
    StreamEvent,
    StreamSpec,
)

NAME = "binance"
URL = "wss://stream.binance.com:9443/ws"
CHANNEL = "bookTicker"
PER_CONNECTION = 1024
PER_MESSAGE = 200
MESSAGE_BYTES = 4000

symbol = spelling()


def stream_name(sym: str) -> str:
    return f"{sym.lower()}@{CHANNEL}"


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    params = [stream_name(s) for s in symbols]
    return dumps({"method": "SUBSCRIBE", "params": params, "id": int(msg_id)})


def _per_message(symbols: Sequence[str]) -> list[tuple[str, ...]]:
    return batches(
        symbols, PER_MESSAGE, lambda run: len(subscribe("1", run).encode()), MESSAGE_BYTES
    )


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    return plan(url, batches(symbols, PER_CONNECTION), _per_message, subscribe)


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    if "stream" in frame and "data" in frame:  # the combined endpoint's wrapper
        frame = obj(frame["data"], "data")
    if "result" in frame and "id" in frame:
        return [Acked((), ref(frame["id"]))] if frame["result"] is None else []
    if "error" in frame:
        error = obj(frame["error"], "error")
        return [Refused((), _reason(error), ref(frame.get("id")))]
    if "code" in frame and "msg" in frame:
        return [Refused((), _reason(frame), ref(frame.get("id")))]
    event = frame.get("e")
    if event == "serverShutdown":
        return [Reconnect("serverShutdown")]
    if event is not None:
        return []
    return _book_ticker(frame, keys, received)


def _reason(error: dict[str, Any]) -> str:
    code, msg = text_of(error.get("code")), text_of(error.get("msg"))
    return f"{code} {msg}".strip() or "error"


def _book_ticker(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    sym = name(frame.get("s"))
    market = keys.get(sym) if sym is not None else None
    if market is None:
        return []
    present(frame, "b", "a")
    q = stream_quote(NAME, market, received, bid=frame["b"], ask=frame["a"])
    return [q] if q is not None else []


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=None, interval=20.0, timeout=60.0),
    # A bookTicker frame is ~130 B and an ack ~30 B: 64 KB is ample.
    max_frame=64 << 10,
    max_age=24 * 3600.0,
)
