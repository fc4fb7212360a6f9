"""Coinbase Exchange: /products, /products/{id}/ticker and /products/{id}/stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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

NOT_FOUND = Reply(404, {"message": "NotFound"})

spell = spelling("-")


def iso(now: float) -> str:
    """ISO-8601 UTC with microseconds, as Coinbase writes `time`."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def products(ask: Ask, book: Book) -> Reply:
    rows: list[dict[str, Any]] = [
        {
            "id": spell(t),
            "base_currency": t.base,
            "quote_currency": t.quote,
            "quote_increment": "0.00001",
            "base_increment": "0.01",
            "display_name": f"{t.base}/{t.quote}",
            "min_market_funds": "1",
            "margin_enabled": False,
            "post_only": False,
            "limit_only": False,
            "cancel_only": False,
            "status": "online",
            "status_message": "",
            "trading_disabled": False,
            "fx_stablecoin": t.quote == "USD",
            "max_slippage_percentage": "0.03000000",
            "auction_mode": False,
            "high_bid_limit_percentage": "",
        }
        for t in book.ticks.values()
    ]
    return Reply(200, rows)


def _ticker(t: Tick, book: Book) -> Reply:
    body = {
        "ask": num(t.ask, 6),
        "bid": num(t.bid, 6),
        "volume": num(t.volume_base),
        "trade_id": 843439 + int(book.now),
        "price": num(t.price, 6),
        "size": "80.29769",
        "time": iso(book.now),
    }
    return Reply(200, body)


def _stats(t: Tick, book: Book) -> Reply:
    body = {
        "open": num(t.open),
        "high": num(t.high),
        "low": num(t.low),
        "volume": num(t.volume_base),
        "last": num(t.price),
        "volume_30day": num(t.volume_base * 30),
    }
    return Reply(200, body)


ticker = market_route(spell, _ticker, NOT_FOUND, param="product_id")
stats = market_route(spell, _stats, NOT_FOUND, param="product_id")


rate_limited = too_many({"message": "Public rate limit exceeded"})


API = VenueApi(
    name="coinbase",
    routes=(
        ("/products", products),
        ("/products/{product_id}/ticker", ticker),
        ("/products/{product_id}/stats", stats),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
