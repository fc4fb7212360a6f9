"""Long-lived tasks that a bug cannot silently end: logged, shown in /health, restarted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog

from depeg_monitor.clock import Clock
from depeg_monitor.health.registry import Component

log = structlog.get_logger(__name__)

Job = Callable[[asyncio.Event], Awaitable[None]]


class Tasks:
    """The daemon's background tasks: started supervised, stopped together within a deadline."""

    def __init__(self, clock: Clock, restart_delay: float) -> None:
        self._clock = clock
        self._restart_delay = restart_delay
        self.stop_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, job: Job, health: Component) -> asyncio.Task[None]:
        """Run job(stop) until it returns or stop is set; a crash is logged, reported to its
        component (the part it belongs to) and the job is started again after a short delay."""

        async def loop() -> None:
            while not self.stop_event.is_set():
                try:
                    await job(self.stop_event)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.exception("task_crashed", task=name, action="restarting")
                    health.error(self._clock.now(), f"{name} crashed: {type(e).__name__}")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), self._restart_delay)

        task = asyncio.create_task(loop(), name=name)
        self._tasks.append(task)
        return task

    def once(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A one-shot task (e.g. resuming pending deliveries), stopped with the rest."""
        self._tasks.append(asyncio.create_task(job(), name=name))

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 (the daemon's deadline)
        """Ask every task to stop, give them `timeout` seconds, then cancel what is left."""
        self.stop_event.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=max(0.0, timeout))
        for t in pending:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
