"""The server answers each venue's paths with the real payload shapes, types and units."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import DEFAULT_MARKETS, VENUE_NAMES, SimulatedMarket

from ..payloads import payload
from .conftest import StartMarket

CALM: dict[str, Any] = {"scenario": {"duration": 600, "noise": 0.0}}


def example(name: str) -> Any:
    return payload(name)


def shape(x: Any) -> Any:
    """Keys and JSON types of a payload (a list of objects by its first element)."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        if x and isinstance(x[0], dict):
            return [shape(x[0])]
        return [shape(v) for v in x]
    return type(x).__name__


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, Any]:
    async with http.get(url) as r:
        text = await r.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return r.status, body, r.headers


def _rename(obj: Any, old: str, new: str) -> Any:
    return {new if k == old else k: v for k, v in obj.items()}


# (venue, path below the prefix, shared example file, how to line the example up)
SHAPES: list[tuple[str, str, str, Any]] = [
    ("binance", "/api/v3/ticker/24hr?symbol=USDCUSDT", "binance_ticker_24hr.json", None),
    (
        "binance",
        '/api/v3/ticker/24hr?symbols=["USDCUSDT","DAIUSDT"]',
        "binance_ticker_24hr_symbols.json",
        None,
    ),
    (
        "binance",
        '/api/v3/ticker/24hr?symbols=["USDCUSDT"]&type=MINI',
        "binance_ticker_24hr_mini_symbols.json",
        None,
    ),
    ("binance", "/api/v3/ticker/bookTicker?symbol=USDCUSDT", "binance_book_ticker.json", None),
    (
        "binance",
        '/api/v3/ticker/bookTicker?symbols=["USDCUSDT","DAIUSDT"]',
        "binance_book_ticker_symbols.json",
        None,
    ),
    ("coinbase", "/products/USDT-USD/ticker", "coinbase_ticker_stablecoin.json", None),
    ("coinbase", "/products/USDT-USD/stats", "coinbase_stats.json", None),
    (
        "kraken",
        "/0/public/Ticker?pair=USDTUSD",
        "kraken_ticker.json",
        lambda e: {"error": [], "result": _rename(e["result"], "XXBTZUSD", "USDTZUSD")},
    ),
    ("bitstamp", "/api/v2/ticker/usdtusd/", "bitstamp_ticker.json", None),
    ("okx", "/api/v5/market/ticker?instId=USDC-USDT", "okx_ticker.json", None),
    ("okx", "/api/v5/market/tickers?instType=SPOT", "okx_tickers.json", None),
    ("bybit", "/v5/market/tickers?category=spot&symbol=USDCUSDT", "bybit_tickers_spot.json", None),
    (
        "gemini",
        "/v1/pubticker/usdtusd",
        "gemini_pubticker.json",
        lambda e: {**e, "volume": _rename(_rename(e["volume"], "BTC", "USDT"), "USD", "USD")},
    ),
    ("gemini", "/v2/ticker/usdtusd", "gemini_ticker_v2.json", None),
    ("kucoin", "/api/v1/market/stats?symbol=USDC-USDT", "kucoin_market_stats.json", None),
    ("kucoin", "/api/v1/market/allTickers", "kucoin_all_tickers.json", None),
    (
        "kucoin",
        "/api/v1/market/orderbook/level1?symbol=USDC-USDT",
        "kucoin_orderbook_level1.json",
        None,
    ),
    (
        "coingecko",
        "/api/v3/simple/price?ids=tether&vs_currencies=usd&include_market_cap=true"
        "&include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true",
        "coingecko_simple_price.json",
        lambda e: _rename(e, "bitcoin", "tether"),
    ),
]


@pytest.mark.parametrize(("venue", "path", "file", "align"), SHAPES, ids=lambda v: str(v)[:40])
async def test_ticker_answers_have_the_real_shape(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    venue: str,
    path: str,
    file: str,
    align: Any,
) -> None:
    """Each ticker answer has the same keys and JSON types (strings vs numbers) as the real one."""
    market = await start_market(CALM)
    status, body, _ = await get(http, market.base_urls()[venue] + path)
    expected = example(file)
    if align is not None:
        expected = align(expected)
    assert status == 200
    assert shape(body) == shape(expected)


async def test_timestamps_use_each_venues_unit(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """Binance, OKX, Bybit, KuCoin send ms; Bitstamp and CoinGecko s; Coinbase ISO-8601."""
    market = await start_market(CALM)
    u = market.base_urls()
    now_ms = int(clock.now() * 1000)
    _, b, _ = await get(http, u["binance"] + "/api/v3/ticker/24hr?symbol=USDCUSDT")
    assert b["closeTime"] == now_ms
    _, o, _ = await get(http, u["okx"] + "/api/v5/market/ticker?instId=USDC-USDT")
    assert o["data"][0]["ts"] == str(now_ms)
    _, y, _ = await get(http, u["bybit"] + "/v5/market/tickers?category=spot")
    assert y["time"] == now_ms
    _, k, _ = await get(http, u["kucoin"] + "/api/v1/market/stats?symbol=USDC-USDT")
    assert k["data"]["time"] == now_ms
    _, s, _ = await get(http, u["bitstamp"] + "/api/v2/ticker/usdtusd/")
    assert s["timestamp"] == str(int(clock.now()))
    _, g, _ = await get(
        http,
        u["coingecko"] + "/api/v3/simple/price?ids=tether&vs_currencies=usd"
        "&include_last_updated_at=true",
    )
    assert g["tether"]["last_updated_at"] == int(clock.now())
    _, c, _ = await get(http, u["coinbase"] + "/products/USDT-USD/ticker")
    assert c["time"] == "2023-11-14T22:13:20.000000Z"


async def test_batches_return_what_was_asked(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Binance symbols=[…], Kraken pair=A,B and CoinGecko ids=… return exactly those markets."""
    market = await start_market(CALM)
    u = market.base_urls()
    _, b, _ = await get(http, u["binance"] + '/api/v3/ticker/24hr?symbols=["DAIUSDT","USDCUSDT"]')
    assert [r["symbol"] for r in b] == ["DAIUSDT", "USDCUSDT"]
    _, k, _ = await get(http, u["kraken"] + "/0/public/Ticker?pair=USDTUSD,USDCUSD,DAIUSD")
    assert set(k["result"]) == {"USDTZUSD", "USDCUSD", "DAIUSD"}
    _, g, _ = await get(
        http, u["coingecko"] + "/api/v3/simple/price?ids=tether,usd-coin,nope&vs_currencies=usd"
    )
    assert set(g) == {"tether", "usd-coin"}
    assert isinstance(g["tether"]["usd"], float)


async def test_listings_name_the_scenarios_markets(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Every listing endpoint names the venue's markets in the venue's own spelling."""
    market = await start_market(CALM)
    u = market.base_urls()
    _, b, _ = await get(http, u["binance"] + "/api/v3/exchangeInfo")
    assert {(s["baseAsset"], s["quoteAsset"], s["status"]) for s in b["symbols"]} == {
        (*m.split("/"), "TRADING") for m in DEFAULT_MARKETS["binance"]
    }
    _, b1, _ = await get(http, u["binance"] + '/api/v3/exchangeInfo?symbols=["USDCUSDT"]')
    assert [s["symbol"] for s in b1["symbols"]] == ["USDCUSDT"]
    _, c, _ = await get(http, u["coinbase"] + "/products")
    assert {p["id"] for p in c} == {"USDT-USD", "DAI-USD", "PYUSD-USD", "USDT-USDC"}
    _, k, _ = await get(http, u["kraken"] + "/0/public/AssetPairs")
    assert k["result"]["USDTZUSD"]["altname"] == "USDTUSD"
    assert k["result"]["USDTZUSD"]["wsname"] == "USDT/USD"
    assert {p["wsname"] for p in k["result"].values()} == set(DEFAULT_MARKETS["kraken"])
    _, s, _ = await get(http, u["bitstamp"] + "/api/v2/markets/")
    assert {m["market_symbol"] for m in s} == {"usdtusd", "usdcusd", "daiusd", "pyusdusd"}
    _, s2, _ = await get(http, u["bitstamp"] + "/api/v2/trading-pairs-info/")
    assert {m["url_symbol"] for m in s2} == {"usdtusd", "usdcusd", "daiusd", "pyusdusd"}
    _, o, _ = await get(http, u["okx"] + "/api/v5/public/instruments?instType=SPOT")
    assert {i["instId"] for i in o["data"]} == {m.replace("/", "-") for m in DEFAULT_MARKETS["okx"]}
    assert o["code"] == "0"
    _, y, _ = await get(http, u["bybit"] + "/v5/market/instruments-info?category=spot")
    assert {i["symbol"] for i in y["result"]["list"]} == {
        m.replace("/", "") for m in DEFAULT_MARKETS["bybit"]
    }
    _, g, _ = await get(http, u["gemini"] + "/v1/symbols")
    assert g == ["usdtusd", "daiusd", "pyusdusd"]
    _, gd, _ = await get(http, u["gemini"] + "/v1/symbols/details/usdtusd")
    assert (gd["base_currency"], gd["quote_currency"]) == ("USDT", "USD")
    _, ku, _ = await get(http, u["kucoin"] + "/api/v2/symbols")
    assert ku["code"] == "200000"
    assert {s["symbol"] for s in ku["data"]} == {
        m.replace("/", "-") for m in DEFAULT_MARKETS["kucoin"]
    }
    _, cg, _ = await get(http, u["coingecko"] + "/api/v3/coins/list")
    assert {"id": "tether", "symbol": "usdt", "name": "Tether"} in cg
    assert len(cg) == 8


# (venue, path of an unlisted market, status, shared example of the refusal)
UNKNOWN: list[tuple[str, str, int, str]] = [
    ("binance", "/api/v3/ticker/24hr?symbol=NOPEUSDT", 400, "binance_error_invalid_symbol.json"),
    (
        "binance",
        '/api/v3/ticker/24hr?symbols=["USDCUSDT","NOPEUSDT"]',
        400,
        "binance_error_invalid_symbol.json",
    ),
    ("coinbase", "/products/NOPE-USD/ticker", 404, "coinbase_error_unknown_product.json"),
    ("kraken", "/0/public/Ticker?pair=USDTUSD,NOPEUSD", 200, "kraken_error_unknown_pair.json"),
    ("okx", "/api/v5/market/ticker?instId=NOPE-USDT", 200, "okx_error_unknown_instrument.json"),
    (
        "bybit",
        "/v5/market/tickers?category=spot&symbol=NOPEUSDT",
        200,
        "bybit_error_unknown_symbol.json",
    ),
    ("gemini", "/v1/pubticker/nopeusd", 400, "gemini_error_invalid_symbol.json"),
]


@pytest.mark.parametrize(("venue", "path", "status", "file"), UNKNOWN, ids=lambda v: str(v)[:40])
async def test_unknown_markets_get_the_venues_own_refusal(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    venue: str,
    path: str,
    status: int,
    file: str,
) -> None:
    """Asking for a market the venue does not list gets the venue's real error status and body."""
    market = await start_market(CALM)
    got_status, body, _ = await get(http, market.base_urls()[venue] + path)
    assert got_status == status
    assert shape(body) == shape(example(file))


async def test_each_venue_has_its_own_prefix(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """A venue's paths answer only under its own prefix, and env_overrides point there."""
    market = await start_market(CALM)
    port = market.port
    assert set(market.base_urls()) == set(VENUE_NAMES)
    assert market.env_overrides()["DEPEG_VENUES__KRAKEN__BASE_URL"] == (
        f"http://127.0.0.1:{port}/kraken"
    )
    status, _, _ = await get(http, f"http://127.0.0.1:{port}/kraken/0/public/Ticker")
    assert status == 200
    status, _, _ = await get(http, f"http://127.0.0.1:{port}/binance/0/public/Ticker")
    assert status == 404
    status, _, _ = await get(http, f"http://127.0.0.1:{port}/0/public/Ticker")
    assert status == 404


async def test_served_prices_follow_the_clock(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """With time_scale 2, ten clock seconds are twenty scenario seconds along the path."""
    market = await start_market(
        {
            "scenario": {"duration": 100, "noise": 0.0, "time_scale": 2.0},
            "coins": {"USDC": {"segments": [{"kind": "move", "to": 0.8, "duration": 40}]}},
        }
    )
    url = market.base_urls()["kraken"] + "/0/public/Ticker?pair=USDCUSD"
    _, before, _ = await get(http, url)
    clock.advance(10)
    _, after, _ = await get(http, url)
    assert float(before["result"]["USDCUSD"]["c"][0]) == pytest.approx(1.0)
    assert float(after["result"]["USDCUSD"]["c"][0]) == pytest.approx(0.9)
    assert market.scenario_time() == pytest.approx(20.0)
    assert market.wall_time(20.0) == pytest.approx(clock.now())
    assert market.price_at("kraken", "USDC", "USD", 20.0) == pytest.approx(0.9)


async def test_port_before_start_is_an_error(clock: ManualClock) -> None:
    """Asking for the port of a market that is not running says so."""
    from depeg_monitor.simulate import parse_scenario

    market = SimulatedMarket(parse_scenario(CALM), clock)
    with pytest.raises(RuntimeError, match="not running"):
        _ = market.port
