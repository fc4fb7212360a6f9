"""Kraken spot v2: status on open; subscribe ticker → one ack per symbol; snapshot then updates.

Prices are JSON numbers, as on the real wire. A symbol the venue does not list gets its own
refusal frame ("Currency pair not supported …"); the others of the request are subscribed.
`{"channel":"heartbeat"}` goes out about once a second while nothing else does.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.kraken import wsname

PLACES = 5


def rfc3339(now: float) -> str:
    """RFC3339 UTC with microseconds, as Kraken writes time_in/time_out/timestamp."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connection_id(conn_id: str) -> int:
    """A u64 connection id (beyond int64, as Kraken's are) derived from the connection."""
    return (1 << 63) | (zlib.crc32(conn_id.encode()) << 16)


def opened(session: Session) -> tuple[Frame, ...]:
    data = {
        "version": "2.0.10",
        "system": "online",
        "api_version": "v2",
        "connection_id": connection_id(session.conn_id),
    }
    return ({"channel": "status", "type": "update", "data": [data]},)


def _stamped(body: dict[str, Any], session: Session, req_id: Any) -> dict[str, Any]:
    stamp = rfc3339(session.now)
    body = {**body, "time_in": stamp, "time_out": stamp}
    if req_id is not None:
        body["req_id"] = req_id
    return body


def _subscribe(msg: dict[str, Any], session: Session, method: str) -> Answer:
    params, req_id = msg.get("params"), msg.get("req_id")
    if not isinstance(params, dict) or params.get("channel") != "ticker":
        refusal = {"error": "Subscription name invalid", "method": method, "success": False}
        return Answer((_stamped(refusal, session, req_id),))
    symbols = params.get("symbol")
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        refusal = {"error": "Invalid symbol", "method": method, "success": False}  # (unverified)
        return Answer((_stamped(refusal, session, req_id),))
    frames: list[Frame] = []
    markets: list[str] = []
    for symbol in symbols:
        tick = session.book.find(symbol, wsname)
        if tick is None:
            refusal = {
                "error": f"Currency pair not supported {symbol}",
                "method": method,
                "success": False,
                "symbol": symbol,
            }
            frames.append(_stamped(refusal, session, req_id))
            continue
        result: dict[str, Any] = {"channel": "ticker", "symbol": wsname(tick)}
        if method == "subscribe":
            result |= {
                "event_trigger": params.get("event_trigger", "trades"),
                "snapshot": params.get("snapshot", True),
            }
        ack = {"method": method, "result": result, "success": True}
        frames.append(_stamped(ack, session, req_id))
        markets.append(f"{tick.base}/{tick.quote}")
    if method == "subscribe":
        return Answer(tuple(frames), subscribe=tuple(markets))
    return Answer(tuple(frames), unsubscribe=tuple(markets))


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return Answer(({"error": "Malformed request", "success": False},))  # (unverified)
    method = msg.get("method")
    if method == "ping":
        pong = _stamped({"method": "pong"}, session, msg.get("req_id"))
        return Answer((pong,), keepalive=True)
    if method in ("subscribe", "unsubscribe"):
        return _subscribe(msg, session, str(method))
    refusal = {"error": f"Method not found: {method}", "success": False}  # (unverified)
    return Answer((_stamped(refusal, session, msg.get("req_id")),))


def update(t: Tick, push: Push) -> Frame:
    def n(x: float) -> float:
        return round(x, PLACES)

    row = {
        "symbol": wsname(t),
        "bid": n(t.bid),
        "bid_qty": 25000.0,
        "ask": n(t.ask),
        "ask_qty": 25000.0,
        "last": n(t.price),
        "volume": round(t.volume_base, 8),
        "vwap": n((t.high + t.low) / 2),
        "low": n(t.low),
        "high": n(t.high),
        "change": n(t.price - t.open),
        "change_pct": round((t.price - t.open) / t.open * 100, 2),
        "timestamp": rfc3339(push.now),
    }
    return {"channel": "ticker", "type": "snapshot" if push.snapshot else "update", "data": [row]}


def heartbeat(session: Session, seqs: Mapping[str, int]) -> tuple[Frame, ...]:
    return ({"channel": "heartbeat"},)


API = StreamApi(
    name="kraken",
    answer=answer,
    update=update,
    places=PLACES,
    opened=opened,
    heartbeat=heartbeat,
    heartbeat_when_idle=True,
)
