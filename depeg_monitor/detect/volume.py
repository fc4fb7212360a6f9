"""Volume traded recently per market, from the 24 h volume figures venues report.

A venue's 24 h figure V(t) is the volume traded in (t - 1 day, t]. The difference of two
readings is what traded in between less what left the window a day earlier, so each market's
meter keeps its cumulative traded volume C, with C(t) - C(t - 1 day) = V(t), rebuilt reading by
reading as C(t) = V(t) + C(t - 1 day). Before the first reading the day is taken to have traded
evenly (C climbs linearly by V(t0) over the day before t0): right for a live venue's first
figure, a full day's; after one day the meter rests on its own readings only. Replay's figures
(per-bar volume summed over a trailing day from an empty window, series.py) are rebuilt
exactly but for the first bar, which the even day spreads out (it leaves the loader's sum at
once a day later, a dip of one bar then). A reading that would make C fall (a venue resetting
its figure, a glitch) counts as nothing traded.

The spike figure compares what traded over the last `window` seconds with the typical amount
over `window` in the observed past (up to `baseline` seconds before that window; worked out
again once a minute, as it moves slowly). Until
`warmup` seconds of readings lie before the window there is no figure (None), never a guess:
a first day whose 24 h sums are still filling up must not read as a surge.
"""

from __future__ import annotations

import math
from bisect import bisect_right

DAY = 86_400.0  # the window of a venue's 24 h volume
_STEP = 60.0  # older points are kept at most one a minute (the newest is always kept)
_SLACK = 256  # points past the horizon dropped together, not one by one
_INF = math.inf


class VolumeMeter:
    """One market's traded volume over time, fed its successive 24 h readings."""

    __slots__ = (
        "_baseline",
        "_cum",
        "_horizon",
        "_t0",
        "_times",
        "_typical",
        "_v0",
        "_warmup",
        "_window",
        "rates",
    )

    def __init__(self, window: float, baseline: float, warmup: float) -> None:
        self._window = window
        self._warmup = warmup
        self._horizon = max(DAY, baseline) + window + _STEP  # history any lookup needs
        self._baseline = baseline
        self._times: list[float] = []
        self._cum: list[float] = []
        self._t0 = 0.0  # the first reading's time
        self._v0 = 0.0  # and its 24 h figure
        # (recent, typical) traded per second, as of the newest reading; None while warming up
        self.rates: tuple[float, float] | None = None
        self._typical: tuple[float, float] | None = None  # (when worked out, typical)

    def add(self, ts: float, volume_24h: float) -> None:
        """Take a reading; an older or repeated one, or a figure that is not a volume, is
        ignored."""
        times, cum = self._times, self._cum
        if times and ts <= times[-1]:
            return  # seen already (the book hands the same quote to every cycle), or older
        if not (0.0 <= volume_24h < _INF and -_INF < ts < _INF):
            return
        if not times:
            self._t0, self._v0 = ts, volume_24h
            times.append(ts)
            cum.append(0.0)
            return
        n = len(times)
        day = ts - DAY
        at_day = self._at(day)
        # Where the typical window starts a day back (the default baseline) the lookup below is
        # this one again: the same figure, unless the newest point (moved or added now) is one of
        # the two it interpolates between.
        same_later = n >= 2 and day < times[-2]
        c = volume_24h + at_day
        if c < cum[-1]:
            c = cum[-1]
        if n >= 2 and ts - times[-2] < _STEP:
            times[-1] = ts
            cum[-1] = c
        else:
            times.append(ts)
            cum.append(c)
            horizon = ts - self._horizon
            if n >= _SLACK and times[_SLACK] < horizon:  # n + 1 points now
                cut = bisect_right(times, horizon) - 1  # keep one point at or before it
                del times[:cut]
                del cum[:cut]
        # The rates as of this reading: recent over the window, typical over the past before it.
        t0 = self._t0
        end = ts - self._window
        start = ts - self._baseline
        if start < t0:
            start = t0
        if end - t0 < self._warmup or end <= start:
            self.rates = None
            return
        at_end = self._at(end)
        typical = self._typical
        if typical is None or ts - typical[0] >= _STEP:  # it moves slowly: once a minute
            if start <= t0:
                at_start = 0.0
            elif start == day and same_later:
                at_start = at_day
            else:
                at_start = self._at(start)
            typical = (ts, (at_end - at_start) / (end - start))
            self._typical = typical
        self.rates = ((c - at_end) / self._window, typical[1])

    def _at(self, s: float) -> float:
        """C at time s: interpolated between readings; before the first, the even day."""
        t0 = self._t0
        if s < t0:
            return self._v0 * (max(s, t0 - DAY) - t0) / DAY
        times = self._times
        i = bisect_right(times, s)
        if i == len(times):
            return self._cum[-1]
        if i == 0:
            return self._cum[0]  # before the history kept (never asked for)
        t1 = times[i - 1]
        c1 = self._cum[i - 1]
        return c1 + (self._cum[i] - c1) * (s - t1) / (times[i] - t1)


def spike(parts: list[tuple[float, float]]) -> float | None:
    """Recent over typical volume across markets, each pair in one unit (e.g. USD per second);
    None without a typical volume to compare with."""
    recent = typical = 0.0
    for r, t in parts:
        recent += r
        typical += t
    if not (typical > 0 and math.isfinite(recent) and math.isfinite(typical)):
        return None
    return recent / typical
