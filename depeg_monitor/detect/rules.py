"""The detection rules: compiled once from the settings at the composition root, frozen.

Nothing in detect/ reads settings; the aggregator and the classifier get these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from depeg_monitor.model import Severity


@dataclass(frozen=True, slots=True)
class Levels:
    """Deviation from peg (fraction: 0.005 = 0.5 %) at which each severity begins."""

    minor: float
    major: float
    critical: float

    def of(self, severity: Severity) -> float:
        """The threshold of MINOR, MAJOR or CRITICAL."""
        return (self.minor, self.major, self.critical)[severity - 1]

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.minor, self.major, self.critical)


@dataclass(frozen=True, slots=True)
class CoinRules:
    """Everything detection needs to know about one coin."""

    coin: str
    peg: float
    levels: Levels
    min_venues: int  # fresh, agreeing venues needed for a price
    alert_on_discount: bool = True
    alert_on_premium: bool = True


@dataclass(frozen=True, slots=True)
class AggregationRules:
    max_quote_age: float
    outlier_mad_k: float
    outlier_min_band: float
    arbitrage_fee: float
    reference_quotes: frozenset[str]
    baseline_window: float
    volatility_window: float
    # A quote is converted only with a reference observed this close to it (seconds).
    reference_tolerance: float = 2.5
    # A quote coin moved when this many coins quoted in it moved together by this fraction.
    quote_move_coins: int = 3
    quote_move_min: float = 0.005
    volume_window: float = 300.0  # recent volume: traded over this many seconds …
    volume_warmup: float = 3600.0  # … compared once this much history lies before it
    venue_weights: Mapping[str, float] = field(default_factory=dict)  # missing venue: 1.0
    cluster_band: float = 0.02  # a gap wider than this fraction splits the venues apart
    # USD figure a quote without volume counts as, per venue (missing: 0 when venues split).
    venue_liquidity: Mapping[str, float] = field(default_factory=dict)

    def weight(self, venue: str) -> float:
        return self.venue_weights.get(venue, 1.0)


@dataclass(frozen=True, slots=True)
class ClassifyRules:
    holds: tuple[float, float, float]  # seconds a level must hold: minor, major, critical
    clear_ratio: float  # a level clears below clear_ratio × its threshold …
    clear_hold: float  # … held this long
    volatility_widen_max: float  # thresholds widen in a noisy market by at most this factor
    # Cycles a level must be seen in besides its seconds; where one cycle is longer than the
    # hold (hourly data), the cycles alone count.
    hold_cycles: tuple[int, int, int] = (1, 1, 1)
    # Major and critical need this many venues beyond the level (or every venue, if fewer).
    confirm_venues: int = 2

    def hold(self, severity: Severity) -> float:
        return self.holds[severity - 1]

    def cycles(self, severity: Severity) -> int:
        return self.hold_cycles[severity - 1]


@dataclass(frozen=True, slots=True)
class DetectionRules:
    coins: tuple[CoinRules, ...]  # configuration order
    aggregation: AggregationRules
    classify: ClassifyRules

    def coin(self, name: str) -> CoinRules | None:
        return next((c for c in self.coins if c.coin == name), None)
