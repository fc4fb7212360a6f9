"""Oracle readings beside a coin's snapshot: context for its alert, never part of its price.

An oracle (Chainlink) updates only when the price moves past its threshold or its heartbeat
elapses, so it lags the market; what lenders liquidate on is still worth saying next to the
market's price. A reading counts only while it is fresh enough: its feed not stale against its
heartbeat, and read within MAX_READING_AGE (a chain that stopped answering keeps its last
reading, which must not be shown as today's).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from depeg_monitor.model import OracleContext, Snapshot

if TYPE_CHECKING:  # the venue module imports the ABI library; only its type is needed here
    from depeg_monitor.venues.chainlink import OracleReading

MAX_READING_AGE = 300.0  # seconds since the reading was received


def oracle_context(
    snapshot: Snapshot, readings: Iterable[OracleReading], now: float
) -> tuple[OracleContext, ...]:
    """The fresh USD readings of the snapshot's coin against its price (none without a price)."""
    price = snapshot.price
    if price is None:
        return ()
    out = []
    for r in readings:
        if r.coin != snapshot.coin or r.quote_ccy != "USD" or r.stale:
            continue
        if now - r.ts_received > MAX_READING_AGE or not (r.value > 0 and math.isfinite(r.value)):
            continue
        age = max(0.0, now - r.updated_at)
        out.append(OracleContext(r.feed, r.coin, r.quote_ccy, r.value, age, price, r.lag(price)))
    return tuple(sorted(out, key=lambda o: o.feed))


def with_oracles(snapshot: Snapshot, readings: Iterable[OracleReading], now: float) -> Snapshot:
    """The snapshot with its coin's oracle context (itself when there is none)."""
    found = oracle_context(snapshot, readings, now)
    if not found:
        return snapshot
    return replace(snapshot, context=replace(snapshot.context, oracles=found))
