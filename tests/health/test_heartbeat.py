"""The heartbeat pings a local URL while healthy, at most once per interval."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from structlog.testing import capture_logs

from depeg_monitor.clock import ManualClock
from depeg_monitor.health.heartbeat import Heartbeat

from ..waiting import eventually


async def test_pings_once_per_interval_and_never_logs_the_url() -> None:
    """Due pings reach the server; a refused ping is logged without the secret URL."""
    hits: list[str] = []
    status = {"code": 200}

    async def ping(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=status["code"])

    app = web.Application()
    app.router.add_get("/ping/{token}", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}/ping/s3cret-token"
    try:
        async with aiohttp.ClientSession() as session:
            hb = Heartbeat(url, 60, session, ManualClock())
            hb.maybe_ping(1000)
            await eventually(lambda: len(hits) == 1, 5, "the first ping")
            hb.maybe_ping(1030)  # not due yet
            await asyncio.sleep(0.1)  # room for a wrong second ping to arrive
            assert hits == ["/ping/s3cret-token"]
            status["code"] = 500
            with capture_logs() as logs:
                assert not await hb.ping()
            assert logs and "s3cret" not in repr(logs)
    finally:
        await runner.cleanup()
