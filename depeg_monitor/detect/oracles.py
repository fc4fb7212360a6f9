"""Oracle readings beside a coin's snapshot: context for its alert, never part of its price.

An oracle (Chainlink) updates only when the price moves past its threshold or its heartbeat
elapses, so it lags the market; what lenders liquidate on is still worth saying next to the
market's price. A reading counts only while it is fresh enough: its feed not stale against its
heartbeat, and read within MAX_READING_AGE (a chain that stopped answering keeps its last
reading, which must not be shown as today's).

An update whose answer lands in another of the coin's severity bands than the round before it
(the coin's own thresholds, never widened: a lender's liquidation price does not widen) is an
OracleMove on that context: the moment lending protocols act, said in the coin's next message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from depeg_monitor.model import OracleContext, OracleMove, Severity, Snapshot

if TYPE_CHECKING:
    from depeg_monitor.detect.rules import Levels

if TYPE_CHECKING:  # the venue module imports the ABI library; only its type is needed here
    from depeg_monitor.venues.chainlink import OracleReading

_LEVELS = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR)

MAX_READING_AGE = 300.0  # seconds since the reading was received


def band(value: float, peg: float, levels: Levels) -> Severity:
    """The severity band an answer is in: the highest threshold its distance from peg reaches."""
    off = abs(value - peg) / peg
    return next((s for s in _LEVELS if off >= levels.of(s)), Severity.NONE)


def oracle_move(r: OracleReading, peg: float, levels: Levels | None) -> OracleMove | None:
    """The reading's round as a crossing from the round before, if it changed band."""
    if levels is None or r.previous is None:
        return None
    now, before = band(r.value, peg, levels), band(r.previous, peg, levels)
    return None if now == before else OracleMove(now, before, r.value, r.updated_at)


def oracle_context(
    snapshot: Snapshot,
    readings: Iterable[OracleReading],
    now: float,
    levels: Levels | None = None,
) -> tuple[OracleContext, ...]:
    """The fresh USD readings of the snapshot's coin against its price (none without a price),
    each with its crossing of the coin's `levels`, if its latest round made one."""
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
        move = oracle_move(r, snapshot.peg, levels)
        out.append(
            OracleContext(r.feed, r.coin, r.quote_ccy, r.value, age, price, r.lag(price), move)
        )
    return tuple(sorted(out, key=lambda o: o.feed))


def with_oracles(
    snapshot: Snapshot,
    readings: Iterable[OracleReading],
    now: float,
    levels: Levels | None = None,
) -> Snapshot:
    """The snapshot with its coin's oracle context (itself when there is none)."""
    found = oracle_context(snapshot, readings, now, levels)
    if not found:
        return snapshot
    return replace(snapshot, context=replace(snapshot.context, oracles=found))
