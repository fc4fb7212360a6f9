"""Classification: persistence, escalation, hysteresis, noise-aware thresholds, no-data."""

from __future__ import annotations

import dataclasses

import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.config import Settings
from depeg_monitor.detect.classify import CoinState, classify, effective_thresholds
from depeg_monitor.detect.rules import DetectionRules, Levels
from depeg_monitor.model import (
    Assessment,
    Clearing,
    DroppedQuote,
    InsufficientData,
    Pending,
    Severity,
    SideIgnored,
    Snapshot,
    SnapshotContext,
    Thresholds,
    Unconfirmed,
    VenuePrice,
)
from depeg_monitor.rules import detection_rules

SETTINGS = Settings(
    coins={
        "USDC": {},
        "PREM": {"alert_on_premium": False},
        "DISC": {"alert_on_discount": False},
        "FRAX": {"min_venues": 1},
    }
)
RULES = detection_rules(SETTINGS)
USDC = Levels(0.005, 0.015, 0.03)  # the default thresholds


def snap(dev: float | None, now: float, coin: str = "USDC", vol: float = 0.0) -> Snapshot:
    price = None if dev is None else 1.0 + dev
    used = () if dev is None else (VenuePrice("kraken", "USD", 1.0 + dev, 1.0),)
    return Snapshot(coin, now, 1.0, price, dev, used, (), SnapshotContext(volatility=vol))


class Feed:
    """Drives classify() like the detector does, with a manual clock."""

    def __init__(self, rules: DetectionRules = RULES, coin: str = "USDC") -> None:
        self.clock = ManualClock()
        self.state: CoinState | None = None
        self.rules = rules
        self.coin = coin

    def at(self, dev: float | None, advance: float = 10.0, vol: float = 0.0) -> Assessment:
        self.clock.advance(advance)
        now = self.clock.now()
        coin = self.rules.coin(self.coin)
        assert coin is not None
        a, self.state = classify(
            snap(dev, now, self.coin, vol), self.state, coin, self.rules.classify, now
        )
        return a

    def hold(self, dev: float | None, seconds: float, step: float = 10.0) -> Assessment:
        a = self.at(dev, step)
        for _ in range(int(seconds // step) - 1):
            a = self.at(dev, step)
        return a


def test_minor_fires_only_after_its_hold_time() -> None:
    """A 0.8 % discount is minor only after it has held for hold_minor (120 s)."""
    f = Feed()
    first = f.at(-0.008)
    assert (first.severity, first.raw_severity) == (Severity.NONE, Severity.MINOR)
    assert first.fact(Pending) == Pending(Severity.MINOR, 0.0, 120.0)
    assert f.hold(-0.008, 100).severity == Severity.NONE
    assert f.hold(-0.008, 20).severity == Severity.MINOR


def test_a_brief_excursion_does_not_fire() -> None:
    """A minor-level move that reverts before hold_minor leaves the coin at NONE."""
    f = Feed()
    f.hold(-0.008, 60)
    assert f.at(-0.001).severity == Severity.NONE
    assert f.hold(-0.008, 60).severity == Severity.NONE


def test_critical_fires_at_once() -> None:
    """With hold_critical 0 a 5 % drop is critical on the first cycle."""
    a = Feed().at(-0.05)
    assert a.severity == Severity.CRITICAL
    assert a.fact(Thresholds) == Thresholds(USDC.as_tuple(), 1.0)
    assert a.fact(Pending) is None


def test_escalation_goes_straight_up() -> None:
    """From minor, a crash escalates to critical in one cycle, skipping major."""
    f = Feed()
    f.hold(-0.008, 130)
    assert f.at(-0.04).severity == Severity.CRITICAL


def test_major_needs_its_own_hold() -> None:
    """A 2 % drop becomes major after hold_major (30 s), not before."""
    f = Feed()
    assert f.at(-0.02).severity == Severity.NONE
    assert f.at(-0.02, 20).severity == Severity.NONE
    assert f.at(-0.02, 10).severity == Severity.MAJOR


def test_hysteresis_keeps_level_until_clear_band_held() -> None:
    """Critical stays while the deviation sits above 0.7 × 3 %, and clears only after
    clear_hold inside the band, settling on the level the deviation still supports."""
    f = Feed()
    f.hold(-0.01, 130)  # minor established
    assert f.at(-0.05).severity == Severity.CRITICAL
    assert f.hold(-0.025, 600).severity == Severity.CRITICAL  # below 3 %, above 2.1 %
    mid = f.hold(-0.01, 290)
    assert mid.severity == Severity.CRITICAL
    assert mid.fact(Clearing) is not None
    assert f.hold(-0.01, 20).severity == Severity.MINOR


def test_no_flapping_at_the_threshold() -> None:
    """A deviation wobbling around 0.5 % stays minor once fired; it clears only after
    staying under 0.35 % for clear_hold."""
    f = Feed()
    f.hold(-0.006, 130)
    for _ in range(30):
        assert f.at(-0.0045).severity == Severity.MINOR
        assert f.at(-0.0052).severity == Severity.MINOR
    assert f.hold(-0.003, 290).severity == Severity.MINOR
    assert f.hold(-0.003, 20).severity == Severity.NONE


def test_clear_timer_restarts_when_deviation_returns() -> None:
    """Leaving the clear band resets the clear_hold countdown."""
    f = Feed()
    f.at(-0.05)
    f.hold(-0.001, 250)
    f.at(-0.025)
    assert f.hold(-0.001, 250).severity == Severity.CRITICAL
    assert f.hold(-0.001, 60).severity == Severity.NONE


def test_no_price_keeps_severity_and_says_insufficient_data() -> None:
    """Losing the quorum neither clears a critical coin nor counts toward clearing."""
    f = Feed()
    f.at(-0.05)
    f.hold(-0.001, 200)
    gap = f.at(None)
    assert gap.severity == Severity.CRITICAL
    assert gap.deviation is None
    assert gap.facts == (InsufficientData(0, 2),)
    assert f.hold(-0.001, 200).severity == Severity.CRITICAL
    assert f.hold(-0.001, 110).severity == Severity.NONE


def test_premium_can_be_switched_off_per_coin() -> None:
    """A coin with alert_on_premium false ignores a 5 % premium but not a discount."""
    f = Feed(coin="PREM")
    a = f.at(0.05)
    assert a.severity == Severity.NONE
    assert a.fact(SideIgnored) == SideIgnored("premium")
    assert f.at(-0.05).severity == Severity.CRITICAL


def test_premiums_count_by_default() -> None:
    """A 4 % premium is critical like a 4 % discount."""
    assert Feed().at(0.04).severity == Severity.CRITICAL


def test_volatility_widens_minor_but_never_critical() -> None:
    """In a market that was noisy before the move a 0.6 % move is not minor, while 3 % is
    still critical."""
    assert Feed().hold(-0.006, 300).severity == Severity.MINOR
    noisy = Feed()
    noisy.at(-0.001, vol=0.004)  # calm, but jittery: the noise is measured here
    for _ in range(30):
        a = noisy.at(-0.006, vol=0.004)
    assert a.severity == Severity.NONE
    widened = a.fact(Thresholds)
    assert widened is not None and widened.widened > 1.0
    assert noisy.at(-0.03, vol=0.004).severity == Severity.CRITICAL


def test_widened_thresholds_are_bounded() -> None:
    """However noisy, minor/major widen at most by volatility_widen_max, below critical."""
    noisy = snap(-0.01, 0.0, vol=1.0)
    assert effective_thresholds(noisy, USDC, 10).levels == (0.03, 0.03, 0.03)
    capped = effective_thresholds(noisy, USDC, RULES.classify.volatility_widen_max)
    assert capped == Thresholds((0.005 * 1.5, 0.015 * 1.5, 0.03), 1.5)


def test_a_pending_level_reports_how_long_it_has_held_and_how_long_it_needs() -> None:
    """Below minor's hold time the verdict says minor is pending, held so far of needed."""
    f = Feed()
    a = f.hold(-0.008, 60)  # six cycles 10 s apart: the first starts the clock
    assert a.severity == Severity.NONE
    assert a.fact(Pending) == Pending(Severity.MINOR, 50.0, RULES.classify.hold(Severity.MINOR))


def test_a_higher_level_pending_over_a_firing_one_counts_its_own_hold() -> None:
    """A firing minor coin at 2 % reports major pending, its clock starting at the jump."""
    f = Feed()
    f.hold(-0.008, 130)
    need = RULES.classify.hold(Severity.MAJOR)
    assert f.at(-0.02).fact(Pending) == Pending(Severity.MAJOR, 0.0, need)
    second = f.at(-0.02)
    assert (second.severity, second.fact(Pending)) == (
        Severity.MINOR,
        Pending(Severity.MAJOR, 10.0, need),
    )


def test_clearing_reports_the_band_and_its_progress() -> None:
    """A critical coin back near par says it is clearing: inside which band, for how long."""
    f = Feed()
    f.at(-0.05)
    a = f.hold(-0.01, 100)
    clearing = a.fact(Clearing)
    assert clearing is not None and a.severity == Severity.CRITICAL
    assert clearing.level == Severity.CRITICAL
    assert clearing.band == pytest.approx(RULES.classify.clear_ratio * USDC.critical)
    assert (clearing.held, clearing.needed) == (90.0, RULES.classify.clear_hold)
    assert f.at(-0.025).fact(Clearing) is None  # back outside the band: no progress


def test_insufficient_data_counts_agreeing_venues_against_the_coins_own_quorum() -> None:
    """No price: the verdict says how many venues agreed and how many the coin needs."""
    lone = Snapshot(
        "USDC",
        10.0,
        1.0,
        None,
        None,
        (VenuePrice("kraken", "USD", 0.99, 1.0), VenuePrice("kraken", "USDT", 0.99, 1.0)),
        (DroppedQuote("okx", "USDT", "stale"),),
    )
    usdc, frax = RULES.coin("USDC"), RULES.coin("FRAX")
    assert usdc is not None and frax is not None
    a, _ = classify(lone, None, usdc, RULES.classify, 10.0)
    assert (a.facts, a.raw_severity) == ((InsufficientData(1, 2),), Severity.NONE)
    empty = Snapshot("FRAX", 10.0, 1.0, None, None, (), ())
    assert classify(empty, None, frax, RULES.classify, 10.0)[0].facts == (InsufficientData(0, 1),)


def test_a_discount_can_be_switched_off_per_coin() -> None:
    """A coin with alert_on_discount false ignores a 5 % discount and says so."""
    f = Feed(coin="DISC")
    a = f.at(-0.05)
    assert (a.severity, a.raw_severity) == (Severity.NONE, Severity.NONE)
    assert a.fact(SideIgnored) == SideIgnored("discount")
    assert f.at(0.05).severity == Severity.CRITICAL


def test_the_verdict_carries_the_thresholds_in_force() -> None:
    """A calm market reports the coin's own thresholds; a noisy one the widened ones."""
    assert Feed().at(-0.001).fact(Thresholds) == Thresholds(USDC.as_tuple(), 1.0)
    noisy = Feed().at(-0.001, vol=0.001).fact(Thresholds)
    assert noisy is not None
    assert noisy.levels == pytest.approx((0.007, 0.017, 0.03))
    assert noisy.widened == pytest.approx(0.017 / 0.015)


def test_a_depeg_cannot_widen_its_own_thresholds() -> None:
    """Noise measured while calm sets the bar; the move's own volatility does not raise it, so
    a steady -0.55 % after a calm start is minor however jittery the move itself is."""
    f = Feed()
    f.at(-0.0005, vol=0.0001)  # calm and quiet
    for _ in range(40):
        a = f.at(-0.0055, vol=0.003)  # the move makes its own volatility
    assert a.severity == Severity.MINOR
    t = a.fact(Thresholds)
    assert t is not None and t.levels[0] == pytest.approx(0.005 + 2 * 0.0001)


def test_hourly_bars_fire_a_level_on_the_first_close_beyond_it_unless_more_cycles_are_asked() -> (
    None
):
    """With one cycle an hour (longer than any hold) major and minor fire on the first bar
    beyond them; with hold_cycles_minor = 2 one odd bar is never a minor."""
    f = Feed()
    f.at(0.0, advance=3600)
    assert f.at(-0.02, advance=3600).severity == Severity.MAJOR
    g = Feed()
    g.at(0.0, advance=3600)
    assert g.at(-0.007, advance=3600).severity == Severity.MINOR
    two = dataclasses.replace(
        RULES, classify=dataclasses.replace(RULES.classify, hold_cycles=(2, 1, 1))
    )
    h = Feed(two)
    h.at(0.0, advance=3600)
    assert h.at(-0.007, advance=3600).severity == Severity.NONE
    assert h.at(-0.007, advance=3600).severity == Severity.MINOR


def confirming(devs: dict[str, float], now: float) -> Snapshot:
    used = tuple(VenuePrice(v, "USD", 1.0 + d, 1.0) for v, d in devs.items())
    price = sum(1.0 + d for d in devs.values()) / len(devs)
    return Snapshot("USDC", now, 1.0, price, price - 1.0, used, ())


def test_major_and_critical_need_two_venues_beyond_them() -> None:
    """One venue at -35 % with another at par is at most minor with an 'unconfirmed' fact;
    both venues beyond 3 % is critical at once."""
    coin = RULES.coin("USDC")
    assert coin is not None
    a, st = classify(
        confirming({"binance": -0.35, "pool": 0.0}, 1.0), None, coin, RULES.classify, 1.0
    )
    assert a.raw_severity <= Severity.MINOR and a.severity == Severity.NONE
    fact = a.fact(Unconfirmed)
    assert fact == Unconfirmed(Severity.CRITICAL, 1, 2)
    b, _ = classify(
        confirming({"binance": -0.05, "pool": -0.04}, 2.0), st, coin, RULES.classify, 2.0
    )
    assert b.severity == Severity.CRITICAL


def test_a_single_venue_coin_is_confirmed_by_its_one_venue() -> None:
    """A coin watched on one venue alone (min_venues 1) still reaches critical on it."""
    coin = RULES.coin("FRAX")
    assert coin is not None
    snapshot = Snapshot(
        "FRAX", 1.0, 1.0, 0.9, -0.1, (VenuePrice("coingecko", "USD", 0.9, 1.0),), ()
    )
    a, _ = classify(snapshot, None, coin, RULES.classify, 1.0)
    assert a.severity == Severity.CRITICAL
