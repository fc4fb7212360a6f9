"""Coinbase Exchange: /products, /products/{id}/ticker and /products/{id}/stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    RateLimitHit,
    Reply,
    VenueApi,
    num,
    retry_after,
)

NOT_FOUND = Reply(404, {"message": "NotFound"})


def spell(t: Tick) -> str:
    return f"{t.base}-{t.quote}"


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


def ticker(ask: Ask, book: Book) -> Reply:
    t = book.find(ask.match["product_id"], spell)
    if t is None:
        return NOT_FOUND
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


def stats(ask: Ask, book: Book) -> Reply:
    t = book.find(ask.match["product_id"], spell)
    if t is None:
        return NOT_FOUND
    body = {
        "open": num(t.open),
        "high": num(t.high),
        "low": num(t.low),
        "volume": num(t.volume_base),
        "last": num(t.price),
        "volume_30day": num(t.volume_base * 30),
    }
    return Reply(200, body)


def rate_limited(hit: RateLimitHit) -> Reply:
    return Reply(429, {"message": "Public rate limit exceeded"}, retry_after(hit))


API = VenueApi(
    name="coinbase",
    routes=(
        ("/products", products),
        ("/products/{product_id}/ticker", ticker),
        ("/products/{product_id}/stats", stats),
    ),
    rate_limited=rate_limited,
)
