"""Scenario files: the committed ones load and match the example config; bad ones say why."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import pytest

from depeg_monitor.config import load_settings
from depeg_monitor.simulate import (
    VENUE_NAMES,
    PriceModel,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from depeg_monitor.simulate.scenario import BODY_POISONS, FIELD_POISONS

ROOT = Path(__file__).parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def test_the_four_promised_scenarios_are_committed() -> None:
    """calm, svb, single-venue-faults and all-down ship in scenarios/."""
    names = {p.stem for p in SCENARIOS}
    assert {"calm", "svb", "single-venue-faults", "all-down"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_markets_are_those_of_the_example_config(path: Path) -> None:
    """Each committed scenario lists exactly the markets config.example.toml asks each venue for."""
    scenario = load_scenario(path)
    settings = load_settings(ROOT / "config.example.toml")
    for venue in VENUE_NAMES:
        assert list(scenario.markets(venue)) == settings.venues[venue].markets, venue


def test_single_venue_faults_touch_one_venue_at_a_time() -> None:
    """No two faults of the single-venue scenario overlap in time, so a quorum always remains."""
    faults = sorted(
        load_scenario(ROOT / "scenarios/single-venue-faults.toml").faults, key=lambda f: f.start
    )
    assert {f.kind for f in faults} >= {"wild_print", "down", "rate_limit", "garbage"}
    for a, b in itertools.pairwise(faults):
        assert a.end <= b.start, (a, b)


def test_all_down_takes_every_venue_down() -> None:
    """The all-down scenario has a down fault at each of the nine venues, starting together."""
    faults = load_scenario(ROOT / "scenarios/all-down.toml").faults
    assert {f.venue for f in faults if f.kind == "down"} == set(VENUE_NAMES)
    assert len({f.start for f in faults}) == 1


def test_problems_are_named_by_their_path() -> None:
    """A scenario with several mistakes reports each one with where it is."""
    data = {
        "scenario": {"duration": 60},
        "coins": {"usdc": {"segments": [{"kind": "move", "duration": 5}]}},
        "faults": [{"venue": "binance", "kind": "down", "start": 30, "end": 10}],
    }
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "bad.toml")
    text = str(err.value)
    assert "bad.toml" in text
    assert "coins.USDC.segments.0" in text
    assert "needs `to`" in text
    assert "faults.0" in text
    assert "must be after start" in text


def test_unknown_venue_and_market_are_refused() -> None:
    """A venue the simulator does not know, or a fault on a market it does not list, is refused."""
    with pytest.raises(ScenarioError, match="unknown venue 'binanse'"):
        parse_scenario({"scenario": {"duration": 1}, "venues": {"binanse": {}}})
    bad_market = {
        "scenario": {"duration": 1},
        "faults": [
            {
                "venue": "kraken",
                "kind": "wild_print",
                "price": 0.8,
                "start": 0,
                "end": 1,
                "markets": ["USDC/EUR"],
            }
        ],
    }
    with pytest.raises(ScenarioError, match="kraken does not list USDC/EUR"):
        parse_scenario(bad_market)


def test_unreadable_files_give_a_clear_error(tmp_path: Path) -> None:
    """A missing file or broken TOML raises ScenarioError naming the file, not a traceback."""
    with pytest.raises(ScenarioError, match=r"nope\.toml"):
        load_scenario(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario\nduration = 1\n")
    with pytest.raises(ScenarioError, match=r"\(toml\)"):
        load_scenario(broken)


def test_missing_duration_is_reported() -> None:
    """duration is required: without it the scenario cannot end."""
    with pytest.raises(ScenarioError, match=r"scenario\.duration"):
        parse_scenario({"scenario": {"name": "x"}})


def _usd(model: PriceModel, venue: str, market: str, t: float) -> float:
    """A market's price in USD, converting USDT/USDC quotes at the same venue's rate."""
    base, quote = market.split("/")
    return model.price_at(venue, base, quote, t) * model.usd_price(quote, venue, t)


def test_svb_usdc_crosses_each_level_when_its_timeline_says() -> None:
    """USDC goes minor near 49 s, major near 207 s, critical near 262 s, bottoms ~0.87, recovers."""
    model = PriceModel(load_scenario(ROOT / "scenarios/svb.toml"))
    for level, when in ((0.995, 49), (0.985, 207), (0.97, 262)):
        t = model.crossing_time("bitstamp", "USDC", "USD", level, step=0.05)
        assert t == pytest.approx(when, abs=2), level
    assert 0.86 < model.price_at("bitstamp", "USDC", "USD", 320) < 0.88
    assert model.price_at("kraken", "USDC", "USD", 320) == pytest.approx(0.874, abs=0.004)
    assert model.price_at("bitstamp", "USDT", "USD", 320) == pytest.approx(1.003, abs=0.001)
    assert model.price_at("binance", "USDC", "USDT", 320) == pytest.approx(0.87 / 1.003, abs=0.004)
    assert 0.89 < model.price_at("bitstamp", "DAI", "USD", 320) < 0.92
    for t in range(440, 780, 7):
        assert abs(model.price_at("bitstamp", "USDC", "USD", t) - 1) < 0.0035, t


def test_single_venue_faults_keep_every_median_on_peg() -> None:
    """Across venues, each coin's median USD price stays inside the minor band all scenario long."""
    scenario = load_scenario(ROOT / "scenarios/single-venue-faults.toml")
    model = PriceModel(scenario)
    for t in range(0, int(scenario.duration)):
        by_coin: dict[str, list[float]] = {}
        for venue in scenario.enabled_venues():
            for market in scenario.markets(venue):
                by_coin.setdefault(market.split("/")[0], []).append(_usd(model, venue, market, t))
        for coin, prices in by_coin.items():
            assert abs(statistics.median(prices) - 1) < 0.005 * 0.7, (coin, t)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"kind": "poison"}, "mode '' is not one of"),
        ({"kind": "poison", "mode": "nan_price"}, "mode 'nan_price' is not one of"),
        ({"kind": "delisted"}, "needs `markets`"),
        ({"kind": "down", "retry_after": 5}, "belong to rate_limit"),
        ({"kind": "rate_limit", "retry_after": 5, "retry_after_text": "5"}, "not both"),
    ],
)
def test_hostile_faults_that_cannot_be_served_are_refused(
    fault: dict[str, object], reason: str
) -> None:
    """A poison without a known mode, a delisting without markets, a stray retry_after say why."""
    data = {
        "scenario": {"duration": 60},
        "faults": [{"venue": "binance", "start": 0, "end": 10, **fault}],
    }
    with pytest.raises(ScenarioError, match=reason):
        parse_scenario(data)


def test_hostile_venues_serves_every_poison_one_venue_at_a_time() -> None:
    """Every poison, a delisting and a huge Retry-After each get their own window, never two."""
    scenario = load_scenario(ROOT / "scenarios/hostile-venues.toml")
    faults = sorted(scenario.faults, key=lambda f: f.start)
    assert {f.mode for f in faults if f.kind == "poison"} == set(FIELD_POISONS + BODY_POISONS)
    assert any(f.kind == "delisted" for f in faults)
    assert any(f.kind == "rate_limit" and (f.retry_after or 0) >= 1e9 for f in faults)
    for a, b in itertools.pairwise(faults):
        assert a.end <= b.start, (a, b)
    assert faults[-1].end < scenario.duration
