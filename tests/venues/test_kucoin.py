"""KuCoin: allTickers in one request, 429000 with the gw-ratelimit-reset header."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import kucoin
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_parses_all_tickers(shared: Callable[[str], Any]) -> None:
    """buy/sell are bid/ask, vol and volValue base and quote volume, data.time in ms."""
    body = shared("kucoin_all_tickers.json")
    row = body["data"]["ticker"][0] | {
        "symbol": "USDC-USDT",
        "symbolName": "USDC-USDT",
        "buy": "0.9998",
        "sell": "0.9999",
        "last": "0.9999",
        "vol": "300000",
        "volValue": "299970",
    }
    body["data"]["ticker"].append(row)
    body["data"]["time"] = int(NOW * 1000)
    (req,) = kucoin.requests(["USDC-USDT"])
    assert req.path == "/api/v1/market/allTickers" and req.weight == 15
    (q,) = kucoin.parse(req, Response(200, json.dumps(body)), {"USDC-USDT": "USDC/USDT"}, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDC", "USDT", 0.9999, 0.9998, 0.9999)
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (3e5, 299970.0, NOW)


def test_unsupported_pair() -> None:
    """code 400100 "Unsupported trading pair." is an unknown market."""
    body = json.dumps({"msg": "Unsupported trading pair.", "code": "400100"})
    with pytest.raises(VenueError) as e:
        kucoin.parse(kucoin.requests(["NOPE-USDT"])[0], Response(400, body), {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_rate_limited_waits_for_the_reset(shared: Callable[[str], Any]) -> None:
    """429000 waits gw-ratelimit-reset (ms), or Retry-After when that is all there is."""
    body = json.dumps(shared("kucoin_error_429.json"))
    with pytest.raises(VenueError) as e:
        kucoin.parse(
            kucoin.requests(["USDC-USDT"])[0],
            Response(429, body, {"gw-ratelimit-reset": "1500"}),
            {},
            NOW,
        )
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 1.5
    with pytest.raises(VenueError) as e:
        kucoin.parse(
            kucoin.requests(["USDC-USDT"])[0], Response(429, body, {"Retry-After": "4"}), {}, NOW
        )
    assert e.value.retry_after == 4


def test_listing_keeps_tradable_symbols() -> None:
    """/api/v2/symbols rows with enableTrading false are not listed."""
    body = {
        "code": "200000",
        "data": [
            {"symbol": "USDC-USDT", "enableTrading": True},
            {"symbol": "TUSD-USDT", "enableTrading": False},
        ],
    }
    assert kucoin.parse_listing(Response(200, json.dumps(body))) == {"USDC-USDT": "USDC-USDT"}


@pytest.mark.parametrize("reset", ["inf", "nan", "-5", "1e400", "soon", ""])
def test_an_insane_reset_header_falls_back_to_retry_after(
    shared: Callable[[str], Any], reset: str
) -> None:
    """gw-ratelimit-reset that is not a finite figure >= 0 is ignored for Retry-After (or None)."""
    body = json.dumps(shared("kucoin_error_429.json"))
    req = kucoin.requests(["USDC-USDT"])[0]
    for headers, wait in (({"gw-ratelimit-reset": reset, "Retry-After": "3"}, 3), ({}, None)):
        with pytest.raises(VenueError) as e:
            kucoin.parse(req, Response(429, body, headers | {"gw-ratelimit-reset": reset}), {}, NOW)
        assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == wait


@pytest.mark.parametrize("data", [[], "x", None])
def test_data_that_is_not_an_object_is_malformed(data: object) -> None:
    """A success envelope whose data is a list, a string or null is malformed, not a crash."""
    body = json.dumps({"code": "200000", "data": data})
    with pytest.raises(VenueError) as e:
        kucoin.parse(kucoin.requests(["USDC-USDT"])[0], Response(200, body), {}, NOW)
    assert e.value.kind is ErrorKind.MALFORMED
