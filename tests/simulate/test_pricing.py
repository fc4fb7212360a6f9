"""Price paths: scripted levels at scripted times, USDT-consistent cross prices, volumes."""

from __future__ import annotations

from typing import Any

import pytest

from depeg_monitor.simulate import PriceModel, parse_scenario


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


def test_volume_spikes_multiply_in_their_window() -> None:
    """A USDC spike multiplies USDC volumes on every venue during the window, nothing else."""
    m = _model(
        venues={"binance": {"volume": 1000, "volumes": {"DAI/USDT": 50}}},
        volume_spikes=[{"coin": "usdc", "start": 10, "end": 20, "factor": 8}],
    )
    assert m.volume_at("binance", "USDC/USDT", 5) == 1000
    assert m.volume_at("binance", "USDC/USDT", 15) == 8000
    assert m.volume_at("binance", "DAI/USDT", 15) == 50
    tick = m.tick("binance", "USDC/USDT", 15)
    assert tick.volume_quote == pytest.approx(8000 * 0.975 / 1.02)


def test_tick_has_a_spread_around_the_price() -> None:
    """Bid and ask sit half the configured spread either side of the last price."""
    m = _model(venues={"gemini": {"spread": 0.002}})
    tick = m.tick("gemini", "USDT/USD", 5)
    assert tick.bid == pytest.approx(1.02 * 0.999)
    assert tick.ask == pytest.approx(1.02 * 1.001)
