"""Many venues' quotes → one honest USD price per coin per cycle, with its context.

Per cycle: USDT/USDC-quoted quotes are converted through a reference rate from the USD-quoted
markets of that quote coin observed close in time to each quote (never assumed 1.0; no closer
than reference_tolerance: left out, references.py); when every coin quoted in one quote coin
moves by the same ratio at once and their USD markets do not, the quote coin moved: those legs
are left out this cycle and the snapshots say so (attribution.py); stale quotes are
dropped; prices farther apart than the cluster band split into clusters and the price follows
the one holding most of the coin's liquidity, never averaging across the gap (clusters.py; the
others are the snapshot's dislocation); in the followed cluster outliers are rejected by median
absolute deviation with a minimum band, the rest averaged by USD volume × venue weight (a quote
without volume counts as its USD depth (a pool), else its venue's liquidity_usd, else as the
thinnest measured market);
fewer than min_venues distinct fresh venues, followed or apart → no price.

When the quorum is not met the Snapshot still lists the agreeing quotes in `used` (with
price None), so the classifier can say how much data there was.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from depeg_monitor.detect import clusters
from depeg_monitor.detect.attribution import Leg, Moves, attribute
from depeg_monitor.detect.history import CoinHistory
from depeg_monitor.detect.references import ReferenceBook
from depeg_monitor.detect.rules import CoinRules, DetectionRules
from depeg_monitor.detect.volume import VolumeMeter, spike
from depeg_monitor.model import (
    Dislocation,
    DroppedQuote,
    Quote,
    Snapshot,
    SnapshotContext,
    VenuePrice,
)

USD = "USD"
# Prices kept per coin for the attribution's "price from before" (a few seconds of cycles).
PRICE_HISTORY = 256
_SMALLEST = sys.float_info.min  # the smallest normal float: below it, sums lose precision


class _Priced(NamedTuple):
    """A quote with its USD price and USD volume."""

    quote: Quote
    price_usd: float
    volume_usd: float | None
    ts: float  # quote.ts, worked out once (a property, asked for at every step)


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
        self._references = ReferenceBook(
            agg.reference_tolerance, agg.quote_move_min, self._reference_rate
        )
        # coin → its recent prices (when, price), oldest first: the attribution's price from
        # before a quote coin's move (see _usd_prices)
        self._last_price: dict[str, deque[tuple[float, float]]] = {}
        self._meters: dict[tuple[str, str, str], VolumeMeter] = {}  # market → its volume

    def retune(self, rules: DetectionRules) -> None:
        """Each coin's reloaded rules (its quorum); [aggregation] itself is start-up only."""
        self._coins = {c.coin: c for c in rules.coins}

    # -- reference rates -------------------------------------------------------------------

    def reference_rates(self, quotes: Sequence[Quote], now: float) -> dict[str, float]:
        """USD per unit of each reference quote coin for a quote observed at `now`: from its
        USD-quoted markets' observations within reference_tolerance of now (references.py)."""
        refs = self._rules.reference_quotes
        book = self._rates([q for q in quotes if q.coin in refs and q.quote_ccy == USD], now)
        rates = dict(self._assumed)
        for coin in refs:
            rate, _ = book.rate(coin, now)
            if rate is not None:
                rates[coin] = rate
        return rates

    def _rates(self, candidates: Sequence[Quote], now: float) -> ReferenceBook:
        """The reference book, having seen this cycle's USD markets of the reference coins."""
        self._references.observe(candidates, now - self._rules.max_quote_age)
        return self._references

    def _reference_rate(self, observed: Sequence[Quote]) -> float | None:
        """One rate from one observation per market, made as a price is (outliers, weights)."""
        priced = [_Priced(q, q.price, _usd_volume(q, 1.0), q.ts) for q in observed]
        kept = priced if len(priced) < 3 else self._reject_outliers(priced)[0]  # 2: no outliers
        rate = _average(kept, self._weights_of(kept))
        return rate if _valid(rate) else None

    def _converted(
        self, by_coin: Mapping[str, Sequence[Quote]], candidates: Sequence[Quote], now: float
    ) -> tuple[dict[str, tuple[list[_Priced], list[DroppedQuote]]], Moves]:
        """Every coin's usable quotes in USD and the rest with why, less the legs of a quote
        coin that moved (left out as "quote_coin_moved"); and the moves, per coin they concern."""
        rates = self._rates(candidates, now)
        out = {name: self._convert(by_coin.get(name, ()), rates, now) for name in self._coins}
        return out, self._attribute(out, now)

    def _attribute(
        self, converted: dict[str, tuple[list[_Priced], list[DroppedQuote]]], now: float
    ) -> Moves:
        """Quote coins whose legs all moved together (attribution.py): their legs leave those
        coins' quotes; each such coin, and the quote coin itself, is told of the move."""
        agg = self._rules
        if len(converted) < agg.quote_move_coins:
            return {}  # too few coins configured to move together
        quoted = sum(any(p.quote.quote_ccy != USD for p in kept) for kept, _ in converted.values())
        if quoted < agg.quote_move_coins:
            return {}  # too few coins quoted in anything but USD to move together
        legs: dict[str, list[Leg]] = {}
        for name, (kept, _) in converted.items():
            for p in kept:
                q = p.quote
                ccy = q.quote_ccy
                # A fixed (assumed) rate cannot catch up with a move: those are replay's word.
                if ccy != USD and ccy not in self._assumed:
                    leg = Leg(name, q.venue, q.price, p.price_usd / q.price, p.ts)
                    legs.setdefault(ccy, []).append(leg)
        moves: Moves = {}
        usd: dict[str, float] | None = None
        for ccy, its in legs.items():
            if len({leg.coin for leg in its}) < agg.quote_move_coins:
                continue
            if usd is None:
                usd = self._usd_prices(converted, now)
            move = attribute(
                ccy,
                its,
                usd,
                min_coins=agg.quote_move_coins,
                min_move=agg.quote_move_min,
                order=tuple(self._coins),
            )
            if move is None:
                continue
            for name in move.coins:
                kept, dropped = converted[name]
                dropped.extend(
                    DroppedQuote(p.quote.venue, ccy, "quote_coin_moved", p.quote.price)
                    for p in kept
                    if p.quote.quote_ccy == ccy
                )
                converted[name] = ([p for p in kept if p.quote.quote_ccy != ccy], dropped)
                moves[name] = (*moves.get(name, ()), move)
            if ccy in self._coins:
                moves[ccy] = (*moves.get(ccy, ()), move)
        return moves

    def _usd_prices(
        self, converted: Mapping[str, tuple[list[_Priced], list[DroppedQuote]]], now: float
    ) -> dict[str, float]:
        """Each coin's USD price from outside any quote coin: the median of its USD-quoted
        markets this cycle, else its own price from before its legs in a quote coin were read
        (no older than max_quote_age). Before, not last: a cycle that saw only some of a move's
        legs (streamed updates arrive one by one) priced those at the moved ratio, and a last
        price taken from it would make the move look like the coins' own."""
        usd: dict[str, float] = {}
        max_age = self._rules.max_quote_age
        for name, (kept, _) in converted.items():
            direct = [p.price_usd for p in kept if p.quote.quote_ccy == USD]
            if direct:
                usd[name] = _median(direct)
                continue
            history = self._last_price.get(name)
            if not history or not kept:
                continue
            read = min(p.quote.ts for p in kept)
            for when, price in reversed(history):  # newest first: the legs are recent
                if when < read:
                    if now - when <= max_age:
                        usd[name] = price
                    break
        return usd

    def _told(self, out: dict[str, Snapshot], moves: Moves, now: float) -> dict[str, Snapshot]:
        """The snapshots with the quote-coin moves that concern them; prices remembered."""
        oldest = now - self._rules.max_quote_age
        for name, snap in out.items():
            if snap.price is not None:
                history = self._last_price.get(name)
                if history is None:
                    history = self._last_price[name] = deque()
                history.append((now, snap.price))
                while history[0][0] < oldest or len(history) > PRICE_HISTORY:
                    history.popleft()
        for name, told in moves.items():
            out[name] = replace(out[name], quote_coin_moves=told)
        return out

    # -- the cycle --------------------------------------------------------------------------

    def aggregate(self, quotes: Sequence[Quote], now: float) -> dict[str, Snapshot]:
        """A Snapshot for every configured coin, in configuration order."""
        coins, refs = self._coins, self._rules.reference_quotes
        by_coin: dict[str, list[Quote]] = {}
        candidates: list[Quote] = []  # the reference coins' USD markets
        for q in quotes:
            name = q.coin
            if name in coins:
                group = by_coin.get(name)
                if group is None:
                    by_coin[name] = [q]
                else:
                    group.append(q)
            if name in refs and q.quote_ccy == USD:
                candidates.append(q)
        converted, moves = self._converted(by_coin, candidates, now)

        # First every coin's price, so each context can name the other coins deviating.
        partial: list[tuple[CoinRules, list[_Priced], tuple[VenuePrice, ...], list[DroppedQuote]]]
        partial = []
        prices: dict[str, float] = {}
        apart: dict[str, Dislocation] = {}
        for coin in self._coins.values():
            kept, dropped = converted[coin.coin]
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
        return self._told(out, moves, now)

    # -- steps ------------------------------------------------------------------------------

    def _convert(
        self, quotes: Sequence[Quote], rates: ReferenceBook, now: float
    ) -> tuple[list[_Priced], list[DroppedQuote]]:
        """USD prices of the usable quotes (one per market, the newest), each through a rate
        from its own moment (references.py), and the rest, with why."""
        kept: dict[tuple[str, str], _Priced] = {}
        dropped: list[DroppedQuote] = []
        oldest = now - self._rules.max_quote_age
        convertible, assumed, muted = self._convertible, self._assumed, self._muted
        for q in quotes:
            price, ccy, ts = q.price, q.quote_ccy, q.ts
            rate: float | None = 1.0
            if not (price > 0 and math.isfinite(price)):
                reason = "bad_price"
            elif ts < oldest:
                reason = "stale"
            elif ccy == USD:
                reason = ""
            elif ccy not in convertible:
                reason = "unsupported_quote"
            else:
                rate, reason = rates.rate(ccy, ts)
                if rate is None and ccy in assumed:
                    rate, reason = assumed[ccy], ""
            if not reason and q.venue in muted:
                reason = "zero_weight"
            if rate is None or reason:
                dropped.append(DroppedQuote(q.venue, ccy, reason, price))
                continue
            key = (q.venue, ccy)
            old = kept.get(key)
            if old is not None:
                # Two answers for one market: the newer wins, the older is recorded.
                if old.ts > ts:
                    dropped.append(DroppedQuote(q.venue, ccy, "superseded", price))
                    continue
                dropped.append(DroppedQuote(q.venue, ccy, "superseded", old.quote.price))
            kept[key] = _Priced(q, price * rate, _usd_volume(q, rate), ts)
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
        floor = self._rules.outlier_min_band * med
        if max(prices) - med <= floor and med - min(prices) <= floor:
            return list(priced), []  # all within the minimum band: the MAD cannot matter
        mad = _median([abs(x - med) for x in prices])
        band = max(self._rules.outlier_mad_k * mad, floor)
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
        volumes: list[float | None] = [p.volume_usd for p in priced]
        thinnest = math.inf
        if None in volumes:  # some without volume: a pool's depth, else the venue's liquidity
            total = 0.0
            for i, p in enumerate(priced):
                v = volumes[i]
                if v is None:
                    v = _measured(p)
                    if v is None and liquidity:
                        v = liquidity.get(p.quote.venue)
                    volumes[i] = v
                if v is not None:
                    total += v
                    if v < thinnest:
                        thinnest = v
        else:  # the common case: every quote has its volume
            total = sum(volumes)  # type: ignore[arg-type]  # no None, just checked
        if total <= 0:
            return (
                [venue_w.get(p.quote.venue, 1.0) for p in priced]
                if venue_w
                else [1.0] * len(priced)
            )
        if not venue_w:  # every venue weighs 1.0 (the default): the volumes are the weights
            return [v if v is not None else thinnest for v in volumes]
        return [
            venue_w.get(p.quote.venue, 1.0) * (v if v is not None else thinnest)
            for p, v in zip(priced, volumes, strict=True)
        ]

    def _liquidity(self, p: _Priced) -> float:
        """What a quote weighs when venues split: USD volume × venue weight; without volume its
        venue's liquidity_usd, else nothing (an unmeasured book never outvotes measured ones)."""
        v = _measured(p)
        if v is None:
            v = self._rules.venue_liquidity.get(p.quote.venue, 0.0)
        return self._rules.venue_weights.get(p.quote.venue, 1.0) * v

    def _agree(self, priced: list[_Priced], peg: float) -> _Agreed:
        """The followed cluster's price and venues, the others as a dislocation (clusters.py)."""
        split = None
        if len(priced) > 1:  # one quote cannot split
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
        if not priced:
            return (), None
        weights = self._weights_of(priced)
        used: list[VenuePrice] = []
        total = acc = 0.0
        for p, w in zip(priced, weights, strict=True):
            used.append(VenuePrice(p.quote.venue, p.quote.quote_ccy, p.price_usd, w))
            total += w
            acc += p.price_usd * w
        # The weighted mean, summed as _average sums it; absurd weights take its slow path.
        if math.isfinite(acc) and _SMALLEST <= total < math.inf:
            price = acc / total
        else:
            price = _average(priced, weights)
        return tuple(used), price if _valid(price) else None  # never a price no market traded at

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
        vols = [v for p in kept if (v := p.volume_usd) is not None]
        return SnapshotContext(
            spread=spread,
            cheapest_venue=cheap.quote.venue,
            dearest_venue=dear.quote.venue,
            arbitrage_net=spread - self._rules.arbitrage_fee,
            volume_usd_24h=sum(vols) if len(vols) == len(kept) else None,
            volume_spike=self._volume_spike(kept),
            velocity_per_min=velocity,
            volatility=volatility,
            correlated=tuple([c for c in deviating if c != coin]) if deviating else (),
        )

    def _volume_spike(self, kept: Sequence[_Priced]) -> float | None:
        """Volume traded over the last volume_window against its typical rate, over the markets
        that have both (volume.py): one without volume, or still warming up, is left out."""
        meters = self._meters
        parts: list[tuple[float, float]] = []
        for p in kept:
            q = p.quote
            volume = q.volume_quote_24h
            if volume is None:
                volume = q.volume_base_24h
                if volume is None:
                    continue
                usd = p.price_usd
            else:
                usd = p.price_usd / q.price  # USD per unit of the quote currency
            key = (q.venue, q.coin, q.quote_ccy)
            meter = meters.get(key)
            if meter is None:
                agg = self._rules
                window, base, warmup = agg.volume_window, agg.baseline_window, agg.volume_warmup
                meter = meters[key] = VolumeMeter(window, base, warmup)
            meter.add(p.ts, volume)
            rates = meter.rates
            if rates is not None:
                parts.append((rates[0] * usd, rates[1] * usd))
        return spike(parts) if parts else None


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


def _measured(p: _Priced) -> float | None:
    """What the quote's market is measured to hold: its USD volume, else (an on-chain pool,
    which reports no volume) its USD depth — so a deep pool outweighs a thin exchange book."""
    if p.volume_usd is not None:
        return p.volume_usd
    d = p.quote.depth_usd
    return d if d is not None and math.isfinite(d) and d >= 0 else None


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
