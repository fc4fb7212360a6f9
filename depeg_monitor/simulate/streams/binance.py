"""Binance spot raw stream (/ws): SUBSCRIBE → {"result":null,"id"}, <symbol>@bookTicker frames.

Unknown symbols are acknowledged like any other and then stay silent, as on the real venue.
The server pings every 20 s and closes a client that does not pong (streams/server.py).
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import QTY, Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling

spell = spelling(lower=True)
CHANNEL = "@bookticker"


def _error(code: int, msg: str, rid: Any = None) -> dict[str, Any]:
    # The control-message errors of web-socket-streams.md §Error Messages.
    body: dict[str, Any] = {"code": code, "msg": msg}
    if rid is not None:
        body["id"] = rid
    return body


def _markets(streams: list[str], session: Session) -> list[str]:
    """Listed markets named by these stream names (others are acked and stay silent)."""
    found = []
    for name in streams:
        symbol, _, channel = name.lower().partition("@")
        tick = session.book.find(symbol, spell)
        if tick is not None and "@" + channel == CHANNEL:
            found.append(f"{tick.base}/{tick.quote}")
    return found


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return Answer((_error(3, "Invalid JSON: expected value at line 1 column 1"),))
    method, params, rid = msg.get("method"), msg.get("params", []), msg.get("id")
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return Answer((_error(1, "Invalid value type: expected Array of String", rid),))
        markets = tuple(_markets(params, session))
        reply = {"result": None, "id": rid}
        if method == "SUBSCRIBE":
            return Answer((reply,), subscribe=markets)
        return Answer((reply,), unsubscribe=markets)
    if method == "LIST_SUBSCRIPTIONS":
        ticks = session.book.ticks
        names = [spell(t) + "@bookTicker" for m, t in ticks.items() if m in session.subscribed]
        return Answer(({"result": names, "id": rid},))
    return Answer((_error(2, f"Invalid request: unknown method {method!r}", rid),))


def update(t: Tick, push: Push) -> Frame:
    return {
        "u": push.seq,
        "s": spell(t).upper(),
        "b": num(t.bid),
        "B": QTY,
        "a": num(t.ask),
        "A": QTY,
    }


def shutdown(session: Session) -> Frame:
    """The serverShutdown event, as a raw stream carries it (no combined-stream wrapper)."""
    return {"e": "serverShutdown", "E": session.book.now_ms}


API = StreamApi(
    name="binance",
    answer=answer,
    update=update,
    places=8,
    first_seq=400900217,
    reconnect_notice=shutdown,
    server_pings=True,
)
