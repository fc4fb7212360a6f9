"""Data quality at the edge: which quotes are not worth passing on, which figures to forget.

A hostile or broken venue can send anything a parser accepts as a number. Here every figure of
a Quote is judged once, so nothing downstream has to: a bad price drops the quote (with a
reason, counted), a bad volume or book side is forgotten (the quote keeps its price, the
figure becomes None, counted), and a timestamp from the future never counts as fresh.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from depeg_monitor.model import Quote

FIAT = {"USD": 1.0}
# More than any stablecoin market trades in a day (USDT's whole market is ~1e11 USD a day):
# a larger figure is a broken field, not a busy market.
MAX_VOLUME = 1e12


@dataclass(frozen=True, slots=True)
class QualityRules:
    band: tuple[float, float]  # allowed price / expected price
    max_age: float  # seconds
    pegs: Mapping[str, float]  # coin → USD peg, for the expected price of a pair
    max_clock_skew: float = 5.0  # seconds a venue's timestamp may lead our receipt time
    max_volume: float = MAX_VOLUME  # 24 h volume beyond this (either unit) is absurd


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the edge makes of one quote: the quote to pass on (None: dropped, and why), and the
    figures it forgot on the way (e.g. 'volume_non_finite')."""

    quote: Quote | None
    dropped: str | None = None
    cleaned: tuple[str, ...] = ()


def expected_price(coin: str, quote_ccy: str, pegs: Mapping[str, float]) -> float | None:
    """What a pegged pair should trade at (1.0 for USDC/USDT); None if either side is unpegged."""
    base = pegs.get(coin)
    quote = FIAT.get(quote_ccy, pegs.get(quote_ccy))
    if base is None or quote is None:
        return None
    return base / quote


def _volume_problem(value: float | None, limit: float) -> str | None:
    if value is None:
        return None
    if not math.isfinite(value):
        return "volume_non_finite"
    if value < 0:
        return "volume_negative"
    if value > limit:
        return "volume_absurd"
    return None


def _book_problem(value: float | None) -> bool:
    return value is not None and not (math.isfinite(value) and value > 0)


class QualityFilter:
    """Stateful only in each market's watermark: the latest exchange time it accepted."""

    def __init__(self, rules: QualityRules) -> None:
        self.rules = rules
        self._last_ts: dict[tuple[str, str], float] = {}

    def check(self, q: Quote, now: float) -> Verdict:
        """Judge one quote at `now`; only a quote that passes moves its market's watermark."""
        rules = self.rules
        if not math.isfinite(q.price):
            return Verdict(None, "non_finite")
        if q.price <= 0:
            return Verdict(None, "non_positive")
        expected = expected_price(q.coin, q.quote_ccy, rules.pegs)
        low, high = rules.band
        if expected is not None and not low * expected <= q.price <= high * expected:
            return Verdict(None, "absurd")

        ts = q.ts_exchange
        if ts is not None:
            if not math.isfinite(ts):
                return Verdict(None, "bad_timestamp")
            if ts > q.ts_received + rules.max_clock_skew:
                return Verdict(None, "future")
            # Within the allowed skew a venue's clock may lead ours, but freshness never trusts
            # a time later than we received the answer.
            ts = min(ts, q.ts_received)
            if now - ts > rules.max_age:
                return Verdict(None, "stale")
            key = (q.coin, q.quote_ccy)
            last = self._last_ts.get(key)
            if last is not None and ts < last:
                return Verdict(None, "regression")

        cleaned: list[str] = []
        changes: dict[str, float | None] = {}
        for name in ("volume_base_24h", "volume_quote_24h"):
            problem = _volume_problem(getattr(q, name), rules.max_volume)
            if problem is not None:
                cleaned.append(problem)
                changes[name] = None
        for name in ("bid", "ask"):
            if _book_problem(getattr(q, name)):
                cleaned.append("bad_book")
                changes[name] = None
        if ts != q.ts_exchange:
            changes["ts_exchange"] = ts
        if ts is not None:
            self._last_ts[(q.coin, q.quote_ccy)] = ts
        good = dataclasses.replace(q, **changes) if changes else q  # type: ignore[arg-type]
        return Verdict(good, None, tuple(cleaned))
