"""Poisoned answers: each venue's real answer with its volumes, prices or times spoiled, or a body
built to hurt the reader (deep nesting, a gzip bomb, a body that never ends)."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from .conftest import StartMarket

# The ticker request the monitor sends each venue, for two of the venue's markets.
TICKER = {
    "binance": '/api/v3/ticker/24hr?symbols=["USDCUSDT","DAIUSDT"]',
    "coinbase": "/products/USDT-USD/ticker",
    "kraken": "/0/public/Ticker?pair=USDTUSD,USDCUSD",
    "bitstamp": "/api/v2/ticker/usdtusd/",
    "okx": "/api/v5/market/tickers?instType=SPOT",
    "bybit": "/v5/market/tickers?category=spot",
    "gemini": "/v1/pubticker/usdtusd",
    "kucoin": "/api/v1/market/allTickers",
    "coingecko": "/api/v3/simple/price?ids=tether,usd-coin&vs_currencies=usd"
    "&include_24hr_vol=true&include_last_updated_at=true",
}

Pick = Callable[[Any], list[Any]]


def _rows(key: str, *fields: str) -> Pick:
    """The fields of every row of a list found under dotted `key` ('' for a bare list)."""

    def pick(body: Any) -> list[Any]:
        for part in filter(None, key.split(".")):
            body = body[part]
        return [row[f] for row in body for f in fields]

    return pick


def _each_value(*fields: str, index: int | None = None) -> Pick:
    """Fields of every row of an object keyed by market (Kraken, CoinGecko), or one item."""

    def pick(body: Any) -> list[Any]:
        rows = body["result"].values() if "result" in body else body.values()
        out = [row[f] for row in rows for f in fields]
        return [v[index] for v in out] if index is not None else out

    return pick


def _kraken_volumes(body: Any) -> list[Any]:
    return [v for row in body["result"].values() for v in row["v"]]


def _gemini_volumes(body: Any) -> list[Any]:
    return [v for k, v in body["volume"].items() if k != "timestamp"]


def _fields(*names: str) -> Pick:
    return lambda body: [body[n] for n in names]


# Where each venue keeps its 24 h volumes, its prices and its exchange time.
VOLUMES: dict[str, Pick] = {
    "binance": _rows("", "volume", "quoteVolume"),
    "coinbase": _fields("volume"),
    "kraken": _kraken_volumes,
    "bitstamp": _fields("volume"),
    "okx": _rows("data", "vol24h", "volCcy24h"),
    "bybit": _rows("result.list", "volume24h", "turnover24h"),
    "gemini": _gemini_volumes,
    "kucoin": _rows("data.ticker", "vol", "volValue"),
    "coingecko": _each_value("usd_24h_vol"),
}
PRICES: dict[str, Pick] = {
    "binance": _rows("", "lastPrice", "bidPrice", "askPrice"),
    "coinbase": _fields("price", "bid", "ask"),
    "kraken": _each_value("c", "b", "a", index=0),
    "bitstamp": _fields("last", "bid", "ask"),
    "okx": _rows("data", "last", "bidPx", "askPx"),
    "bybit": _rows("result.list", "lastPrice", "bid1Price", "ask1Price"),
    "gemini": _fields("last", "bid", "ask"),
    "kucoin": _rows("data.ticker", "last", "buy", "sell"),
    "coingecko": _each_value("usd"),
}
# Kraken's ticker carries no time at all.
TIMES: dict[str, Pick] = {
    "binance": _rows("", "openTime", "closeTime"),
    "coinbase": _fields("time"),
    "bitstamp": _fields("timestamp"),
    "okx": _rows("data", "ts"),
    "bybit": _fields("time"),
    "gemini": lambda b: [b["volume"]["timestamp"]],
    "kucoin": lambda b: [b["data"]["time"]],
    "coingecko": _each_value("last_updated_at"),
}
# 9999-12-31T23:59:59Z in each venue's own unit and type.
FAR_FUTURE = {
    "binance": 253402300799000,
    "coinbase": "9999-12-31T23:59:59Z",
    "bitstamp": "253402300799",
    "okx": "253402300799000",
    "bybit": 253402300799000,
    "gemini": 253402300799000,
    "kucoin": 253402300799000,
    "coingecko": 253402300799,
}


def _poison(venue: str, mode: str, **extra: Any) -> dict[str, Any]:
    fault = {"venue": venue, "kind": "poison", "mode": mode, "start": 0, "end": 10, **extra}
    return {"scenario": {"duration": 100, "noise": 0.0}, "faults": [fault]}


async def _json(http: aiohttp.ClientSession, url: str) -> tuple[int, str, Any]:
    async with http.get(url) as r:
        text = await r.text()
        return r.status, text, json.loads(text)


async def _clean_and_poisoned(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str, mode: str
) -> tuple[Any, Any, str]:
    """The same answer at the same instant from a calm market and from a poisoned one."""
    calm = await start_market({"scenario": {"duration": 100, "noise": 0.0}})
    sick = await start_market(_poison(venue, mode))
    _, _, clean = await _json(http, calm.base_urls()[venue] + TICKER[venue])
    status, text, body = await _json(http, sick.base_urls()[venue] + TICKER[venue])
    assert status == 200
    return clean, body, text


def _same_type(values: list[Any], like: list[Any]) -> bool:
    return [type(v) for v in values] == [type(v) for v in like]


@pytest.mark.parametrize("venue", list(TICKER))
async def test_nan_volume_spoils_every_volume_and_nothing_else(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """nan_volume sends every 24 h volume as the string "NaN"; prices and times are untouched."""
    clean, body, _ = await _clean_and_poisoned(start_market, http, venue, "nan_volume")
    assert VOLUMES[venue](body)
    assert set(VOLUMES[venue](body)) == {"NaN"}
    assert PRICES[venue](body) == PRICES[venue](clean)
    if venue in TIMES:
        assert TIMES[venue](body) == TIMES[venue](clean)


@pytest.mark.parametrize("venue", list(TICKER))
async def test_negative_volume_keeps_each_fields_json_type(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """negative_volume sends -13779365.5: a string where the venue sends strings, else a number."""
    clean, body, _ = await _clean_and_poisoned(start_market, http, venue, "negative_volume")
    volumes = VOLUMES[venue](body)
    assert {float(v) for v in volumes} == {-13779365.5}
    assert _same_type(volumes, VOLUMES[venue](clean))
    assert PRICES[venue](body) == PRICES[venue](clean)


@pytest.mark.parametrize("venue", list(FAR_FUTURE))
async def test_future_timestamp_is_in_each_venues_own_unit(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """future_timestamp puts every exchange time at 9999-12-31 in the venue's unit (ISO, ms, s)."""
    clean, body, _ = await _clean_and_poisoned(start_market, http, venue, "future_timestamp")
    assert set(TIMES[venue](body)) == {FAR_FUTURE[venue]}
    assert PRICES[venue](body) == PRICES[venue](clean)
    assert VOLUMES[venue](body) == VOLUMES[venue](clean)


async def test_future_timestamp_leaves_kraken_as_it_is(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Kraken's ticker has no time to spoil, so its answer is the calm one."""
    clean, body, _ = await _clean_and_poisoned(start_market, http, "kraken", "future_timestamp")
    assert body == clean


@pytest.mark.parametrize("venue", list(TICKER))
async def test_zero_price_zeroes_last_bid_and_ask(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """zero_price sends last, bid and ask as 0 in the venue's own JSON type; volumes untouched."""
    clean, body, _ = await _clean_and_poisoned(start_market, http, venue, "zero_price")
    prices = PRICES[venue](body)
    assert {float(p) for p in prices} == {0.0}
    assert _same_type(prices, PRICES[venue](clean))
    assert VOLUMES[venue](body) == VOLUMES[venue](clean)


@pytest.mark.parametrize("venue", list(TICKER))
async def test_huge_number_is_a_400_digit_json_number(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """huge_number writes each price as a bare 400-digit number literal, not a string."""
    _, body, text = await _clean_and_poisoned(start_market, http, venue, "huge_number")
    prices = PRICES[venue](body)
    assert prices
    assert all(isinstance(p, int) and len(str(p)) == 400 for p in prices)
    assert ":" + "9" * 400 in text or "[" + "9" * 400 in text


async def test_markets_limit_a_poison_to_their_rows(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """With markets = [...], only those markets' rows are spoiled, in batched and keyed answers."""
    binance = await start_market(_poison("binance", "zero_price", markets=["DAI/USDT"]))
    _, _, rows = await _json(http, binance.base_urls()["binance"] + TICKER["binance"])
    assert {r["symbol"]: r["lastPrice"] == "0" for r in rows} == {
        "USDCUSDT": False,
        "DAIUSDT": True,
    }
    kraken = await start_market(_poison("kraken", "nan_volume", markets=["USDC/USD"]))
    _, _, body = await _json(http, kraken.base_urls()["kraken"] + TICKER["kraken"])
    assert {k: v["v"][1] == "NaN" for k, v in body["result"].items()} == {
        "USDTZUSD": False,
        "USDCUSD": True,
    }


async def test_markets_limit_a_per_market_venue_to_their_requests(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """At a one-market-per-request venue, only the named market's answers are poisoned."""
    market = await start_market(_poison("coinbase", "deep_nesting", markets=["DAI/USD"]))
    base = market.base_urls()["coinbase"]
    status, _, body = await _json(http, base + "/products/USDT-USD/ticker")
    assert status == 200
    assert "price" in body
    async with http.get(base + "/products/DAI-USD/ticker") as r:
        assert (await r.read()).startswith(b"[[[[")


async def test_poison_ends_with_its_window(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: Any
) -> None:
    """After `end` the venue answers normally again."""
    market = await start_market(_poison("okx", "zero_price"))
    url = market.base_urls()["okx"] + TICKER["okx"]
    assert {float(p) for p in PRICES["okx"]((await _json(http, url))[2])} == {0.0}
    clock.advance(10)
    assert all(float(p) > 0.9 for p in PRICES["okx"]((await _json(http, url))[2]))


async def test_deep_nesting_is_a_hundred_thousand_brackets(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """deep_nesting answers 200 application/json with [ × 100000 then ] × 100000, listing too."""
    market = await start_market(_poison("okx", "deep_nesting"))
    base = market.base_urls()["okx"]
    for path in (TICKER["okx"], "/api/v5/public/instruments?instType=SPOT"):
        async with http.get(base + path) as r:
            assert r.status == 200
            assert r.content_type == "application/json"
            assert await r.read() == b"[" * 100_000 + b"]" * 100_000


async def _read_at_most(r: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body up to `limit` bytes, however it arrives in pieces."""
    parts: list[bytes] = []
    size = 0
    while size < limit and (part := await r.content.read(limit - size)):
        parts.append(part)
        size += len(part)
    return b"".join(parts)


@pytest.fixture
async def raw_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that leaves Content-Encoding alone, so a bomb arrives as the bytes sent."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def test_gzip_bomb_is_a_megabyte_that_inflates_to_a_gibibyte(
    start_market: StartMarket, raw_http: aiohttp.ClientSession
) -> None:
    """gzip_bomb sends ~1 MiB of gzip, Content-Length its size, that inflates to 1 GiB of zeros."""
    market = await start_market(_poison("binance", "gzip_bomb"))
    async with raw_http.get(market.base_urls()["binance"] + TICKER["binance"]) as r:
        assert r.status == 200
        assert r.headers["Content-Encoding"] == "gzip"
        body = await _read_at_most(r, 2 << 20)
        assert int(r.headers["Content-Length"]) == len(body)
    assert 512 << 10 < len(body) < 2 << 20
    # The gzip trailer's ISIZE is the inflated length (mod 2**32): read it, do not inflate it.
    assert struct.unpack("<I", body[-4:])[0] == 1 << 30
    inflater = zlib.decompressobj(31)
    assert inflater.decompress(body[:4096], 1 << 20) == bytes(1 << 20)


async def test_endless_body_never_ends_and_the_market_keeps_serving(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """endless_body streams a chunked JSON array past any limit while other venues still answer."""
    market = await start_market(_poison("kucoin", "endless_body"))
    async with http.get(market.base_urls()["kucoin"] + TICKER["kucoin"]) as r:
        assert r.status == 200
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in r.headers
        head = await r.content.readexactly(4 << 20)
        assert head.startswith(b'[{"a":1},{"a":1},')
        other = market.base_urls()["okx"] + TICKER["okx"]
        status, _, _ = await asyncio.wait_for(_json(http, other), timeout=5)
        assert status == 200
        assert len(await r.content.readexactly(4 << 20)) == 4 << 20
