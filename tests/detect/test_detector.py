"""The detector: aggregate + classify per cycle, and restoring firing state after a restart."""

from __future__ import annotations

from depeg_monitor.config import Settings
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import InsufficientData, Quote, Severity
from depeg_monitor.rules import detection_rules

T0 = 1_700_000_000.0
RULES = detection_rules(Settings(coins={"USDC": {}, "USDT": {}, "DAI": {"min_venues": 3}}))


def quotes(usdc: float, now: float) -> list[Quote]:
    return [
        Quote(v, "USDC", "USD", usdc, None, None, 1e6, None, now, now)
        for v in ("kraken", "bitstamp", "coinbase")
    ]


def test_one_assessment_per_configured_coin() -> None:
    """Every configured coin gets an assessment each cycle, priced or not."""
    out = Detector(RULES).step(quotes(1.0, T0), T0)
    assert [a.coin for a in out] == ["USDC", "USDT", "DAI"]
    assert [a.deviation is not None for a in out] == [True, False, False]


def test_crash_is_critical_in_the_first_cycle() -> None:
    """Three venues at 0.95 make USDC critical immediately."""
    usdc = Detector(RULES).step(quotes(0.95, T0), T0)[0]
    assert usdc.severity == Severity.CRITICAL


def test_restore_keeps_a_firing_level_until_it_clears_normally() -> None:
    """After restore(critical) a calm market needs clear_hold before the level clears."""
    d = Detector(RULES)
    d.restore("USDC", Severity.CRITICAL, T0 - 3600)
    first = d.step(quotes(1.0, T0), T0)[0]
    assert first.severity == Severity.CRITICAL
    assert first.held_for == 3600
    assert d.step(quotes(1.0, T0 + 200), T0 + 200)[0].severity == Severity.CRITICAL
    assert d.step(quotes(1.0, T0 + 301), T0 + 301)[0].severity == Severity.NONE


def test_restore_ignores_unknown_coins() -> None:
    """Alert history for a coin no longer configured does not create state."""
    d = Detector(RULES)
    d.restore("UST", Severity.CRITICAL, T0)
    assert d.state("UST") is None


def test_each_coin_is_judged_by_its_own_rules() -> None:
    """A coin that needs three venues reports its own quorum when none of them answer."""
    usdt, dai = Detector(RULES).step(quotes(1.0, T0), T0)[1:]
    assert usdt.facts == (InsufficientData(0, 2),)
    assert dai.facts == (InsufficientData(0, 3),)
