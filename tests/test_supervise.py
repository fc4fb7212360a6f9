"""Supervised background tasks: a crash is shown on its part's health line and it runs again."""

from __future__ import annotations

import asyncio

from depeg_monitor.clock import SystemClock
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.supervise import Tasks


async def test_a_crashing_task_is_restarted_and_shown_in_health() -> None:
    """A long-lived task that dies of a bug runs again, and its component says it crashed."""
    health = HealthRegistry()
    tasks = Tasks(SystemClock(), restart_delay=0.01)
    runs = 0
    again = asyncio.Event()

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("bug")
        again.set()
        await stop.wait()

    tasks.start("collect:kraken", flaky, health.component(Kind.VENUE, "kraken"))
    await asyncio.wait_for(again.wait(), 2)
    await tasks.stop(1.0)
    assert runs == 2
    state = health.get(Kind.VENUE, "kraken")
    assert state is not None and state.error == "collect:kraken crashed: RuntimeError"


async def test_stop_cancels_what_outlives_the_deadline() -> None:
    """A task that ignores the stop request is cancelled once the deadline passes."""
    tasks = Tasks(SystemClock(), restart_delay=0.01)
    cancelled = asyncio.Event()

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    tasks.start("stubborn", stubborn, HealthRegistry().component(Kind.TASK, "stubborn"))
    await asyncio.sleep(0)
    await tasks.stop(0.05)
    assert cancelled.is_set()
