"""A PostgreSQL outage in the middle of a run: buffered rows survive, overflow is counted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import ManualClock
from depeg_monitor.health.registry import HealthRegistry, Kind, StoreDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import quotes
from depeg_monitor.store.writer import HistoryWriter, WriterRules

pytestmark = pytest.mark.postgres

T0 = 1_700_000_000.0


def make_quotes(n: int, start: float = T0) -> list[Quote]:
    return [
        Quote("okx", "DAI", "USDT", 1.0, None, None, None, None, None, start + i) for i in range(n)
    ]


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(quotes))).scalar_one())


async def wait_for(predicate: Callable[[], bool], within: float = 15.0) -> None:
    """Until `predicate()` holds, failing after `within` s. A poll: the writer and the health
    registry signal no event for the counters the test watches, and the short step is only
    how often they are looked at, not a wait the test relies on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_outage_keeps_buffer_counts_drops_and_recovers(pg_url: str, pg_control: Any) -> None:
    """Rows added while the server is down are written when it returns; overflow is counted."""
    engine = create_engine(pg_url)
    await upgrade(engine)
    health = HealthRegistry()
    metrics = Metrics()
    rules = WriterRules(batch_size=50, flush_interval=0.05, buffer_max=300)
    writer = HistoryWriter(engine, rules, ManualClock(T0), health.component(Kind.DATABASE), metrics)
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        writer.add_quotes(make_quotes(100))
        await wait_for(lambda: writer.written == 100)

        pg_control.stop()
        writer.add_quotes(make_quotes(200, start=T0 + 100))
        await wait_for(lambda: (st := health.get(Kind.DATABASE)) is not None and st.failing)
        writer.add_quotes(make_quotes(150, start=T0 + 300))  # only 100 fit under buffer_max
        assert writer.buffered == 300
        assert writer.dropped == 50
        st = health.get(Kind.DATABASE)
        assert st is not None and st.detail == StoreDetail(dropped=50)
        assert "postgres" not in (st.error or "")  # no URL or user in the health text

        pg_control.start()
        await wait_for(lambda: writer.buffered == 0, within=60)
        assert await count(engine) == 400
        st = health.get(Kind.DATABASE)
        assert st is not None and not st.failing
        assert metrics.registry.get_sample_value(
            "depeg_buffer_dropped_total", {"table": "quotes"}
        ) == pytest.approx(50)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await engine.dispose()
