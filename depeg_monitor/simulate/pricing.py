"""Prices and volumes as pure functions of scenario time: the same t always gives the same tick.

A coin's USD price comes from its path; a market's price is base_usd / quote_usd, so a move of
USDT shows in every */USDT market the way it did in May 2022. Noise is pseudo-random but
deterministic (a hash of seed, coin, venue and the scenario second), so tests and benchmarks
can ask price_at for the exact value a venue served.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from depeg_monitor.simulate.scenario import CoinSpec, PathSpec, Scenario, Segment

_DAY = 86_400.0  # clock seconds in the day a 24 h volume covers


@dataclass(frozen=True, slots=True)
class Tick:
    """What a venue shows for one market at one moment (prices in the quote currency)."""

    base: str
    quote: str
    price: float
    bid: float
    ask: float
    open: float  # price at scenario start: the "24h ago" reference
    high: float
    low: float
    volume_base: float  # 24h, base units

    @property
    def volume_quote(self) -> float:
        return self.volume_base * self.price


def path_level(segments: tuple[Segment, ...], peg: float, t: float) -> tuple[float, float | None]:
    """The noiseless level at t, and the noise override of the segment in force (if any)."""
    level, cursor = peg, 0.0
    for seg in segments:
        start_level = level
        end_level = _end_level(seg, start_level, peg)
        if t < cursor + seg.duration:
            frac = (t - cursor) / seg.duration if seg.duration > 0 else 1.0
            if seg.kind in ("move", "recover"):
                return start_level + (end_level - start_level) * max(0.0, frac), seg.noise
            return end_level, seg.noise
        level, cursor = end_level, cursor + seg.duration
    return level, None


def _end_level(seg: Segment, start: float, peg: float) -> float:
    if seg.kind == "calm":
        return seg.level if seg.level is not None else peg
    if seg.kind == "move":
        assert seg.to is not None  # checked when the scenario was loaded
        return seg.to
    if seg.kind == "recover":
        return peg
    return start


def unit_noise(seed: int, coin: str, venue: str, second: int) -> float:
    """A repeatable pseudo-random number in [-1, 1] for one coin at one venue and second."""
    h = zlib.crc32(f"{seed}:{coin}:{venue}:{second}".encode())
    return (h / 0xFFFFFFFF) * 2.0 - 1.0


class PriceModel:
    """Answers 'what does venue V show for BASE/QUOTE at scenario time t'."""

    def __init__(self, scenario: Scenario) -> None:
        self._s = scenario

    def usd_price(self, coin: str, venue: str, t: float, *, noise: bool = True) -> float:
        """The coin's USD price as venue `venue` sees it at scenario time t."""
        coin = coin.upper()
        if coin == "USD":
            return 1.0
        spec = self._s.coins.get(coin) or CoinSpec()
        over = spec.venues.get(venue) or PathSpec()
        segments = over.segments if over.segments is not None else (spec.segments or ())
        lag = _first(over.lag, spec.lag, 0.0) + self._s.venue(venue).lag
        offset = _first(over.offset, spec.offset, 0.0)
        at = max(0.0, t - lag)
        level, seg_noise = path_level(segments, spec.peg, at)
        price = level + offset
        if noise:
            amp = _first(seg_noise, over.noise, spec.noise, self._s.scenario.noise)
            price *= 1.0 + amp * unit_noise(self._s.scenario.seed, coin, venue, math.floor(at))
        return price

    def wild_print(self, venue: str, market: str, t: float) -> float | None:
        for f in self._s.faults:
            hits_market = not f.markets or market in f.markets
            if f.kind == "wild_print" and f.venue == venue and f.active(t) and hits_market:
                return f.price
        return None

    def price_at(self, venue: str, coin: str, quote: str, t: float) -> float:
        """The last price venue shows for COIN/QUOTE at scenario time t, wild prints included."""
        coin, quote = coin.upper(), quote.upper()
        market = f"{coin}/{quote}"
        printed = self.wild_print(venue, market, t)
        if printed is not None:
            return printed
        at = t - self._s.market_lag(venue, market)
        return self.usd_price(coin, venue, at) / self.usd_price(quote, venue, at)

    def volume_at(self, venue: str, market: str, t: float) -> float:
        """The market's 24 h volume (base units) at t, as a venue reports it: a rolling day.

        The market trades its `volume` a day, evenly; a volume spike multiplies that rate
        while it lasts, so the 24 h figure climbs through the spike and falls back a day of
        clock time later (a day is 86,400 clock seconds, time_scale × that in scenario time),
        as on a real venue — never a jump of days' worth of trading in one instant."""
        spec = self._s.venue(venue)
        volume = spec.volumes.get(market, spec.volume)
        coin = market.split("/", 1)[0]
        day = _DAY * self._s.time_scale
        extra = 0.0  # extra day-fractions of trading inside the last day
        for spike in self._s.volume_spikes:
            if spike.venue in (None, venue) and spike.coin in (None, coin):
                inside = min(t, spike.end) - max(t - day, spike.start)
                if inside > 0:
                    extra += (spike.factor - 1.0) * inside / day
        return volume * (1.0 + extra)

    def tick(self, venue: str, market: str, t: float) -> Tick:
        base, quote = market.split("/", 1)
        price = self.price_at(venue, base, quote, t)
        half = price * self._s.venue(venue).spread / 2.0
        open_ = self.price_at(venue, base, quote, 0.0)
        return Tick(
            base=base,
            quote=quote,
            price=price,
            bid=price - half,
            ask=price + half,
            open=open_,
            high=max(open_, price),
            low=min(open_, price),
            volume_base=self.volume_at(venue, market, t),
        )

    def crossing_time(
        self,
        venue: str,
        coin: str,
        quote: str,
        level: float,
        *,
        start: float = 0.0,
        end: float | None = None,
        step: float = 0.01,
    ) -> float | None:
        """First scenario time ≥ start at which the price is on the other side of `level`.

        The side is set by the price at `start`, so this finds a drop below or a rise above.
        Resolution is `step` scenario seconds; None if it never crosses before `end`.
        """
        stop = self._s.duration if end is None else end
        above = self.price_at(venue, coin, quote, start) >= level
        n = 0
        while (t := start + n * step) <= stop:
            if (self.price_at(venue, coin, quote, t) >= level) != above:
                return t
            n += 1
        return None


def _first(*values: float | None) -> float:
    for v in values:
        if v is not None:
            return v
    return 0.0
