"""Many venues' quotes → one honest USD price per coin per cycle, with its context.

Per cycle: USDT/USDC-quoted quotes are converted through a reference rate computed from the
same cycle's USD-quoted markets of that quote coin (never assumed 1.0); stale quotes are
dropped; prices farther apart than the cluster band split into clusters and the price follows
the one holding most of the coin's liquidity, never averaging across the gap (clusters.py; the
others are the snapshot's dislocation); in the followed cluster outliers are rejected by median
absolute deviation with a minimum band, the rest averaged by USD volume × venue weight (a quote
without volume counts as its venue's liquidity_usd, else as the thinnest measured market);
fewer than min_venues distinct fresh venues, followed or apart → no price.

When the quorum is not met the Snapshot still lists the agreeing quotes in `used` (with
price None), so the classifier can say how much data there was.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from depeg_monitor.detect import clusters
from depeg_monitor.detect.history import CoinHistory
from depeg_monitor.detect.rules import CoinRules, DetectionRules
from depeg_monitor.model import (
    Dislocation,
    DroppedQuote,
    Quote,
    Snapshot,
    SnapshotContext,
    VenuePrice,
)

USD = "USD"
_SMALLEST = sys.float_info.min  # the smallest normal float: below it, sums lose precision


class _Priced(NamedTuple):
    """A quote with its USD price and USD volume."""

    quote: Quote
    price_usd: float
    volume_usd: float | None


class _Agreed(NamedTuple):
    """A coin's fresh quotes once venues are clustered and the followed cluster is trimmed."""

    seen: list[_Priced]  # what the context measures: the followed quotes and those apart
    used: tuple[VenuePrice, ...]  # the followed cluster, outliers rejected
    price: float | None  # its weighted average (None: nothing, or nothing finite)
    venues: int  # distinct venues, followed or apart: what the quorum counts
    outliers: list[DroppedQuote]
    dislocation: Dislocation | None


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


class Aggregator:
    """Turns one cycle's quotes into a Snapshot for every configured coin.

    assumed_rates is for replays of data that has no USD market for a quote coin at all
    (e.g. Binance *USDT history): it fixes that coin's rate, and the replay report says so.
    The live daemon never passes it.
    """

    def __init__(
        self, rules: DetectionRules, *, assumed_rates: Mapping[str, float] | None = None
    ) -> None:
        self._coins = {c.coin: c for c in rules.coins}
        self._rules = agg = rules.aggregation
        self._assumed = dict(assumed_rates or {})
        self._convertible = agg.reference_quotes | self._assumed.keys()  # quote coins with a rate
        self._muted = frozenset(v for v, w in agg.venue_weights.items() if w <= 0)
        self._history = {c.coin: CoinHistory() for c in rules.coins}

    # -- reference rates -------------------------------------------------------------------

    def reference_rates(self, quotes: Sequence[Quote], now: float) -> dict[str, float]:
        """USD per unit of each reference quote coin, from its fresh USD-quoted markets."""
        refs = self._rules.reference_quotes
        return self._rates([q for q in quotes if q.coin in refs and q.quote_ccy == USD], now)

    def _rates(self, candidates: Sequence[Quote], now: float) -> dict[str, float]:
        by_ref: dict[str, list[_Priced]] = {}
        for q in candidates:
            if q.price > 0 and math.isfinite(q.price) and self._fresh(q, now):
                by_ref.setdefault(q.coin, []).append(_Priced(q, q.price, _usd_volume(q, 1.0)))
        rates = dict(self._assumed)
        for coin, priced in by_ref.items():
            kept, _ = self._reject_outliers(priced)
            rate = _average(kept, self._weights_of(kept))
            if _valid(rate):
                rates[coin] = rate
        return rates

    # -- the cycle --------------------------------------------------------------------------

    def aggregate(self, quotes: Sequence[Quote], now: float) -> dict[str, Snapshot]:
        """A Snapshot for every configured coin, in configuration order."""
        coins, refs = self._coins, self._rules.reference_quotes
        by_coin: dict[str, list[Quote]] = {}
        candidates: list[Quote] = []  # the reference coins' USD markets
        for q in quotes:
            if q.coin in coins:
                by_coin.setdefault(q.coin, []).append(q)
            if q.coin in refs and q.quote_ccy == USD:
                candidates.append(q)
        rates = self._rates(candidates, now)

        # First every coin's price, so each context can name the other coins deviating.
        partial: list[tuple[CoinRules, list[_Priced], tuple[VenuePrice, ...], list[DroppedQuote]]]
        partial = []
        prices: dict[str, float] = {}
        apart: dict[str, Dislocation] = {}
        for coin in self._coins.values():
            kept, dropped = self._convert(by_coin.get(coin.coin, ()), rates, now)
            agreed = self._agree(kept, coin.peg)
            dropped.extend(agreed.outliers)
            partial.append((coin, agreed.seen, agreed.used, dropped))
            if agreed.dislocation is not None:
                apart[coin.coin] = agreed.dislocation
            # The quorum counts every fresh venue, followed or apart: two venues that split
            # still give a price (the liquid one's) and a dislocation the classifier counts.
            if agreed.price is not None and agreed.venues >= coin.min_venues:
                prices[coin.coin] = agreed.price
        deviating = [
            c.coin
            for c in self._coins.values()
            if c.coin in prices and abs(prices[c.coin] - c.peg) / c.peg >= c.levels.minor
        ]

        out: dict[str, Snapshot] = {}
        for coin, kept, used, dropped in partial:
            name, peg = coin.coin, coin.peg
            found = prices.get(name)
            if found is None:
                out[name] = Snapshot(
                    name, now, peg, None, None, used, tuple(dropped), dislocation=apart.get(name)
                )
                continue
            deviation = (found - peg) / peg
            context = self._context(name, kept, found, deviation, deviating, now)
            out[name] = Snapshot(
                name, now, peg, found, deviation, used, tuple(dropped), context, apart.get(name)
            )
        return out

    # -- steps ------------------------------------------------------------------------------

    def _fresh(self, q: Quote, now: float) -> bool:
        return now - q.ts <= self._rules.max_quote_age

    def _convert(
        self, quotes: Sequence[Quote], rates: Mapping[str, float], now: float
    ) -> tuple[list[_Priced], list[DroppedQuote]]:
        """USD prices of the usable quotes (one per market, the newest), and the rest, with why."""
        kept: dict[tuple[str, str], _Priced] = {}
        dropped: list[DroppedQuote] = []
        oldest = now - self._rules.max_quote_age
        for q in quotes:
            price, ccy = q.price, q.quote_ccy
            rate = rates.get(ccy) if ccy != USD else 1.0
            if not (price > 0 and math.isfinite(price)):
                reason = "bad_price"
            elif q.ts < oldest:
                reason = "stale"
            elif ccy not in self._convertible and ccy != USD:
                reason = "unsupported_quote"
            elif rate is None:
                reason = "no_reference"
            elif q.venue in self._muted:
                reason = "zero_weight"
            else:
                reason = ""
            if rate is None or reason:
                dropped.append(DroppedQuote(q.venue, ccy, reason, price))
                continue
            key = (q.venue, ccy)
            old = kept.get(key)
            if old is not None:
                # Two answers for one market: the newer wins, the older is recorded.
                if old.quote.ts > q.ts:
                    dropped.append(DroppedQuote(q.venue, ccy, "superseded", price))
                    continue
                dropped.append(DroppedQuote(q.venue, ccy, "superseded", old.quote.price))
            kept[key] = _Priced(q, price * rate, _usd_volume(q, rate))
        return list(kept.values()), dropped

    def _reject_outliers(
        self, priced: Sequence[_Priced]
    ) -> tuple[list[_Priced], list[DroppedQuote]]:
        """Bad prints among quotes of one market (a cluster): farther from the median than
        k × MAD and the minimum band. Two prices cannot say which one is wrong."""
        if len(priced) < 3:
            return list(priced), []
        prices = [p.price_usd for p in priced]
        med = _median(prices)
        mad = _median([abs(x - med) for x in prices])
        band = max(self._rules.outlier_mad_k * mad, self._rules.outlier_min_band * med)
        kept: list[_Priced] = []
        dropped: list[DroppedQuote] = []
        for p in priced:
            if abs(p.price_usd - med) > band:
                dropped.append(
                    DroppedQuote(p.quote.venue, p.quote.quote_ccy, "outlier", p.quote.price)
                )
            else:
                kept.append(p)
        return kept, dropped

    def _weights_of(self, priced: Sequence[_Priced]) -> list[float]:
        """Venue weight × USD volume. A quote without volume counts as its venue's liquidity_usd,
        else as the thinnest known market (an unmeasured book must not outweigh measured
        trading); with no volumes at all (or all zero) every venue counts equally."""
        venue_w, liquidity = self._rules.venue_weights, self._rules.venue_liquidity
        thinnest = math.inf
        total = 0.0
        for p in priced:
            v = p.volume_usd
            if v is None and liquidity:
                v = liquidity.get(p.quote.venue)
            if v is not None:
                total += v
                if v < thinnest:
                    thinnest = v
        if total <= 0:
            return [venue_w.get(p.quote.venue, 1.0) for p in priced]
        return [
            venue_w.get(p.quote.venue, 1.0)
            * (p.volume_usd if p.volume_usd is not None else liquidity.get(p.quote.venue, thinnest))
            for p in priced
        ]

    def _liquidity(self, p: _Priced) -> float:
        """What a quote weighs when venues split: USD volume × venue weight; without volume its
        venue's liquidity_usd, else nothing (an unmeasured book never outvotes measured ones)."""
        v = p.volume_usd
        if v is None:
            v = self._rules.venue_liquidity.get(p.quote.venue, 0.0)
        return self._rules.venue_weights.get(p.quote.venue, 1.0) * v

    def _agree(self, priced: list[_Priced], peg: float) -> _Agreed:
        """The followed cluster's price and venues, the others as a dislocation (clusters.py)."""
        prices = [p.price_usd for p in priced]
        split = clusters.split(priced, prices, self._liquidity, self._rules.cluster_band, peg)
        kept, outliers = self._reject_outliers(priced if split is None else split.followed.members)
        used, price = self._priced(kept)
        venues = {p.quote.venue for p in kept}
        if split is None or price is None:
            return _Agreed(kept, used, price, len(venues), outliers, None)
        seen = list(kept)
        others: list[VenuePrice] = []
        their = None
        for c in split.others:
            priced_apart, average = self._priced(c.members)
            their = average if their is None else their  # the strongest other cluster's price
            others.extend(priced_apart)
            seen.extend(c.members)
            venues.update(x.quote.venue for x in c.members)
        if their is None:  # nothing finite apart (absurd prices): the followed stand alone
            return _Agreed(kept, used, price, len({p.quote.venue for p in kept}), outliers, None)
        gap = (their - price) / price
        fee = self._rules.arbitrage_fee
        dislocation = Dislocation(tuple(others), their, price, gap, abs(gap) - fee)
        return _Agreed(seen, used, price, len(venues), outliers, dislocation)

    def _priced(self, priced: Sequence[_Priced]) -> tuple[tuple[VenuePrice, ...], float | None]:
        """The quotes as VenuePrices with their weights, and their average (None: not valid)."""
        weights = self._weights_of(priced)
        used = tuple(
            [
                VenuePrice(p.quote.venue, p.quote.quote_ccy, p.price_usd, w)
                for p, w in zip(priced, weights, strict=True)
            ]
        )
        if not priced:
            return used, None
        price = _average(priced, weights)
        return used, price if _valid(price) else None  # never a price no market traded at

    def _context(
        self,
        coin: str,
        kept: Sequence[_Priced],
        price: float,
        deviation: float,
        deviating: Sequence[str],
        now: float,
    ) -> SnapshotContext:
        cheap = dear = kept[0]
        for p in kept:
            if p.price_usd < cheap.price_usd:
                cheap = p
            elif p.price_usd > dear.price_usd:
                dear = p
        spread = (dear.price_usd - cheap.price_usd) / price
        hist = self._history[coin]
        velocity, volatility = hist.add_deviation(now, deviation, self._rules.volatility_window)
        vols = [p.volume_usd for p in kept]
        volume = sum(v for v in vols if v is not None) if all(v is not None for v in vols) else None
        spike = hist.add_volume(now, volume, self._rules.baseline_window) if volume else None
        return SnapshotContext(
            spread=spread,
            cheapest_venue=cheap.quote.venue,
            dearest_venue=dear.quote.venue,
            arbitrage_net=spread - self._rules.arbitrage_fee,
            volume_usd_24h=volume,
            volume_spike=spike,
            velocity_per_min=velocity,
            volatility=volatility,
            correlated=tuple(c for c in deviating if c != coin),
        )


def _valid(price: float) -> bool:
    return price > 0 and math.isfinite(price)


def _average(priced: Sequence[_Priced], weights: Sequence[float]) -> float:
    """The weighted mean price; the median when nothing has weight."""
    total = acc = 0.0
    for p, w in zip(priced, weights, strict=True):
        total += w
        acc += p.price_usd * w
    if not (math.isfinite(acc) and _SMALLEST <= total < math.inf):
        # Weights built from absurd volumes (1e307, 1e-320) overflow or underflow the sums
        # (inf, NaN or 0): take the same mean over the weights scaled by the largest.
        top = max(weights, default=0.0)
        if 0 < top < math.inf:
            scaled = [w / top for w in weights]
            total = sum(scaled)
            acc = sum(p.price_usd * w for p, w in zip(priced, scaled, strict=True))
    if total <= 0:
        return _median([p.price_usd for p in priced])
    return acc / total


def _usd_volume(q: Quote, rate: float) -> float | None:
    """The quote's 24h volume in USD, from quote-currency volume if given, else base volume.

    A non-finite or negative figure counts as no volume: it must never weigh in the average."""
    if q.volume_quote_24h is not None:
        usd = q.volume_quote_24h * rate
    elif q.volume_base_24h is not None:
        usd = q.volume_base_24h * q.price * rate
    else:
        return None
    return usd if math.isfinite(usd) and usd >= 0 else None
