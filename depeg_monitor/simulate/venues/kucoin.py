"""KuCoin spot: /api/v2/symbols, /api/v1/market/allTickers, /market/stats, /orderbook/level1."""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    RateLimitHit,
    Reply,
    VenueApi,
    market_route,
    named_by,
    num,
    spelling,
)

# KuCoin's unknown-symbol answer is not documented; ccxt's general 400100 shape stands in.
UNSUPPORTED = Reply(200, {"code": "400100", "msg": "Unsupported trading pair."})

spell = spelling("-")


def _ok(data: Any) -> Reply:
    return Reply(200, {"code": "200000", "data": data})


def _stats(t: Tick) -> dict[str, str]:
    return {
        "buy": num(t.bid, 5),
        "sell": num(t.ask, 5),
        "changeRate": num((t.price - t.open) / t.open, 4),
        "changePrice": num(t.price - t.open, 5),
        "high": num(t.high, 5),
        "low": num(t.low, 5),
        "vol": num(t.volume_base),
        "volValue": num(t.volume_quote),
        "last": num(t.price, 5),
        "averagePrice": num((t.high + t.low) / 2),
        "takerFeeRate": "0.001",
        "makerFeeRate": "0.001",
        "takerCoefficient": "1",
        "makerCoefficient": "1",
    }


def symbols(ask: Ask, book: Book) -> Reply:
    rows = [
        {
            "symbol": spell(t),
            "name": spell(t),
            "baseCurrency": t.base,
            "quoteCurrency": t.quote,
            "feeCurrency": t.quote,
            "market": "USDS",
            "baseMinSize": "0.1",
            "quoteMinSize": "0.1",
            "baseMaxSize": "10000000000",
            "quoteMaxSize": "99999999",
            "baseIncrement": "0.0001",
            "quoteIncrement": "0.0001",
            "priceIncrement": "0.0001",
            "priceLimitRate": "0.1",
            "minFunds": "0.1",
            "isMarginEnabled": False,
            "enableTrading": True,
            "feeCategory": 1,
            "makerFeeCoefficient": "1.00",
            "takerFeeCoefficient": "1.00",
            "st": False,
        }
        for t in book.ticks.values()
    ]
    return _ok(rows)


def all_tickers(ask: Ask, book: Book) -> Reply:
    rows = [
        {
            "symbol": spell(t),
            "symbolName": spell(t),
            "buy": num(t.bid, 5),
            "bestBidSize": "25000",
            "sell": num(t.ask, 5),
            "bestAskSize": "25000",
            **{k: v for k, v in _stats(t).items() if k not in ("buy", "sell")},
        }
        for t in book.ticks.values()
    ]
    return _ok({"time": book.now_ms, "ticker": rows})


def _market_stats(t: Tick, book: Book) -> Reply:
    return _ok({"time": book.now_ms, "symbol": spell(t), **_stats(t)})


def _level1(t: Tick, book: Book) -> Reply:
    data = {
        "time": book.now_ms,
        "sequence": str(14609309753 + book.now_ms // 1000),
        "price": num(t.price, 5),
        "size": "100",
        "bestBid": num(t.bid, 5),
        "bestBidSize": "25000",
        "bestAsk": num(t.ask, 5),
        "bestAskSize": "25000",
    }
    return _ok(data)


stats = market_route(spell, _market_stats, UNSUPPORTED, param="symbol", in_query=True)
level1 = market_route(spell, _level1, UNSUPPORTED, param="symbol", in_query=True)


def rate_limited(hit: RateLimitHit) -> Reply:
    headers = {
        "gw-ratelimit-limit": "2000",
        "gw-ratelimit-remaining": "0",
        "gw-ratelimit-reset": hit.ms_text,
    }
    body = {"code": "429000", "msg": "Too many requests. System-level rate limit exceeded."}
    return Reply(429, body, headers)


API = VenueApi(
    name="kucoin",
    routes=(
        ("/api/v2/symbols", symbols),
        ("/api/v1/market/allTickers", all_tickers),
        ("/api/v1/market/stats", stats),
        ("/api/v1/market/orderbook/level1", level1),
    ),
    rate_limited=rate_limited,
    names=named_by(spell),
)
