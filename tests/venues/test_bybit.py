"""Bybit v5: spot tickers envelope, retCode errors, HTTP 403 ten-minute ban."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import bybit
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_parses_spot_tickers(shared: Callable[[str], Any]) -> None:
    """lastPrice, bid1/ask1, volume24h (base), turnover24h (quote); time is the answer's."""
    body = shared("bybit_tickers_spot.json")
    row = body["result"]["list"][0] | {
        "symbol": "USDCUSDT",
        "lastPrice": "1.0001",
        "bid1Price": "1.0000",
        "ask1Price": "1.0001",
        "volume24h": "5000",
        "turnover24h": "5000.5",
    }
    body["result"]["list"].append(row)
    body["time"] = int(NOW * 1000)
    (req,) = bybit.requests(["USDCUSDT"])
    assert req.params == (("category", "spot"),)
    (q,) = bybit.parse(req, Response(200, json.dumps(body)), {"USDCUSDT": "USDC/USDT"}, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDC", "USDT", 1.0001, 1.0, 1.0001)
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (5000.0, 5000.5, NOW)


def test_unknown_symbol(shared: Callable[[str], Any]) -> None:
    """retCode 10001 "Not supported symbols" is an unknown market."""
    resp = Response(200, json.dumps(shared("bybit_error_unknown_symbol.json")))
    with pytest.raises(VenueError) as e:
        bybit.parse(bybit.requests(["NOPEUSDT"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_403_is_a_ten_minute_ban() -> None:
    """HTTP 403 "access too frequent" means stop for at least 10 minutes."""
    with pytest.raises(VenueError) as e:
        bybit.parse(bybit.requests(["USDCUSDT"])[0], Response(403, "access too frequent"), {}, NOW)
    assert e.value.kind is ErrorKind.BANNED and e.value.retry_after == 600


def test_429_with_retry_after() -> None:
    """A 429 with Retry-After is a rate limit for the stated time."""
    with pytest.raises(VenueError) as e:
        bybit.parse(
            bybit.requests(["USDCUSDT"])[0], Response(429, "", {"Retry-After": "5"}), {}, NOW
        )
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 5


def test_listing_keeps_trading_symbols() -> None:
    """instruments-info rows not in status Trading are not listed."""
    body = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {
            "category": "spot",
            "list": [
                {"symbol": "USDCUSDT", "status": "Trading"},
                {"symbol": "DAIUSDT", "status": "Closed"},
            ],
        },
        "time": 1,
    }
    assert bybit.parse_listing(Response(200, json.dumps(body))) == {"USDCUSDT": "USDCUSDT"}


def _too_many(time_ms: object) -> str:
    return json.dumps(
        {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": time_ms}
    )


def test_10006_waits_until_the_reset_timestamp_on_bybits_clock() -> None:
    """retCode 10006 waits X-Bapi-Limit-Reset-Timestamp less the answer's own time: 1.5 s here,
    however far our clock is from Bybit's."""
    sent = 1_800_000_000_000  # Bybit's clock, far from NOW
    resp = Response(200, _too_many(sent), {"X-Bapi-Limit-Reset-Timestamp": str(sent + 1500)})
    with pytest.raises(VenueError) as e:
        bybit.parse(bybit.requests(["USDCUSDT"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 1.5


@pytest.mark.parametrize(
    ("time_ms", "reset"),
    [
        (1_800_000_000_000, "1799999999000"),  # reset before the answer: not a wait
        (1_800_000_000_000, "nan"),
        (1_800_000_000_000, "-1"),
        (None, "1800000001500"),  # no answer time to measure from
        ("NaN", "1800000001500"),
    ],
)
def test_10006_without_a_sane_reset_falls_back_to_retry_after(time_ms: object, reset: str) -> None:
    """When the reset and the answer's time do not make a wait >= 0, Retry-After (or None)."""
    req = bybit.requests(["USDCUSDT"])[0]
    for extra, wait in (({"Retry-After": "2"}, 2), ({}, None)):
        headers = {"X-Bapi-Limit-Reset-Timestamp": reset} | extra
        with pytest.raises(VenueError) as e:
            bybit.parse(req, Response(200, _too_many(time_ms), headers), {}, NOW)
        assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == wait


@pytest.mark.parametrize(
    "body", ["[]", '{"retCode": "0"}', '{"retMsg": "OK"}', '{"retCode": true}']
)
def test_an_envelope_without_an_integer_retcode_is_malformed(body: str) -> None:
    """A 200 answer with no (integer) retCode is malformed rather than a client error."""
    with pytest.raises(VenueError) as e:
        bybit.parse(bybit.requests(["USDCUSDT"])[0], Response(200, body), {}, NOW)
    assert e.value.kind is ErrorKind.MALFORMED
