"""A coin's price history in a few figures: lowest, highest, and time beyond each level.

Each aggregate row stands for the price until the next row — the daemon writes one when the
price moves and at least every 10 s — but for no longer than its resolution allows
(`STANDS_FOR`): a longer gap is time the daemon was not running, which counts for nothing.
A downsampled row (1m, 1h) counts with its last price; its lowest and highest are extremes.
Levels are the coin's configured ones (before any widening for volatility).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from depeg_monitor.detect.rules import CoinRules
from depeg_monitor.model import Severity
from depeg_monitor.store.history import AggregatePoint

# The longest a row of each resolution stands for; past that the daemon wrote nothing. A raw
# row comes at least every 10 s (live.py's row_interval), so 12 s covers a late cycle.
STANDS_FOR = {"raw": 12.0, "1m": 60.0, "1h": 3600.0}
LEVELS = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class Extreme:
    price: float
    ts: float


@dataclass(frozen=True, slots=True)
class Beyond:
    """Seconds the price spent at or past a level's threshold, on either side of the peg."""

    severity: Severity
    threshold: float  # fraction of the peg
    seconds: float


@dataclass(frozen=True, slots=True)
class Summary:
    rows: int
    priced: float  # seconds covered by a price (no quorum and gaps excluded)
    low: Extreme | None
    high: Extreme | None
    worst: float | None  # the signed deviation furthest from the peg
    last: AggregatePoint | None
    beyond: tuple[Beyond, ...]  # minor, major, critical
    peak: Severity  # the highest severity the daemon recorded in the window


def summarise(points: Sequence[AggregatePoint], rules: CoinRules, end: float) -> Summary:
    """points oldest first, up to `end` (the window's end: the last row stands until then)."""
    thresholds = rules.levels.as_tuple()
    seconds = [0.0, 0.0, 0.0]
    priced = 0.0
    low: Extreme | None = None
    high: Extreme | None = None
    worst: float | None = None
    for i, p in enumerate(points):
        lo = p.price_min if p.price_min is not None else p.price
        hi = p.price_max if p.price_max is not None else p.price
        if lo is not None and (low is None or lo < low.price):
            low = Extreme(lo, p.ts)
        if hi is not None and (high is None or hi > high.price):
            high = Extreme(hi, p.ts)
        if p.price is None or p.deviation is None:
            continue
        if worst is None or abs(p.deviation) > abs(worst):
            worst = p.deviation
        until = points[i + 1].ts if i + 1 < len(points) else end
        held = max(0.0, min(until - p.ts, STANDS_FOR.get(p.resolution, 60.0)))
        priced += held
        for k, t in enumerate(thresholds):
            if abs(p.deviation) >= t:
                seconds[k] += held
    for e in (low, high):
        if e is not None:
            extreme = (e.price - rules.peg) / rules.peg
            if worst is None or abs(extreme) > abs(worst):
                worst = extreme
    return Summary(
        rows=len(points),
        priced=priced,
        low=low,
        high=high,
        worst=worst,
        last=points[-1] if points else None,
        beyond=tuple(Beyond(s, t, x) for s, t, x in zip(LEVELS, thresholds, seconds, strict=True)),
        peak=Severity(min(max((p.severity for p in points), default=0), Severity.CRITICAL)),
    )
