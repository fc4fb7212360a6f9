"""Oracle readings reach a coin's snapshot as context only while fresh, and only its own; a
round that crossed one of the coin's thresholds is a fact of its own."""

from __future__ import annotations

from depeg_monitor.detect.oracles import MAX_READING_AGE, oracle_context, with_oracles
from depeg_monitor.detect.rules import Levels
from depeg_monitor.model import OracleMove, Severity, Snapshot
from depeg_monitor.venues.chainlink import HEARTBEAT_SLACK, OracleReading

NOW = 1_760_000_000.0


LEVELS = Levels(0.005, 0.015, 0.03)


def reading(
    coin: str = "USDC",
    value: float = 0.9990,
    updated: float = NOW - 3 * 3600,
    **kw: float | None,
) -> OracleReading:
    fields = {
        "feed": f"chainlink-{coin.lower()}-usd",
        "coin": coin,
        "quote_ccy": "USD",
        "value": value,
        "round_id": 7,
        "updated_at": updated,
        "block_number": 21_000_000,
        "block_timestamp": NOW - 5,
        "heartbeat": 86_400.0,
        "threshold_pct": 0.25,
        "ts_received": NOW - 4,
    }
    fields.update(kw)
    return OracleReading(**fields)  # type: ignore[arg-type]


def snap(price: float | None = 0.9612, coin: str = "USDC") -> Snapshot:
    dev = None if price is None else price - 1
    return Snapshot(coin, NOW, 1.0, price, dev, (), ())


def test_a_fresh_reading_of_the_coin_is_its_context_with_age_and_lag() -> None:
    (o,) = oracle_context(snap(), [reading(), reading("DAI")], NOW)
    assert (o.feed, o.value, o.market) == ("chainlink-usdc-usd", 0.9990, 0.9612)
    assert o.age == 3 * 3600
    assert abs(o.lag - (0.9612 - 0.9990) / 0.9990) < 1e-12
    assert with_oracles(snap(), [reading()], NOW).context.oracles == (o,)


def test_stale_old_or_priceless_readings_are_left_out() -> None:
    stale = reading(updated=NOW - 5 - 86_400 - HEARTBEAT_SLACK - 1)
    old = reading(ts_received=NOW - MAX_READING_AGE - 1)
    assert oracle_context(snap(), [stale, old], NOW) == ()
    assert oracle_context(snap(None), [reading()], NOW) == ()
    plain = snap()
    assert with_oracles(plain, [reading("DAI")], NOW) is plain


def test_a_round_crossing_a_threshold_is_a_move_with_its_band_and_time() -> None:
    """USDC/USD from 0.9990 to 0.9712 (2.9 % off) crossed into major; back to 0.9990 is a move
    back inside; a round in the band of the one before, or a first reading (nothing seen
    before it), is no move."""
    fell = reading(value=0.9712, updated=NOW - 60, previous=0.9990)
    (o,) = oracle_context(snap(), [fell], NOW, LEVELS)
    assert o.moved == OracleMove(Severity.MAJOR, Severity.NONE, 0.9712, NOW - 60)
    back = reading(value=0.9990, previous=0.9712)
    (o,) = oracle_context(snap(), [back], NOW, LEVELS)
    assert o.moved == OracleMove(Severity.NONE, Severity.MAJOR, 0.9990, NOW - 3 * 3600)
    premium = reading(value=1.031, previous=1.02)  # a premium crosses alike: 3.1 % is critical
    (o,) = oracle_context(snap(), [premium], NOW, LEVELS)
    assert o.moved is not None and o.moved.level == Severity.CRITICAL
    for quiet in (reading(value=0.9712, previous=0.975), reading(value=0.9712)):
        (o,) = oracle_context(snap(), [quiet], NOW, LEVELS)
        assert o.moved is None
    (o,) = oracle_context(snap(), [fell], NOW)  # no levels given: context only
    assert o.moved is None
