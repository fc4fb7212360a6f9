"""The drift-free schedule, by itself and as the collector loop's clock."""

from __future__ import annotations

import asyncio

import pytest

from depeg_monitor.collect.schedule import next_slot

from .conftest import START, Answer, Exchange, Rig, normal_answer


def test_next_slot_is_on_the_grid() -> None:
    """Slots are start + k·interval, the first strictly after now."""
    assert next_slot(100.0, 10.0, 100.0) == 110.0
    assert next_slot(100.0, 10.0, 103.7) == 110.0
    assert next_slot(100.0, 10.0, 110.0) == 120.0


def test_missed_slots_are_skipped_not_queued() -> None:
    """A poll overrunning two slots resumes on the grid, without catch-up bursts."""
    assert next_slot(0.0, 10.0, 27.5) == 30.0


async def test_loop_polls_on_the_grid_despite_slow_polls(exchange: Exchange, rig: Rig) -> None:
    """Polls of varying cost start at 0, 10, 20, … (one overrun skips its missed slot)."""
    market, path, body, _ = normal_answer("binance", 0.9999, START)
    exchange.script("/binance" + path, Answer(body=body))
    costs = iter([3.0, 0.5, 14.0, 1.0, 0.0])
    started: list[float] = []
    stop = asyncio.Event()
    c = rig.make("binance", [market], max_age=10_000)

    def sink(_: object) -> None:
        started.append(rig.clock.monotonic())
        try:
            rig.clock.advance(next(costs))  # the rest of this poll "takes" this long
        except StopIteration:
            stop.set()

    c._sink = sink
    await asyncio.wait_for(c.run(stop), timeout=10)
    assert started == pytest.approx([0.0, 10.0, 20.0, 40.0, 50.0, 60.0])
