"""Kraken: pair lists, canonical result keys, HTTP-200 error arrays."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import kraken
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0
PAIRS = {
    "error": [],
    "result": {
        "USDTZUSD": {"altname": "USDTUSD", "wsname": "USDT/USD", "base": "USDT", "quote": "ZUSD"},
        "USDCUSD": {"altname": "USDCUSD", "wsname": "USDC/USD", "base": "USDC", "quote": "ZUSD"},
    },
}


def test_markets_go_in_one_pair_list() -> None:
    """All markets share a single Ticker request with a comma-separated pair list."""
    (req,) = kraken.requests(["USDTUSD", "USDCUSD"])
    assert req.path == "/0/public/Ticker" and req.params == (("pair", "USDTUSD,USDCUSD"),)


def test_canonical_keys_map_back_through_asset_pairs(shared: Callable[[str], Any]) -> None:
    """Asked as USDTUSD, answered as USDTZUSD: AssetPairs' altname maps it back."""
    listed = kraken.parse_listing(Response(200, json.dumps(PAIRS)))
    assert listed["USDTUSD"] == "USDTZUSD"
    row = shared("kraken_ticker.json")["result"]["XXBTZUSD"]
    row = row | {
        "c": ["0.99990000", "10"],
        "b": ["0.99980000", "1", "1.000"],
        "a": ["1.00000000", "1", "1.000"],
        "v": ["100.0", "2500000.5"],
    }
    body = {"error": [], "result": {"USDTZUSD": row}}
    keys = {listed["USDTUSD"]: "USDT/USD"}
    (q,) = kraken.parse(kraken.requests(["USDTUSD"])[0], Response(200, json.dumps(body)), keys, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDT", "USD", 0.9999, 0.9998, 1.0)
    assert q.volume_base_24h == 2500000.5  # v[1] is the rolling 24 h, v[0] only "today"
    assert q.ts_exchange is None


def test_fallback_keys_cover_canonical_spelling() -> None:
    """Without AssetPairs, the usual canonical spellings still find the market."""
    assert "USDTZUSD" in kraken.fallback_keys("USDT/USD", "USDTUSD")


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        ("kraken_error_unknown_pair.json", ErrorKind.UNKNOWN_MARKET),
        ("kraken_error_rate_limit.json", ErrorKind.RATE_LIMITED),
    ],
)
def test_http_200_error_arrays_are_errors(
    shared: Callable[[str], Any], file: str, kind: ErrorKind
) -> None:
    """HTTP 200 is not success: the error array is read first."""
    resp = Response(200, json.dumps(shared(file)))
    with pytest.raises(VenueError) as e:
        kraken.parse(kraken.requests(["USDTUSD"])[0], resp, {}, NOW)
    assert e.value.kind is kind


def test_http_429_with_retry_after() -> None:
    """A plain HTTP 429 with Retry-After is honoured too."""
    resp = Response(429, "", {"Retry-After": "7"})
    with pytest.raises(VenueError) as e:
        kraken.parse(kraken.requests(["USDTUSD"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 7


@pytest.mark.parametrize("text", ["EGeneral:Too many requests", "EAPI:Rate limit exceeded"])
def test_throttle_answers_wait_the_documented_default(text: str) -> None:
    """Kraken's HTTP-200 throttle names no wait, so the module's documented default is used."""
    resp = Response(200, json.dumps({"error": [text]}))
    with pytest.raises(VenueError) as e:
        kraken.parse(kraken.requests(["USDTUSD"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED
    assert e.value.retry_after == kraken.RATE_LIMIT_WAIT
    assert 0 < kraken.RATE_LIMIT_WAIT <= kraken.SPEC.max_wait


def test_a_single_error_string_is_read_like_the_array() -> None:
    """An `error` sent as a bare string rather than a one-item array is still understood."""
    resp = Response(200, json.dumps({"error": "EQuery:Unknown asset pair"}))
    with pytest.raises(VenueError) as e:
        kraken.parse(kraken.requests(["USDTUSD"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


@pytest.mark.parametrize("error", [{"EQuery": "x"}, 5, True])
def test_an_error_field_that_is_not_a_list_is_malformed(error: object) -> None:
    """`error` of another type is a malformed answer (it used to raise TypeError)."""
    resp = Response(200, json.dumps({"error": error, "result": {}}))
    with pytest.raises(VenueError) as e:
        kraken.parse(kraken.requests(["USDTUSD"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.MALFORMED


def test_listing_skips_names_that_are_not_strings() -> None:
    """An altname or wsname that is not a string adds no spelling; the key itself still counts."""
    body = {"error": [], "result": {"USDTZUSD": {"altname": ["USDTUSD"], "wsname": 7}}}
    assert kraken.parse_listing(Response(200, json.dumps(body))) == {"USDTZUSD": "USDTZUSD"}
