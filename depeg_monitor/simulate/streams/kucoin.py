"""KuCoin classic public stream: a bullet-public token, welcome, subscribe → ack, ticker pushes.

The REST side answers POST /api/v1/bullet-public with a token and this server's endpoint; the
socket refuses other tokens. `{"type":"ping"}` gets its pong; a client silent for longer than
pingInterval + pingTimeout is cut (streams/server.py).
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import (
    Answer,
    Frame,
    Push,
    Session,
    StreamApi,
    StreamTiming,
    parse,
)
from depeg_monitor.simulate.venues.base import Reply, num, spelling

spell = spelling("-")
TOKEN_PATH = "/api/v1/bullet-public"
TOPIC = "/market/ticker:"


def bullet(token: str, endpoint: str, timing: StreamTiming) -> Reply:
    """The bullet-public answer: the token and the one instance server to connect to."""
    server = {
        "endpoint": endpoint,
        "encrypt": False,  # ws:// on loopback
        "protocol": "websocket",
        "pingInterval": int(timing.kucoin_ping_interval * 1000),
        "pingTimeout": int(timing.kucoin_ping_timeout * 1000),
    }
    return Reply(200, {"code": "200000", "data": {"token": token, "instanceServers": [server]}})


def opened(session: Session) -> tuple[Frame, ...]:
    return ({"id": session.conn_id, "type": "welcome"},)


def bad_token(conn_id: str) -> Frame:
    """What a connection with a token this server did not issue gets before it is closed
    (KuCoin's in-band error shape; the exact words for an unknown token are unverified)."""
    return {"id": conn_id, "type": "error", "code": 401, "data": "token is expired"}


def _error(rid: Any, code: int, data: str) -> Answer:
    return Answer(({"id": str(rid), "type": "error", "code": code, "data": data},))


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return _error(session.conn_id, 400, "message is not json")  # (unverified)
    rid, kind = msg.get("id", session.conn_id), msg.get("type")
    if kind == "ping":
        return Answer(({"id": str(rid), "type": "pong"},), keepalive=True)
    if kind not in ("subscribe", "unsubscribe"):
        return _error(rid, 415, "type is not supported")
    topic = msg.get("topic")
    if not isinstance(topic, str) or not topic.startswith(TOPIC):
        return _error(rid, 404, f"topic {topic} not found")
    markets = []
    for symbol in topic.removeprefix(TOPIC).split(","):
        tick = session.book.find(symbol.strip(), spell)
        if tick is None:  # (third-party observation of the shape)
            return _error(rid, 404, f"topic {TOPIC}{symbol} not found")
        markets.append(f"{tick.base}/{tick.quote}")
    frames = ({"id": str(rid), "type": "ack"},) if msg.get("response") else ()
    if kind == "subscribe":
        return Answer(frames, subscribe=tuple(markets))
    return Answer(frames, unsubscribe=tuple(markets))


def update(t: Tick, push: Push) -> Frame:
    return {
        "type": "message",
        "topic": TOPIC + spell(t),
        "subject": "trade.ticker",
        "data": {
            "bestAsk": num(t.ask, 5),
            "bestAskSize": "25000",
            "bestBid": num(t.bid, 5),
            "bestBidSize": "25000",
            "price": num(t.price, 5),
            "sequence": str(push.seq),
            "size": "100",
            "time": push.now_ms,
        },
    }


API = StreamApi(
    name="kucoin",
    answer=answer,
    update=update,
    places=5,
    first_seq=1621383371852,
    opened=opened,
    idle_timeout=lambda timing: timing.kucoin_ping_interval + timing.kucoin_ping_timeout,
    bad_token=bad_token,
)
