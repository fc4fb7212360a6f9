"""Venues that disagree: a coin's fresh prices split into clusters, and the one to follow.

Sorted by price, neighbouring quotes belong together unless the higher lies more than `band`
(a fraction) above the lower: a gap that wide is a stretch of prices no venue trades at, so
the quotes on either side are different markets. A split needs no majority, so it works with
two venues as well as with ten (the USDe case of 2025-10-10: Binance alone at 0.65, the
on-chain pool at 0.994).

The aggregate follows the cluster holding most of the coin's liquidity and never averages
across a gap; the other clusters are reported as a dislocation. Liquidity is a venue's USD
volume × its weight; a quote without volume counts with the venue's configured liquidity
figure, or with nothing at all. So an unmeasured venue never outvotes measured trading and
unmeasured venues never outvote one another by their number (equal weight is never assumed).

Ties in liquidity (most often: nothing measured on either side) go to the cluster nearest the
peg, then to the one with more quotes, then to the lower price. Nearest the peg is the
conservative choice: it never publishes a lone venue's crash as the coin's price, and the
venues apart stay in the dislocation, where the classifier still counts them — so when every
venue has fallen, however far apart, the depeg still shows.

How this relates to the median-absolute-deviation filter: they answer two questions. A split
says which quotes are one market; MAD (in the aggregator, on the followed cluster only) says
which quotes of that one market are bad prints, which needs a majority to know what normal is
(three quotes or more). A venue beyond the band is never an outlier: it is a dislocation, with
its figures. Without a gap every quote is one cluster and the aggregate is exactly what it was
before clusters existed.

Pure functions of their arguments; no settings, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Generic, TypeVar

from depeg_monitor.frozen import fast_init

T = TypeVar("T")


@fast_init
@dataclass(frozen=True, slots=True)
class Cluster(Generic[T]):
    """Quotes whose neighbouring prices all lie within the band of one another."""

    members: tuple[T, ...]  # in price order
    low: float
    high: float
    liquidity: float  # the sum of the members' liquidity


@fast_init
@dataclass(frozen=True, slots=True)
class Split(Generic[T]):
    """Prices farther apart than the band: the cluster to follow and the others."""

    followed: Cluster[T]
    others: tuple[Cluster[T], ...]  # the strongest first (by the same order as the choice)


def split(
    items: Sequence[T],
    prices: Sequence[float],
    liquidity: Callable[[T], float],
    band: float,
    peg: float,
) -> Split[T] | None:
    """The clusters when the prices split; None when they lie within one (every item followed).

    prices[i] is items[i]'s price; liquidity must be a number ≥ 0 (inf allowed, never NaN)."""
    if len(items) < 2:
        return None
    if max(prices) <= min(prices) * (1.0 + band):
        return None  # the calm case: no sort, no clusters
    ordered = sorted(zip(prices, range(len(items)), items, strict=True))
    groups: list[list[tuple[float, int, T]]] = [[ordered[0]]]
    for prev, here in pairwise(ordered):
        if here[0] > prev[0] * (1.0 + band):
            groups.append([here])
        else:
            groups[-1].append(here)
    made = [
        Cluster(tuple(x for _, _, x in g), g[0][0], g[-1][0], sum(liquidity(x) for _, _, x in g))
        for g in groups
    ]
    made.sort(key=lambda c: _rank(c, peg))
    return Split(made[0], tuple(made[1:]))


def _rank(c: Cluster[T], peg: float) -> tuple[float, float, int, float]:
    """Most liquid first; on a tie the nearest the peg, then more quotes, then the lower."""
    return (-c.liquidity, distance(c, peg), -len(c.members), c.low)


def distance(c: Cluster[T], peg: float) -> float:
    """How far the cluster's nearest price is from the peg (0: the peg is inside its range)."""
    if c.low <= peg <= c.high:
        return 0.0
    return min(abs(c.low - peg), abs(c.high - peg))
