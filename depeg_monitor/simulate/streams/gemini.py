"""Gemini's WebSocket API: subscribe ["<symbol>@bookTicker"] → status 200; bookTicker frames.

`E` is nanoseconds. A symbol the venue does not list is refused with -1013 (the real answer to
that is not documented; the error shape is the API's own).
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import QTY, Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling

spell = spelling(lower=True)
CHANNEL = "@bookticker"


def _error(rid: Any, status: int, code: int, msg: str) -> dict[str, Any]:
    return {"id": rid, "status": status, "error": {"code": code, "msg": msg}}


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return Answer((_error(None, 400, -1013, "Invalid JSON"),))
    rid, method, params = msg.get("id"), msg.get("method"), msg.get("params", [])
    if method == "ping":  # (reply shape unverified)
        return Answer(({"id": rid, "status": 200, "result": {}},), keepalive=True)
    if method not in ("subscribe", "unsubscribe"):
        return Answer((_error(rid, 400, -1020, f"Unsupported method: {method}"),))
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return Answer((_error(rid, 400, -1013, "Invalid parameters"),))
    markets = []
    for name in params:
        symbol, _, channel = name.lower().partition("@")
        tick = session.book.find(symbol, spell)
        if tick is None or "@" + channel != CHANNEL:
            return Answer((_error(rid, 400, -1013, f"Invalid stream: {name}"),))
        markets.append(f"{tick.base}/{tick.quote}")
    reply = {"id": rid, "status": 200, "result": None}
    if method == "subscribe":
        return Answer((reply,), subscribe=tuple(markets))
    return Answer((reply,), unsubscribe=tuple(markets))


def update(t: Tick, push: Push) -> Frame:
    return {
        "u": push.seq,
        "E": int(push.now * 1_000_000) * 1000,
        "s": spell(t),
        "b": num(t.bid, 5),
        "B": QTY,
        "a": num(t.ask, 5),
        "A": QTY,
    }


API = StreamApi(name="gemini", answer=answer, update=update, places=5, first_seq=1751505576085)
