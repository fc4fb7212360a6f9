"""An optional heartbeat URL (healthchecks.io, Uptime Robot heartbeat) pinged while healthy.

The URL is a secret (anyone holding it can fake a heartbeat): it is never logged.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog

from depeg_monitor.clock import Clock

log = structlog.get_logger(__name__)

TIMEOUT = 10.0


class Heartbeat:
    def __init__(
        self, url: str | None, interval: float, session: aiohttp.ClientSession, clock: Clock
    ) -> None:
        """url: the secret heartbeat URL (None: no heartbeat); pinged every `interval` s."""
        self._url = url
        self._interval = interval
        self._session = session
        self._clock = clock
        self._last = float("-inf")
        self._task: asyncio.Task[bool] | None = None
        self.sent = 0

    def maybe_ping(self, now: float) -> None:
        """Start a ping in the background if one is due; never waits."""
        if self._url is None:
            return
        if now - self._last < self._interval:
            return
        if self._task is not None and not self._task.done():
            return
        self._last = now
        self._task = asyncio.create_task(self.ping(), name="heartbeat")

    async def ping(self) -> bool:
        if self._url is None:
            return False
        try:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT)
            async with self._session.get(self._url, timeout=timeout) as resp:
                ok = resp.status < 400
                if not ok:
                    log.warning("heartbeat_refused", status=resp.status)
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("heartbeat_failed", error=str(e) or type(e).__name__)
            return False
        self.sent += ok
        return ok
