"""Bitstamp: one lower-case ticker per pair, timestamps in seconds as strings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import bitstamp
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_pair_is_lower_case_in_the_path() -> None:
    """USDT/USD is asked as /api/v2/ticker/usdtusd/."""
    (req,) = bitstamp.requests([bitstamp.symbol("USDT/USD")])
    assert req.path == "/api/v2/ticker/usdtusd/"


def test_parses_stablecoin_ticker(shared: Callable[[str], Any]) -> None:
    """last, bid/ask, base volume and a seconds timestamp become a Quote."""
    body = shared("bitstamp_ticker.json") | {
        "last": "1.00010",
        "bid": "1.00000",
        "ask": "1.00020",
        "volume": "5000000.5",
        "timestamp": str(int(NOW)),
    }
    (req,) = bitstamp.requests(["usdtusd"])
    (q,) = bitstamp.parse(req, Response(200, json.dumps(body)), {"usdtusd": "USDT/USD"}, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDT", "USD", 1.0001, 1.0, 1.0002)
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (5000000.5, None, NOW)


def test_unknown_pair_404_page() -> None:
    """An unknown pair answers a 404 page (not JSON): an unknown market."""
    with pytest.raises(VenueError) as e:
        bitstamp.parse(bitstamp.requests(["nopeusd"])[0], Response(404, "<html>"), {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_rate_limit_response_code() -> None:
    """response_code 400.002 is Bitstamp's rate-limit refusal; 429 carries Retry-After."""
    body = {
        "status": "error",
        "reason": "Request rejected due to exceeded rate limit",
        "response_code": "400.002",
    }
    with pytest.raises(VenueError) as e:
        bitstamp.parse(bitstamp.requests(["usdtusd"])[0], Response(400, json.dumps(body)), {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED
    resp = Response(429, "{}", {"Retry-After": "60"})
    with pytest.raises(VenueError) as e:
        bitstamp.parse(bitstamp.requests(["usdtusd"])[0], resp, {}, NOW)
    assert e.value.retry_after == 60


def test_listing_reads_market_symbols() -> None:
    """/api/v2/markets/ lists market_symbol; disabled markets are left out."""
    body = [
        {"name": "USDT/USD", "market_symbol": "usdtusd", "trading": "Enabled"},
        {"name": "DAI/USD", "market_symbol": "daiusd", "trading": "Disabled"},
    ]
    assert bitstamp.parse_listing(Response(200, json.dumps(body))) == {"usdtusd": "usdtusd"}


def test_rate_limit_without_retry_after_waits_the_documented_default() -> None:
    """400.002 and a bare 429 (even a non-JSON page) wait RATE_LIMIT_WAIT when no Retry-After."""
    req = bitstamp.requests(["usdtusd"])[0]
    body = json.dumps({"status": "error", "reason": "Rate limited", "response_code": "400.002"})
    for resp in (
        Response(400, body),
        Response(400, body.replace("response_code", "code")),
        Response(429, "{}"),
        Response(429, "<html>Too Many Requests</html>"),
    ):
        with pytest.raises(VenueError) as e:
            bitstamp.parse(req, resp, {"usdtusd": "USDT/USD"}, NOW)
        assert e.value.kind is ErrorKind.RATE_LIMITED
        assert e.value.retry_after == bitstamp.RATE_LIMIT_WAIT
    assert 0 < bitstamp.RATE_LIMIT_WAIT <= bitstamp.SPEC.max_wait


def test_error_status_in_a_200_answer_is_a_client_error() -> None:
    """{"status": "error"} is a refusal even when HTTP says 200 and no code is given."""
    body = json.dumps({"status": "error", "reason": "Invalid request"})
    with pytest.raises(VenueError) as e:
        bitstamp.parse(bitstamp.requests(["usdtusd"])[0], Response(200, body), {}, NOW)
    assert e.value.kind is ErrorKind.CLIENT_ERROR
