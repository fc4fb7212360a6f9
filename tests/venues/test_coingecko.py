"""CoinGecko: one simple/price request by ids; USD prices with aggregate volume."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import coingecko
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_one_request_with_every_id() -> None:
    """Coins are asked for by id in a single request, with volume and update time."""
    (req,) = coingecko.requests([coingecko.symbol("USDT/USD"), coingecko.symbol("USDC/USD")])
    params = dict(req.params)
    assert req.path == "/api/v3/simple/price" and params["ids"] == "tether,usd-coin"
    assert params["include_24hr_vol"] == params["include_last_updated_at"] == "true"


def test_parses_prices_and_skips_missing_ids(shared: Callable[[str], Any]) -> None:
    """An id CoinGecko does not know is simply absent; the rest are parsed."""
    row = shared("coingecko_simple_price.json")["bitcoin"] | {
        "usd": 0.9991,
        "usd_24h_vol": 5e10,
        "last_updated_at": int(NOW),
    }
    keys = {"tether": "USDT/USD", "nope-coin": "NOPE/USD"}
    (req,) = coingecko.requests(list(keys))
    (q,) = coingecko.parse(req, Response(200, json.dumps({"tether": row})), keys, NOW)
    assert (q.venue, q.coin, q.quote_ccy, q.price) == ("coingecko", "USDT", "USD", 0.9991)
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (None, 5e10, NOW)


def test_rate_limited(shared: Callable[[str], Any]) -> None:
    """429 with the status envelope and Retry-After is a rate limit for that long."""
    resp = Response(429, json.dumps(shared("coingecko_error_429.json")), {"Retry-After": "60"})
    with pytest.raises(VenueError) as e:
        coingecko.parse(coingecko.requests(["tether"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 60
    assert "coingecko.com" not in str(e.value)  # the pricing URL in the body is not repeated


def test_listing_is_every_id() -> None:
    """coins/list answers id/symbol/name rows; an unknown id is not listed."""
    body = [{"id": "tether", "symbol": "usdt", "name": "Tether"}]
    assert coingecko.parse_listing(Response(200, json.dumps(body))) == {"tether": "tether"}


def test_rows_that_are_not_objects_are_skipped_and_bodies_that_are_not_are_malformed() -> None:
    """A coin's row of the wrong type is skipped; a whole answer that is a list is malformed."""
    keys = {"tether": "USDT/USD"}
    (req,) = coingecko.requests(list(keys))
    assert coingecko.parse(req, Response(200, json.dumps({"tether": [1]})), keys, NOW) == []
    with pytest.raises(VenueError) as e:
        coingecko.parse(req, Response(200, "[]"), keys, NOW)
    assert e.value.kind is ErrorKind.MALFORMED
