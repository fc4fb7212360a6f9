"""Coinbase Exchange: one ticker per product, 404 NotFound, 429 rate limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import coinbase
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_one_request_per_product() -> None:
    """Each market is its own /products/{id}/ticker request."""
    reqs = coinbase.requests([coinbase.symbol("USDT/USD"), coinbase.symbol("DAI/USD")])
    assert [r.path for r in reqs] == ["/products/USDT-USD/ticker", "/products/DAI-USD/ticker"]


def test_parses_stablecoin_ticker(shared: Callable[[str], Any]) -> None:
    """price, bid/ask, base volume and ISO time; Coinbase gives no quote volume."""
    body = shared("coinbase_ticker_stablecoin.json")
    (req,) = coinbase.requests(["USDT-USD"])
    (q,) = coinbase.parse(req, Response(200, json.dumps(body)), {"USDT-USD": "USDT/USD"}, NOW)
    assert (q.venue, q.coin, q.quote_ccy, q.price) == ("coinbase", "USDT", "USD", 0.997999)
    assert (q.bid, q.ask, q.volume_base_24h, q.volume_quote_24h) == (
        0.997094,
        0.998,
        1903188.0375,
        None,
    )
    assert q.ts_exchange == pytest.approx(1580177613.012523)


def test_unknown_product(shared: Callable[[str], Any]) -> None:
    """404 {"message":"NotFound"} is an unknown market."""
    body = json.dumps(shared("coinbase_error_unknown_product.json"))
    with pytest.raises(VenueError) as e:
        coinbase.parse(coinbase.requests(["NOPE-USD"])[0], Response(404, body), {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_rate_limited_with_retry_after(shared: Callable[[str], Any]) -> None:
    """429 with Retry-After is a rate limit with the stated pause."""
    resp = Response(429, json.dumps(shared("coinbase_error_429.json")), {"retry-after": "3"})
    with pytest.raises(VenueError) as e:
        coinbase.parse(coinbase.requests(["USDT-USD"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 3


def test_listing_skips_disabled_products() -> None:
    """Products that are offline or trading-disabled are not listed."""
    body = [
        {"id": "USDT-USD", "status": "online", "trading_disabled": False},
        {"id": "DAI-USD", "status": "delisted"},
    ]
    assert coinbase.parse_listing(Response(200, json.dumps(body))) == {"USDT-USD": "USDT-USD"}


def test_a_time_without_offset_is_utc(shared: Callable[[str], Any]) -> None:
    """A ticker time missing its Z is still read as UTC, not this host's local time."""
    body = shared("coinbase_ticker_stablecoin.json") | {"time": "2020-01-28T02:13:33.012523"}
    (req,) = coinbase.requests(["USDT-USD"])
    (q,) = coinbase.parse(req, Response(200, json.dumps(body)), {"USDT-USD": "USDT/USD"}, NOW)
    assert q.ts_exchange == pytest.approx(1580177613.012523)


def test_a_huge_integer_price_is_infinite_not_a_crash(shared: Callable[[str], Any]) -> None:
    """A 400-digit price parses to inf (for the quality filter to drop), not OverflowError."""
    body = json.dumps(shared("coinbase_ticker_stablecoin.json")).replace('"0.997999"', "9" * 400)
    (req,) = coinbase.requests(["USDT-USD"])
    (q,) = coinbase.parse(req, Response(200, body), {"USDT-USD": "USDT/USD"}, NOW)
    assert q.price == float("inf")
