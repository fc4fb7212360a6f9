"""The shared session identifies itself to venues."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from depeg_monitor import __version__
from depeg_monitor.collect.session import make_session


async def test_user_agent_is_sent() -> None:
    """Every request carries User-Agent depeg-monitor/<version>."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("User-Agent", ""))
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/", handler)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        make_session() as session,
        session.get(server.make_url("/")) as r,
    ):
        assert r.status == 200
    assert seen == [f"depeg-monitor/{__version__}"]
