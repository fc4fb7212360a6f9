"""Classification: persistence, escalation, hysteresis, noise-aware thresholds, no-data."""

from __future__ import annotations

from depeg_monitor.clock import ManualClock
from depeg_monitor.config import Settings
from depeg_monitor.detect.classify import CoinState, classify, effective_thresholds
from depeg_monitor.model import Assessment, Severity, Snapshot, SnapshotContext, VenuePrice

SETTINGS = Settings(coins={"USDC": {}, "PREM": {"alert_on_premium": False}})


def snap(dev: float | None, now: float, coin: str = "USDC", vol: float = 0.0) -> Snapshot:
    price = None if dev is None else 1.0 + dev
    used = () if dev is None else (VenuePrice("kraken", "USD", 1.0 + dev, 1.0),)
    return Snapshot(coin, now, 1.0, price, dev, used, (), SnapshotContext(volatility=vol))


class Feed:
    """Drives classify() like the detector does, with a manual clock."""

    def __init__(self, settings: Settings = SETTINGS, coin: str = "USDC") -> None:
        self.clock = ManualClock()
        self.state: CoinState | None = None
        self.settings = settings
        self.coin = coin

    def at(self, dev: float | None, advance: float = 10.0, vol: float = 0.0) -> Assessment:
        self.clock.advance(advance)
        now = self.clock.now()
        a, self.state = classify(snap(dev, now, self.coin, vol), self.state, self.settings, now)
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
    assert any("pending" in r for r in first.reasons)
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
    assert a.reasons[0].startswith("price 0.9500 is 5.00 % below peg")


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
    assert any(r.startswith("clearing") for r in mid.reasons)
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
    assert gap.reasons[0].startswith("insufficient data")
    assert f.hold(-0.001, 200).severity == Severity.CRITICAL
    assert f.hold(-0.001, 110).severity == Severity.NONE


def test_premium_can_be_switched_off_per_coin() -> None:
    """A coin with alert_on_premium false ignores a 5 % premium but not a discount."""
    f = Feed(coin="PREM")
    a = f.at(0.05)
    assert a.severity == Severity.NONE
    assert "premium ignored by settings" in a.reasons
    assert f.at(-0.05).severity == Severity.CRITICAL


def test_premiums_count_by_default() -> None:
    """A 4 % premium is critical like a 4 % discount."""
    assert Feed().at(0.04).severity == Severity.CRITICAL


def test_volatility_widens_minor_but_never_critical() -> None:
    """In a noisy market a 0.6 % move is not minor, while 3 % is still critical."""
    assert Feed().hold(-0.006, 300).severity == Severity.MINOR
    noisy = Feed()
    for _ in range(30):
        a = noisy.at(-0.006, vol=0.004)
    assert a.severity == Severity.NONE
    assert any("widened" in r for r in a.reasons)
    assert noisy.at(-0.03, vol=0.004).severity == Severity.CRITICAL


def test_widened_thresholds_are_bounded() -> None:
    """However noisy, minor/major widen at most by volatility_widen_max, below critical."""
    s = Settings(coins={"USDC": {}}, classification={"volatility_widen_max": 10})
    (minor, major, critical), _ = effective_thresholds(snap(-0.01, 0.0, vol=1.0), s)
    assert critical == 0.03
    assert minor == 0.03 and major == 0.03
    (minor, major, _), factor = effective_thresholds(snap(-0.01, 0.0, vol=1.0), SETTINGS)
    assert (minor, major) == (0.005 * 1.5, 0.015 * 1.5)
    assert factor == 1.5
