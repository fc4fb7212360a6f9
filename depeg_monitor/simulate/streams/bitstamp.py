"""Bitstamp: bts:subscribe order_book_<pair> → bts:subscription_succeeded; `data` book events.

Every channel is acknowledged, also for pairs the venue does not list (they stay silent), as on
the real venue. Each push is the top few levels of the book; `bts:heartbeat` is answered.
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling

spell = spelling(lower=True)
PREFIX = "order_book_"
LEVELS = 3
STEP = 0.00001  # the price step between the levels shown


def _market(channel: str, session: Session) -> str | None:
    if not channel.startswith(PREFIX):
        return None
    tick = session.book.find(channel.removeprefix(PREFIX), spell)
    return None if tick is None else f"{tick.base}/{tick.quote}"


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    event = msg.get("event") if isinstance(msg, dict) else None
    if event == "bts:heartbeat":
        reply = {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
        return Answer((reply,), keepalive=True)
    data = msg.get("data") if isinstance(msg, dict) else None
    channel = data.get("channel") if isinstance(data, dict) else None
    if event not in ("bts:subscribe", "bts:unsubscribe") or not isinstance(channel, str):
        # Bitstamp's text for a malformed request is not documented; the shape is bts:error's.
        error = {"code": None, "message": "Bad subscription string."}
        return Answer(({"event": "bts:error", "channel": "", "data": error},))
    market = _market(channel, session)
    found = () if market is None else (market,)
    if event == "bts:subscribe":
        ack = {"event": "bts:subscription_succeeded", "channel": channel, "data": {}}
        return Answer((ack,), subscribe=found)
    ack = {"event": "bts:unsubscription_succeeded", "channel": channel, "data": {}}
    return Answer((ack,), unsubscribe=found)


def _levels(top: float, direction: int) -> list[list[str]]:
    return [[num(top + direction * i * STEP, 5), num(25_000.0 * (i + 1))] for i in range(LEVELS)]


def update(t: Tick, push: Push) -> Frame:
    micro = int(push.now * 1_000_000)
    data: dict[str, Any] = {
        "timestamp": str(micro // 1_000_000),
        "microtimestamp": str(micro),
        "bids": _levels(t.bid, -1),
        "asks": _levels(t.ask, 1),
    }
    return {"data": data, "channel": PREFIX + spell(t), "event": "data"}


def request_reconnect(session: Session) -> Frame:
    return {"event": "bts:request_reconnect", "channel": "", "data": ""}


API = StreamApi(
    name="bitstamp",
    answer=answer,
    update=update,
    places=5,
    reconnect_notice=request_reconnect,
)
