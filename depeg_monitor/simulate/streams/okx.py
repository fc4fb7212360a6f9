"""OKX v5 public: subscribe tickers → one ack per arg (60018 for an unknown instId); pushes.

The text `ping` is answered with the text `pong`; a connection that sends nothing for 30 s is
closed (streams/server.py); notice 64008 asks clients to reconnect before an upgrade.
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling

spell = spelling("-")


def _error(code: str, msg: str, session: Session, rid: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event": "error", "msg": msg, "code": code, "connId": session.conn_id}
    return body if rid is None else {"id": rid, **body}


def _args(msg: dict[str, Any], session: Session, op: str) -> Answer:
    args, rid = msg.get("args"), msg.get("id")
    if not isinstance(args, list) or not args:
        return Answer((_error("60013", "Invalid args", session, rid),))
    frames: list[Frame] = []
    markets: list[str] = []
    for arg in args:
        if not isinstance(arg, dict) or not isinstance(arg.get("instId"), str):
            frames.append(_error("60013", f"Invalid args: {arg}", session, rid))
            continue
        channel, inst = arg.get("channel"), arg["instId"]
        tick = session.book.find(inst, spell)
        if channel != "tickers" or tick is None:
            what = f"channel:{channel},instId:{inst} doesn't exist"
            frames.append(_error("60018", what, session, rid))
            continue
        ack: dict[str, Any] = {"event": op, "arg": arg, "connId": session.conn_id}
        frames.append(ack if rid is None else {"id": rid, **ack})
        markets.append(f"{tick.base}/{tick.quote}")
    if op == "subscribe":
        return Answer(tuple(frames), subscribe=tuple(markets))
    return Answer(tuple(frames), unsubscribe=tuple(markets))


def answer(text: str, session: Session) -> Answer:
    if text == "ping":
        return Answer(("pong",), keepalive=True)
    msg = parse(text)
    if not isinstance(msg, dict):
        return Answer((_error("60012", f"Invalid request: {text[:64]}", session),))
    op = msg.get("op")
    if op in ("subscribe", "unsubscribe"):
        return _args(msg, session, str(op))
    return Answer((_error("60019", f"Invalid op: op :{op}", session, msg.get("id")),))


def update(t: Tick, push: Push) -> Frame:
    inst = spell(t)
    row = {
        "instType": "SPOT",
        "instId": inst,
        "last": num(t.price, 5),
        "lastSz": "100",
        "askPx": num(t.ask, 5),
        "askSz": "25000",
        "bidPx": num(t.bid, 5),
        "bidSz": "25000",
        "open24h": num(t.open, 5),
        "high24h": num(t.high, 5),
        "low24h": num(t.low, 5),
        "sodUtc0": num(t.open, 5),
        "sodUtc8": num(t.open, 5),
        "volCcy24h": num(t.volume_quote),
        "vol24h": num(t.volume_base),
        "ts": str(push.now_ms),
    }
    return {"arg": {"channel": "tickers", "instId": inst}, "data": [row]}


def notice(session: Session) -> Frame:
    return {
        "event": "notice",
        "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
        "code": "64008",
        "connId": session.conn_id,
    }


API = StreamApi(
    name="okx",
    answer=answer,
    update=update,
    places=5,
    reconnect_notice=notice,
    idle_timeout=lambda timing: timing.idle_timeout,
)
