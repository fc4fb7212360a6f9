"""Aggregation: reference rates, staleness, outliers, volume weights, quorum, context."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.config import Settings
from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import Quote, Severity, Snapshot
from depeg_monitor.rules import detection_rules

NOW = 1_700_000_000.0


def q(
    venue: str,
    price: float,
    coin: str = "USDC",
    quote_ccy: str = "USD",
    volume: float | None = 1_000_000.0,
    age: float = 0.0,
) -> Quote:
    return Quote(venue, coin, quote_ccy, price, None, None, volume, None, NOW - age, NOW - age)


def make_settings(**aggregation: object) -> Settings:
    return Settings(coins={"USDC": {}, "USDT": {}}, aggregation=aggregation)


def aggregator(s: Settings) -> Aggregator:
    """An aggregator over the rules the daemon would compile from these settings."""
    return Aggregator(detection_rules(s))


def test_every_configured_coin_gets_a_snapshot_even_without_quotes() -> None:
    """A coin with no quotes this cycle still appears, with no price."""
    snaps = aggregator(make_settings()).aggregate([q("kraken", 1.0), q("bitstamp", 1.0)], NOW)
    assert set(snaps) == {"USDC", "USDT"}
    assert snaps["USDT"].price is None
    assert snaps["USDC"].price == 1.0


def test_usdt_quotes_without_a_fresh_reference_are_dropped_not_assumed_par() -> None:
    """USDC/USDT quotes with no USDT/USD market this cycle do not count as USD prices."""
    snaps = aggregator(make_settings()).aggregate(
        [q("binance", 0.97, quote_ccy="USDT"), q("okx", 0.97, quote_ccy="USDT")], NOW
    )
    usdc = snaps["USDC"]
    assert usdc.price is None
    assert {d.reason for d in usdc.dropped} == {"no_reference"}


def test_stale_reference_is_no_reference() -> None:
    """A USDT/USD quote older than max_quote_age cannot convert USDT-quoted prices."""
    snaps = aggregator(make_settings(max_quote_age=60)).aggregate(
        [
            q("kraken", 1.03, coin="USDT", age=120),
            q("binance", 0.97, quote_ccy="USDT"),
            q("okx", 0.97, quote_ccy="USDT"),
        ],
        NOW,
    )
    assert snaps["USDC"].price is None
    assert "stale" in {d.reason for d in snaps["USDT"].dropped}


def test_stale_quotes_are_dropped_and_break_the_quorum() -> None:
    """An old quote is reported as stale and does not count toward min_venues."""
    snaps = aggregator(make_settings(max_quote_age=60)).aggregate(
        [q("kraken", 0.95), q("bitstamp", 0.95, age=61)], NOW
    )
    usdc = snaps["USDC"]
    assert usdc.price is None
    assert [(d.venue, d.reason) for d in usdc.dropped] == [("bitstamp", "stale")]


def test_single_wild_print_stands_apart_as_a_dislocation() -> None:
    """One venue printing 0.50 while three agree near 1.00 leaves the price at 1.00; the print
    is reported as a dislocation with its gap, not averaged in."""
    snaps = aggregator(make_settings()).aggregate(
        [q("kraken", 1.0001), q("bitstamp", 0.9999), q("coinbase", 1.0), q("binanceus", 0.50)],
        NOW,
    )
    usdc = snaps["USDC"]
    assert usdc.price is not None and abs(usdc.price - 1.0) < 1e-3
    assert {u.venue for u in usdc.used} == {"kraken", "bitstamp", "coinbase"}
    assert usdc.dislocation is not None
    assert [v.venue for v in usdc.dislocation.venues] == ["binanceus"]
    assert usdc.dislocation.gap == pytest.approx(0.50 / usdc.price - 1)
    assert usdc.dropped == ()


def test_a_small_misprint_among_agreeing_venues_is_still_an_outlier() -> None:
    """Three venues at 1.0000 and one at 0.9900 (within the cluster band): the 0.99 is dropped
    as an outlier, as before clusters, and no dislocation is reported."""
    snaps = aggregator(make_settings()).aggregate(
        [q("kraken", 1.0001), q("bitstamp", 0.9999), q("coinbase", 1.0), q("binanceus", 0.99)],
        NOW,
    )
    usdc = snaps["USDC"]
    assert usdc.price is not None and abs(usdc.price - 1.0) < 1e-3
    assert [(d.venue, d.reason) for d in usdc.dropped] == [("binanceus", "outlier")]
    assert usdc.dislocation is None


def test_price_is_volume_weighted_with_venue_weights() -> None:
    """A venue with three times the volume pulls the price about three times as hard."""
    s = Settings(coins={"USDC": {}}, venues={"small": {"weight": 1.0}})
    snaps = aggregator(s).aggregate(
        [q("big", 0.99, volume=3_000_000), q("small", 0.995, volume=1_000_000)], NOW
    )
    price = snaps["USDC"].price
    assert price is not None
    w_big, w_small = 3_000_000 * 0.99, 1_000_000 * 0.995  # base volume in USD
    assert abs(price - (0.99 * w_big + 0.995 * w_small) / (w_big + w_small)) < 1e-12


def test_missing_volumes_fall_back_to_equal_weights() -> None:
    """Without any volume the venues count equally."""
    snaps = aggregator(make_settings()).aggregate(
        [q("a", 0.99, volume=None), q("b", 0.995, volume=None)], NOW
    )
    assert abs((snaps["USDC"].price or 0) - 0.9925) < 1e-9


def test_zero_weight_venue_is_watched_but_not_counted() -> None:
    """A venue with weight 0 is listed as dropped and does not move the price."""
    s = Settings(coins={"USDC": {}}, venues={"coingecko": {"weight": 0}})
    snaps = aggregator(s).aggregate([q("a", 1.0), q("b", 1.0), q("coingecko", 0.9)], NOW)
    assert snaps["USDC"].price == 1.0
    assert snaps["USDC"].dropped[0].reason == "zero_weight"


def test_each_unusable_quote_is_listed_with_why() -> None:
    """A zero or NaN price, a quote currency nobody converts, and the older of two answers for
    one market are each left out with their reason; the newer answer counts."""
    snaps = aggregator(make_settings()).aggregate(
        [
            q("a", 0.0),
            q("b", float("nan")),
            q("c", 0.99, quote_ccy="EUR"),
            q("d", 0.98, age=5),
            q("d", 0.99, age=1),
            q("e", 0.99, age=1),
            q("e", 0.98, age=5),
        ],
        NOW,
    )
    usdc = snaps["USDC"]
    assert sorted((d.venue, d.reason) for d in usdc.dropped) == [
        ("a", "bad_price"),
        ("b", "bad_price"),
        ("c", "unsupported_quote"),
        ("d", "superseded"),
        ("e", "superseded"),
    ]
    assert [d.price for d in usdc.dropped if d.reason == "superseded"] == [0.98, 0.98]
    assert usdc.price is not None and abs(usdc.price - 0.99) < 1e-9


def test_context_spread_correlation_and_velocity() -> None:
    """Spread names the cheap and dear venue; coins deviating together are listed."""
    agg = aggregator(make_settings())
    agg.aggregate(
        [q("a", 1.0), q("b", 1.0), q("k", 1.0, coin="USDT"), q("c", 1.0, coin="USDT")], NOW - 60
    )
    snaps = agg.aggregate(
        [
            q("a", 0.97),
            q("b", 0.98),
            q("k", 1.02, coin="USDT"),
            q("c", 1.02, coin="USDT"),
        ],
        NOW,
    )
    ctx = snaps["USDC"].context
    assert (ctx.cheapest_venue, ctx.dearest_venue) == ("a", "b")
    assert ctx.spread is not None and abs(ctx.spread - 0.01 / 0.975) < 1e-5
    assert ctx.arbitrage_net is not None and ctx.arbitrage_net < ctx.spread
    assert ctx.correlated == ("USDT",)
    assert ctx.velocity_per_min is not None and abs(ctx.velocity_per_min + 0.025) < 1e-4


def _volume_cycles(agg: Aggregator, spoil: float | None = None) -> float | None:
    """An hour of even trading (1e6 a day per venue), then five minutes at four times the
    rate, read every minute from the venues' 24 h figures; one cycle's figures may be spoilt.
    Returns the last cycle's spike figure."""
    per_second = 1e6 / 86_400
    snap = None
    for i in range(0, 3901, 60):
        age = 3900.0 - i
        volume = 1e6 + 3 * per_second * max(0, i - 3600)
        if spoil is not None and i == 1800:
            volume = spoil
        quotes = [q("a", 1.0, volume=volume, age=age), q("b", 1.0, volume=volume, age=age)]
        snap = agg.aggregate(quotes, NOW - age)["USDC"]
    assert snap is not None
    return snap.context.volume_spike


def test_volume_spike_against_rolling_baseline() -> None:
    """Venues trading four times as fast for the last five minutes, after an hour of even
    trading, show a spike near 4 — though their 24 h figures rose by 0.4 %."""
    spike = _volume_cycles(aggregator(make_settings()))
    assert spike is not None and abs(spike - 4.0) < 1e-6


agreeing = st.lists(
    st.tuples(st.floats(-0.001, 0.001), st.floats(1e3, 1e9)), min_size=2, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    others=agreeing,
    rogue=st.floats(1e-3, 1e3),
    share=st.floats(0, 0.999),
)
def test_one_rogue_venue_cannot_move_the_aggregate_beyond_the_band(
    others: list[tuple[float, float]], rogue: float, share: float
) -> None:
    """With ≥2 agreeing venues, any one venue trading less than they do together moves the
    aggregate at most by the outlier band (k × MAD, or the minimum band) outside their range."""
    s = make_settings()
    prices = [1.0 + d for d, _ in others]
    quotes = [q(f"v{i}", 1.0 + d, volume=v) for i, (d, v) in enumerate(others)]
    their_usd = sum((1.0 + d) * v for d, v in others)
    quotes.append(q("rogue", rogue, volume=share * their_usd / rogue))  # base volume
    snap = aggregator(s).aggregate(quotes, NOW)["USDC"]
    assert snap.price is not None
    lo, hi = min(prices), max(prices)
    width = hi - lo
    band = max(s.aggregation.outlier_mad_k * width, s.aggregation.outlier_min_band * hi)
    assert lo - band - 1e-12 <= snap.price <= hi + band + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.8, 1.2),
    pair=st.floats(0.8, 1.2),
    spread=st.floats(-0.0005, 0.0005),
)
def test_usdt_quoted_prices_follow_the_reference_rate(
    rate: float, pair: float, spread: float
) -> None:
    """A USDC/USDT price becomes USD through the same cycle's USDT/USD markets."""
    quotes = [
        q("kraken", rate + spread, coin="USDT"),
        q("coinbase", rate - spread, coin="USDT"),
        q("binance", pair, quote_ccy="USDT"),
        q("okx", pair, quote_ccy="USDT"),
    ]
    agg = aggregator(make_settings())
    ref = agg.reference_rates(quotes, NOW)["USDT"]
    assert abs(ref - rate) <= abs(spread) + 1e-12
    usdc = agg.aggregate(quotes, NOW)["USDC"]
    assert usdc.price is not None
    assert abs(usdc.price - pair * ref) < 1e-9


def _volatility_after(prices: list[float]) -> float:
    agg = aggregator(make_settings(volatility_window=3600))
    vol = 0.0
    for i, p in enumerate(prices):
        t = NOW + 10 * i
        quotes = [
            Quote(v, "USDC", "USD", p, None, None, 1e6, None, t, t) for v in ("kraken", "bitstamp")
        ]
        vol = agg.aggregate(quotes, t)["USDC"].context.volatility or 0.0
    return vol


def test_a_depeg_level_shift_does_not_count_as_volatility_but_jitter_does() -> None:
    """A coin stepping to 0.97 and holding stays 'calm'; one jumping ±0.5 % each cycle is noisy."""
    step = _volatility_after([1.0] * 100 + [0.97] * 100)
    jitter = _volatility_after([1.005 if i % 2 else 0.995 for i in range(200)])
    assert step < 0.001
    assert jitter > 0.005


def test_a_coin_may_lower_its_own_quorum() -> None:
    """A coin with min_venues = 1 gets a price from one source; others still need two."""
    s = Settings(coins={"FRAX": {"min_venues": 1}, "USDC": {}})
    snaps = aggregator(s).aggregate(
        [q("coingecko", 0.998, coin="FRAX"), q("kraken", 0.999, coin="USDC")], NOW
    )
    assert snaps["FRAX"].price == 0.998
    assert snaps["USDC"].price is None


def test_a_nan_or_negative_volume_cannot_mask_a_depeg() -> None:
    """Every venue at 0.95: one venue's NaN or negative 24 h volume neither turns the price into
    NaN nor pins it at par — the aggregate still says 0.95 (the bad volume counts as none)."""
    for bad in (float("nan"), -13_779_365.5, float("inf")):
        agg = aggregator(make_settings())
        snaps = agg.aggregate(
            [q("kraken", 0.95, volume=bad), q("bitstamp", 0.95), q("coinbase", 0.95)], NOW
        )
        price = snaps["USDC"].price
        assert price is not None and abs(price - 0.95) < 1e-9, bad


def test_a_nan_volume_does_not_poison_the_volume_baseline() -> None:
    """A cycle whose 24 h volumes were all NaN (or negative) in the middle of the hour leaves
    the spike figure what it would have been: the same finite ratio near 4."""
    for bad in (float("nan"), -13_779_365.5, float("inf")):
        spike = _volume_cycles(aggregator(make_settings()), spoil=bad)
        assert spike is not None and abs(spike - 4.0) < 1e-6, bad


def test_absurd_volumes_that_overflow_or_underflow_the_sums_still_give_the_price() -> None:
    """Volumes near the float limits (1e307, 5e-324) weigh as they should: the price stays the
    one every venue quotes, never 0, inf or a crash."""
    for volumes in ((None, None, 1.2e308), (6e307, 6e307, 6e307), (5e-324, None, None)):
        quotes = [q(v, 0.5, volume=vol) for v, vol in zip("abc", volumes, strict=True)]
        price = aggregator(make_settings()).aggregate(quotes, NOW)["USDC"].price
        assert price is not None and abs(price - 0.5) < 1e-12, volumes


def test_a_price_that_is_not_finite_is_never_published() -> None:
    """Quotes that would average to infinity leave the coin without a price rather than inf."""
    agg = aggregator(make_settings())
    snaps = agg.aggregate([q("kraken", 1e308), q("bitstamp", 1e308)], NOW)
    assert snaps["USDC"].price is None


@given(
    volumes=st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=3, max_size=3
    ),
    price=st.floats(min_value=0.5, max_value=2.0),
)
def test_whatever_the_volumes_the_price_is_finite_and_between_the_quotes(
    volumes: list[float | None], price: float
) -> None:
    """Any volumes at all, even NaN and negative: the published price is finite and is a
    price some venue quoted."""
    quotes = [q(v, price, volume=vol) for v, vol in zip(("a", "b", "c"), volumes, strict=True)]
    snap = aggregator(make_settings()).aggregate(quotes, NOW)["USDC"]
    assert snap.price is not None and abs(snap.price - price) <= 1e-9 * price


def usde_cycle(binance_usde: float, pool_usde: float) -> list[Quote]:
    """One cycle as the venues answer it: Binance's USDE/USDT ticker (last, bid/ask, 24 h
    volumes in USDe and USDT), the on-chain pool's USDE/USDC price (no book, no volume), and
    the USD markets of USDT and USDC that convert them."""
    t = NOW - 2

    def tick(venue: str, coin: str, ccy: str, price: float, base: float | None) -> Quote:
        quote_vol = None if base is None else base * price
        spread = None if base is None else price * 0.0005
        bid = None if spread is None else price - spread
        ask = None if spread is None else price + spread
        return Quote(venue, coin, ccy, price, bid, ask, base, quote_vol, t, NOW)

    return [
        tick("kraken", "USDT", "USD", 1.0003, 9e7),
        tick("coinbase", "USDT", "USD", 1.0001, 4e8),
        tick("kraken", "USDC", "USD", 0.9999, 6e7),
        tick("bitstamp", "USDC", "USD", 1.0000, 2e7),
        tick("binance", "USDE", "USDT", binance_usde, 6e8),  # ~$400 M a day at 0.65
        tick("curve", "USDE", "USDC", pool_usde, None),
    ]


def usde_settings(**pool: object) -> Settings:
    return Settings(
        coins={
            "USDE": {"thresholds": {"minor": 0.0075, "major": 0.02, "critical": 0.04}},
            "USDT": {},
            "USDC": {},
        },
        venues={"binance": {}, "curve": pool},
    )


def test_usde_2025_10_10_follows_the_deep_pool_and_reports_binance_apart() -> None:
    """USDe at 0.65 on Binance alone while the main on-chain pool (no volume, liquidity_usd
    $800 M) holds 0.994: the price is the pool's, Binance is a dislocation with its gap and
    arbitrage figure, and no alert fires — not the 0.9499 critical, not the 0.8324 no market
    traded at."""
    s = usde_settings(liquidity_usd=800_000_000)
    quotes = usde_cycle(0.65, 0.994)
    usde = aggregator(s).aggregate(quotes, NOW)["USDE"]
    usdt = (1.0003 * 9e7 * 1.0003 + 1.0001 * 4e8 * 1.0001) / (9e7 * 1.0003 + 4e8 * 1.0001)
    usdc = (0.9999 * 6e7 * 0.9999 + 1.0 * 2e7) / (6e7 * 0.9999 + 2e7)
    assert usde.price == pytest.approx(0.994 * usdc)
    assert [(u.venue, u.quote_ccy) for u in usde.used] == [("curve", "USDC")]
    d = usde.dislocation
    assert d is not None
    assert [(v.venue, v.quote_ccy) for v in d.venues] == [("binance", "USDT")]
    assert d.price == pytest.approx(0.65 * usdt)
    assert d.followed_price == usde.price
    assert d.gap == pytest.approx(0.65 * usdt / (0.994 * usdc) - 1)  # about -34.6 %
    assert d.arbitrage_net == pytest.approx(abs(d.gap) - 0.002)
    assert usde.context.spread is not None and usde.context.spread > 0.3  # still measured
    verdict = {a.coin: a for a in Detector(detection_rules(s)).step(quotes, NOW)}["USDE"]
    assert verdict.severity == Severity.NONE


def test_usde_with_the_pool_unmeasured_follows_binance_but_never_averages_the_gap() -> None:
    """The same cycle with no liquidity_usd for the pool: Binance's measured volume wins, the
    price is Binance's own 0.65 with the pool apart (never the 0.83 between them), and its
    -35 % is no major or critical: one venue does not confirm it."""
    s = usde_settings()
    quotes = usde_cycle(0.65, 0.994)
    usde = aggregator(s).aggregate(quotes, NOW)["USDE"]
    assert usde.price is not None and usde.price < 0.66
    assert usde.dislocation is not None
    assert [v.venue for v in usde.dislocation.venues] == ["curve"]
    verdict = {a.coin: a for a in Detector(detection_rules(s)).step(quotes, NOW)}["USDE"]
    assert verdict.raw_severity <= Severity.MINOR


def test_two_venues_one_crashes_then_both_fall() -> None:
    """Two venues: Kraken alone at 0.65 while the deeper Bitstamp holds gives Bitstamp's price,
    Kraken apart, and no alert; both at 0.90 the next poll is critical at once."""
    s = make_settings()
    detector = Detector(detection_rules(s))

    def poll(kraken: float, bitstamp: float, t: float) -> tuple[Snapshot, Severity]:
        quotes = [
            Quote("kraken", "USDC", "USD", kraken, None, None, 4e6, None, t, t),
            Quote("bitstamp", "USDC", "USD", bitstamp, None, None, 3e7, None, t, t),
        ]
        verdict = next(a for a in detector.step(quotes, t) if a.coin == "USDC")
        return verdict.snapshot, verdict.severity

    snap, severity = poll(1.0001, 0.9999, NOW)
    assert snap.dislocation is None and severity == Severity.NONE
    snap, severity = poll(0.65, 0.9998, NOW + 10)
    assert snap.price == pytest.approx(0.9998)
    assert snap.dislocation is not None and snap.dislocation.venues[0].venue == "kraken"
    assert severity == Severity.NONE
    snap, severity = poll(0.90, 0.905, NOW + 20)
    assert snap.dislocation is None and snap.price is not None and snap.price < 0.91
    assert severity == Severity.CRITICAL


def test_unmeasured_venues_that_split_follow_the_one_nearest_the_peg() -> None:
    """Two venues reporting no volume at all: one at 0.65 and one at 0.999 gives 0.999 in either
    order (a tie never makes a lone crash the price); at 0.90 and 0.95 the price is 0.95 with
    0.90 apart, and both count, so it is still critical."""
    s = make_settings()
    for pair in (("a", "b"), ("b", "a")):
        quotes = [q(pair[0], 0.65, volume=None), q(pair[1], 0.999, volume=None)]
        usdc = aggregator(s).aggregate(quotes, NOW)["USDC"]
        assert usdc.price == pytest.approx(0.999)
        assert usdc.dislocation is not None and usdc.dislocation.price == pytest.approx(0.65)
    quotes = [q("a", 0.90, volume=None), q("b", 0.95, volume=None)]
    usdc = aggregator(s).aggregate(quotes, NOW)["USDC"]
    assert usdc.price == pytest.approx(0.95)
    verdict = next(a for a in Detector(detection_rules(s)).step(quotes, NOW) if a.coin == "USDC")
    assert verdict.severity == Severity.CRITICAL


def test_a_venue_without_volume_weighs_its_configured_liquidity() -> None:
    """A pool with liquidity_usd $3 M beside a venue trading $1 M a day, both near par, pulls
    the price three times as hard."""
    s = Settings(coins={"USDC": {}}, venues={"pool": {"liquidity_usd": 3_000_000}})
    quotes = [q("pool", 0.999, volume=None), q("kraken", 1.0, volume=1_000_000)]
    price = aggregator(s).aggregate(quotes, NOW)["USDC"].price
    assert price == pytest.approx((0.999 * 3e6 + 1.0 * 1e6) / 4e6)


def test_a_pool_without_volume_weighs_its_depth() -> None:
    """An on-chain pool reports no volume but its USD depth: $60 M of pool at 0.997 outweighs
    an exchange trading $3 M a day at 0.65 when they split (the USDe day: the price follows
    the pool, the exchange is the dislocation), and near par it pulls the average by its
    depth, as a configured liquidity_usd would."""
    s = make_settings()
    pool = dataclasses.replace(q("curve", 0.997, volume=None), depth_usd=60_000_000.0)
    usdc = aggregator(s).aggregate([pool, q("binance", 0.65, volume=3_000_000)], NOW)["USDC"]
    assert usdc.price == pytest.approx(0.997)
    assert usdc.dislocation is not None and usdc.dislocation.price == pytest.approx(0.65)
    pool = dataclasses.replace(q("curve", 0.999, volume=None), depth_usd=3_000_000.0)
    price = aggregator(s).aggregate([pool, q("kraken", 1.0, volume=1_000_000)], NOW)["USDC"].price
    assert price == pytest.approx((0.999 * 3e6 + 1.0 * 1e6) / 4e6)
