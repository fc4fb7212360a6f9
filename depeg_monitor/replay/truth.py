"""The ground truth a replay is scored against, read from the data alone (never the detector).

A coin's reference price is the median USD price of the latest quotes of its reference
series, each while fresh for its own series' max_quote_age, taken at every reference bar.
By default a coin's reference series are those quoted in USD or in a coin of assume_rates
(converted at that rate); `reference = false` leaves a series out (a thin book with
artefacts), `reference = true` keeps it in. A deviation on a side the coin's settings switch
off counts as none. Thresholds are the coin's own, never widened.

For a window and a level, `first` is the first reference point beyond the level's threshold
(a crossing); `held` is the first point of the first run of consecutive points beyond it that
has two points or more and lasts SUSTAIN seconds or more from its first point to its last: the
market crossed and stayed (a flicker around the threshold is not a level held). At coarse
granularity (15 min, 1 h) any two consecutive points last long enough.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import Manifest, SeriesSpec
from depeg_monitor.replay.series import LoadedSeries

LEVELS = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
SUSTAIN = 300.0  # seconds a run beyond a level must last to count as held


@dataclass(frozen=True, slots=True)
class Crossing:
    """When the reference first went beyond one level inside a window."""

    level: Severity
    threshold: float
    first: float | None  # the first point beyond
    held: float | None  # the first point of the first run beyond that lasted (see SUSTAIN)


@dataclass(frozen=True, slots=True)
class WindowTruth:
    """What the reference data did inside one window."""

    points: int  # reference prices inside the window
    crossings: tuple[Crossing, Crossing, Crossing]  # minor, major, critical
    max_deviation: float  # the largest deviation (signed; 0.0 without points)

    def crossing(self, level: Severity) -> Crossing:
        return self.crossings[level - 1]

    @property
    def reached(self) -> Severity:
        """The highest level any reference point crossed."""
        return max((c.level for c in self.crossings if c.first is not None), default=Severity.NONE)

    @property
    def held(self) -> Severity:
        """The highest level the reference held (see SUSTAIN)."""
        return max((c.level for c in self.crossings if c.held is not None), default=Severity.NONE)


def is_reference(spec: SeriesSpec, assume_rates: dict[str, float]) -> bool:
    if spec.reference is not None:
        return spec.reference
    return spec.quote_ccy == "USD" or spec.quote_ccy in assume_rates


class Truth:
    """Every coin's reference path (time, signed deviation, counted magnitude)."""

    def __init__(self, manifest: Manifest, loaded: list[LoadedSeries]) -> None:
        self._manifest = manifest
        self._paths: dict[str, tuple[list[float], list[float], list[float]]] = {}
        self.series: dict[str, tuple[str, ...]] = {}
        for coin in manifest.settings.coins:
            refs = [
                s
                for s in loaded
                if s.spec.coin == coin and is_reference(s.spec, manifest.assume_rates)
            ]
            self.series[coin] = tuple(s.spec.market for s in refs)
            self._paths[coin] = self._path(coin, refs)

    def _path(
        self, coin: str, refs: list[LoadedSeries]
    ) -> tuple[list[float], list[float], list[float]]:
        m = self._manifest
        c = m.settings.coins[coin]
        stream: list[tuple[float, int, int, float]] = []  # (ts, market, series, USD price)
        markets: dict[tuple[str, str], int] = {}
        ages: list[float] = []
        for j, s in enumerate(refs):
            rate = 1.0 if s.spec.quote_ccy == "USD" else m.assume_rates[s.spec.quote_ccy]
            k = markets.setdefault((s.spec.venue, s.spec.quote_ccy), len(markets))
            ages.append(m.max_quote_age(s.spec))
            stream.extend((q.ts_received, k, j, q.price * rate) for q in s.quotes)
        stream.sort()
        times: list[float] = []
        signed: list[float] = []
        counted: list[float] = []
        latest: dict[int, tuple[float, float, float]] = {}  # market → (ts, USD price, age)
        i, n = 0, len(stream)
        while i < n:
            now = stream[i][0]
            while i < n and stream[i][0] == now:
                _, k, j, price = stream[i]
                latest[k] = (now, price, ages[j])
                i += 1
            fresh = sorted(p for ts, p, age in latest.values() if now - ts <= age)
            if not fresh:
                continue
            mid = len(fresh) // 2
            median = fresh[mid] if len(fresh) % 2 else (fresh[mid - 1] + fresh[mid]) / 2.0
            dev = (median - c.peg) / c.peg
            ignored = (dev > 0 and not c.alert_on_premium) or (dev < 0 and not c.alert_on_discount)
            times.append(now)
            signed.append(dev)
            counted.append(0.0 if ignored else abs(dev))
        return times, signed, counted

    def window(self, coin: str, start: float, end: float) -> WindowTruth:
        """The reference's crossings of each level inside [start, end)."""
        times, signed, counted = self._paths.get(coin, ([], [], []))
        lo = bisect.bisect_left(times, start)
        hi = bisect.bisect_left(times, end)
        t = self._manifest.settings.thresholds_for(coin)
        crossings = []
        for level, threshold in zip(LEVELS, (t.minor, t.major, t.critical), strict=True):
            first = held = None
            run = None  # the first point of the current run beyond the level
            for j in range(lo, hi):
                if counted[j] < threshold:
                    run = None
                    continue
                if first is None:
                    first = times[j]
                if run is None:
                    run = j
                elif times[j] - times[run] >= SUSTAIN:
                    held = times[run]
                    break
            crossings.append(Crossing(level, threshold, first, held))
        extreme = max(signed[lo:hi], key=abs, default=0.0)
        return WindowTruth(hi - lo, (crossings[0], crossings[1], crossings[2]), extreme)
