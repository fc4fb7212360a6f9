"""Cross-sectional attribution: when every coin quoted in one stablecoin moves by the same ratio
at once, the stablecoin moved, not them.

For each quote in a quote coin Q (a "leg": coin C at venue V, price p in Q, converted with the
rate R of Q), C's USD price u from outside Q — its USD-quoted markets, else its own recent
price — implies a rate for Q: r = u / p. The leg has moved when R and r are apart by at least
`min_move` (R / r - 1, signed: positive when the rate in use is above what the coins imply,
i.e. Q fell since R was read). The move is Q's when

- at every venue where a leg moved, every leg with a USD price moved the same way (a venue
  polls all its pairs at once: FDUSD/USDT up 5 % beside USDC/USDT unchanged is FDUSD moving);
- the legs moved each way imply about one rate (within a quarter of their move, and never
  tighter than min_move / 2): "about the same ratio";
- they span at least `min_coins` coins.

Legs may have moved both ways when Q stepped between polls of differently phased venues: pairs
read after the step against a rate from before it, and pairs read before it against a rate
from after — one step of Q explains both (the implied rate reported is that of the newest
pairs: where Q is now). The USD markets of those coins "not mirroring" the move is what makes r
differ from R: a coin whose USD markets moved too implies the rate R and is not a moved leg.
Venues whose legs did not move are not against it: they were read before the move (their
quotes are paired with references from their own moment, see references.py).

What follows (aggregate.py): those coins' legs in Q are left out this cycle ("quote_coin_moved")
and their snapshots, and Q's own, carry the QuoteCoinMove. Q's own price and alert stay its USD
markets' — evidence inferred from other coins never pages Q by itself; Q pages as soon as its
USD venues show the move (with the usual confirm_venues), which with a quote coin leading is
one poll of those venues later, while the implied rate is in its snapshot as context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from depeg_monitor.model import QuoteCoinMove

AGREEMENT = 0.25  # implied rates agree within this fraction of the move's size …
# … and never tighter than half of min_move (noise between venues at a small move).


Moves = dict[str, tuple[QuoteCoinMove, ...]]  # coin → the moves that concern it


class Leg(NamedTuple):
    """One converted quote in a quote coin."""

    coin: str
    venue: str
    price: float  # in the quote coin
    rate: float  # USD per unit of the quote coin it was converted with
    ts: float  # when the quote was read (Quote.ts)


def attribute(
    quote_ccy: str,
    legs: Sequence[Leg],
    usd: Mapping[str, float],
    *,
    min_coins: int,
    min_move: float,
    order: Sequence[str],
) -> QuoteCoinMove | None:
    """The move of `quote_ccy` that this cycle's legs in it show, if they show one (see above).

    usd: each coin's USD price from outside any quote coin; order: coin order for the result."""
    by_venue: dict[str, list[tuple[Leg, float, float]]] = {}  # venue → (leg, implied, excess)
    for leg in legs:
        u = usd.get(leg.coin)
        if u is None:
            continue
        implied = u / leg.price
        by_venue.setdefault(leg.venue, []).append((leg, implied, leg.rate / implied - 1.0))
    moved: list[tuple[Leg, float, float]] = []
    for rows in by_venue.values():
        hits = [r for r in rows if abs(r[2]) >= min_move]
        if not hits:
            continue
        if len(hits) < len(rows) or len({r[2] > 0 for r in hits}) > 1:
            return None  # some of this venue's coins moved (or not the same way): they moved
        moved.extend(hits)
    coins = {r[0].coin for r in moved}
    if len(coins) < min_coins:
        return None
    for side in (True, False):
        group = [r for r in moved if (r[2] > 0) == side]
        if group and not _agree(group, min_move):
            return None
    newest = max(moved, key=lambda r: r[0].ts)
    now = [r[1] for r in moved if (r[2] > 0) == (newest[2] > 0)]
    return QuoteCoinMove(quote_ccy, _median(now), tuple(c for c in order if c in coins))


def _agree(group: Sequence[tuple[Leg, float, float]], min_move: float) -> bool:
    """Whether the legs' implied rates are about one rate."""
    implied = _median([r[1] for r in group])
    band = max(min_move / 2.0, AGREEMENT * _median([abs(r[2]) for r in group]))
    return all(abs(r[1] / implied - 1.0) <= band for r in group)


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0
