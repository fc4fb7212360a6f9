"""LiveView: the loop's state, metrics and aggregate rows from each cycle's assessments."""

from __future__ import annotations

from sqlalchemy import func, select

from depeg_monitor.live import LiveView, LoopState
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Severity
from depeg_monitor.store.schema import aggregates

from .store.test_writer import T0, make_assessment, new_writer


async def test_aggregate_rows_are_written_when_they_change_not_every_cycle(
    sqlite_url: str,
) -> None:
    """Ten cycles a second at an unchanged price write one row per row_interval; a moved
    price or a new severity is written at once."""
    engine, writer, _ = await new_writer(sqlite_url)
    try:
        view = LiveView(LoopState(), Metrics(), writer, log_interval=60.0, row_interval=10.0)
        for i in range(50):  # 5 s of streamed cycles at 0.9999
            t = T0 + i * 0.1
            view.observe([make_assessment("USDC", t, 0.9999, Severity.NONE)], [], t)
        view.observe([make_assessment("USDC", T0 + 5.1, 0.9800, Severity.NONE)], [], T0 + 5.1)
        view.observe([make_assessment("USDC", T0 + 5.2, 0.9800, Severity.MAJOR)], [], T0 + 5.2)
        view.observe([make_assessment("USDC", T0 + 5.3, 0.9800, Severity.MAJOR)], [], T0 + 5.3)
        view.observe([make_assessment("USDC", T0 + 15.3, 0.9800, Severity.MAJOR)], [], T0 + 15.3)
        await writer.flush()
        async with engine.connect() as conn:
            rows = (await conn.execute(select(func.count()).select_from(aggregates))).scalar_one()
        assert rows == 4  # the first, the move, the severity change, ten seconds on
    finally:
        await engine.dispose()
