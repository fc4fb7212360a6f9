"""Bybit spot stream (v5 public): `orderbook.1.<SYMBOL>`, the best bid and ask.

Spot `tickers.<SYMBOL>` carries no bid/ask, so the level-1 book is the stream. Connect `url`
(`wss://stream.bybit.com/v5/public/spot`, or config's stream_url) and send
`{"req_id":"k","op":"subscribe","args":["orderbook.1.USDCUSDT",...]}`, k = 1, 2, … on each
connection, at most 10 args a message and 21,000 characters of args a connection. The ack,
one per message, `{"success":true,"ret_msg":"subscribe","req_id":"k","op":"subscribe"}` →
Acked((), ref="k") (stream.resolve gives message k's symbols); `"success":false` →
Refused(the symbols its ret_msg names, e.g. "Invalid symbol :[orderbook.1.XXX]", else (),
ref="k").

Frames: `{"topic":"orderbook.1.USDCUSDT","ts":…,"type":"snapshot"|"delta","data":{"s","b":[[price,
size]],"a":[[price,size]],"u","seq"},"cts":…}` → a Quote at the bid/ask midpoint (no last, no
volume; a side missing → no quote). ts_exchange is `ts` (ms, when the system made the frame),
not `cts` (the book's last match): level 1 is re-pushed unchanged every 3 s, and a quiet book is
fresh, not stale. Client ping `{"req_id":"ping-n","op":"ping"}` every 20 s →
`{"success":true,"ret_msg":"pong","op":"ping"}` → Alive; dead after 40 s without a sign.
The stream spelling is the symbol (USDCUSDT), as in REST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.fields import text_of
from depeg_monitor.venues.frames_ws import (
    MS,
    batches,
    best,
    dumps,
    epoch,
    frame_object,
    name,
    obj,
    plan,
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

NAME = "bybit"
URL = "wss://stream.bybit.com/v5/public/spot"
TOPIC = "orderbook.1."
PER_MESSAGE = 10
CONNECTION_CHARS = 21_000  # the args of one connection, in characters
NAMED = re.compile(r"orderbook\.1\.([A-Za-z0-9]+)")

symbol = spelling()


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    return dumps({"req_id": msg_id, "op": "subscribe", "args": [TOPIC + s for s in symbols]})


def ping(n: int) -> str:
    return dumps({"req_id": f"ping-{n}", "op": "ping"})


def _chars(run: Sequence[str]) -> int:
    return sum(len(TOPIC) + len(s) for s in run)


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    groups = batches(symbols, len(symbols) or 1, _chars, CONNECTION_CHARS)
    return plan(url, groups, lambda run: batches(run, PER_MESSAGE), subscribe)


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    op = frame.get("op")
    if op in ("ping", "pong"):
        return [Alive()]
    if op == "subscribe":
        msg = text_of(frame.get("ret_msg"), 200)
        success = frame.get("success")
        if success is True:
            return [Acked((), ref(frame.get("req_id")))]
        if success is not False:  # not an answer (our own request, echoed)
            return []
        named = tuple(NAMED.findall(msg))
        return [Refused(named, msg or "subscribe failed", ref(frame.get("req_id")))]
    topic = name(frame.get("topic"))
    if topic is not None and topic.startswith(TOPIC):
        return _book(topic[len(TOPIC) :], frame, keys, received)
    return []


def _book(sym: str, frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    market = keys.get(sym)
    if market is None:
        return []
    data = obj(frame.get("data"), "data")
    q = stream_quote(
        NAME,
        market,
        received,
        bid=best(data.get("b"), "b"),
        ask=best(data.get("a"), "a"),
        ts_exchange=epoch(frame.get("ts"), MS),
    )
    return [q] if q is not None else []


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=Keepalive(ping=ping, interval=20.0, timeout=40.0),
    # A level-1 frame is ~250 B: 64 KB is ample.
    max_frame=64 << 10,
)
