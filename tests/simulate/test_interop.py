"""Interoperability: the real venue modules read the simulator's answers and get its prices."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import DEFAULT_MARKETS, VENUE_NAMES, SimulatedMarket
from depeg_monitor.venues import VENUES, ErrorKind, Request, Response, VenueError, VenueSpec

from .conftest import StartMarket

SCENARIO: dict[str, Any] = {
    "scenario": {"duration": 100, "noise": 0.0002, "seed": 9},
    "coins": {
        "USDC": {"segments": [{"kind": "move", "to": 0.9, "duration": 20}]},
        "USDT": {"segments": [{"kind": "move", "to": 1.01, "duration": 20}]},
    },
}


async def _fetch(http: aiohttp.ClientSession, base_url: str, req: Request) -> Response:
    async with http.get(base_url + req.path, params=list(req.params)) as r:
        return Response(r.status, await r.text(), dict(r.headers))


async def _poll(
    http: aiohttp.ClientSession, market: SimulatedMarket, spec: VenueSpec, now: float
) -> dict[str, float]:
    """List the venue's markets, then poll them the way the collector does: market → price."""
    base_url = market.base_urls()[spec.name]
    listing = spec.parse_listing(await _fetch(http, base_url, spec.listing))
    wanted = market.scenario.markets(spec.name)
    spelled = {spec.symbol(m): m for m in wanted}
    assert set(spelled) <= set(listing), f"{spec.name} listing lacks {set(spelled) - set(listing)}"
    keys = {listing[s]: m for s, m in spelled.items()}
    prices: dict[str, float] = {}
    for req in spec.requests(list(spelled)):
        resp = await _fetch(http, base_url, req)
        for q in spec.parse(req, resp, keys, now):
            prices[f"{q.coin}/{q.quote_ccy}"] = q.price
    return prices


@pytest.mark.parametrize("venue", VENUE_NAMES)
async def test_venue_module_reads_the_scripted_prices(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock, venue: str
) -> None:
    """Mid-move, every market the venue lists parses to the simulator's price_at value."""
    market = await start_market(SCENARIO)
    clock.advance(12.5)
    prices = await _poll(http, market, VENUES[venue], clock.now())
    assert set(prices) == set(market.scenario.markets(venue))
    for m, price in prices.items():
        base, quote = m.split("/")
        assert price == pytest.approx(market.price_at(venue, base, quote, 12.5), abs=1e-5), m


async def test_venue_modules_classify_the_simulated_faults(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Rate limits, bans and garbage from the simulator land in the venue modules' error kinds."""
    faults = [
        {"venue": "kraken", "kind": "rate_limit", "start": 0, "end": 50},
        {"venue": "okx", "kind": "rate_limit", "start": 0, "end": 50},
        {"venue": "binance", "kind": "rate_limit", "start": 0, "end": 50, "ban_after": 1},
        {"venue": "kucoin", "kind": "garbage", "start": 0, "end": 50},
        {"venue": "bybit", "kind": "garbage", "mode": "missing_fields", "start": 0, "end": 50},
        {"venue": "gemini", "kind": "down", "mode": "http500", "start": 0, "end": 50},
    ]
    market = await start_market({"scenario": {"duration": 100}, "faults": faults})
    expected = {
        "kraken": [ErrorKind.RATE_LIMITED],
        "okx": [ErrorKind.RATE_LIMITED],
        "binance": [ErrorKind.RATE_LIMITED, ErrorKind.BANNED],
        "kucoin": [ErrorKind.MALFORMED],
        "bybit": [ErrorKind.MALFORMED],
        "gemini": [ErrorKind.SERVER_ERROR],
    }
    for venue, kinds in expected.items():
        spec = VENUES[venue]
        symbols = [spec.symbol(m) for m in market.scenario.markets(venue)]
        req = spec.requests(symbols)[0]
        keys = {s: m for s, m in zip(symbols, market.scenario.markets(venue), strict=True)}
        seen = []
        for _ in kinds:
            resp = await _fetch(http, market.base_urls()[venue], req)
            with pytest.raises(VenueError) as err:
                spec.parse(req, resp, keys, 0.0)
            seen.append(err.value.kind)
        assert seen == kinds, venue


@pytest.mark.parametrize("venue", ["binance", "kraken", "coinbase", "bitstamp", "gemini"])
async def test_venue_modules_see_a_delisted_market_as_unknown_until_relisted(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock, venue: str
) -> None:
    """While DAI is delisted the real parser says unknown market and the listing lacks it."""
    spec = VENUES[venue]
    dai = next(m for m in DEFAULT_MARKETS[venue] if m.startswith("DAI/"))
    fault = {"venue": venue, "kind": "delisted", "markets": [dai], "start": 0, "end": 30}
    market = await start_market({"scenario": {"duration": 100}, "faults": [fault]})
    base_url = market.base_urls()[venue]
    symbols = [spec.symbol(m) for m in market.scenario.markets(venue)]
    keys = dict(zip(symbols, market.scenario.markets(venue), strict=True))
    req = next(r for r in spec.requests(symbols) if spec.symbol(dai) in r.symbols)
    with pytest.raises(VenueError) as err:
        spec.parse(req, await _fetch(http, base_url, req), keys, clock.now())
    assert err.value.kind is ErrorKind.UNKNOWN_MARKET
    assert spec.symbol(dai) not in spec.parse_listing(await _fetch(http, base_url, spec.listing))
    clock.advance(30)
    assert spec.symbol(dai) in spec.parse_listing(await _fetch(http, base_url, spec.listing))
    quotes = spec.parse(req, await _fetch(http, base_url, req), keys, clock.now())
    assert "DAI" in {q.coin for q in quotes}
