"""Oracle readings reach a coin's snapshot as context only while fresh, and only its own."""

from __future__ import annotations

from depeg_monitor.detect.oracles import MAX_READING_AGE, oracle_context, with_oracles
from depeg_monitor.model import Snapshot
from depeg_monitor.venues.chainlink import HEARTBEAT_SLACK, OracleReading

NOW = 1_760_000_000.0


def reading(
    coin: str = "USDC", value: float = 0.9990, updated: float = NOW - 3 * 3600, **kw: float
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
