"""Gemini: v1 pubticker per symbol with its currency-keyed volume object."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import gemini
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0


def test_parses_volume_keyed_by_currency(shared: Callable[[str], Any]) -> None:
    """volume.<BASE> and volume.<QUOTE> become base and quote volume."""
    body = shared("gemini_pubticker.json")
    body = {
        "bid": "0.9998",
        "ask": "1.0001",
        "last": "0.9999",
        "volume": {"USDT": "2000000", "USD": "1999800", "timestamp": body["volume"]["timestamp"]},
    }
    (req,) = gemini.requests([gemini.symbol("USDT/USD")])
    assert req.path == "/v1/pubticker/usdtusd"
    (q,) = gemini.parse(req, Response(200, json.dumps(body)), {"usdtusd": "USDT/USD"}, NOW)
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == ("USDT", "USD", 0.9999, 0.9998, 1.0001)
    assert (q.volume_base_24h, q.volume_quote_24h) == (2e6, 1999800.0)
    assert q.ts_exchange is None  # the volume window's end is not the price's time


def test_invalid_symbol(shared: Callable[[str], Any]) -> None:
    """HTTP 400 reason InvalidSymbol is an unknown market."""
    resp = Response(400, json.dumps(shared("gemini_error_invalid_symbol.json")))
    with pytest.raises(VenueError) as e:
        gemini.parse(gemini.requests(["nopeusd"])[0], resp, {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_rate_limited_with_retry_after() -> None:
    """429 (reason RateLimit) with Retry-After is a rate limit for that long."""
    body = json.dumps({"result": "error", "reason": "RateLimit", "message": "slow down"})
    with pytest.raises(VenueError) as e:
        gemini.parse(
            gemini.requests(["usdtusd"])[0], Response(429, body, {"Retry-After": "1"}), {}, NOW
        )
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 1


@pytest.mark.parametrize("status", [429, 400])
def test_rate_limit_reason_reads_retry_after(status: int) -> None:
    """reason RateLimit waits for the Retry-After it came with (40 s here), whatever the status."""
    body = json.dumps({"result": "error", "reason": "RateLimit", "message": "slow down"})
    resp = Response(status, body, {"Retry-After": "40"})
    with pytest.raises(VenueError) as e:
        gemini.parse(gemini.requests(["usdtusd"])[0], resp, {"usdtusd": "USDT/USD"}, NOW)
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == 40


@pytest.mark.parametrize("body", ["[1, 2]", '"last"', "7", "null"])
def test_an_answer_that_is_not_an_object_is_malformed(body: str) -> None:
    """A list or bare value where the ticker object goes is malformed, not an AttributeError."""
    with pytest.raises(VenueError) as e:
        gemini.parse(
            gemini.requests(["usdtusd"])[0], Response(200, body), {"usdtusd": "USDT/USD"}, NOW
        )
    assert e.value.kind is ErrorKind.MALFORMED


def test_listing_ignores_entries_that_are_not_names() -> None:
    """/v1/symbols entries that are not strings (or are empty) are not listed."""
    body = json.dumps(["usdtusd", "", 5, ["daiusd"], {"s": "x"}])
    assert gemini.parse_listing(Response(200, body)) == {"usdtusd": "usdtusd"}


def test_listing_is_a_list_of_symbols() -> None:
    """/v1/symbols is a plain list of lower-case symbols."""
    listed = gemini.parse_listing(Response(200, json.dumps(["btcusd", "usdtusd"])))
    assert "usdtusd" in listed and "daiusd" not in listed
