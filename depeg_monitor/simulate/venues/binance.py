"""Binance spot: /api/v3/ticker/24hr, /ticker/bookTicker, /exchangeInfo (symbol or symbols=[…])."""

from __future__ import annotations

import json
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
    retry_after,
    spelling,
)

WEIGHT = {"X-MBX-USED-WEIGHT-1M": "2"}

spell = spelling()


def _error(status: int, code: int, msg: str) -> Reply:
    return Reply(status, {"code": code, "msg": msg}, WEIGHT)


def _select(ask: Ask, book: Book) -> tuple[list[Tick], bool] | Reply:
    """The ticks asked for, and whether the answer is a single object (symbol=) or a list."""
    symbol, symbols = ask.query.get("symbol"), ask.query.get("symbols")
    if symbol and symbols:
        return _error(400, -1128, "Combination of optional parameters invalid.")
    if symbol:
        tick = book.find(symbol, spell)
        return ([tick], True) if tick else _error(400, -1121, "Invalid symbol.")
    if symbols:
        try:
            names = json.loads(symbols)
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError
        except ValueError:
            return _error(
                400,
                -1100,
                "Illegal characters found in parameter 'symbols'; legal range is "
                '\'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$\'.',
            )
        found = [book.find(n, spell) for n in names]
        if any(t is None for t in found):
            return _error(400, -1121, "Invalid symbol.")
        return [t for t in found if t is not None], False
    return list(book.ticks.values()), False


def _ticker(t: Tick, book: Book, mini: bool) -> dict[str, Any]:
    close = book.now_ms
    out: dict[str, Any] = {"symbol": spell(t)}
    if not mini:
        out |= {
            "priceChange": num(t.price - t.open),
            "priceChangePercent": num((t.price - t.open) / t.open * 100, 3),
            "weightedAvgPrice": num((t.high + t.low) / 2),
            "prevClosePrice": num(t.open),
            "lastPrice": num(t.price),
            "lastQty": num(100.0),
            "bidPrice": num(t.bid),
            "bidQty": num(25_000.0),
            "askPrice": num(t.ask),
            "askQty": num(25_000.0),
        }
    out |= {
        "openPrice": num(t.open),
        "highPrice": num(t.high),
        "lowPrice": num(t.low),
    }
    if mini:
        out["lastPrice"] = num(t.price)
    out |= {
        "volume": num(t.volume_base),
        "quoteVolume": num(t.volume_quote),
        "openTime": close - 86_400_000,
        "closeTime": close,
        "firstId": 28385,
        "lastId": 28385 + int(t.volume_base // 1000),
        "count": 1 + int(t.volume_base // 1000),
    }
    return out


def ticker_24hr(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    ticks, single = sel
    mini = ask.query.get("type", "FULL").upper() == "MINI"
    rows = [_ticker(t, book, mini) for t in ticks]
    return Reply(200, rows[0] if single else rows, WEIGHT)


def book_ticker(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    ticks, single = sel
    rows = [
        {
            "symbol": spell(t),
            "bidPrice": num(t.bid),
            "bidQty": num(25_000.0),
            "askPrice": num(t.ask),
            "askQty": num(25_000.0),
        }
        for t in ticks
    ]
    return Reply(200, rows[0] if single else rows, WEIGHT)


def exchange_info(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    symbols = [
        {
            "symbol": spell(t),
            "status": "TRADING",
            "baseAsset": t.base,
            "baseAssetPrecision": 8,
            "quoteAsset": t.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.00010000",
                    "maxPrice": "1000.00000000",
                    "tickSize": "0.00010000",
                }
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
        }
        for t in sel[0]
    ]
    body = {
        "timezone": "UTC",
        "serverTime": book.now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ],
        "exchangeFilters": [],
        "symbols": symbols,
    }
    return Reply(200, body, WEIGHT)


def rate_limited(hit: RateLimitHit) -> Reply:
    # Binance answers 429 first; a client that keeps asking is banned with 418.
    headers = {**WEIGHT, **retry_after(hit)}
    if hit.hits > hit.ban_after:
        msg = (
            f"Way too much request weight used; IP banned until {int(hit.until * 1000)}. "
            "Please use WebSocket Streams for live updates to avoid bans."
        )
        return Reply(418, {"code": -1003, "msg": msg}, headers)
    msg = (
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    return Reply(429, {"code": -1003, "msg": msg}, headers)


API = VenueApi(
    name="binance",
    routes=(
        ("/api/v3/ticker/24hr", ticker_24hr),
        ("/api/v3/ticker/bookTicker", book_ticker),
        ("/api/v3/exchangeInfo", exchange_info),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
