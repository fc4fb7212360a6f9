"""Waiting in tests for a condition, never for a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(
    condition: Callable[[], bool],
    timeout: float = 10.0,  # noqa: ASYNC109 (a test's own bound)
    what: str = "the condition",
) -> None:
    """Return as soon as condition() holds; fail the test naming `what` after `timeout` s."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while not condition():
        if loop.time() >= until:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)
