"""A token bucket per venue, sized so no window of the venue's period exceeds its limit."""

from __future__ import annotations

from depeg_monitor.clock import Clock
from depeg_monitor.venues.contract import RateLimit

BURST_FRACTION = 0.1  # share of the limit that may go out at once; the rest refills evenly
EPSILON = 1e-9
MIN_WAIT = 1e-3  # never ask a clock to sleep less than it can represent


class BudgetExhausted(Exception):
    """Waiting for the rate budget would pass the deadline."""


class TokenBucket:
    """Admits at most capacity + rate·w cost units in any window of w seconds."""

    def __init__(self, capacity: float, rate: float, clock: Clock) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError("a token bucket needs a positive capacity and rate")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._last = clock.monotonic()

    @classmethod
    def for_limit(cls, limit: RateLimit, clock: Clock, largest_cost: float = 1.0) -> TokenBucket:
        """capacity + rate·period = limit, so even a full burst keeps a period under the limit."""
        capacity = min(max(2.0, limit.limit * BURST_FRACTION, largest_cost), limit.limit / 2)
        capacity = max(capacity, largest_cost)
        rate = (limit.limit - capacity) / limit.period
        if rate <= 0:
            raise ValueError(
                f"limit {limit.limit:g}/{limit.period:g}s cannot fit cost {capacity:g}"
            )
        return cls(capacity, rate, clock)

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_take(self, cost: float) -> float:
        """Take cost now and return 0, or take nothing and return the seconds to wait."""
        if cost > self.capacity:
            raise ValueError(f"cost {cost:g} exceeds the bucket's capacity {self.capacity:g}")
        self._refill()
        if self._tokens >= cost - EPSILON:  # float sums of refills fall a hair short
            self._tokens = max(0.0, self._tokens - cost)
            return 0.0
        return max((cost - self._tokens) / self.rate, MIN_WAIT)

    async def take(self, cost: float, deadline: float | None = None) -> None:
        """Wait for cost units; raise BudgetExhausted if that would pass deadline (monotonic)."""
        while (wait := self.try_take(cost)) > 0:
            if deadline is not None and self._clock.monotonic() + wait > deadline:
                raise BudgetExhausted(f"rate budget needs {wait:.2f}s more than the poll allows")
            await self._clock.sleep(wait)

    def min_interval(self, cost_per_poll: float) -> float:
        """The shortest poll interval this bucket can sustain for polls of that cost."""
        return cost_per_poll / self.rate
