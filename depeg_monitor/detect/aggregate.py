"""Many venues' quotes → one honest USD price per coin per cycle, with its context.

Per cycle: USDT/USDC-quoted quotes are converted through a reference rate computed from the
same cycle's USD-quoted markets of that quote coin (never assumed 1.0); stale quotes are
dropped; outliers are rejected by median absolute deviation with a minimum band; the rest
are averaged by USD volume × venue weight; fewer than min_venues distinct venues → no price.

When the quorum is not met the Snapshot still lists the agreeing quotes in `used` (with
price None), so the classifier can say how much data there was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from depeg_monitor.config import Settings
from depeg_monitor.detect.history import CoinHistory
from depeg_monitor.model import DroppedQuote, Quote, Snapshot, SnapshotContext, VenuePrice

USD = "USD"


class _Priced(NamedTuple):
    """A quote with its USD price (a tuple: built for every quote every cycle)."""

    quote: Quote
    price_usd: float
    volume_usd: float | None


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

    def __init__(self, settings: Settings, *, assumed_rates: Mapping[str, float] | None = None):
        agg = settings.aggregation
        self._coins = {c: cs.peg for c, cs in settings.coins.items()}
        self._minor = {c: settings.thresholds_for(c).minor for c in settings.coins}
        self._weights = {name: v.weight for name, v in settings.venues.items()}
        self._max_age = agg.max_quote_age
        self._mad_k = agg.outlier_mad_k
        self._min_band = agg.outlier_min_band
        # A coin listed on one venue only (e.g. an aggregator) may lower its own quorum.
        self._min_venues = {
            c: cs.min_venues if cs.min_venues is not None else agg.min_venues
            for c, cs in settings.coins.items()
        }
        self._fee = agg.arbitrage_fee
        self._refs = frozenset(agg.reference_quotes)
        self._assumed = dict(assumed_rates or {})
        self._baseline_window = agg.baseline_window
        self._vol_window = agg.volatility_window
        self._history: dict[str, CoinHistory] = {c: CoinHistory() for c in self._coins}

    # -- reference rates -------------------------------------------------------------------

    def reference_rates(self, quotes: Sequence[Quote], now: float) -> dict[str, float]:
        """USD per unit of each reference quote coin, from its fresh USD-quoted markets."""
        refs = self._refs
        return self._rates([q for q in quotes if q.quote_ccy == USD and q.coin in refs], now)

    def _rates(self, candidates: Sequence[Quote], now: float) -> dict[str, float]:
        by_ref: dict[str, list[_Priced]] = {}
        for q in candidates:
            price = q.price
            if price > 0 and math.isfinite(price) and self._fresh(q, now):
                by_ref.setdefault(q.coin, []).append(_Priced(q, price, _usd_volume(q, 1.0)))
        rates = dict(self._assumed)
        for coin, priced in by_ref.items():
            kept, _ = self._reject_outliers(priced)
            rate = _average(kept, self._weights_of(kept))
            if math.isfinite(rate) and rate > 0:
                rates[coin] = rate
        return rates

    # -- the cycle --------------------------------------------------------------------------

    def aggregate(self, quotes: Sequence[Quote], now: float) -> dict[str, Snapshot]:
        coins, refs = self._coins, self._refs
        by_coin: dict[str, list[Quote]] = {}
        candidates: list[Quote] = []
        for q in quotes:
            coin = q.coin
            if coin in coins:
                by_coin.setdefault(coin, []).append(q)
            if coin in refs and q.quote_ccy == USD:
                candidates.append(q)
        rates = self._rates(candidates, now)

        partial: list[tuple[str, list[_Priced], tuple[VenuePrice, ...], list[DroppedQuote]]] = []
        prices: dict[str, float] = {}
        deviating: list[str] = []
        for coin, peg in self._coins.items():
            kept, dropped = self._convert(by_coin.get(coin, ()), rates, now)
            kept, outliers = self._reject_outliers(kept)
            dropped.extend(outliers)
            weights = self._weights_of(kept)
            used = tuple(
                [
                    VenuePrice(p.quote.venue, p.quote.quote_ccy, p.price_usd, w)
                    for p, w in zip(kept, weights, strict=True)
                ]
            )
            partial.append((coin, kept, used, dropped))
            if kept and len({p.quote.venue for p in kept}) >= self._min_venues[coin]:
                price = _average(kept, weights)
                if not math.isfinite(price):
                    continue  # never publish a price no market traded at: no price instead
                prices[coin] = price
                if abs(price - peg) / peg >= self._minor[coin]:
                    deviating.append(coin)

        out: dict[str, Snapshot] = {}
        for coin, kept, used, dropped in partial:
            peg = self._coins[coin]
            found = prices.get(coin)
            if found is None:
                out[coin] = Snapshot(coin, now, peg, None, None, used, tuple(dropped))
                continue
            deviation = (found - peg) / peg
            context = self._context(coin, kept, found, deviation, deviating, now)
            out[coin] = Snapshot(coin, now, peg, found, deviation, used, tuple(dropped), context)
        return out

    # -- steps ------------------------------------------------------------------------------

    def _fresh(self, q: Quote, now: float) -> bool:
        return now - q.ts <= self._max_age

    def _convert(
        self, quotes: Sequence[Quote], rates: Mapping[str, float], now: float
    ) -> tuple[list[_Priced], list[DroppedQuote]]:
        kept: dict[tuple[str, str], _Priced] = {}
        dropped: list[DroppedQuote] = []
        oldest = now - self._max_age
        refs, assumed, weights = self._refs, self._assumed, self._weights
        for q in quotes:
            price, ccy = q.price, q.quote_ccy
            ts = q.ts_exchange  # Quote.ts, inlined: this loop meets every quote every cycle
            if ts is None or ts > q.ts_received:
                ts = q.ts_received
            reason = None
            if not (price > 0 and math.isfinite(price)):
                reason = "bad_price"
            elif ts < oldest:
                reason = "stale"
            elif ccy == USD:
                rate: float | None = 1.0
            elif ccy in refs or ccy in assumed:
                rate = rates.get(ccy)
                if rate is None:
                    reason = "no_reference"
            else:
                reason = "unsupported_quote"
            if reason is None and weights.get(q.venue, 1.0) <= 0:
                reason = "zero_weight"
            if reason is not None or rate is None:
                dropped.append(DroppedQuote(q.venue, ccy, reason or "no_reference", price))
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

    def _reject_outliers(self, priced: list[_Priced]) -> tuple[list[_Priced], list[DroppedQuote]]:
        if len(priced) < 3:
            # Two prices cannot say which one is wrong; the spread shows the disagreement.
            return priced, []
        prices = [p.price_usd for p in priced]
        med = _median(prices)
        mad = _median([abs(x - med) for x in prices])
        band = max(self._mad_k * mad, self._min_band * med)
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
        """Venue weight × USD volume. A quote without volume counts as the thinnest known market
        (an unmeasured book must not outweigh measured trading); with no volumes at all (or all
        zero) every venue counts equally."""
        venue_w = self._weights
        neutral = math.inf
        total = 0.0
        for p in priced:
            v = p.volume_usd
            if v is not None:
                total += v
                if v < neutral:
                    neutral = v
        if total <= 0:
            return [venue_w.get(p.quote.venue, 1.0) for p in priced]
        return [
            venue_w.get(p.quote.venue, 1.0) * (neutral if p.volume_usd is None else p.volume_usd)
            for p in priced
        ]

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
        velocity, volatility = hist.add_deviation(now, deviation, self._vol_window)
        vols = [p.volume_usd for p in kept]
        volume = sum(v for v in vols if v is not None) if all(v is not None for v in vols) else None
        spike = hist.add_volume(now, volume, self._baseline_window) if volume else None
        return SnapshotContext(
            spread=spread,
            cheapest_venue=cheap.quote.venue,
            dearest_venue=dear.quote.venue,
            arbitrage_net=spread - self._fee,
            volume_usd_24h=volume,
            volume_spike=spike,
            velocity_per_min=velocity,
            volatility=volatility,
            correlated=tuple(c for c in deviating if c != coin),
        )


def _average(priced: Sequence[_Priced], weights: Sequence[float]) -> float:
    total = acc = 0.0
    for p, w in zip(priced, weights, strict=True):
        total += w
        acc += p.price_usd * w
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
