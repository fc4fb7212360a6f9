"""OKX stream (v5 public): the `tickers` channel.

Connect `url` (`wss://ws.okx.com:8443/ws/v5/public`, or config's stream_url) and send
`{"id":"k","op":"subscribe","args":[{"channel":"tickers","instId":"USDC-USDT"},...]}`, k = 1,
2, … on the connection, each message at most 64 KB (OKX's cap on a request's channels; one
message holds ~1,400 instruments). OKX acks every arg on its own:
`{"event":"subscribe","arg":{"channel":"tickers","instId":"USDC-USDT"}}` → Acked(("USDC-USDT",)).
`{"event":"error","code":"60018","msg":"channel:tickers,instId:X-Y doesn't exist"}` →
Refused(("X-Y",), …); an error naming no instrument → Refused((), …, ref=its id, if any).
`{"event":"notice","code":"64008"}` (a service upgrade within 60 s) → Reconnect.

Frames: `{"arg":{"channel":"tickers","instId"},"data":[{"last","bidPx","askPx","vol24h",
"volCcy24h","ts"}]}` (strings; for spot vol24h is base and volCcy24h quote volume; ts in ms)
→ Quote with price = last. Other events are ignored. OKX closes a connection silent for 30 s:
the client sends the text `ping` every 20 s and the text `pong` (not JSON) → Alive; dead after
30 s without a sign of life. The stream spelling is the instId (USDC-USDT), as in REST.
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
    dumps,
    epoch,
    frame_object,
    name,
    obj,
    plan,
    ref,
    seq,
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

NAME = "okx"
URL = "wss://ws.okx.com:8443/ws/v5/public"
CHANNEL = "tickers"
MESSAGE_BYTES = 64_000  # "the total length of multiple channels cannot exceed 64 KB"
PER_MESSAGE = 10_000  # no count is documented: the byte cap is the limit
RECONNECT_CODES = ("64008",)
INST_ID = re.compile(r"instId:([A-Za-z0-9_-]+)")

symbol = spelling("-")


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    args = [{"channel": CHANNEL, "instId": s} for s in symbols]
    return dumps({"id": msg_id, "op": "subscribe", "args": args})


def _per_message(symbols: Sequence[str]) -> list[tuple[str, ...]]:
    return batches(
        symbols, PER_MESSAGE, lambda run: len(subscribe("1", run).encode()), MESSAGE_BYTES
    )


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    if not symbols:
        return []
    return plan(url, [tuple(symbols)], _per_message, subscribe)


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    if text == "pong":  # the answer to our text ping, the one frame that is not JSON
        return [Alive()]
    frame = frame_object(text)
    event = frame.get("event")
    if event is None and "data" in frame:
        return _tickers(frame, keys, received)
    if event == "subscribe":
        arg = obj(frame.get("arg"), "arg")
        inst = name(arg.get("instId"))
        return [Acked((inst,))] if arg.get("channel") == CHANNEL and inst is not None else []
    code, msg = text_of(frame.get("code")), text_of(frame.get("msg"), 200)
    reason = f"{code} {msg}".strip()
    if event == "error":
        found = INST_ID.search(msg)
        if found:
            return [Refused((found.group(1),), reason)]
        return [Refused((), reason or "error", ref(frame.get("id")))]
    if event == "notice" and code in RECONNECT_CODES:
        return [Reconnect(reason)]
    return []


def _tickers(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    arg = obj(frame.get("arg"), "arg")
    if arg.get("channel") != CHANNEL:
        return []
    out = []
    for row in seq(frame.get("data"), "data"):
        row = obj(row, "ticker row")
        inst = name(row.get("instId")) or name(arg.get("instId"))
        market = keys.get(inst) if inst is not None else None
        if market is None:
            continue
        q = stream_quote(
            NAME,
            market,
            received,
            last=row.get("last"),
            bid=row.get("bidPx"),
            ask=row.get("askPx"),
            volume_base=row.get("vol24h"),
            volume_quote=row.get("volCcy24h"),
            ts_exchange=epoch(row.get("ts"), MS),
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
    keepalive=Keepalive(ping=lambda n: "ping", interval=20.0, timeout=30.0),
    # A tickers push is one ~400 B row: 64 KB is ample.
    max_frame=64 << 10,
)
