"""Gemini stream (the new WebSocket API; the v1/v2 market-data feeds are archived):
`<symbol>@bookTicker`.

Connect `url` (`wss://ws.gemini.com`, or config's stream_url) and send
`{"id":"k","method":"subscribe","params":["usdcusd@bookTicker",...]}`, k = 1, 2, … (at most
100 streams a message; Gemini documents no cap, this keeps a message small). The answer
`{"id":"k","status":200,"result":…}` → Acked((), ref="k") (stream.resolve gives message k's
symbols); `{"id":"k","status":400,"error":{"code":-1013,"msg":"…"}}` → Refused((), …, ref="k").

Frames: bookTicker `{"u","E","s","b","B","a","A"}` (`s` lower case, `E` in nanoseconds) → a
Quote at the bid/ask midpoint (no last, no volume), ts_exchange from E. Frames in a
`{"stream","data"}` wrapper are read too; other frames are ignored.

Keepalive is not documented for this API (README §8, unverified), and a quiet stablecoin book
may send no bookTicker for minutes, so the client asks: `{"id":"ping-n","method":"ping"}` every
30 s (`ping` is one of the API's methods). Any answer to a ping id, success or error, is a sign
of life → Alive (never an ack or a refusal of a subscribe); 90 s without a frame and the
connection counts as dead. The stream spelling is the lower-case symbol (usdcusd), as in REST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.fields import envelope, text_of
from depeg_monitor.venues.frames_ws import (
    NS,
    batches,
    dumps,
    epoch,
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
    Alive,
    Connection,
    Keepalive,
    Refused,
    StreamEvent,
    StreamSpec,
)

NAME = "gemini"
URL = "wss://ws.gemini.com"
CHANNEL = "bookTicker"
PER_MESSAGE = 100

PING_ID = "ping-"  # ping ids never collide with the subscribe messages' "1", "2", …

symbol = spelling(lower=True)


def ping(n: int) -> str:
    return dumps({"id": f"{PING_ID}{n}", "method": "ping"})


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    params = [f"{s}@{CHANNEL}" for s in symbols]
    return dumps({"id": msg_id, "method": "subscribe", "params": params})


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    if not symbols:
        return []
    return plan(url, [tuple(symbols)], lambda run: batches(run, PER_MESSAGE), subscribe)


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    if "stream" in frame and "data" in frame:
        frame = obj(frame["data"], "data")
    if "status" in frame and "id" in frame:
        msg_id = ref(frame["id"])
        if msg_id is not None and msg_id.startswith(PING_ID):
            return [Alive()]
        if text_of(frame["status"]) == "200" and "error" not in frame:
            return [Acked((), msg_id)]
        error = envelope(frame.get("error"))
        code, msg = text_of(error.get("code")), text_of(error.get("msg"), 200)
        reason = f"{code} {msg}".strip() or f"status {text_of(frame['status'])}"
        return [Refused((), reason, msg_id)]
    if "s" in frame and "E" in frame:
        return _book_ticker(frame, keys, received)
    return []


def _book_ticker(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    sym = name(frame.get("s"))
    market = keys.get(sym.lower()) if sym is not None else None
    if market is None:
        return []
    present(frame, "b", "a")
    q = stream_quote(
        NAME, market, received, bid=frame["b"], ask=frame["a"], ts_exchange=epoch(frame["E"], NS)
    )
    return [q] if q is not None else []


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=ping, interval=30.0, timeout=90.0),
    # A bookTicker frame is ~150 B: 64 KB is ample.
    max_frame=64 << 10,
)
