"""Sustained price-history insert rate through HistoryWriter, into SQLite and PostgreSQL.

Prints rows/s for each. PostgreSQL is a throwaway server (tests/postgres.py) with fsync ON, as in
production. Run: .venv/bin/python bench/store_insert.py [rows]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

# The throwaway PostgreSQL server is the tests' own (tests/postgres.py).
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from postgres import TempPostgres

from depeg_monitor.clock import SystemClock
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.writer import HistoryWriter, WriterRules

CHUNK = 72  # one poll round: 8 coins × 9 venues


async def measure(url: str, rows: int) -> float:
    engine = create_engine(url)
    await upgrade(engine)
    rules = WriterRules(batch_size=5000, flush_interval=0.2, buffer_max=rows + CHUNK)
    db = HealthRegistry().component(Kind.DATABASE)
    writer = HistoryWriter(engine, rules, SystemClock(), db, Metrics())
    base = time.time()
    batch = [
        Quote(f"v{i % 9}", f"C{i // 9}", "USD", 1.0, 0.999, 1.001, 1e6, 1e6, base, base)
        for i in range(CHUNK)
    ]
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    start = time.perf_counter()
    added = 0
    while added < rows:
        writer.add_quotes(batch)
        added += CHUNK
        if writer.buffered >= 20_000:  # let the writer catch up, as a live feed would
            await asyncio.sleep(0.01)
        elif added % (CHUNK * 50) == 0:
            await asyncio.sleep(0)
    stop.set()
    await task
    elapsed = time.perf_counter() - start
    assert writer.written == added and writer.dropped == 0
    await engine.dispose()
    return added / elapsed


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rate = await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", rows)
        print(f"sqlite      {rows:>8} rows  {rate:>10,.0f} rows/s")
    pg = TempPostgres.create(fsync=True)
    try:
        pg.start()
        rate = await measure(pg.create_database("bench"), rows)
        print(f"postgresql  {rows:>8} rows  {rate:>10,.0f} rows/s  (target >= 20,000)")
    finally:
        pg.destroy()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
