"""Cross-sectional attribution: every USDT pair moving by one ratio at once is USDT moving."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.config import Settings
from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.attribution import Leg, attribute
from depeg_monitor.model import Quote, QuoteCoinMove, Snapshot
from depeg_monitor.rules import detection_rules

NOW = 1_700_000_000.0
COINS = ["USDT", "USDC", "DAI", "FDUSD", "PYUSD", "USDE", "TUSD"]
PAIRED = ["USDC", "DAI", "FDUSD", "USDE", "TUSD"]  # binance's USDT pairs (config.example.toml)
# Each coin's own USD markets: Kraken/Bitstamp/Coinbase where they list it, else CoinGecko.
USD_MARKETS = {
    "USDC": ("kraken", "bitstamp"),
    "DAI": ("coinbase", "kraken"),
    "PYUSD": ("coinbase", "kraken"),
    "FDUSD": ("coingecko",),
    "USDE": ("coingecko",),
    "TUSD": ("coingecko",),
}


def q(venue: str, coin: str, ccy: str, price: float, ts: float = NOW) -> Quote:
    return Quote(venue, coin, ccy, price, None, None, 1e6, None, ts, ts)


def aggregator(**aggregation: object) -> Aggregator:
    coins = {c: {"min_venues": 2} for c in COINS}
    return Aggregator(detection_rules(Settings(coins=coins, aggregation=aggregation)))


def market(
    usdt_usd: float,
    pairs: dict[str, dict[str, float]],
    usd: dict[str, float] | None = None,
    ts: float = NOW,
) -> list[Quote]:
    """USDT/USD at three venues, each coin's USD markets (1.0 unless given) and the USDT pairs:
    venue → coin → price in USDT."""
    out = [q(v, "USDT", "USD", usdt_usd, ts) for v in ("kraken", "bitstamp", "coinbase")]
    for coin, venues in USD_MARKETS.items():
        out += [q(v, coin, "USD", (usd or {}).get(coin, 1.0), ts) for v in venues]
    for venue, prices in pairs.items():
        out += [q(venue, coin, "USDT", p, ts) for coin, p in prices.items()]
    return out


def calm_pairs(ratio: float = 1.0) -> dict[str, dict[str, float]]:
    return {
        "binance": dict.fromkeys(PAIRED, ratio),
        "okx": dict.fromkeys(["USDC", "DAI", "PYUSD", "FDUSD", "USDE", "TUSD"], ratio),
    }


def deviating(snaps: dict[str, Snapshot], level: float = 0.005) -> set[str]:
    return {c for c, s in snaps.items() if s.deviation is not None and abs(s.deviation) >= level}


def test_usdt_pairs_jumping_before_usdt_usd_is_usdt_moving_and_no_other_coin_deviates() -> None:
    """Every USDT pair up by 1/0.95 while USDT/USD still reads 1.00 (the issue's reproduction):
    no coin deviates (FDUSD, USDE, TUSD left with CoinGecko alone have no price), their USDT
    quotes are counted as 'quote_coin_moved', and every snapshot concerned — USDT's own too —
    carries the move with the implied USDT rate, 0.95."""
    snaps = aggregator().aggregate(market(1.0, calm_pairs(1 / 0.95)), NOW)
    assert deviating(snaps) == set()
    move = QuoteCoinMove("USDT", 0.95, ("USDC", "DAI", "FDUSD", "PYUSD", "USDE", "TUSD"))
    for coin in COINS:
        (told,) = snaps[coin].quote_coin_moves
        assert (told.quote_ccy, told.coins) == (move.quote_ccy, move.coins)
        assert abs(told.implied_rate - 0.95) < 1e-9
    assert {d.reason for d in snaps["FDUSD"].dropped} == {"quote_coin_moved"}
    assert snaps["FDUSD"].price is None  # CoinGecko alone: one venue, at most pending
    assert snaps["USDC"].price is not None and abs(snaps["USDC"].price - 1.0) < 1e-9
    assert snaps["USDT"].price is not None and abs(snaps["USDT"].price - 1.0) < 1e-9


def test_once_usdt_usd_follows_usdt_alerts_and_the_others_count_again() -> None:
    """The next poll of the USD venues shows USDT at 0.95: USDT deviates -5 %, the USDT pairs
    convert back to $1.00 and count for their coins again, and nothing is attributed."""
    agg = aggregator()
    agg.aggregate(market(1.0, calm_pairs(1 / 0.95), ts=NOW - 1), NOW - 1)
    snaps = agg.aggregate(market(0.95, calm_pairs(1 / 0.95)), NOW)
    assert deviating(snaps) == {"USDT"}
    assert all(s.quote_coin_moves == () for s in snaps.values())
    fdusd = snaps["FDUSD"]
    assert fdusd.price is not None and abs(fdusd.price - 1.0) < 1e-9
    assert {u.quote_ccy for u in fdusd.used} == {"USD", "USDT"}


def test_the_recovery_led_by_the_pairs_is_attributed_too() -> None:
    """USDT back at par on its pairs while USDT/USD still reads 0.95: the pairs at 1.00 would
    read $0.95 through the old rate; it is USDT again (implied rate 1.00), no coin deviates."""
    agg = aggregator()
    agg.aggregate(market(0.95, calm_pairs(1 / 0.95), ts=NOW - 1), NOW - 1)
    snaps = agg.aggregate(market(0.95, calm_pairs(1.0)), NOW)
    assert deviating(snaps) == {"USDT"}
    (move,) = snaps["DAI"].quote_coin_moves
    assert abs(move.implied_rate - 1.0) < 1e-9


def test_a_venue_polled_before_the_move_does_not_contradict_it() -> None:
    """Binance polled just after USDT fell, OKX just before (its pairs and the USDT/USD
    readings of that moment still at par): still USDT's move; no coin deviates."""
    agg = aggregator()
    before = market(1.0, {"okx": calm_pairs()["okx"]}, ts=NOW - 1)
    agg.aggregate(before, NOW - 1)
    now = market(1.0, {"binance": calm_pairs(1 / 0.95)["binance"]})
    okx = [x for x in before if x.venue == "okx"]
    snaps = agg.aggregate([*now, *okx], NOW)
    assert deviating(snaps) == set()
    assert snaps["FDUSD"].quote_coin_moves


def test_one_coin_moving_on_its_usdt_pairs_is_that_coin() -> None:
    """FDUSD/USDT up 5 % on every venue while the other pairs hold: FDUSD moved, not USDT —
    nothing is attributed and FDUSD deviates."""
    pairs = calm_pairs()
    for venue in pairs:
        pairs[venue]["FDUSD"] = 1.05
    snaps = aggregator().aggregate(market(1.0, pairs), NOW)
    assert deviating(snaps) == {"FDUSD"}
    assert all(s.quote_coin_moves == () for s in snaps.values())


def test_coins_whose_usd_markets_fell_too_moved_themselves() -> None:
    """USDC and DAI at 0.90 on their USDT pairs and on their USD markets alike (SVB): those
    USD markets mirror the move, so it is theirs — they deviate, nothing is attributed."""
    pairs = calm_pairs()
    for venue in pairs:
        pairs[venue].update(USDC=0.90, DAI=0.90)
    snaps = aggregator().aggregate(market(1.0, pairs, usd={"USDC": 0.90, "DAI": 0.90}), NOW)
    assert deviating(snaps) == {"USDC", "DAI"}
    assert all(s.quote_coin_moves == () for s in snaps.values())


def test_pairs_moving_by_different_ratios_are_not_one_quote_coin_move() -> None:
    """FDUSD +5 %, USDE +2 % and TUSD +8 % at once on a venue listing only those: no single
    USDT rate explains them, so nothing is attributed."""
    pairs = {"bybit": {"FDUSD": 1.05, "USDE": 1.02, "TUSD": 1.08}}
    snaps = aggregator().aggregate(market(1.0, pairs), NOW)
    assert all(s.quote_coin_moves == () for s in snaps.values())


def test_fewer_coins_than_quote_move_coins_are_not_attributed() -> None:
    """Two coins moving together are not enough with quote_move_coins = 3; with 2 they are."""
    pairs = {"bybit": {"FDUSD": 1 / 0.95, "USDE": 1 / 0.95}}
    assert not aggregator().aggregate(market(1.0, pairs), NOW)["FDUSD"].quote_coin_moves
    assert (
        aggregator(quote_move_coins=2).aggregate(market(1.0, pairs), NOW)["FDUSD"].quote_coin_moves
    )


def test_a_coin_without_usd_markets_is_judged_by_its_own_last_price() -> None:
    """A coin with no USD market at all (only USDT pairs) counts by its own last price: seen
    at $1.00 a poll ago, its pair jumping with the others' is part of the USDT move."""
    agg = aggregator()
    only_pairs = {"binance": {"USDC": 1.0, "DAI": 1.0, "FDUSD": 1.0}, "okx": {"FDUSD": 1.0}}
    calm = [x for x in market(1.0, only_pairs) if not (x.coin == "FDUSD" and x.quote_ccy == "USD")]
    agg.aggregate([q(x.venue, x.coin, x.quote_ccy, x.price, NOW - 1) for x in calm], NOW - 1)
    jumped = {v: {c: 1 / 0.95 for c in p} for v, p in only_pairs.items()}
    now = [x for x in market(1.0, jumped) if not (x.coin == "FDUSD" and x.quote_ccy == "USD")]
    snaps = agg.aggregate(now, NOW)
    assert "FDUSD" in snaps["USDT"].quote_coin_moves[0].coins
    assert deviating(snaps) == set()


def test_a_venue_where_some_pairs_moved_and_some_did_not_is_no_quote_coin_move() -> None:
    """attribute(): at one venue USDC and DAI imply 0.95 and FDUSD implies 1.00 — the venue
    polls all at once, so USDC and DAI moved: None."""
    legs = [Leg("USDC", "binance", 1 / 0.95, 1.0, NOW), Leg("DAI", "binance", 1 / 0.95, 1.0, NOW)]
    legs += [Leg("FDUSD", "binance", 1.0, 1.0, NOW), Leg("TUSD", "okx", 1 / 0.95, 1.0, NOW)]
    usd = dict.fromkeys(["USDC", "DAI", "FDUSD", "TUSD"], 1.0)
    assert attribute("USDT", legs, usd, min_coins=3, min_move=0.005, order=COINS) is None
    moved = [leg for leg in legs if leg.coin != "FDUSD"]
    found = attribute("USDT", moved, usd, min_coins=3, min_move=0.005, order=COINS)
    assert found is not None and found.coins == ("USDC", "DAI", "TUSD")


def test_a_step_seen_both_ways_by_venues_read_on_either_side_of_it_is_one_move() -> None:
    """USDT back from 0.95 to 1.00 between polls: Binance's pairs read after the step against
    a 0.95 rate from before it, OKX's pairs read before it against a 1.00 rate from after —
    one read high, one low, both explained by the one step; the move reported is where USDT
    is now (Binance's newer pairs: 1.00)."""
    legs = [Leg(c, "binance", 1.0, 0.95, NOW) for c in ("USDC", "DAI", "FDUSD")]
    legs += [Leg(c, "okx", 1 / 0.95, 1.0, NOW - 0.5) for c in ("USDC", "PYUSD", "TUSD")]
    usd = dict.fromkeys(COINS, 1.0)
    found = attribute("USDT", legs, usd, min_coins=3, min_move=0.005, order=COINS)
    assert found is not None and abs(found.implied_rate - 1.0) < 1e-9
    assert found.coins == ("USDC", "DAI", "FDUSD", "PYUSD", "TUSD")
    apart = [legs[0], Leg("DAI", "binance", 1.0 / 0.9, 0.95, NOW), *legs[2:]]  # DAI: its own
    assert attribute("USDT", apart, usd, min_coins=3, min_move=0.005, order=COINS) is None


@settings(max_examples=200, deadline=None)
@given(
    usdt=st.floats(0.6, 1.6).filter(lambda x: abs(x - 1.0) >= 0.01),
    noise=st.lists(st.floats(-0.0005, 0.0005), min_size=11, max_size=11),
)
def test_whatever_usdt_does_first_on_its_pairs_only_usdt_can_deviate(
    usdt: float, noise: list[float]
) -> None:
    """USDT at any rate from 0.6 to 1.6 (at least 1 % off) on its pairs, a little noise on
    each, USDT/USD not yet following: no coin deviates by even 0.5 %, and the implied USDT rate
    is the true one within the noise."""
    it = iter(noise)
    pairs = {v: {c: (1 + next(it)) / usdt for c in p} for v, p in calm_pairs().items()}
    snaps = aggregator().aggregate(market(1.0, pairs), NOW)
    assert deviating(snaps) == set()
    (move,) = snaps["USDT"].quote_coin_moves
    assert abs(move.implied_rate / usdt - 1) < 0.001


@settings(max_examples=200, deadline=None)
@given(
    coin=st.sampled_from(["USDC", "DAI", "FDUSD", "USDE", "TUSD"]),
    ratio=st.floats(0.5, 1.5).filter(lambda x: abs(x - 1.0) >= 0.01),
)
def test_one_coin_moving_alone_is_never_put_on_usdt(coin: str, ratio: float) -> None:
    """Any single coin moving by any ratio on its USDT pairs (its USD markets not following)
    is never taken for USDT moving: no snapshot carries a move, no USDT pair is left out for
    it, and no other coin deviates."""
    pairs = calm_pairs()
    for venue in pairs:
        pairs[venue][coin] = ratio
    snaps = aggregator().aggregate(market(1.0, pairs), NOW)
    assert all(s.quote_coin_moves == () for s in snaps.values())
    assert all(d.reason != "quote_coin_moved" for s in snaps.values() for d in s.dropped)
    assert deviating(snaps) <= {coin}
