"""Data quality at the edge: which quotes are not worth passing on, and why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from depeg_monitor.model import Quote

FIAT = {"USD": 1.0}


@dataclass(frozen=True, slots=True)
class QualityRules:
    band: tuple[float, float]  # allowed price / expected price
    max_age: float  # seconds
    pegs: Mapping[str, float]  # coin → USD peg, for the expected price of a pair


def expected_price(coin: str, quote_ccy: str, pegs: Mapping[str, float]) -> float | None:
    """What a pegged pair should trade at (1.0 for USDC/USDT); None if either side is unpegged."""
    base = pegs.get(coin)
    quote = FIAT.get(quote_ccy, pegs.get(quote_ccy))
    if base is None or quote is None:
        return None
    return base / quote


class QualityFilter:
    """Stateful only in remembering each market's latest exchange timestamp (regressions)."""

    def __init__(self, rules: QualityRules) -> None:
        self.rules = rules
        self._last_ts: dict[tuple[str, str], float] = {}

    def reason_to_drop(self, q: Quote, now: float) -> str | None:
        """None if the quote is good (and remembered), else the drop reason."""
        for value in (q.price, q.bid, q.ask):
            if value is not None and not math.isfinite(value):
                return "non_finite"
        if q.price <= 0:
            return "non_positive"
        expected = expected_price(q.coin, q.quote_ccy, self.rules.pegs)
        low, high = self.rules.band
        if expected is not None and not low * expected <= q.price <= high * expected:
            return "absurd"
        if q.ts_exchange is not None:
            if now - q.ts_exchange > self.rules.max_age:
                return "stale"
            key = (q.coin, q.quote_ccy)
            last = self._last_ts.get(key)
            if last is not None and q.ts_exchange < last:
                return "regression"
            self._last_ts[key] = q.ts_exchange
        return None
