"""Coinbase Exchange feed: subscribe (ticker, heartbeat) → subscriptions; ticker, heartbeat.

One product the venue does not list fails the whole subscribe, as on the real feed. A client
that has not subscribed within 5 s is closed (streams/server.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.streams.base import Answer, Frame, Push, Session, StreamApi, parse
from depeg_monitor.simulate.venues.base import num, spelling
from depeg_monitor.simulate.venues.coinbase import iso

spell = spelling("-")
CHANNELS = ("ticker", "heartbeat")


def _error(reason: str, message: str = "Failed to subscribe") -> Answer:
    return Answer(({"type": "error", "message": message, "reason": reason},))


def _wanted(msg: dict[str, Any]) -> dict[str, list[str]] | str:
    """channel → product ids asked for, or the reason the request is refused."""
    top = msg.get("product_ids", [])
    channels = msg.get("channels")
    if not isinstance(channels, list) or not channels:
        return "No channels provided"
    out: dict[str, list[str]] = {}
    for ch in channels:
        name: object
        if isinstance(ch, str):
            name, ids = ch, top
        elif isinstance(ch, dict):
            name, ids = ch.get("name"), ch.get("product_ids", top)
        else:
            return "Invalid channels provided"
        if name not in CHANNELS:
            return f"{name} is not a valid channel"
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return "Invalid product ID provided"
        if name == "heartbeat" and not ids:
            return "You need to specify at least one product ID for channel heartbeat"
        out.setdefault(str(name), []).extend(ids)
    return out


def _subscriptions(ticker: set[str], heartbeat: set[str], session: Session) -> Frame:
    """The cumulative `subscriptions` frame: every channel of the connection, as product ids."""
    ids = {m: spell(t) for m, t in session.book.ticks.items()}
    channels = [
        {"name": name, "product_ids": [ids[m] for m in sorted(ms) if m in ids]}
        for name, ms in (("ticker", ticker), ("heartbeat", heartbeat))
        if ms
    ]
    return {"type": "subscriptions", "channels": channels}


def answer(text: str, session: Session) -> Answer:
    msg = parse(text)
    if not isinstance(msg, dict):
        return _error("Malformed JSON", "Failed to parse message")  # (unverified text)
    kind = msg.get("type")
    if kind not in ("subscribe", "unsubscribe"):
        return _error(f"{kind} is not a valid message type", "Failed to subscribe")
    wanted = _wanted(msg)
    if isinstance(wanted, str):
        return _error(wanted)
    resolved: dict[str, list[str]] = {}
    for name, ids in wanted.items():
        for pid in ids:
            tick = session.book.find(pid, spell)
            if tick is None:  # one bad product fails the whole request
                return _error(f"{pid} is not a valid product")
            resolved.setdefault(name, []).append(f"{tick.base}/{tick.quote}")
    ticker, heart = set(session.subscribed), set(session.heartbeats)
    new_t, new_h = tuple(resolved.get("ticker", ())), tuple(resolved.get("heartbeat", ()))
    if kind == "subscribe":
        ack = _subscriptions(ticker | set(new_t), heart | set(new_h), session)
        return Answer((ack,), subscribe=new_t, heartbeats=new_h)
    ack = _subscriptions(ticker - set(new_t), heart, session)
    return Answer((ack,), unsubscribe=new_t)


def update(t: Tick, push: Push) -> Frame:
    return {
        "type": "ticker",
        "sequence": push.seq,
        "product_id": spell(t),
        "price": num(t.price, 6),
        "open_24h": num(t.open, 6),
        "volume_24h": num(t.volume_base),
        "low_24h": num(t.low, 6),
        "high_24h": num(t.high, 6),
        "volume_30d": num(t.volume_base * 30),
        "best_bid": num(t.bid, 6),
        "best_bid_size": "25000.00000000",
        "best_ask": num(t.ask, 6),
        "best_ask_size": "25000.00000000",
        "side": "buy",
        "time": iso(push.now),
        "trade_id": push.seq // 7,
        "last_size": "100.00000000",
    }


def heartbeat(session: Session, seqs: Mapping[str, int]) -> tuple[Frame, ...]:
    return tuple(
        {
            "type": "heartbeat",
            "sequence": seqs.get(m, FIRST_SEQ),
            "last_trade_id": seqs.get(m, FIRST_SEQ) // 7,
            "product_id": spell(t),
            "time": iso(session.now),
        }
        for m, t in session.book.ticks.items()
        if m in session.heartbeats
    )


FIRST_SEQ = 7388547310

API = StreamApi(
    name="coinbase",
    answer=answer,
    update=update,
    places=6,
    first_seq=FIRST_SEQ,
    heartbeat=heartbeat,
    subscribe_deadline=True,
)
