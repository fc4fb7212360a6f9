"""The two-venue-dislocation scenario: one venue crashes alone, then both fall, over HTTP."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from depeg_monitor.clock import ManualClock
from depeg_monitor.config import load_settings
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import Assessment, Quote, Severity
from depeg_monitor.rules import detection_rules
from depeg_monitor.simulate import SimulatedMarket, load_scenario
from depeg_monitor.venues import VENUES, Request, Response

ROOT = Path(__file__).parents[2]
SCENARIO = ROOT / "scenarios/two-venue-dislocation.toml"


async def _fetch(http: aiohttp.ClientSession, base_url: str, req: Request) -> Response:
    async with http.get(base_url + req.path, params=list(req.params)) as r:
        return Response(r.status, await r.text(), dict(r.headers))


async def _quotes(
    http: aiohttp.ClientSession, market: SimulatedMarket, venue: str, now: float
) -> list[Quote]:
    """One poll of a venue the way the collector makes it: its listing, then its tickers."""
    spec = VENUES[venue]
    base_url = market.base_urls()[venue]
    listing = spec.parse_listing(await _fetch(http, base_url, spec.listing))
    spelled = {spec.symbol(m): m for m in market.scenario.markets(venue)}
    keys = {listing[s]: m for s, m in spelled.items()}
    quotes: list[Quote] = []
    for req in spec.requests(list(spelled)):
        quotes.extend(spec.parse(req, await _fetch(http, base_url, req), keys, now))
    return quotes


def test_only_kraken_and_bitstamp_are_served() -> None:
    """The scenario loads, serves exactly two venues, and both list USDC."""
    scenario = load_scenario(SCENARIO)
    assert scenario.enabled_venues() == ("kraken", "bitstamp")
    assert all("USDC/USD" in scenario.markets(v) for v in scenario.enabled_venues())


async def test_a_lone_crash_is_a_dislocation_and_both_falling_is_critical(
    clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    """Polled over HTTP with the example configuration's detection rules: while Kraken alone
    shows 0.65 the USDC price stays Bitstamp's ~1.00 with Kraken apart and nothing fires;
    the first poll with both venues at 0.90 is critical."""
    detector = Detector(detection_rules(load_settings(ROOT / "config.example.toml")))
    async with SimulatedMarket(load_scenario(SCENARIO), clock) as market:
        start = clock.now()

        async def poll_at(t: float) -> Assessment:
            clock.advance(start + t - clock.now())
            now = clock.now()
            quotes = await _quotes(http, market, "kraken", now)
            quotes += await _quotes(http, market, "bitstamp", now)
            return next(a for a in detector.step(quotes, now) if a.coin == "USDC")

        calm = await poll_at(30)
        assert calm.severity == Severity.NONE and calm.snapshot.dislocation is None
        for t in range(70, 190, 10):
            lone = await poll_at(t)
            assert lone.severity == Severity.NONE, t
            assert lone.deviation is not None and abs(lone.deviation) < 0.002, t
            assert [u.venue for u in lone.snapshot.used] == ["bitstamp"], t
            apart = lone.snapshot.dislocation
            assert apart is not None and {v.venue for v in apart.venues} == {"kraken"}, t
            assert apart.gap < -0.3, t
        assert (await poll_at(240)).severity == Severity.NONE
        both = await poll_at(250)
        assert both.severity == Severity.CRITICAL
        assert both.snapshot.dislocation is None
