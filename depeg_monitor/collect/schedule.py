"""A drift-free schedule: slot k starts at start + k·interval, whatever the polls cost."""

from __future__ import annotations

import math


def next_slot(start: float, interval: float, now: float) -> float:
    """The first slot strictly after now; slots missed by a slow poll are skipped."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    k = math.floor((now - start) / interval) + 1
    return start + max(k, 1) * interval
