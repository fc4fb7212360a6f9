"""A coin's rolling history: velocity over the last minute, volatility from jitter."""

from __future__ import annotations

import math

import pytest

from depeg_monitor.detect.history import CoinHistory

WINDOW = 3600.0


def test_velocity_is_the_change_over_the_last_minute_per_minute() -> None:
    """A slide of 1 % every 30 s reads as −2 % a minute once a minute of history exists."""
    h = CoinHistory()
    seen = [h.add_deviation(t, -0.01 * (t / 30), WINDOW)[0] for t in (0.0, 30.0, 60.0, 90.0)]
    assert seen[0] is None  # nothing to compare with yet
    assert seen[1] == pytest.approx(-0.02)
    assert seen[2] == pytest.approx(-0.02)
    assert seen[3] == pytest.approx(-0.02)  # measured from t=30, not from the start


def test_volatility_follows_jitter_not_the_level() -> None:
    """Deviation flipping ±0.5 % each cycle is noise of about that size; a steady level is calm."""
    jitter, steady = CoinHistory(), CoinHistory()
    for i in range(50):
        _, noisy = jitter.add_deviation(10.0 * i, 0.005 if i % 2 else -0.005, WINDOW)
        _, calm = steady.add_deviation(10.0 * i, -0.03, WINDOW)
    assert noisy == pytest.approx(0.01 * math.sqrt(math.pi) / 2)
    assert calm == 0.0
