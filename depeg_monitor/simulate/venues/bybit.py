"""Bybit v5: /v5/market/tickers and /v5/market/instruments-info, category=spot.

Errors ride in the envelope's retCode; an IP over the limit gets a bare HTTP 403.
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

spell = spelling()


def _envelope(book: Book, code: int, msg: str, result: dict[str, Any]) -> Reply:
    body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": book.now_ms}
    return Reply(200, body)


def _select(ask: Ask, book: Book) -> list[Tick] | Reply:
    if ask.query.get("category", "").lower() != "spot":
        # The simulator lists spot only; other categories look like an empty listing.
        if not ask.query.get("category"):
            return _envelope(book, 10001, "Missing required parameter 'category'", {})
        return _envelope(book, 0, "OK", {"category": ask.query["category"], "list": []})
    symbol = ask.query.get("symbol")
    if symbol is None:
        return list(book.ticks.values())
    t = book.find(symbol, spell)
    return [t] if t else _envelope(book, 10001, "Not supported symbols", {})


def tickers(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    rows = [
        {
            "symbol": spell(t),
            "bid1Price": num(t.bid, 5),
            "bid1Size": "25000",
            "ask1Price": num(t.ask, 5),
            "ask1Size": "25000",
            "lastPrice": num(t.price, 5),
            "prevPrice24h": num(t.open, 5),
            "price24hPcnt": num((t.price - t.open) / t.open, 4),
            "highPrice24h": num(t.high, 5),
            "lowPrice24h": num(t.low, 5),
            "turnover24h": num(t.volume_quote),
            "volume24h": num(t.volume_base),
            "usdIndexPrice": num(t.price, 8) if t.quote in ("USDT", "USDC") else "",
        }
        for t in sel
    ]
    return _envelope(book, 0, "OK", {"category": "spot", "list": rows})


def instruments_info(ask: Ask, book: Book) -> Reply:
    sel = _select(ask, book)
    if isinstance(sel, Reply):
        return sel
    rows = [
        {
            "symbol": spell(t),
            "baseCoin": t.base,
            "quoteCoin": t.quote,
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "none",
            "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": "0.01",
                "quotePrecision": "0.0001",
                "minOrderQty": "1",
                "maxOrderQty": "1000000",
                "minOrderAmt": "1",
                "maxOrderAmt": "1000000",
            },
            "priceFilter": {"tickSize": "0.0001"},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        }
        for t in sel
    ]
    return _envelope(book, 0, "OK", {"category": "spot", "list": rows, "nextPageCursor": ""})


def rate_limited(hit: RateLimitHit) -> Reply:
    # Bybit's IP limit: HTTP 403, no JSON, and a 10-minute wait is expected of the client.
    return Reply(403, "403 Forbidden: access too frequent")


API = VenueApi(
    name="bybit",
    routes=(
        ("/v5/market/tickers", tickers),
        ("/v5/market/instruments-info", instruments_info),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
