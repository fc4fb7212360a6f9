"""Bitstamp: /api/v2/ticker/{pair}/, /api/v2/markets/ and /api/v2/trading-pairs-info/."""

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

# Bitstamp's unknown-pair answer is not documented; a 404 with its error envelope stands in.
NOT_FOUND = Reply(404, {"status": "error", "reason": "Not found.", "code": "404"})

spell = spelling(lower=True)


def _ticker(t: Tick, book: Book) -> Reply:
    body = {
        "ask": num(t.ask, 5),
        "bid": num(t.bid, 5),
        "high": num(t.high, 5),
        "last": num(t.price, 5),
        "low": num(t.low, 5),
        "open": num(t.open, 5),
        "open_24": num(t.open, 5),
        "percent_change_24": num((t.price - t.open) / t.open * 100, 2),
        "side": "0",
        "timestamp": str(int(book.now)),
        "volume": num(t.volume_base),
        "vwap": num((t.high + t.low) / 2, 5),
    }
    return Reply(200, body)


ticker = market_route(spell, _ticker, NOT_FOUND, param="pair")


def markets(ask: Ask, book: Book) -> Reply:
    rows = [
        {
            "name": f"{t.base}/{t.quote}",
            "market_symbol": spell(t),
            "base_currency": t.base,
            "base_decimals": 5,
            "counter_currency": t.quote,
            "counter_decimals": 5,
            "minimum_order_value": "10.00000",
            "trading": "Enabled",
            "instant_order_counter_decimals": 5,
            "instant_and_market_orders": "Enabled",
            "description": f"{t.base} / {t.quote}",
            "market_type": "SPOT",
        }
        for t in book.ticks.values()
    ]
    return Reply(200, rows)


def trading_pairs_info(ask: Ask, book: Book) -> Reply:
    rows = [
        {
            "name": f"{t.base}/{t.quote}",
            "url_symbol": spell(t),
            "base_decimals": 5,
            "counter_decimals": 5,
            "instant_order_counter_decimals": 5,
            "minimum_order": f"10.00000 {t.quote}",
            "trading": "Enabled",
            "instant_and_market_orders": "Enabled",
            "description": f"{t.base} / {t.quote}",
        }
        for t in book.ticks.values()
    ]
    return Reply(200, rows)


rate_limited = too_many(
    {"status": "error", "reason": "Request rejected due to exceeded rate limit", "code": "400.002"}
)


API = VenueApi(
    name="bitstamp",
    routes=(
        ("/api/v2/ticker/{pair}/", ticker),
        ("/api/v2/ticker/{pair}", ticker),
        ("/api/v2/markets/", markets),
        ("/api/v2/trading-pairs-info/", trading_pairs_info),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
