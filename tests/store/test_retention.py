"""The retention job deletes old quotes and downsamples aggregates, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from depeg_monitor.clock import ManualClock
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.retention import DAY, RetentionJob, RetentionRules, next_run
from depeg_monitor.store.schema import aggregates, quotes
from depeg_monitor.store.times import from_dt, to_dt

NOW = 1_700_006_400.0  # 2023-11-15 00:00 UTC


def raw_row(coin: str, ts: float, price: float | None, severity: int) -> dict[str, Any]:
    return {
        "ts": to_dt(ts),
        "coin": coin,
        "resolution": "raw",
        "price": price,
        "price_min": price,
        "price_max": price,
        "deviation": None if price is None else price - 1,
        "venues_used": 3,
        "spread": 0.001,
        "severity": severity,
    }


def quote_row(ts: float) -> dict[str, Any]:
    return {"ts": to_dt(ts), "venue": "kraken", "coin": "USDC", "quote_ccy": "USD", "price": 1.0}


async def test_old_quotes_deleted_and_aggregates_downsampled(db_url: str) -> None:
    """Quotes past N days go; old raw rows become 1m rows keeping min, max, last and severity."""
    engine = create_engine(db_url)
    await upgrade(engine)
    rules = RetentionRules(quotes_days=7, minute_days=30)
    job = RetentionJob(engine, rules, ManualClock(NOW), HealthRegistry().component(Kind.DATABASE))
    old = NOW - 8 * DAY  # on a minute boundary
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(quotes), [quote_row(old), quote_row(NOW - DAY)])
            await conn.execute(
                insert(aggregates),
                [
                    raw_row("USDC", old + 1, 0.99, 1),
                    raw_row("USDC", old + 20, 0.95, 2),
                    raw_row("USDC", old + 40, None, 0),  # no quorum: keeps the last price
                    raw_row("USDC", old + 50, 0.97, 1),
                    raw_row("USDC", old + 61, 0.98, 1),  # next minute
                    raw_row("DAI", old + 5, 1.001, 0),
                    raw_row("USDC", NOW - DAY, 1.0, 0),  # recent: stays raw
                ],
            )
        result = await job.run_once(NOW)
        assert (result.quotes_deleted, result.raw_deleted, result.minutes_written) == (1, 6, 3)
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(quotes))).scalar() == 1
            rows = (
                await conn.execute(
                    select(aggregates).order_by(
                        aggregates.c.resolution, aggregates.c.coin, aggregates.c.ts
                    )
                )
            ).all()
        got = [
            (
                r.resolution,
                r.coin,
                from_dt(r.ts) - old,
                r.price,
                r.price_min,
                r.price_max,
                r.severity,
            )
            for r in rows
        ]
        assert got == [
            ("1m", "DAI", 0, 1.001, 1.001, 1.001, 0),
            ("1m", "USDC", 0, 0.97, 0.95, 0.99, 2),
            ("1m", "USDC", 60, 0.98, 0.98, 0.98, 1),
            ("raw", "USDC", 7 * DAY, 1.0, 1.0, 1.0, 0),
        ]
    finally:
        await engine.dispose()


async def test_minutes_become_hours_and_hours_expire(sqlite_url: str) -> None:
    """1m rows past their window fold into 1h rows; 1h rows past theirs are deleted."""
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    rules = RetentionRules(quotes_days=1, minute_days=2, hour_days=10)
    job = RetentionJob(engine, rules, ManualClock(NOW), HealthRegistry().component(Kind.DATABASE))
    hour = NOW - 3 * DAY
    minute_rows = []
    for i, price in enumerate([1.0, 0.9, 0.95]):
        row = raw_row("USDT", hour + i * 60, price, 3 if price == 0.9 else 0)
        row["resolution"] = "1m"
        minute_rows.append(row)
    ancient = raw_row("USDT", NOW - 11 * DAY, 1.0, 0) | {"resolution": "1h"}
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(aggregates), [*minute_rows, ancient])
        result = await job.run_once(NOW)
        assert (result.hours_written, result.minutes_deleted, result.hours_deleted) == (1, 3, 1)
        async with engine.connect() as conn:
            row = (await conn.execute(select(aggregates))).one()
        assert (row.resolution, from_dt(row.ts), row.price, row.price_min, row.severity) == (
            "1h",
            hour,
            0.95,
            0.9,
            3,
        )
    finally:
        await engine.dispose()


def test_next_run_is_the_next_configured_hour() -> None:
    """The daily job runs at the configured UTC hour: later today, or tomorrow if past."""
    assert next_run(NOW + 60, 3) == NOW + 3 * 3600
    assert next_run(NOW + 4 * 3600, 3) == NOW + DAY + 3 * 3600
