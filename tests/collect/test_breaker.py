"""The circuit breaker: opens after repeated failures, backs off, closes on an answer."""

from __future__ import annotations

from depeg_monitor.collect.breaker import CircuitBreaker


def test_opens_after_threshold_and_backs_off_exponentially() -> None:
    """Three failures open it for the base time; each further failure doubles it, capped."""
    b = CircuitBreaker(threshold=3, base=10.0, max_backoff=35.0)
    for _ in range(2):
        b.record_failure(0.0)
    assert b.allows(0.0)
    b.record_failure(0.0)
    assert not b.allows(9.9) and b.allows(10.0)
    b.record_failure(10.0)
    assert b.remaining(10.0) == 20.0
    b.record_failure(30.0)
    assert b.remaining(30.0) == 35.0  # 40 capped


def test_an_answer_closes_it() -> None:
    """One success resets the count and closes the circuit."""
    b = CircuitBreaker(threshold=1, base=10.0, max_backoff=60.0)
    b.record_failure(0.0)
    assert not b.allows(1.0)
    b.record_success()
    assert b.allows(1.0) and b.failures == 0
