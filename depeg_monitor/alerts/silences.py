"""Which silence (model.Silence) covers a coin at a moment."""

from __future__ import annotations

from collections.abc import Sequence

from depeg_monitor.model import Silence


def silenced_by(coin: str, now: float, silences: Sequence[Silence]) -> Silence | None:
    """The first silence covering coin at now, if any."""
    return next((s for s in silences if s.matches(coin, now)), None)
