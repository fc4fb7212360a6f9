"""OKX: all spot tickers in one request; 51001 unknown instrument; 50011 rate limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import okx
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_one_request_for_every_spot_ticker() -> None:
    """Markets are answered by a single tickers?instType=SPOT request."""
    (req,) = okx.requests(["USDC-USDT", "DAI-USDT"])
    assert req.path == "/api/v5/market/tickers" and req.params == (("instType", "SPOT"),)


def test_parses_spot_rows_and_ignores_others(shared: Callable[[str], Any]) -> None:
    """Spot vol24h is base volume and volCcy24h quote volume; other instruments are ignored."""
    body = shared("okx_tickers.json")
    spot = body["data"][0] | {
        "instType": "SPOT",
        "instId": "USDC-USDT",
        "last": "0.9997",
        "bidPx": "0.9996",
        "askPx": "0.9997",
        "vol24h": "1000000",
        "volCcy24h": "999700",
        "ts": str(int(NOW * 1000)),
    }
    body = body | {"data": [*body["data"], spot]}
    (req,) = okx.requests(["USDC-USDT"])
    (q,) = okx.parse(req, Response(200, json.dumps(body)), {"USDC-USDT": "USDC/USDT"}, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDC", "USDT", 0.9997, 0.9996, 0.9997)
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (1e6, 999700.0, NOW)


def test_unknown_instrument(shared: Callable[[str], Any]) -> None:
    """code 51001 (HTTP 200) is an unknown market."""
    resp = Response(200, json.dumps(shared("okx_error_unknown_instrument.json")))
    with pytest.raises(VenueError) as e:
        okx.parse(okx.requests(["NOPE-USDT"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


@pytest.mark.parametrize("status", [429, 200])
def test_rate_limited_either_status(shared: Callable[[str], Any], status: int) -> None:
    """code 50011 is a rate limit whether it comes with HTTP 429 or 200."""
    resp = Response(status, json.dumps(shared("okx_error_429.json")), {"Retry-After": "2"})
    with pytest.raises(VenueError) as e:
        okx.parse(okx.requests(["USDC-USDT"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 2


def test_listing_keeps_live_instruments() -> None:
    """Instruments not in state live are not listed."""
    body = {
        "code": "0",
        "msg": "",
        "data": [
            {"instId": "USDC-USDT", "state": "live"},
            {"instId": "TUSD-USDT", "state": "suspend"},
        ],
    }
    assert okx.parse_listing(Response(200, json.dumps(body))) == {"USDC-USDT": "USDC-USDT"}


def test_50011_without_retry_after_waits_one_window(shared: Callable[[str], Any]) -> None:
    """50011 in an HTTP 200 answer has no Retry-After: wait OKX's 2 s window."""
    resp = Response(200, json.dumps(shared("okx_error_429.json")))
    with pytest.raises(VenueError) as e:
        okx.parse(okx.requests(["USDC-USDT"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == okx.RATE_LIMIT_WAIT
    assert okx.RATE_LIMIT_WAIT == 2.0


@pytest.mark.parametrize("body", ['{"msg": ""}', "[]", '{"code": "0", "data": {}}'])
def test_envelopes_without_code_or_data_list_are_malformed(body: str) -> None:
    """No code, or data that is not a list, is a malformed answer."""
    with pytest.raises(VenueError) as e:
        okx.parse(okx.requests(["USDC-USDT"])[0], Response(200, body), {}, NOW)
    assert e.value.kind is ErrorKind.MALFORMED


def test_rows_whose_instid_is_not_a_string_are_not_ours() -> None:
    """A row naming its instrument with a list is no market we asked for (no str() of it)."""
    body = {"code": "0", "data": [{"instId": ["USDC-USDT"], "last": "1"}]}
    resp = Response(200, json.dumps(body))
    assert okx.parse(okx.requests(["USDC-USDT"])[0], resp, {"USDC-USDT": "USDC/USDT"}, NOW) == []
