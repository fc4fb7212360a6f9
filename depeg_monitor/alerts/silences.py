"""Silences: a person's 'I know, stop telling me' for one coin (or all) over a time window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    coin: str | None  # None: every coin
    starts_at: float
    ends_at: float
    reason: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, coin: str, now: float) -> bool:
        return self.active(now) and (self.coin is None or self.coin == coin.upper())


def silenced_by(coin: str, now: float, silences: Sequence[Silence]) -> Silence | None:
    """The first silence covering coin at now, if any."""
    return next((s for s in silences if s.matches(coin, now)), None)
