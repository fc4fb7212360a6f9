"""HistoryWriter on a SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import ManualClock
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Assessment, Quote, Severity, Snapshot, SnapshotContext, VenuePrice
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import aggregates, quotes
from depeg_monitor.store.times import from_dt
from depeg_monitor.store.writer import HistoryWriter, WriterRules

T0 = 1_700_000_000.0


def make_quotes(n: int, start: float = T0) -> list[Quote]:
    return [
        Quote("binance", "USDC", "USDT", 1.0 - i * 1e-6, 0.9999, 1.0001, 1e6, None, None, start + i)
        for i in range(n)
    ]


def make_assessment(coin: str, ts: float, price: float | None, sev: Severity) -> Assessment:
    snap = Snapshot(
        coin,
        ts,
        1.0,
        price,
        None if price is None else price - 1.0,
        (VenuePrice("kraken", "USD", price or 1.0, 1.0),),
        (),
        SnapshotContext(spread=0.001),
    )
    return Assessment(coin, ts, sev, sev, snap.deviation, 0.0, (), snap)


async def count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def new_writer(url: str, **settings: Any) -> tuple[AsyncEngine, HistoryWriter, Metrics]:
    engine = create_engine(url)
    await upgrade(engine)
    metrics = Metrics()
    db = HealthRegistry().component(Kind.DATABASE)
    writer = HistoryWriter(engine, WriterRules(**settings), ManualClock(T0), db, metrics)
    return engine, writer, metrics


async def test_rows_written_in_batches_and_flushed_on_shutdown(db_url: str) -> None:
    """Quotes reach the database in batches while running, and the remainder at stop."""
    engine, writer, _ = await new_writer(db_url, batch_size=100, flush_interval=30)
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        writer.add_quotes(make_quotes(250))
        for _ in range(200):  # a full batch wakes the writer without waiting for the interval
            await asyncio.sleep(0.01)
            if writer.buffered < 100:
                break
        assert await count(engine, quotes) >= 200
        writer.add_quotes(make_quotes(7, start=T0 + 1000))
        stop.set()
        await asyncio.wait_for(task, 10)
        assert await count(engine, quotes) == 257
        assert writer.buffered == 0
    finally:
        await engine.dispose()


async def test_assessments_become_raw_aggregate_rows(db_url: str) -> None:
    """Each assessment is one 'raw' aggregates row with its price, venue count and severity."""
    engine, writer, _ = await new_writer(db_url)
    try:
        writer.add_assessments(
            [
                make_assessment("USDC", T0, 0.97, Severity.MAJOR),
                make_assessment("DAI", T0, None, Severity.NONE),
            ]
        )
        assert await writer.flush() == 2
        async with engine.connect() as conn:
            rows = (await conn.execute(select(aggregates).order_by(aggregates.c.coin))).all()
        assert [(r.coin, r.resolution, r.price, r.severity, r.venues_used) for r in rows] == [
            ("DAI", "raw", None, 0, 1),
            ("USDC", "raw", 0.97, 2, 1),
        ]
        assert from_dt(rows[1].ts) == T0
    finally:
        await engine.dispose()


async def test_full_buffer_drops_new_rows_and_counts_them(sqlite_url: str) -> None:
    """Beyond buffer_max, new rows are dropped and counted in metrics and the db health."""
    engine, writer, metrics = await new_writer(sqlite_url, buffer_max=100, batch_size=1000)
    try:
        writer.add_quotes(make_quotes(130))
        assert writer.buffered == 100
        assert writer.dropped == 30
        assert metrics.registry.get_sample_value(
            "depeg_buffer_dropped_total", {"table": "quotes"}
        ) == pytest.approx(30)
        await writer.flush()
        async with engine.connect() as conn:
            first = (await conn.execute(select(quotes.c.ts).order_by(quotes.c.ts))).scalars().all()
        assert len(first) == 100
        assert from_dt(first[0]) == T0  # the oldest buffered rows were kept
    finally:
        await engine.dispose()
