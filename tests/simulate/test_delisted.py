"""A delisted market answers as the venue's real unknown market, leaves the listing, and comes
back (relisted) when the window ends."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock

from ..payloads import payload
from .conftest import StartMarket


def _delisted(venue: str, *markets: str) -> dict[str, Any]:
    fault = {"venue": venue, "kind": "delisted", "markets": list(markets), "start": 0, "end": 10}
    return {"scenario": {"duration": 100, "noise": 0.0}, "faults": [fault]}


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as r:
        return r.status, json.loads(await r.text())


def _real(name: str) -> Any:
    return payload(name)


# (venue, delisted market, request naming it (with a healthy market where the venue batches),
#  status, shared example of the refusal (None: not captured), listing path, listing spelling)
REFUSALS: list[tuple[str, str, str, int, str | None, str, str]] = [
    (
        "binance",
        "DAI/USDT",
        '/api/v3/ticker/24hr?symbols=["USDCUSDT","DAIUSDT"]',
        400,
        "binance_error_invalid_symbol.json",
        "/api/v3/exchangeInfo",
        "DAIUSDT",
    ),
    (
        "kraken",
        "DAI/USD",
        "/0/public/Ticker?pair=USDTUSD,DAIUSD",
        200,
        "kraken_error_unknown_pair.json",
        "/0/public/AssetPairs",
        "DAIUSD",
    ),
    (
        "coinbase",
        "DAI/USD",
        "/products/DAI-USD/ticker",
        404,
        "coinbase_error_unknown_product.json",
        "/products",
        "DAI-USD",
    ),
    (
        "gemini",
        "DAI/USD",
        "/v1/pubticker/daiusd",
        400,
        "gemini_error_invalid_symbol.json",
        "/v1/symbols",
        "daiusd",
    ),
    ("bitstamp", "DAI/USD", "/api/v2/ticker/daiusd/", 404, None, "/api/v2/markets/", "daiusd"),
]


@pytest.mark.parametrize(
    ("venue", "market", "path", "status", "file", "listing", "spelled"),
    REFUSALS,
    ids=[r[0] for r in REFUSALS],
)
async def test_delisted_market_gets_the_venues_real_refusal(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    clock: ManualClock,
    venue: str,
    market: str,
    path: str,
    status: int,
    file: str | None,
    listing: str,
    spelled: str,
) -> None:
    """A request naming the delisted market fails as at the real venue; after `end` it works."""
    sim = await start_market(_delisted(venue, market))
    base = sim.base_urls()[venue]
    got, body = await _get(http, base + path)
    assert got == status
    if file is not None:
        # The same body, bar Gemini's message, which quotes the symbol asked for.
        real = _real(file)
        assert body.keys() == real.keys()
        assert {k: v for k, v in body.items() if k != "message"} == {
            k: v for k, v in real.items() if k != "message"
        }
    _, listed = await _get(http, base + listing)
    assert f'"{spelled}"' not in json.dumps(listed)
    clock.advance(10)
    got, _ = await _get(http, base + path)
    assert got == 200
    _, listed = await _get(http, base + listing)
    assert f'"{spelled}"' in json.dumps(listed)


async def test_one_delisted_symbol_fails_a_whole_binance_batch(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Binance refuses the whole symbols=[…] batch; a batch without the market still answers."""
    sim = await start_market(_delisted("binance", "DAI/USDT"))
    base = sim.base_urls()["binance"]
    assert (await _get(http, base + '/api/v3/ticker/24hr?symbols=["DAIUSDT","USDCUSDT"]'))[0] == 400
    status, rows = await _get(http, base + '/api/v3/ticker/24hr?symbols=["USDCUSDT","TUSDUSDT"]')
    assert status == 200
    assert [r["symbol"] for r in rows] == ["USDCUSDT", "TUSDUSDT"]


# (venue, the all-markets ticker, the delisted and a healthy market's spelling, listing path)
OMITTED: list[tuple[str, str, str, str, str]] = [
    (
        "okx",
        "/api/v5/market/tickers?instType=SPOT",
        "DAI-USDT",
        "USDC-USDT",
        "/api/v5/public/instruments?instType=SPOT",
    ),
    (
        "bybit",
        "/v5/market/tickers?category=spot",
        "DAIUSDT",
        "USDCUSDT",
        "/v5/market/instruments-info?category=spot",
    ),
    ("kucoin", "/api/v1/market/allTickers", "DAI-USDT", "USDC-USDT", "/api/v2/symbols"),
    (
        "coingecko",
        "/api/v3/simple/price?ids=dai,tether&vs_currencies=usd",
        "dai",
        "tether",
        "/api/v3/coins/list",
    ),
]


@pytest.mark.parametrize(
    ("venue", "path", "spelled", "healthy", "listing"), OMITTED, ids=[o[0] for o in OMITTED]
)
async def test_all_at_once_venues_simply_omit_the_market(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    clock: ManualClock,
    venue: str,
    path: str,
    spelled: str,
    healthy: str,
    listing: str,
) -> None:
    """OKX, Bybit, KuCoin and CoinGecko leave the market out of answers and listing, then back."""
    market = {"okx": "DAI/USDT", "bybit": "DAI/USDT", "kucoin": "DAI/USDT"}.get(venue, "DAI/USD")
    sim = await start_market(_delisted(venue, market))
    base = sim.base_urls()[venue]
    status, body = await _get(http, base + path)
    assert status == 200
    assert f'"{spelled}"' not in json.dumps(body)
    assert f'"{healthy}"' in json.dumps(body)
    _, listed = await _get(http, base + listing)
    assert f'"{spelled}"' not in json.dumps(listed)
    clock.advance(10)
    assert f'"{spelled}"' in json.dumps((await _get(http, base + path))[1])
    assert f'"{spelled}"' in json.dumps((await _get(http, base + listing))[1])
