"""Gemini: /v1/symbols, /v1/symbols/details/{symbol}, /v1/pubticker/{symbol}, /v2/ticker."""

from __future__ import annotations

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    Reply,
    VenueApi,
    market_route,
    named_by,
    num,
    spelling,
    too_many,
)

spell = spelling(lower=True)


def _invalid(symbol: str) -> Reply:
    body = {
        "result": "error",
        "reason": "InvalidSymbol",
        "message": f"Received unsupported symbol '{symbol}'",
    }
    return Reply(400, body)


def symbols(ask: Ask, book: Book) -> Reply:
    return Reply(200, [spell(t) for t in book.ticks.values()])


def _details(t: Tick, book: Book) -> Reply:
    body = {
        "symbol": spell(t).upper(),
        "base_currency": t.base,
        "quote_currency": t.quote,
        "tick_size": 1e-8,
        "quote_increment": 0.0001,
        "min_order_size": "0.1",
        "status": "open",
        "wrap_enabled": False,
        "product_type": "spot",
        "contract_type": "vanilla",
        "contract_price_currency": t.quote,
    }
    return Reply(200, body)


def _pubticker(t: Tick, book: Book) -> Reply:
    body = {
        "bid": num(t.bid, 5),
        "ask": num(t.ask, 5),
        "last": num(t.price, 5),
        "volume": {
            t.base: num(t.volume_base),
            t.quote: num(t.volume_quote),
            # Gemini refreshes 24h volume every five minutes; the window ends on that boundary.
            "timestamp": (book.now_ms // 300_000) * 300_000,
        },
    }
    return Reply(200, body)


def _ticker_v2(t: Tick, book: Book) -> Reply:
    body = {
        "symbol": spell(t).upper(),
        "open": num(t.open, 5),
        "high": num(t.high, 5),
        "low": num(t.low, 5),
        "close": num(t.price, 5),
        "changes": [num(t.open, 5)] * 23 + [num(t.price, 5)],
        "bid": num(t.bid, 5),
        "ask": num(t.ask, 5),
    }
    return Reply(200, body)


details = market_route(spell, _details, _invalid, param="symbol")
pubticker = market_route(spell, _pubticker, _invalid, param="symbol")
ticker_v2 = market_route(spell, _ticker_v2, _invalid, param="symbol")


rate_limited = too_many(
    {
        "result": "error",
        "reason": "RateLimit",
        "message": "Requests were made too frequently. Please slow down.",
    }
)


API = VenueApi(
    name="gemini",
    routes=(
        ("/v1/symbols", symbols),
        ("/v1/symbols/details/{symbol}", details),
        ("/v1/pubticker/{symbol}", pubticker),
        ("/v2/ticker/{symbol}", ticker_v2),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
