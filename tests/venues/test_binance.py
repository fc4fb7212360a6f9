"""Binance: batched 24hr tickers, -1121 unknown symbols, 429/418/451 with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import binance
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError

NOW = 1_700_000_000.0
KEYS = {"USDCUSDT": "USDC/USDT", "FDUSDUSDT": "FDUSD/USDT"}


def test_requests_batch_symbols_as_a_json_array() -> None:
    """All markets go in one symbols=[...] request of weight 2."""
    (req,) = binance.requests(["USDCUSDT", "FDUSDUSDT"])
    assert req.path == "/api/v3/ticker/24hr"
    assert req.params == (("symbols", '["USDCUSDT","FDUSDUSDT"]'),)
    assert req.weight == 2


def test_more_than_twenty_symbols_split_into_cheap_batches() -> None:
    """Binance charges 40 weight above 20 symbols, so 25 markets make two requests."""
    reqs = binance.requests([f"C{i}USDT" for i in range(25)])
    assert [len(r.symbols) for r in reqs] == [20, 5]


def test_parses_stablecoin_tickers(shared: Callable[[str], Any]) -> None:
    """lastPrice, bid/ask, base and quote volume and closeTime (ms) become a Quote."""
    row = shared("binance_ticker_24hr_symbols.json")[0]
    rows = [
        row
        | {
            "symbol": "USDCUSDT",
            "lastPrice": "0.99980000",
            "bidPrice": "0.99970000",
            "askPrice": "0.99980000",
            "volume": "123456.00000000",
            "quoteVolume": "123431.30000000",
            "closeTime": int(NOW * 1000),
        },
        row | {"symbol": "FDUSDUSDT", "lastPrice": "0.99850000", "closeTime": int(NOW * 1000)},
    ]
    (req,) = binance.requests(list(KEYS))
    quotes = binance.parse(req, Response(200, json.dumps(rows)), KEYS, NOW + 1)
    usdc, fdusd = quotes
    assert (usdc.coin, usdc.quote_ccy, usdc.price) == ("USDC", "USDT", 0.9998)
    assert (usdc.bid, usdc.ask) == (0.9997, 0.9998)
    assert (usdc.volume_base_24h, usdc.volume_quote_24h) == (123456.0, 123431.3)
    assert usdc.ts_exchange == NOW and usdc.ts_received == NOW + 1
    assert (fdusd.coin, fdusd.price) == ("FDUSD", 0.9985)


def test_unknown_symbol_is_classified(shared: Callable[[str], Any]) -> None:
    """HTTP 400 with code -1121 means the market is unknown."""
    body = json.dumps(shared("binance_error_invalid_symbol.json"))
    (req,) = binance.requests(["NOPEUSDT"])
    with pytest.raises(VenueError) as e:
        binance.parse(req, Response(400, body), {}, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


@pytest.mark.parametrize(
    ("status", "file", "kind"),
    [
        (429, "binance_error_429.json", ErrorKind.RATE_LIMITED),
        (418, "binance_error_418.json", ErrorKind.BANNED),
    ],
)
def test_rate_limit_and_ban_carry_retry_after(
    shared: Callable[[str], Any], status: int, file: str, kind: ErrorKind
) -> None:
    """429 and the 418 IP ban report how long to wait from Retry-After."""
    resp = Response(status, json.dumps(shared(file)), {"Retry-After": "120"})
    with pytest.raises(VenueError) as e:
        binance.parse(binance.requests(["USDCUSDT"])[0], resp, KEYS, NOW)
    assert e.value.kind is kind and e.value.retry_after == 120


def test_geo_block_is_classified(shared: Callable[[str], Any]) -> None:
    """HTTP 451 is a geo-block, not a server error."""
    resp = Response(451, json.dumps(shared("binance_error_451_geo.json")))
    with pytest.raises(VenueError) as e:
        binance.parse(binance.requests(["USDCUSDT"])[0], resp, KEYS, NOW)
    assert e.value.kind is ErrorKind.GEO_BLOCKED


def test_listing_keeps_only_trading_symbols() -> None:
    """exchangeInfo symbols with a status other than TRADING are treated as not listed."""
    body = {
        "symbols": [
            {"symbol": "USDCUSDT", "status": "TRADING"},
            {"symbol": "TUSDUSDT", "status": "BREAK"},
        ]
    }
    assert binance.parse_listing(Response(200, json.dumps(body))) == {"USDCUSDT": "USDCUSDT"}


def test_listing_for_narrows_exchange_info_to_the_configured_symbols() -> None:
    """The listing asks exchangeInfo?symbols=[...] (the ticker's JSON array) at weight 20."""
    narrow = binance.SPEC.listing_for
    assert narrow is not None
    req = narrow(["USDCUSDT", "FDUSDUSDT"])
    assert req.path == "/api/v3/exchangeInfo"
    assert req.params == (("symbols", '["USDCUSDT","FDUSDUSDT"]'),)
    assert req.weight == 20 and req.symbols == ("USDCUSDT", "FDUSDUSDT")
    assert narrow([]) == binance.SPEC.listing  # nothing to narrow to: the whole listing
    assert binance.SPEC.listing.params == ()  # callers with no symbol list still get it all


def test_narrowed_listing_answer_is_parsed(shared: Callable[[str], Any]) -> None:
    """The narrowed answer (rateLimits, then just our symbols) lists the trading ones."""
    body = {
        "timezone": "UTC",
        "serverTime": int(NOW * 1000),
        "rateLimits": [shared("binance_ratelimit_request_weight.json")],
        "exchangeFilters": [],
        "symbols": [
            {"symbol": "USDCUSDT", "status": "TRADING", "baseAsset": "USDC", "quoteAsset": "USDT"},
            {"symbol": "FDUSDUSDT", "status": "HALT", "baseAsset": "FDUSD", "quoteAsset": "USDT"},
        ],
    }
    listed = binance.parse_listing(Response(200, json.dumps(body)))
    assert listed == {"USDCUSDT": "USDCUSDT"}


def test_an_unknown_symbol_refuses_the_narrowed_listing(shared: Callable[[str], Any]) -> None:
    """-1121 on the narrowed exchangeInfo is an unknown market (the collector then asks one by
    one), not a malformed listing."""
    body = json.dumps(shared("binance_error_invalid_symbol.json"))
    with pytest.raises(VenueError) as e:
        binance.parse_listing(Response(400, body))
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def test_an_ip_ban_may_last_three_days() -> None:
    """A 418 ban lasts "2 min … 3 days": the longest wait honoured is three days."""
    assert binance.SPEC.max_wait == 3 * 24 * 3600
    resp = Response(418, "{}", {"Retry-After": str(2 * 24 * 3600)})
    with pytest.raises(VenueError) as e:
        binance.parse(binance.requests(["USDCUSDT"])[0], resp, KEYS, NOW)
    assert e.value.retry_after is not None and e.value.retry_after <= binance.SPEC.max_wait
