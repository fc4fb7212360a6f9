"""Venue clusters: prices split at gaps wider than the band, the price follows the liquid side."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.config import Settings
from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.clusters import split
from depeg_monitor.model import Quote, Snapshot
from depeg_monitor.rules import detection_rules

NOW = 1_700_000_000.0
BAND = 0.02  # the default cluster_band
K, MIN_BAND = 5.0, 0.002  # the default outlier_mad_k, outlier_min_band


def quote(venue: str, price: float, volume: float | None) -> Quote:
    """A USDC/USD ticker as a venue module makes it: last price and 24 h base volume."""
    return Quote(venue, "USDC", "USD", price, None, None, volume, None, NOW, NOW)


def snapshot(quotes: list[Quote], **venues: dict[str, object]) -> Snapshot:
    s = Settings(coins={"USDC": {}}, venues=venues)
    return Aggregator(detection_rules(s)).aggregate(quotes, NOW)["USDC"]


# Points for split(): (price, liquidity), a few markets apart with their own small noise.
points = st.lists(
    st.tuples(
        st.sampled_from([0.65, 0.9, 0.97, 1.0, 1.05]),
        st.floats(-0.005, 0.005),
        st.sampled_from([0.0, 1e3, 1e6, 5e6, 1e9]),
    ).map(lambda t: (t[0] * (1 + t[1]), t[2])),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(items=points)
def test_clusters_are_runs_of_prices_within_the_band_and_gaps_beyond_it(
    items: list[tuple[float, float]],
) -> None:
    """Every quote lands in exactly one cluster; inside one, neighbours are within the band;
    between clusters lies a gap wider than it; the followed one holds the most liquidity."""
    found = split(items, [p for p, _ in items], lambda x: x[1], BAND, 1.0)
    if found is None:
        prices = [p for p, _ in items]
        assert max(prices) <= min(prices) * (1 + BAND)
        return
    every = [found.followed, *found.others]
    assert sorted(x for c in every for x in c.members) == sorted(items)
    for c in every:
        assert [p for p, _ in c.members] == sorted(p for p, _ in c.members)
        for (a, _), (b, _) in pairwise(c.members):
            assert b <= a * (1 + BAND)
    ranges = sorted((c.low, c.high) for c in every)
    for (_, high), (low, _) in pairwise(ranges):
        assert low > high * (1 + BAND)
    assert all(found.followed.liquidity >= c.liquidity for c in found.others)


def test_a_liquidity_tie_follows_the_cluster_nearest_the_peg() -> None:
    """Two markets with nothing measured: the one at the peg is followed whichever is listed
    first, so a lone crashed venue never becomes the coin's price by a coin toss."""
    for items in ([(0.65, 0.0), (0.999, 0.0)], [(0.999, 0.0), (0.65, 0.0)]):
        found = split(items, [p for p, _ in items], lambda x: x[1], BAND, 1.0)
        assert found is not None
        assert found.followed.members == ((0.999, 0.0),)
        assert found.others[0].members == ((0.65, 0.0),)


# Quotes for the aggregator: venue i at one of a few markets, with a real 24 h base volume or
# none (an on-chain pool or a book-only feed).
venue_quotes = st.lists(
    st.tuples(
        st.sampled_from([0.65, 0.9, 0.96, 1.0, 1.04]),
        st.floats(-0.004, 0.004),
        st.one_of(st.none(), st.floats(1e3, 1e10)),
    ),
    min_size=2,
    max_size=7,
).map(
    lambda rows: [
        quote(f"v{i}", centre * (1 + d), volume) for i, (centre, d, volume) in enumerate(rows)
    ]
)


@settings(max_examples=300, deadline=None)
@given(quotes=venue_quotes)
def test_the_price_is_one_clusters_never_one_between_clusters(quotes: list[Quote]) -> None:
    """Whatever the venues quote, the published price lies within the prices of the venues it
    is made of, and every venue left out of it stands beyond the band from all of them."""
    snap = snapshot(quotes)
    assert snap.price is not None
    used = [u.price_usd for u in snap.used]
    assert min(used) * (1 - 1e-12) <= snap.price <= max(used) * (1 + 1e-12)
    apart = snap.dislocation.venues if snap.dislocation else ()
    for v in apart:
        assert v.price_usd < min(used) / (1 + BAND) or v.price_usd > max(used) * (1 + BAND)
    outliers = {d.venue for d in snap.dropped if d.reason == "outlier"}
    seen = {u.venue for u in snap.used} | {v.venue for v in apart} | outliers
    assert seen == {q.venue for q in quotes}, "every fresh venue is followed, apart or trimmed"


def _today(quotes: list[Quote]) -> float:
    """The aggregate as it was before clusters: MAD-trimmed, weighted by USD volume, a quote
    without volume as the thinnest measured market, equal weights when nothing is measured."""
    prices = [q.price for q in quotes]
    if len(prices) >= 3:
        med = _median(prices)
        band = max(K * _median([abs(p - med) for p in prices]), MIN_BAND * med)
        quotes = [q for q in quotes if abs(q.price - med) <= band]
    vols = [None if q.volume_base_24h is None else q.volume_base_24h * q.price for q in quotes]
    measured = [v for v in vols if v is not None]
    if not measured or sum(measured) <= 0:
        weights = [1.0] * len(quotes)
    else:
        weights = [min(measured) if v is None else v for v in vols]
    return sum(q.price * w for q, w in zip(quotes, weights, strict=True)) / sum(weights)


def _median(values: list[float]) -> float:
    s, n = sorted(values), len(values)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


calm_quotes = st.lists(
    st.tuples(st.floats(-0.009, 0.009), st.one_of(st.none(), st.floats(1e3, 1e10))),
    min_size=1,
    max_size=7,
).map(lambda rows: [quote(f"v{i}", 1.0 + d, v) for i, (d, v) in enumerate(rows)])


@settings(max_examples=300, deadline=None)
@given(quotes=calm_quotes, centre=st.sampled_from([0.7, 0.97, 1.0, 1.3]))
def test_without_a_gap_the_price_is_the_average_it_always_was(
    quotes: list[Quote], centre: float
) -> None:
    """Venues all within the band of one another (±0.9 % around any level): no dislocation,
    and the price is exactly the outlier-trimmed, volume-weighted average of before."""
    moved = [quote(q.venue, q.price * centre, q.volume_base_24h) for q in quotes]
    snap = snapshot(moved)
    assert snap.dislocation is None
    if len(moved) < 2:
        assert snap.price is None  # the quorum of two
        return
    assert snap.price is not None
    assert math.isclose(snap.price, _today(moved), rel_tol=1e-12)
