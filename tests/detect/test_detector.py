"""The detector: aggregate + classify per cycle, oracle context judged by each coin's own
thresholds, and restoring firing state after a restart."""

from __future__ import annotations

from dataclasses import replace

from depeg_monitor.alerts.render import render
from depeg_monitor.config import Settings
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import Alert, AlertItem, AlertKind, InsufficientData, Quote, Severity
from depeg_monitor.rules import detection_rules

from .test_oracles import reading

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


def test_an_oracle_round_crossing_the_coins_own_threshold_reaches_the_next_message() -> None:
    """USDC (major from 2 % here) with Chainlink's new round at 0.9750 after 0.9990: the
    cycle's assessment carries the crossing judged by USDC's own levels, and the message
    built from it says so on its own line; DAI's feed at the same values is DAI's business."""
    rules = detection_rules(
        Settings(coins={"USDC": {"thresholds": {"minor": 0.005, "major": 0.02, "critical": 0.05}}})
    )
    d = Detector(rules)
    now = T0 + 10
    crossed = reading(value=0.9750, updated=now - 30, previous=0.9990, ts_received=now - 1)
    crossed = replace(crossed, block_timestamp=now - 2)
    d.oracles = lambda: [crossed, replace(crossed, feed="chainlink-dai-usd", coin="DAI")]
    (usdc,) = d.step(quotes(0.97, now), now)
    (o,) = usdc.snapshot.context.oracles
    assert o.moved is not None and o.moved.level == Severity.MAJOR  # 2.5 %: major, not critical
    item = AlertItem("USDC", usdc.severity, AlertKind.FIRST, usdc)
    body = render(Alert("a", now, usdc.severity, AlertKind.FIRST, (item,), ())).body
    assert "Chainlink USDC/USD moved to 0.9750 at 22:13, beyond major — lending protocols" in body
