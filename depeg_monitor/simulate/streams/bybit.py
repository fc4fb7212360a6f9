"""Bybit v5 public spot: subscribe orderbook.1.<SYM> (≤ 10 args) → ack; level-1 snapshots.

A request naming a symbol the venue does not list is refused whole ("Invalid symbol :[…]"; what
the real venue does with the rest of such a request is unverified). An unchanged orderbook.1 is
pushed again every 3 s with the same `u`, as the docs say; `{"op":"ping"}` gets its pong.
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling

spell = spelling()
TOPIC = "orderbook.1."
MAX_ARGS = 10


def _reply(session: Session, op: str, ok: bool, text: str, rid: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"success": ok, "ret_msg": text, "conn_id": session.conn_id}
    if rid is not None:
        body["req_id"] = rid
    return {**body, "op": op}


def _subscribe(msg: dict[str, Any], session: Session, op: str) -> Answer:
    args, rid = msg.get("args"), msg.get("req_id")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return Answer((_reply(session, op, False, "Invalid args", rid),))  # (unverified)
    if len(args) > MAX_ARGS:
        return Answer((_reply(session, op, False, f"args size >{MAX_ARGS}", rid),))
    markets = []
    for arg in args:
        tick = session.book.find(arg.removeprefix(TOPIC), spell)
        if not arg.startswith(TOPIC) or tick is None:
            return Answer((_reply(session, op, False, f"Invalid symbol :[{arg}]", rid),))
        markets.append(f"{tick.base}/{tick.quote}")
    ack = _reply(session, op, True, op, rid)
    if op == "subscribe":
        return Answer((ack,), subscribe=tuple(markets))
    return Answer((ack,), unsubscribe=tuple(markets))


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return Answer((_reply(session, "", False, "Invalid request", None),))  # (unverified)
    op = msg.get("op")
    if op == "ping":
        # The spot pong of the docs carries no req_id.
        return Answer((_reply(session, "ping", True, "pong", None),), keepalive=True)
    if op in ("subscribe", "unsubscribe"):
        return _subscribe(msg, session, str(op))
    return Answer((_reply(session, str(op), False, f"Invalid op: {op}", msg.get("req_id")),))


def update(t: Tick, push: Push) -> Frame:
    data = {
        "s": spell(t),
        "b": [[num(t.bid, 5), "25000"]],
        "a": [[num(t.ask, 5), "25000"]],
        "u": push.seq,
        "seq": push.seq * 3 + 51_000_000_000,
    }
    return {
        "topic": TOPIC + spell(t),
        "ts": push.now_ms,
        "type": "snapshot",
        "data": data,
        "cts": push.now_ms - 2,
    }


API = StreamApi(name="bybit", answer=answer, update=update, places=5, first_seq=2, repush=True)
