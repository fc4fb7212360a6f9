"""A circuit breaker: after repeated failures, back a venue off; close when it answers."""

from __future__ import annotations


class CircuitBreaker:
    """Opens after `threshold` consecutive failures for base·2^n seconds (capped)."""

    def __init__(self, threshold: int, base: float, max_backoff: float) -> None:
        self.threshold = threshold
        self.base = base
        self.max_backoff = max_backoff
        self.failures = 0
        self.open_until: float | None = None

    def allows(self, now: float) -> bool:
        """False while open; once the back-off passes, one trial poll goes through."""
        return self.open_until is None or now >= self.open_until

    def record_success(self) -> None:
        self.failures = 0
        self.open_until = None

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            n = self.failures - self.threshold
            self.open_until = now + min(self.max_backoff, self.base * 2.0 ** min(n, 30))

    def remaining(self, now: float) -> float:
        return max(0.0, (self.open_until or now) - now)
