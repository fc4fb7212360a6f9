"""Kraken: /0/public/Ticker and /0/public/AssetPairs; errors are HTTP 200 with an error array.

Result keys are Kraken's canonical pair names (USDTZUSD), not the altname asked for.
"""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    RateLimitHit,
    Reply,
    VenueApi,
    named_by,
    num,
    spelling,
)

# Legacy assets carry X/Z prefixes in canonical names; newer ones do not.
_CANONICAL = {("USDT", "USD"): "USDTZUSD", ("USDC", "USD"): "USDCUSD"}
_ASSET = {"USD": "ZUSD", "EUR": "ZEUR"}
UNKNOWN_PAIR = Reply(200, {"error": ["EQuery:Unknown asset pair"]})

altname = spelling()


def canonical(t: Tick) -> str:
    return _CANONICAL.get((t.base, t.quote), f"{t.base}{t.quote}")


def wsname(t: Tick) -> str:
    return f"{t.base}/{t.quote}"


def _select(ask: Ask, book: Book) -> list[Tick] | Reply:
    """Pairs named in `pair=` (altname, canonical or wsname); one unknown fails them all."""
    wanted = [p.strip() for p in ask.query.get("pair", "").split(",") if p.strip()]
    if not wanted:
        return list(book.ticks.values())
    out: list[Tick] = []
    for name in wanted:
        tick = next(
            (
                t
                for t in book.ticks.values()
                if name.upper() in (altname(t), canonical(t), wsname(t))
            ),
            None,
        )
        if tick is None:
            return UNKNOWN_PAIR
        out.append(tick)
    return out


def _ticker(t: Tick) -> dict[str, Any]:
    vwap = num((t.high + t.low) / 2, 5)
    trades = 1 + int(t.volume_base // 1000)
    return {
        "a": [num(t.ask, 5), "1", "1.000"],
        "b": [num(t.bid, 5), "1", "1.000"],
        "c": [num(t.price, 5), "100.00000000"],
        "v": [num(t.volume_base / 2), num(t.volume_base)],
        "p": [vwap, vwap],
        "t": [trades // 2, trades],
        "l": [num(t.low, 5), num(t.low, 5)],
        "h": [num(t.high, 5), num(t.high, 5)],
        "o": num(t.open, 5),
    }


def ticker(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    return Reply(200, {"error": [], "result": {canonical(t): _ticker(t) for t in sel}})


def _pair_info(t: Tick) -> dict[str, Any]:
    return {
        "altname": altname(t),
        "wsname": wsname(t),
        "aclass_base": "currency",
        "base": _ASSET.get(t.base, t.base),
        "aclass_quote": "currency",
        "quote": _ASSET.get(t.quote, t.quote),
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": 5,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": [[0, 0.2], [50000, 0.16]],
        "fees_maker": [[0, 0.2], [50000, 0.1]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": "5",
        "costmin": "0.5",
        "tick_size": "0.00001",
        "status": "online",
    }


def asset_pairs(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    return Reply(200, {"error": [], "result": {canonical(t): _pair_info(t) for t in sel}})


def rate_limited(hit: RateLimitHit) -> Reply:
    # Kraken throttles with HTTP 200 and no Retry-After: only the error array says so.
    return Reply(200, {"error": ["EGeneral:Too many requests"]})


API = VenueApi(
    name="kraken",
    routes=(("/0/public/Ticker", ticker), ("/0/public/AssetPairs", asset_pairs)),
    rate_limited=rate_limited,
    names=named_by(altname, canonical, wsname),
)
