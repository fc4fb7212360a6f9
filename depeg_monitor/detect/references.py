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
from collections.abc import Callable, Iterable, Sequence

from depeg_monitor.model import Quote

KEEP = 8  # observations kept per reference market
NO_REFERENCE = "no_reference"  # the quote coin has no fresh USD market at all
REFERENCE_LAG = "reference_lag"  # it has, but none observed within tolerance of the quote

Combine = Callable[[Sequence[Quote]], float | None]  # one rate from markets' observations


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
        # reference coin → market (venue) → observations, oldest first
        self._seen: dict[str, dict[str, list[Quote]]] = {}
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
            obs = seen.get(q.venue)
            if obs is None:
                seen[q.venue] = [q]
                continue
            t = q.ts
            last = obs[-1].ts
            if t > last:
                obs.append(q)
            elif t == last or any(o.ts == t for o in obs):
                continue
            else:  # older data after newer (OKX warns of it): kept in time order
                i = len(obs)
                while i and obs[i - 1].ts > t:
                    i -= 1
                obs.insert(i, q)
            if len(obs) > KEEP:
                del obs[0]

    def rate(self, coin: str, t: float) -> tuple[float | None, str]:
        """(USD per unit of `coin` for a quote observed at t, "") or (None, why not)."""
        key = (coin, t)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._rate(coin, t)
        return found

    def _rate(self, coin: str, t: float) -> tuple[float | None, str]:
        chosen = self.near(coin, t)
        if chosen is None:
            return None, NO_REFERENCE
        if not chosen:
            return None, REFERENCE_LAG
        rate = self._combine(chosen)
        return (rate, "") if rate is not None else (None, NO_REFERENCE)

    def near(self, coin: str, t: float) -> list[Quote] | None:
        """Each market's reading for a quote at t (the rule above; on a tie the newer);
        [] when there are fresh readings but none usable; None when none is fresh."""
        tolerance, oldest, jump = self.tolerance, self._oldest, self.jump
        chosen: list[Quote] = []
        fresh = False
        for obs in self._seen.get(coin, {}).values():
            before: Quote | None = None  # the last reading at or before t …
            after: Quote | None = None  # … and the first after it
            for o in obs:
                ts = o.ts
                if ts < oldest:
                    continue
                fresh = True
                if ts <= t:
                    before = o
                else:
                    after = o
                    break
            if before is not None and before.ts == t:
                chosen.append(before)
                continue
            near_before = before is not None and t - before.ts <= tolerance
            near_after = after is not None and after.ts - t <= tolerance
            if before is not None and after is not None:
                if abs(after.price / before.price - 1.0) > jump:
                    continue  # the reference moved between its readings around t: unknown
                if near_before and near_after:
                    chosen.append(before if t - before.ts < after.ts - t else after)
                    continue
            if near_before and before is not None:
                chosen.append(before)
            elif near_after and after is not None:
                chosen.append(after)
        return chosen if fresh else None
