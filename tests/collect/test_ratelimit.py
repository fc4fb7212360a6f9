"""The token bucket, driven by a manual clock."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.clock import ManualClock
from depeg_monitor.collect.ratelimit import BudgetExhausted, TokenBucket
from depeg_monitor.venues import VENUES
from depeg_monitor.venues.contract import RateLimit

steps = st.lists(
    st.tuples(st.floats(0, 3, allow_nan=False), st.sampled_from([1.0, 2.0, 15.0])),
    min_size=1,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(steps=steps, window=st.floats(0.01, 20))
def test_no_window_admits_more_than_its_budget(
    steps: list[tuple[float, float]], window: float
) -> None:
    """Whatever the timing of requests, any window w admits at most capacity + rate·w."""
    clock = ManualClock()
    bucket = TokenBucket(capacity=20.0, rate=5.0, clock=clock)
    admitted: list[tuple[float, float]] = []
    for gap, cost in steps:
        clock.advance(gap)
        if bucket.try_take(cost) == 0:
            admitted.append((clock.monotonic(), cost))
    for i, (t0, _) in enumerate(admitted):
        used = sum(c for t, c in admitted[i:] if t <= t0 + window)
        assert used <= bucket.capacity + bucket.rate * window + 1e-6


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_greedy_client_stays_under_each_documented_limit(venue: str) -> None:
    """Taking as fast as allowed for 3 periods never exceeds a venue's limit in any period."""
    limit = VENUES[venue].rate_limit
    clock = ManualClock()
    bucket = TokenBucket.for_limit(limit, clock)
    times: list[float] = []
    end = 3 * limit.period
    while clock.monotonic() < end:
        await bucket.take(1.0)
        times.append(clock.monotonic())
    worst = max(bisect_left(times, t0 + limit.period) - i for i, t0 in enumerate(times))
    assert worst <= limit.limit


async def test_take_waits_then_refuses_past_the_deadline() -> None:
    """take() sleeps for the missing tokens, and refuses when that would pass the deadline."""
    clock = ManualClock()
    bucket = TokenBucket(capacity=2.0, rate=1.0, clock=clock)
    await bucket.take(2.0)
    await bucket.take(1.0)
    assert clock.monotonic() == pytest.approx(1.0)
    with pytest.raises(BudgetExhausted):
        await bucket.take(2.0, deadline=clock.monotonic() + 1.0)


def test_sizing_fits_the_largest_request() -> None:
    """A bucket built for Binance holds a 20-weight listing call and keeps the minute limit."""
    bucket = TokenBucket.for_limit(RateLimit(6000, 60), ManualClock(), largest_cost=20)
    assert bucket.capacity >= 20
    assert bucket.capacity + bucket.rate * 60 == pytest.approx(6000)
    assert bucket.min_interval(cost_per_poll=90) == pytest.approx(1.0)
