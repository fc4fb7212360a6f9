"""Which history rows are worth writing: a series' row when its value moved, or once a while.

Streams make a quote per change and the loop up to ten cycles a second; rows that repeat the
previous one (to within `move`) add nothing but size, so a series gets a row when its value
moved by `move` (a fraction), its tag changed (a severity), or `interval` seconds passed — and
never more than one per `min_gap` seconds but for a tag change.
"""

from __future__ import annotations

from collections.abc import Hashable


class RowThinner:
    def __init__(self, move: float = 0.0001, interval: float = 10.0, min_gap: float = 0.0) -> None:
        self._move = move
        self._interval = interval
        self._min_gap = min_gap
        self._last: dict[Hashable, tuple[float, float | None, object]] = {}

    def keep(self, key: Hashable, ts: float, value: float | None, tag: object = None) -> bool:
        """Whether this row is worth writing; remembered as the series' last row if so."""
        last = self._last.get(key)
        if last is not None:
            when, was, tag_was = last
            if value is None or was is None:
                moved = (value is None) != (was is None)
            else:
                moved = abs(value - was) >= self._move * abs(was)
            if tag == tag_was and (
                ts - when < self._min_gap or (not moved and ts - when < self._interval)
            ):
                return False
        self._last[key] = (ts, value, tag)
        return True
