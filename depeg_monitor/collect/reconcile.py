"""REST as the stream's reconciler: a streamed price far from a fresh polled one is reported.

Pure: the venue's collector hands each poll's quotes to its stream, which compares them with
the last streamed quote of the same market. Both must be recent and close in time (a quote
from before a move against one from after it is no disagreement), and apart by more than the
band: a stream that keeps printing a stale or wrong book while the venue's REST moved on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from depeg_monitor.model import Quote


@dataclass(frozen=True, slots=True)
class Disagreement:
    market: str  # BASE/QUOTE
    streamed: float
    polled: float
    gap: float  # streamed / polled - 1, signed


def disagreements(
    streamed: Mapping[str, Quote], polled: Sequence[Quote], band: float, max_gap: float
) -> list[Disagreement]:
    """The polled markets whose last streamed price, read within max_gap seconds of the poll,
    is more than `band` (a fraction) away from it."""
    out = []
    for q in polled:
        market = f"{q.coin}/{q.quote_ccy}"
        s = streamed.get(market)
        if s is None or abs(s.ts_received - q.ts_received) > max_gap or q.price <= 0:
            continue
        gap = s.price / q.price - 1.0
        if abs(gap) > band:
            out.append(Disagreement(market, s.price, q.price, gap))
    return out
