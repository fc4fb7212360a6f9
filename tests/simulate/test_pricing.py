"""Price paths: scripted levels at scripted times, USDT-consistent cross prices, volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from depeg_monitor.simulate import PriceModel, ScenarioError, load_scenario, parse_scenario


def _model(**extra: Any) -> PriceModel:
    data: dict[str, Any] = {
        "scenario": {"duration": 300, "noise": 0.0},
        "coins": {
            "USDC": {
                "segments": [
                    {"kind": "calm", "duration": 10},
                    {"kind": "move", "to": 0.90, "duration": 20},
                    {"kind": "hold", "duration": 30},
                    {"kind": "recover", "duration": 40},
                ]
            },
            "USDT": {"segments": [{"kind": "calm", "duration": 10, "level": 1.02}]},
        },
    }
    data.update(extra)
    return PriceModel(parse_scenario(data))


def test_path_hits_the_scripted_levels_at_the_scripted_times() -> None:
    """Calm at the peg, halfway down mid-move, at the bottom while held, back at the peg after."""
    m = _model()
    assert m.usd_price("USDC", "kraken", 5) == pytest.approx(1.0)
    assert m.usd_price("USDC", "kraken", 20) == pytest.approx(0.95)
    assert m.usd_price("USDC", "kraken", 30) == pytest.approx(0.90)
    assert m.usd_price("USDC", "kraken", 59.9) == pytest.approx(0.90)
    assert m.usd_price("USDC", "kraken", 80) == pytest.approx(0.95)
    assert m.usd_price("USDC", "kraken", 100) == pytest.approx(1.0)
    assert m.usd_price("USDC", "kraken", 10_000) == pytest.approx(1.0)


def test_usdt_quoted_prices_divide_by_usdt() -> None:
    """With USDT at 1.02, USDC/USDT shows usd(USDC)/1.02 and USDT/USD shows 1.02."""
    m = _model()
    assert m.price_at("binance", "USDT", "USD", 5) == pytest.approx(1.02)
    assert m.price_at("binance", "USDC", "USDT", 5) == pytest.approx(1.0 / 1.02)
    assert m.price_at("okx", "USDC", "USDT", 30) == pytest.approx(0.90 / 1.02)
    assert m.price_at("coinbase", "USDT", "USDC", 30) == pytest.approx(1.02 / 0.90)


def test_crossing_time_finds_when_a_threshold_is_crossed() -> None:
    """The move from 1.00 to 0.90 over 20 s crosses 0.97 six seconds in, i.e. at t = 16."""
    m = _model()
    t = m.crossing_time("kraken", "USDC", "USD", 0.97, step=0.001)
    assert t == pytest.approx(16.0, abs=0.002)
    assert m.crossing_time("kraken", "USDC", "USD", 0.5) is None


def test_venue_override_lag_and_offset() -> None:
    """A venue override replaces the path; lag delays it; offset shifts it."""
    m = _model(
        coins={
            "USDC": {
                "segments": [{"kind": "move", "to": 0.9, "duration": 10}],
                "venues": {
                    "okx": {"segments": [{"kind": "move", "to": 0.8, "duration": 10}]},
                    "kraken": {"offset": -0.01},
                },
            }
        },
        venues={"coingecko": {"lag": 5}},
    )
    assert m.usd_price("USDC", "okx", 10) == pytest.approx(0.8)
    assert m.usd_price("USDC", "bitstamp", 10) == pytest.approx(0.9)
    assert m.usd_price("USDC", "kraken", 10) == pytest.approx(0.89)
    assert m.usd_price("USDC", "coingecko", 10) == pytest.approx(0.95)


def test_noise_is_bounded_and_repeatable() -> None:
    """Noise stays within its amplitude, differs between venues, and repeats for the same t."""
    m = PriceModel(parse_scenario({"scenario": {"duration": 100, "noise": 0.001, "seed": 4}}))
    prices = [m.usd_price("DAI", "kraken", t) for t in range(100)]
    assert all(0.999 <= p <= 1.001 for p in prices)
    assert len(set(prices)) > 50
    assert prices == [m.usd_price("DAI", "kraken", t) for t in range(100)]
    assert prices != [m.usd_price("DAI", "bitstamp", t) for t in range(100)]


def test_wild_print_replaces_one_market_in_its_window() -> None:
    """A wild print shows at its venue and market inside the window only."""
    m = _model(
        faults=[
            {
                "venue": "kraken",
                "kind": "wild_print",
                "markets": ["USDT/USD"],
                "price": 0.8,
                "start": 3,
                "end": 6,
            }
        ]
    )
    assert m.price_at("kraken", "USDT", "USD", 4) == 0.8
    assert m.price_at("kraken", "USDT", "USD", 6) == pytest.approx(1.02)
    assert m.price_at("bitstamp", "USDT", "USD", 4) == pytest.approx(1.02)
    assert m.price_at("kraken", "USDC", "USD", 4) == pytest.approx(1.0)


def test_volume_spikes_multiply_the_trading_rate_so_the_24h_figure_climbs() -> None:
    """A USDC spike ×8 for 10 s adds 7 × 10 s of a day's trading to USDC's 24 h volume on every
    venue, half of it half-way through, and nothing to other coins: the figure a real venue
    reports climbs while trading is fast, it never jumps by days of volume at once."""
    m = _model(
        venues={"binance": {"volume": 86_400, "volumes": {"DAI/USDT": 50}}},
        volume_spikes=[{"coin": "usdc", "start": 10, "end": 20, "factor": 8}],
    )
    assert m.volume_at("binance", "USDC/USDT", 5) == 86_400
    assert m.volume_at("binance", "USDC/USDT", 15) == pytest.approx(86_400 + 7 * 5)
    assert m.volume_at("binance", "USDC/USDT", 60) == pytest.approx(86_400 + 7 * 10)
    assert m.volume_at("binance", "DAI/USDT", 15) == 50
    tick = m.tick("binance", "USDC/USDT", 15)
    assert tick.volume_quote == pytest.approx((86_400 + 35) * 0.975 / 1.02)


def test_a_volume_spike_leaves_the_24h_figure_a_day_of_clock_time_later() -> None:
    """Played 10× faster, a day of clock time is 864,000 scenario seconds: the spike's extra
    volume counts until then and is gone after (a rate per clock second, whatever the scale)."""
    data: dict[str, Any] = {
        "scenario": {"duration": 2_000_000, "noise": 0.0, "time_scale": 10.0},
        "venues": {"kraken": {"volume": 1000}},
        "volume_spikes": [{"start": 0, "end": 86_400, "factor": 2}],
    }
    m = PriceModel(parse_scenario(data))
    assert m.volume_at("kraken", "USDC/USD", 86_400) == pytest.approx(1100)
    assert m.volume_at("kraken", "USDC/USD", 864_000) == pytest.approx(1100)
    assert m.volume_at("kraken", "USDC/USD", 864_000 + 43_200) == pytest.approx(1050)
    assert m.volume_at("kraken", "USDC/USD", 864_000 + 86_400) == pytest.approx(1000)


def test_market_lags_delay_one_market_at_every_venue_or_at_one() -> None:
    """`lags = {"USDT/USD" = 4}` keeps every venue's USDT/USD at the old USDT price for 4 s
    after USDT moves, while the USDT-quoted pairs (and USDT/USD where a venue sets its own
    lag of 0) move at once: the USDT-quoted pairs lead the USD markets by one poll."""
    usdt_falls = {
        "segments": [
            {"kind": "calm", "duration": 10},
            {"kind": "move", "to": 0.95, "duration": 0},
        ]
    }
    m = _model(
        coins={"USDT": usdt_falls},
        lags={"usdt/usd": 4},
        venues={"gemini": {"lags": {"USDT/USD": 0}}, "bitstamp": {"lags": {"USDC/USDT": 1}}},
    )
    for venue in ("kraken", "coinbase", "bitstamp"):
        assert m.price_at(venue, "USDT", "USD", 9.9) == pytest.approx(1.0)
        assert m.price_at(venue, "USDT", "USD", 13.9) == pytest.approx(1.0)
        assert m.price_at(venue, "USDT", "USD", 14.0) == pytest.approx(0.95)
    assert m.price_at("gemini", "USDT", "USD", 10.0) == pytest.approx(0.95)
    assert m.price_at("binance", "FDUSD", "USDT", 10.0) == pytest.approx(1 / 0.95)
    assert m.price_at("kraken", "USDC", "USDT", 10.0) == pytest.approx(1 / 0.95)
    assert m.price_at("bitstamp", "USDC", "USDT", 10.5) == pytest.approx(1.0)
    assert m.crossing_time("kraken", "USDT", "USD", 0.97, step=0.001) == pytest.approx(14.0)


def test_a_negative_lag_is_refused() -> None:
    """A market cannot lead its own path: a negative lag is a scenario error naming it."""
    with pytest.raises(ScenarioError, match="lags"):
        parse_scenario({"scenario": {"duration": 10}, "lags": {"USDT/USD": -1}})


def test_usdt_lead_scenario_moves_the_usdt_pairs_one_poll_before_usdt_usd() -> None:
    """scenarios/usdt-lead.toml, the issue's reproduction: every USDT pair jumps by 1/0.95 at
    60 s, on every venue, while USDT/USD on every venue (and Coinbase's USDT/USDC) follows 4 s
    later — and no coin but USDT moves in USD."""
    scenario = load_scenario(Path(__file__).parents[2] / "scenarios/usdt-lead.toml")
    m = PriceModel(scenario)
    for venue in scenario.enabled_venues():
        for market in scenario.markets(venue):
            base, quote = market.split("/")
            if quote == "USDT":
                t = m.crossing_time(venue, base, quote, 1.03, step=0.01)
                assert t == pytest.approx(60.0, abs=0.05), (venue, market)
            elif base == "USDT":
                level = 0.97 if quote in ("USD", "USDC") else 1.03
                t = m.crossing_time(venue, base, quote, level, step=0.01)
                assert t == pytest.approx(64.0, abs=0.05), (venue, market)
            else:
                assert m.crossing_time(venue, base, quote, 0.99, step=0.5) is None, market
