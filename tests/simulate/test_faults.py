"""Scripted faults appear in their windows with each venue's real status, headers and body."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock

from ..payloads import payload
from .conftest import StartMarket

TICKER = {
    "binance": "/api/v3/ticker/24hr?symbol=USDCUSDT",
    "coinbase": "/products/USDT-USD/ticker",
    "kraken": "/0/public/Ticker?pair=USDTUSD",
    "bitstamp": "/api/v2/ticker/usdtusd/",
    "okx": "/api/v5/market/ticker?instId=USDC-USDT",
    "bybit": "/v5/market/tickers?category=spot&symbol=USDCUSDT",
    "gemini": "/v1/pubticker/usdtusd",
    "kucoin": "/api/v1/market/stats?symbol=USDC-USDT",
    "coingecko": "/api/v3/simple/price?ids=tether&vs_currencies=usd",
}


def _scenario(*faults: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": {"duration": 100, "noise": 0.0}, "faults": list(faults)}


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, Any]:
    async with http.get(url) as r:
        return r.status, await r.text(), r.headers


# (venue, status, shared example of the body or None, whether Retry-After is sent)
RATE_LIMITS: list[tuple[str, int, str | None, bool]] = [
    ("binance", 429, "binance_error_429.json", True),
    ("coinbase", 429, "coinbase_error_429.json", True),
    ("kraken", 200, "kraken_error_rate_limit.json", False),
    ("bitstamp", 429, None, True),
    ("okx", 429, "okx_error_429.json", True),
    ("bybit", 403, None, False),
    ("gemini", 429, None, True),
    ("kucoin", 429, "kucoin_error_429.json", False),
    ("coingecko", 429, "coingecko_error_429.json", True),
]


@pytest.mark.parametrize(("venue", "status", "file", "has_retry_after"), RATE_LIMITS)
async def test_rate_limit_window_answers_like_the_venue(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    clock: ManualClock,
    venue: str,
    status: int,
    file: str | None,
    has_retry_after: bool,
) -> None:
    """Inside the window the venue's own rate-limit answer comes back; before and after, prices."""
    market = await start_market(
        _scenario({"venue": venue, "kind": "rate_limit", "start": 10, "end": 40})
    )
    url = market.base_urls()[venue] + TICKER[venue]
    assert (await _get(http, url))[0] == 200
    clock.advance(15)
    got, text, headers = await _get(http, url)
    assert got == status
    if file is not None:
        body, real = json.loads(text), payload(file)
        assert body.keys() == real.keys()
        assert body.get("code") == real.get("code")
        assert body.get("error") == real.get("error")
    if has_retry_after:
        assert headers["Retry-After"] == "25"
    else:
        assert "Retry-After" not in headers
    clock.advance(25)
    got, text, _ = await _get(http, url)
    assert got == 200
    assert "error" not in json.loads(text) or json.loads(text)["error"] == []


async def test_binance_bans_with_418_after_repeated_429s(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """Binance answers 429 ban_after times, then 418 with the ban end and Retry-After."""
    market = await start_market(
        _scenario({"venue": "binance", "kind": "rate_limit", "start": 0, "end": 60, "ban_after": 2})
    )
    url = market.base_urls()["binance"] + TICKER["binance"]
    statuses = [(await _get(http, url))[0] for _ in range(4)]
    assert statuses == [429, 429, 418, 418]
    _, text, headers = await _get(http, url)
    body = json.loads(text)
    assert body["code"] == -1003
    assert f"IP banned until {int((clock.now() + 60) * 1000)}" in body["msg"]
    assert headers["Retry-After"] == "60"


async def test_retry_after_is_in_clock_seconds(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """At time_scale 10 a 60-scenario-second window lasts 6 clock seconds, so Retry-After is 6."""
    data = _scenario({"venue": "okx", "kind": "rate_limit", "start": 0, "end": 60})
    data["scenario"]["time_scale"] = 10.0
    market = await start_market(data)
    _, _, headers = await _get(http, market.base_urls()["okx"] + TICKER["okx"])
    assert headers["Retry-After"] == "6"


async def test_down_drop_closes_the_connection_only_in_its_window(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A dropped venue gives the client a disconnect; other venues keep answering."""
    market = await start_market(
        _scenario({"venue": "bitstamp", "kind": "down", "start": 5, "end": 10})
    )
    url = market.base_urls()["bitstamp"] + TICKER["bitstamp"]
    clock.advance(5)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(http, url)
    assert (await _get(http, market.base_urls()["kraken"] + TICKER["kraken"]))[0] == 200
    clock.advance(5)
    assert (await _get(http, url))[0] == 200


async def test_down_http500_answers_500(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """mode http500 answers HTTP 500 with an HTML page instead of JSON."""
    market = await start_market(
        _scenario({"venue": "gemini", "kind": "down", "mode": "http500", "start": 0, "end": 10})
    )
    status, text, _ = await _get(http, market.base_urls()["gemini"] + TICKER["gemini"])
    assert status == 500
    assert text.startswith("<html>")


async def test_down_hang_outlasts_the_client_timeout(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """mode hang never answers, so the client's own timeout fires."""
    market = await start_market(
        _scenario({"venue": "kucoin", "kind": "down", "mode": "hang", "start": 0, "end": 10})
    )
    url = market.base_urls()["kucoin"] + TICKER["kucoin"]
    with pytest.raises(TimeoutError):
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=0.2)) as r:
            await r.read()


async def test_garbage_malformed_is_not_json(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Malformed garbage keeps the status but the body does not parse as JSON."""
    market = await start_market(
        _scenario({"venue": "okx", "kind": "garbage", "start": 0, "end": 10})
    )
    status, text, _ = await _get(http, market.base_urls()["okx"] + TICKER["okx"])
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert text.startswith('{"code":"0"')


@pytest.mark.parametrize("venue", list(TICKER))
async def test_garbage_missing_fields_drops_every_price(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """missing_fields answers valid JSON without any of the fields a price is read from."""
    market = await start_market(
        _scenario(
            {"venue": venue, "kind": "garbage", "mode": "missing_fields", "start": 0, "end": 10}
        )
    )
    status, text, _ = await _get(http, market.base_urls()[venue] + TICKER[venue])
    body = json.loads(text)
    for key in ("lastPrice", "price", "last", "c", "usd", "bidPx", "bid1Price", "buy", "bid"):
        assert f'"{key}"' not in json.dumps(body), key
    assert status == 200


async def test_garbage_html_is_a_200_web_page(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """html garbage answers HTTP 200 with an HTML error page, as a misconfigured proxy does."""
    market = await start_market(
        _scenario({"venue": "bybit", "kind": "garbage", "mode": "html", "start": 0, "end": 10})
    )
    status, text, _ = await _get(http, market.base_urls()["bybit"] + TICKER["bybit"])
    assert status == 200
    assert "<html>" in text


async def test_wild_print_is_served_in_its_window_only(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A wild print shows as the last price of its market while the window lasts."""
    market = await start_market(
        _scenario(
            {
                "venue": "kraken",
                "kind": "wild_print",
                "markets": ["USDT/USD"],
                "price": 0.8,
                "start": 2,
                "end": 4,
            }
        )
    )
    url = market.base_urls()["kraken"] + TICKER["kraken"]
    prices = []
    for _ in range(3):
        clock.advance(1.5)
        _, text, _ = await _get(http, url)
        prices.append(float(json.loads(text)["result"]["USDTZUSD"]["c"][0]))
    assert prices == [pytest.approx(1.0), 0.8, pytest.approx(1.0)]


async def test_stale_serves_older_data_with_older_timestamps(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A stale window answers with the price and the timestamp from `age` seconds earlier."""
    market = await start_market(
        {
            "scenario": {"duration": 100, "noise": 0.0},
            "coins": {"USDC": {"segments": [{"kind": "move", "to": 0.9, "duration": 40}]}},
            "faults": [{"venue": "okx", "kind": "stale", "age": 10, "start": 20, "end": 30}],
        }
    )
    url = market.base_urls()["okx"] + TICKER["okx"]
    clock.advance(25)
    _, text, _ = await _get(http, url)
    row = json.loads(text)["data"][0]
    assert float(row["last"]) == pytest.approx(market.price_at("okx", "USDC", "USDT", 15))
    assert int(row["ts"]) == int((clock.now() - 10) * 1000)
    clock.advance(5)
    _, text, _ = await _get(http, url)
    assert float(json.loads(text)["data"][0]["last"]) == pytest.approx(0.925)


@pytest.mark.parametrize(
    ("override", "header"),
    [
        ({"retry_after": 1e12}, "1000000000000"),
        ({"retry_after": 2.5}, "2.5"),
        ({"retry_after": float("inf")}, "inf"),
        ({"retry_after_text": "NaN"}, "NaN"),
        ({"retry_after_text": "-5"}, "-5"),
    ],
)
async def test_scripted_retry_after_is_sent_verbatim(
    start_market: StartMarket,
    http: aiohttp.ClientSession,
    override: dict[str, Any],
    header: str,
) -> None:
    """A rate limit's retry_after (or retry_after_text) replaces the computed Retry-After as is."""
    fault = {"venue": "okx", "kind": "rate_limit", "start": 0, "end": 10, **override}
    market = await start_market(_scenario(fault))
    status, _, headers = await _get(http, market.base_urls()["okx"] + TICKER["okx"])
    assert status == 429
    assert headers["Retry-After"] == header


async def test_scripted_wait_reaches_kucoins_millisecond_header(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """KuCoin says its wait in gw-ratelimit-reset milliseconds, so 1e12 s is sent as 1e15 ms."""
    fault = {"venue": "kucoin", "kind": "rate_limit", "start": 0, "end": 10, "retry_after": 1e12}
    market = await start_market(_scenario(fault))
    _, _, headers = await _get(http, market.base_urls()["kucoin"] + TICKER["kucoin"])
    assert headers["gw-ratelimit-reset"] == "1000000000000000"
