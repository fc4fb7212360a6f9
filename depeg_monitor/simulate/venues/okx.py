"""OKX v5: /api/v5/market/ticker?instId, /market/tickers?instType=SPOT, /public/instruments.

Every answer, errors included, is the {"code","msg","data"} envelope; "0" means success.
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    Reply,
    VenueApi,
    named_by,
    num,
    spelling,
    too_many,
)

UNKNOWN = Reply(
    200,
    {
        "code": "51001",
        "data": [],
        "msg": "Instrument ID, Instrument ID code, or Spread ID doesn't exist.",
    },
)


spell = spelling("-")


def _ok(data: list[dict[str, Any]]) -> Reply:
    return Reply(200, {"code": "0", "msg": "", "data": data})


def _bad_inst_type(ask: Ask) -> Reply | None:
    inst_type = ask.query.get("instType")
    if inst_type is None:
        return Reply(
            200, {"code": "50014", "data": [], "msg": "Parameter instType can not be empty"}
        )
    if inst_type.upper() != "SPOT":
        return _ok([])  # the simulator lists spot markets only
    return None


def _ticker(t: Tick, book: Book) -> dict[str, str]:
    return {
        "instType": "SPOT",
        "instId": spell(t),
        "last": num(t.price, 5),
        "lastSz": "100",
        "askPx": num(t.ask, 5),
        "askSz": "25000",
        "bidPx": num(t.bid, 5),
        "bidSz": "25000",
        "open24h": num(t.open, 5),
        "high24h": num(t.high, 5),
        "low24h": num(t.low, 5),
        "volCcy24h": num(t.volume_quote, 4),
        "vol24h": num(t.volume_base, 4),
        "ts": str(book.now_ms),
        "sodUtc0": num(t.open, 5),
        "sodUtc8": num(t.open, 5),
    }


def ticker(ask: Ask, book: Book) -> Reply:
    inst_id = ask.query.get("instId")
    if not inst_id:
        return Reply(200, {"code": "50014", "data": [], "msg": "Parameter instId can not be empty"})
    t = book.find(inst_id, spell)
    return _ok([_ticker(t, book)]) if t else UNKNOWN


def tickers(ask: Ask, book: Book) -> Reply:
    bad = _bad_inst_type(ask)
    return bad or _ok([_ticker(t, book) for t in book.ticks.values()])


def instruments(ask: Ask, book: Book) -> Reply:
    bad = _bad_inst_type(ask)
    if bad:
        return bad
    rows = [
        {
            "instType": "SPOT",
            "instId": spell(t),
            "uly": "",
            "instFamily": "",
            "baseCcy": t.base,
            "quoteCcy": t.quote,
            "settleCcy": "",
            "ctVal": "",
            "ctMult": "",
            "ctValCcy": "",
            "optType": "",
            "stk": "",
            "listTime": "1606468572000",
            "expTime": "",
            "lever": "",
            "tickSz": "0.0001",
            "lotSz": "0.000001",
            "minSz": "1",
            "ctType": "",
            "alias": "",
            "state": "live",
            "maxLmtSz": "10000000",
            "maxMktSz": "1000000",
        }
        for t in book.ticks.values()
        if ask.query.get("instId") in (None, spell(t))
    ]
    return _ok(rows)


rate_limited = too_many({"msg": "Too Many Requests", "code": "50011"})


API = VenueApi(
    name="okx",
    routes=(
        ("/api/v5/market/ticker", ticker),
        ("/api/v5/market/tickers", tickers),
        ("/api/v5/public/instruments", instruments),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
