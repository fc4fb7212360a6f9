"""A coin's history in figures: time beyond each level counts only time the daemon watched."""

from __future__ import annotations

from depeg_monitor.detect.rules import CoinRules, Levels
from depeg_monitor.model import Severity
from depeg_monitor.price_summary import summarise
from depeg_monitor.store.history import AggregatePoint

RULES = CoinRules("USDC", 1.0, Levels(0.005, 0.015, 0.03), min_venues=2)


def point(ts: float, price: float | None, resolution: str = "raw", sev: int = 0) -> AggregatePoint:
    dev = None if price is None else price - 1.0
    return AggregatePoint(ts, price, price, price, dev, sev, 2, resolution)


def test_each_row_counts_until_the_next_and_a_gap_counts_nothing() -> None:
    """10 s at 0.99 (minor), 10 s at 0.95 (critical), then the daemon stops for an hour: only
    the 20 s it watched count, and the premium side counts like the discount side."""
    points = [point(0, 0.99, sev=1), point(10, 0.95, sev=3), point(20, 1.0), point(3620, 1.02)]
    s = summarise(points, RULES, end=3625)
    beyond = {b.severity: b.seconds for b in s.beyond}
    assert beyond[Severity.MINOR] == 10 + 10 + 5  # 0.99, 0.95, and 1.02 until the end
    assert beyond[Severity.MAJOR] == 10 + 5
    assert beyond[Severity.CRITICAL] == 10
    assert s.priced == 10 + 10 + 12 + 5  # the row at 20 stands 12 s, not the hour
    assert s.low is not None and (s.low.price, s.low.ts) == (0.95, 10)
    assert s.high is not None and s.high.price == 1.02
    assert s.worst is not None and round(s.worst, 6) == -0.05
    assert s.peak is Severity.CRITICAL


def test_rows_without_a_quorum_count_for_nothing() -> None:
    """A cycle without a price is neither beyond a level nor priced."""
    s = summarise([point(0, None), point(10, 0.97), point(20, None)], RULES, end=30)
    assert s.priced == 10
    assert [b.seconds for b in s.beyond] == [10, 10, 10]


def test_a_downsampled_row_stands_for_its_bucket_and_shows_its_range() -> None:
    """An hourly row counts for its hour; its lowest price is the window's low even when the
    hour closed near the peg."""
    hourly = AggregatePoint(0, 0.999, 0.91, 1.001, -0.001, 3, 2, "1h")
    s = summarise([hourly, point(3600, 0.98)], RULES, end=3610)
    assert s.priced == 3600 + 10
    assert s.low is not None and s.low.price == 0.91
    assert [b.seconds for b in s.beyond] == [10, 10, 0]
