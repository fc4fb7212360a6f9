"""References in time: a USDT-quoted price is converted only with a USDT rate from its moment."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.config import Settings
from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.references import KEEP, ReferenceBook
from depeg_monitor.model import Quote
from depeg_monitor.rules import detection_rules

NOW = 1_700_000_000.0


def q(venue: str, coin: str, ccy: str, price: float, ts: float) -> Quote:
    return Quote(venue, coin, ccy, price, None, None, 1e6, None, ts, ts)


def aggregator(**aggregation: object) -> Aggregator:
    s = Settings(coins={"USDC": {}, "USDT": {}}, aggregation=aggregation)
    return Aggregator(detection_rules(s))


def test_a_quote_from_before_usdt_fell_is_converted_with_usdt_from_before_it_fell() -> None:
    """USDT/USD read at 0.95 just after USDT fell, while the USDC/USDT quotes on hand were read
    with the 1.00 reading before: USDC stays at $1.00, not $0.95 (the old pair with the new
    rate); a pair read between the two readings is left out, as it may be from either side."""
    agg = aggregator()
    before = [q("kraken", "USDT", "USD", 1.0, NOW - 1), q("bitstamp", "USDT", "USD", 1.0, NOW - 1)]
    pairs = [q("binance", "USDC", "USDT", 1.0, NOW - 1), q("okx", "USDC", "USDT", 1.0, NOW - 1)]
    agg.aggregate([*before, *pairs], NOW - 1)
    after = [q("kraken", "USDT", "USD", 0.95, NOW), q("bitstamp", "USDT", "USD", 0.95, NOW)]
    snaps = agg.aggregate([*after, *pairs], NOW)
    assert snaps["USDT"].price is not None and abs(snaps["USDT"].price - 0.95) < 1e-9
    assert snaps["USDC"].price is not None and abs(snaps["USDC"].price - 1.0) < 1e-9
    between = [q("binance", "USDC", "USDT", 1.0, NOW - 0.5), q("okx", "USDC", "USDT", 1.0, NOW)]
    usdc = agg.aggregate([*after, *between], NOW)["USDC"]
    assert [(d.venue, d.reason) for d in usdc.dropped] == [("binance", "reference_lag")]
    assert [(u.venue, round(u.price_usd, 9)) for u in usdc.used] == [("okx", 0.95)]


def test_a_quote_with_no_reference_near_it_waits_and_is_counted_then_converts() -> None:
    """With USDT/USD last seen 6 s before a USDC/USDT quote, the quote is left out as
    'reference_lag' (USDC has one venue fewer: no price from USDT pairs alone); when a USDT/USD
    reading within 2.5 s of it comes in, the same quote converts."""
    agg = aggregator(reference_tolerance=2.5)
    pairs = [q("binance", "USDC", "USDT", 0.99, NOW - 1), q("okx", "USDC", "USDT", 0.99, NOW - 1)]
    old_ref = [q("kraken", "USDT", "USD", 1.0, NOW - 7)]
    usdc = agg.aggregate([*old_ref, *pairs], NOW)["USDC"]
    assert usdc.price is None
    assert [d.reason for d in usdc.dropped] == ["reference_lag", "reference_lag"]
    new_ref = [q("kraken", "USDT", "USD", 1.002, NOW + 1)]
    usdc = agg.aggregate([*new_ref, *pairs], NOW + 1)["USDC"]
    assert usdc.price is not None and abs(usdc.price - 0.99 * 1.002) < 1e-9


def test_each_reference_market_gives_its_observation_nearest_the_quote() -> None:
    """For a quote at t, Kraken's reading 0.4 s after t beats its reading 1 s before, and
    Bitstamp's reading 3 s away (beyond tolerance) is not used at all."""
    agg = aggregator(reference_tolerance=2.5)
    agg.aggregate([q("kraken", "USDT", "USD", 1.002, NOW - 1)], NOW - 1)
    quotes = [
        q("kraken", "USDT", "USD", 1.004, NOW + 0.4),
        q("bitstamp", "USDT", "USD", 1.1, NOW - 3),
        q("binance", "USDC", "USDT", 1.0, NOW),
        q("okx", "USDC", "USDT", 1.0, NOW),
    ]
    usdc = agg.aggregate(quotes, NOW + 0.4)["USDC"]
    assert usdc.price is not None and abs(usdc.price - 1.004) < 1e-9


def test_a_quote_between_readings_either_side_of_a_move_is_left_out_not_guessed() -> None:
    """USDT/USD read at 0.95 1 s before a USDC/USDT quote and at 1.00 0.2 s after it: the quote
    may be from before USDT's recovery or after, so it is left out ('reference_lag') rather than
    converted with the nearer reading — while a quote read at the newer reading's moment, or
    after it, converts with 1.00."""
    agg = aggregator(reference_tolerance=2.5)
    agg.aggregate([q("kraken", "USDT", "USD", 0.95, NOW - 1)], NOW - 1)
    quotes = [q("kraken", "USDT", "USD", 1.0, NOW + 0.2), q("binance", "USDC", "USDT", 1.05, NOW)]
    usdc = agg.aggregate(quotes, NOW + 0.2)["USDC"]
    assert [d.reason for d in usdc.dropped] == ["reference_lag"]
    for at in (NOW + 0.2, NOW + 0.5):
        later = [q("kraken", "USDT", "USD", 1.0, NOW + 0.2), q("binance", "USDC", "USDT", 1.0, at)]
        used = agg.aggregate(later, at)["USDC"].used
        assert [(u.venue, u.price_usd) for u in used] == [("binance", 1.0)]


def test_older_data_after_newer_is_kept_in_time_order_and_repeats_once() -> None:
    """A venue answering older data after newer (OKX warns of it) and the same reading seen
    again in the next cycle: the book holds each reading once, oldest first, at most KEEP."""
    book = ReferenceBook(2.5, 0.005, lambda obs: obs[0].price)
    book.observe([q("okx", "USDT", "USD", 1.0, NOW)], NOW - 60)
    book.observe([q("okx", "USDT", "USD", 0.999, NOW - 2)], NOW - 60)
    book.observe([q("okx", "USDT", "USD", 1.0, NOW)], NOW - 60)
    assert [o.ts for o in book.near("USDT", NOW - 1.5) or []] == [NOW - 2]
    for i in range(1, 3 * KEEP):
        book.observe([q("okx", "USDT", "USD", 1.0, NOW + i)], NOW - 60)
    assert book.near("USDT", NOW) == []  # the oldest readings made room for the newest


# Times on a 10 ms grid and tolerances and ages between grid points: no case hangs on how
# 1.7e9 + t rounds.
moments = st.integers(-2000, 0).map(lambda x: x / 100)
spans = st.integers(10, 1000).map(lambda x: x / 100 + 0.005)
obs_times = st.lists(moments, min_size=1, max_size=KEEP)


@settings(max_examples=300, deadline=None)
@given(
    kraken=obs_times,
    bitstamp=obs_times,
    quote_at=moments,
    tolerance=spans,
    max_age=spans.map(lambda x: x * 3),
)
def test_converted_prices_never_use_a_reference_farther_than_the_tolerance(
    kraken: list[float],
    bitstamp: list[float],
    quote_at: float,
    tolerance: float,
    max_age: float,
) -> None:
    """Whatever the reading times: a USDC/USDT price is converted only with USDT/USD readings
    within the tolerance of it and fresh (each reading's price encodes its time, so the rate
    used shows which were used); otherwise it is left out as reference_lag."""
    agg = aggregator(reference_tolerance=tolerance, max_quote_age=max_age, outlier_mad_k=1e9)

    def rate_at(ts: float) -> float:
        return 1.0 + ts / 1000.0  # a different USDT rate for every moment

    readings = sorted(
        [(t, "kraken") for t in set(kraken)] + [(t, "bitstamp") for t in set(bitstamp)]
    )
    latest: dict[str, Quote] = {}
    for t, venue in readings:
        latest[venue] = q(venue, "USDT", "USD", rate_at(t), NOW + t)
        agg.aggregate(list(latest.values()), NOW + t)
    pair = q("binance", "USDC", "USDT", 1.0, NOW + quote_at)
    usdc = agg.aggregate([*latest.values(), pair], NOW)["USDC"]
    close = [
        t
        for t, _ in readings
        if abs(t - quote_at) <= tolerance and -t <= max_age and -quote_at <= max_age
    ]
    used = [d for d in usdc.used if d.venue == "binance"]
    if -quote_at > max_age:
        assert [d.reason for d in usdc.dropped] == ["stale"]
    elif not used:  # none close enough, or the reference moved around it
        assert [d.reason for d in usdc.dropped] in (["reference_lag"], ["no_reference"])
    else:
        assert close
        lo, hi = rate_at(min(close)), rate_at(max(close))
        assert lo - 1e-12 <= used[0].price_usd <= hi + 1e-12
    if -quote_at <= max_age and quote_at in {t for t, _ in readings}:
        assert used  # a reading of the quote's own moment always counts


def _nearest(times: Sequence[float], t: float) -> float:
    return min(times, key=lambda x: (abs(x - t), -x))


@settings(max_examples=300, deadline=None)
@given(times=obs_times, t=moments, tolerance=spans)
def test_each_market_offers_its_nearest_reading_or_none(
    times: list[float], t: float, tolerance: float
) -> None:
    """A market offers the reading nearest the quote's time (the newer on a tie) if it is
    within tolerance, and nothing otherwise."""
    book = ReferenceBook(tolerance, 0.005, lambda obs: 1.0)
    for x in sorted(set(times)):
        book.observe([q("kraken", "USDT", "USD", 1.0, NOW + x)], NOW - 60)
    at = NOW + t
    # Judged on the stamps the book holds (NOW + x, rounded), not on the offsets: a near-tie
    # between two offsets can fall either way once added to NOW.
    best = _nearest(sorted({NOW + x for x in times}), at)
    chosen = book.near("USDT", at)
    if abs(best - at) <= tolerance:
        assert chosen is not None and [o.ts for o in chosen] == [best]
    else:
        assert chosen == []
