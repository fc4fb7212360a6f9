"""A venue's "wait": the longest pause it has asked for, clamped to the longest it documents."""

from __future__ import annotations

from datetime import UTC, datetime

from depeg_monitor.clock import Clock


class Pause:
    def __init__(self, clock: Clock, max_wait: float) -> None:
        self._clock = clock
        self._max_wait = max_wait
        self.until: float | None = None  # monotonic
        self.reason = ""

    def active(self) -> bool:
        return self.until is not None and self._clock.monotonic() < self.until

    def ask(self, seconds: float, reason: str) -> tuple[float, bool]:
        """Pause for `seconds` (never shortening a longer pause); returns the seconds used and
        whether they had to be clamped (NaN, or beyond the venue's documented maximum)."""
        clamped = not seconds <= self._max_wait  # also true for NaN
        seconds = max(0.0, self._max_wait if clamped else seconds)
        until = self._clock.monotonic() + seconds
        if self.until is None or until > self.until:
            self.until, self.reason = until, reason
        return seconds, clamped

    def text(self) -> str:
        """'paused until 2026-…Z (578s more): why' — the end time, for /health."""
        assert self.until is not None
        left = max(0.0, self.until - self._clock.monotonic())
        until = datetime.fromtimestamp(self._clock.now() + left, UTC)
        return f"paused until {until:%Y-%m-%dT%H:%M:%SZ} ({left:.0f}s more): {self.reason}"
