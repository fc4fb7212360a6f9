"""Reference rates in time: a quote in USDT (or USDC) is converted with a rate from its moment.

The rule: a quote observed at t (Quote.ts: the venue's time, never later than receipt) is
converted with, from each USD market of its quote coin, that market's reading nearest to t —
older or newer — if it lies within `tolerance` seconds of t and is itself fresh (no older than
max_quote_age); unless that market's readings either side of t differ by more than `jump`: the
reference moved between them and the quote may be from either side of the move, so that market
offers nothing for it (a reading at t itself always counts). The readings offered make one
rate the way any price is made (outliers rejected, weighted by volume). Without one the quote
has no rate: it waits for the next reference (a newer reading within tolerance of it) or, if
none comes in time, is left out until a newer quote — either way counted as "reference_lag",
and the coin has one venue fewer. So a converted price is only as fresh as the older of the
quote and its reference, and a quote read before USDT moved is never converted with a USDT/USD
reading from after the move (nor the other way round) when a reading from before it is known.

What no rule in time can see is a move between the reference's reading and the quote's when no
later reading exists yet (the USDT pairs polled just after USDT fell, USDT/USD just before):
that is the cross-section's to judge (attribution.py).

Each market keeps its last KEEP readings, so a quote that reached us after the reference moved
is still paired with the reference from its own moment.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence

from depeg_monitor.model import Quote

KEEP = 8  # observations kept per reference market
NO_REFERENCE = "no_reference"  # the quote coin has no fresh USD market at all
REFERENCE_LAG = "reference_lag"  # it has, but none observed within tolerance of the quote

Combine = Callable[[Sequence[Quote]], float | None]  # one rate from markets' observations


class _Readings:
    """One reference market's readings, oldest first; their times apart, as every lookup
    compares times and Quote.ts is a property."""

    __slots__ = ("quotes", "times")

    def __init__(self, q: Quote, t: float) -> None:
        self.times = [t]
        self.quotes = [q]


class ReferenceBook:
    """Recent readings of each reference coin's USD markets, and the rate for a moment.

    combine turns the chosen readings (one per market) into one rate, or None; the aggregator
    passes its own outlier rejection and weighting, so a rate is made like a price. jump: the
    change between two readings that counts as the reference having moved.
    """

    def __init__(self, tolerance: float, jump: float, combine: Combine) -> None:
        self.tolerance = tolerance
        self.jump = jump
        self._combine = combine
        # reference coin → market (venue) → its readings
        self._seen: dict[str, dict[str, _Readings]] = {}
        self._cache: dict[tuple[str, float], tuple[float | None, str]] = {}
        self._oldest = -math.inf

    def observe(self, quotes: Iterable[Quote], oldest: float) -> None:
        """Take this cycle's USD-quoted quotes of the reference coins; older than `oldest` is
        stale. A quote already seen (same market and time) is not kept twice."""
        self._cache.clear()
        self._oldest = oldest
        for q in quotes:
            price = q.price
            if not (price > 0 and math.isfinite(price)):
                continue
            seen = self._seen.get(q.coin)
            if seen is None:
                seen = self._seen[q.coin] = {}
            t = q.ts
            obs = seen.get(q.venue)
            if obs is None:
                seen[q.venue] = _Readings(q, t)
                continue
            times = obs.times
            if q is obs.quotes[-1]:
                continue  # the same answer handed over again (most cycles)
            if t > times[-1]:
                times.append(t)
                obs.quotes.append(q)
            else:
                i = bisect_left(times, t)
                if times[i] == t:
                    continue  # seen already (every cycle hands over the latest quote again)
                # older data after newer (OKX warns of it): kept in time order
                times.insert(i, t)
                obs.quotes.insert(i, q)
            if len(times) > KEEP:
                del times[0]
                del obs.quotes[0]

    def rate(self, coin: str, t: float) -> tuple[float | None, str]:
        """(USD per unit of `coin` for a quote observed at t, "") or (None, why not)."""
        key = (coin, t)
        found = self._cache.get(key)
        if found is not None:
            return found
        chosen = self.near(coin, t)
        if chosen is None:
            found = None, NO_REFERENCE
        elif not chosen:
            found = None, REFERENCE_LAG
        else:
            rate = self._combine(chosen)
            found = (rate, "") if rate is not None else (None, NO_REFERENCE)
        self._cache[key] = found
        return found

    def near(self, coin: str, t: float) -> list[Quote] | None:
        """Each market's reading for a quote at t (the rule above; on a tie the newer);
        [] when there are fresh readings but none usable; None when none is fresh."""
        tolerance, jump = self.tolerance, self.jump
        chosen: list[Quote] = []
        fresh = False
        for obs in self._seen.get(coin, {}).values():
            times, quotes = obs.times, obs.quotes
            n = len(times)
            first = bisect_left(times, self._oldest)  # the first fresh reading
            if first == n:
                continue
            fresh = True
            i = bisect_right(times, t)  # the first reading after t (times are distinct)
            b = i - 1 if i > first else -1  # the last fresh reading at or before t …
            a = i if i > first else first  # … and the first fresh one after it
            if b >= 0 and times[b] == t:
                chosen.append(quotes[b])
                continue
            near_before = b >= 0 and t - times[b] <= tolerance
            near_after = a < n and times[a] - t <= tolerance
            if b >= 0 and a < n:
                if abs(quotes[a].price / quotes[b].price - 1.0) > jump:
                    continue  # the reference moved between its readings around t: unknown
                if near_before and near_after:
                    chosen.append(quotes[b] if t - times[b] < times[a] - t else quotes[a])
                    continue
            if near_before:
                chosen.append(quotes[b])
            elif near_after:
                chosen.append(quotes[a])
        return chosen if fresh else None
