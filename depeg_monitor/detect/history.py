"""One coin's rolling history across cycles: velocity and volatility (volume: volume.py).

Volatility is measured from cycle-to-cycle changes of the deviation, not from its level:
a depeg is a level shift, and must not widen its own thresholds; a jittery market is noise.
"""

from __future__ import annotations

import math
from collections import deque

# Velocity compares with the newest deviation at least this old (a per-minute rate).
_VELOCITY_LOOKBACK = 60.0
# Bounds on per-coin history so a long run never grows memory.
_MAX_HISTORY = 4096
# For white noise of std σ, E|x_t - x_(t-1)| = 2σ/√π.
_ABS_DIFF_TO_SIGMA = math.sqrt(math.pi) / 2.0


class CoinHistory:
    """Rolling state for one coin, fed once per priced cycle by the aggregator."""

    __slots__ = ("diff_sum", "diffs", "last_dev", "velocity_refs")

    def __init__(self) -> None:
        self.diffs: deque[tuple[float, float]] = deque()
        self.diff_sum = 0.0
        self.last_dev: float | None = None
        self.velocity_refs: deque[tuple[float, float]] = deque()

    def add_deviation(self, now: float, dev: float, window: float) -> tuple[float | None, float]:
        """Record a deviation; return (velocity per minute, rolling volatility)."""
        refs = self.velocity_refs
        while len(refs) >= 2 and refs[1][0] <= now - _VELOCITY_LOOKBACK:
            refs.popleft()
        velocity = None
        if refs and refs[0][0] < now:
            t0, d0 = refs[0]
            velocity = (dev - d0) / ((now - t0) / 60.0)
        refs.append((now, dev))
        if len(refs) > _MAX_HISTORY:
            refs.popleft()

        last, self.last_dev = self.last_dev, dev
        if last is None:
            return velocity, 0.0
        diffs = self.diffs
        step = abs(dev - last)
        diffs.append((now, step))
        self.diff_sum += step
        cutoff = now - window
        while diffs and (diffs[0][0] < cutoff or len(diffs) > _MAX_HISTORY):
            self.diff_sum -= diffs.popleft()[1]
        n = len(diffs)
        if n < 2:
            return velocity, 0.0
        return velocity, max(0.0, self.diff_sum / n) * _ABS_DIFF_TO_SIGMA
