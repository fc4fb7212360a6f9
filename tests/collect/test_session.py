"""The shared session identifies itself to venues and bounds what their headers can cost."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from depeg_monitor import __version__
from depeg_monitor.collect.http import fetch
from depeg_monitor.collect.session import make_session
from depeg_monitor.venues.contract import ErrorKind, Request, VenueError


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


async def hostile_headers(extra: bytes) -> VenueError:
    """fetch() through the shared session against a venue sending `extra` header bytes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: 2\r\n\r\n{}")
            await writer.drain()
            await reader.read()  # until the client hangs up
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with make_session() as session:
            with pytest.raises(VenueError) as info:
                await fetch(session, base, Request("/"), 10.0, 1 << 20)
    finally:
        server.close()
        await server.wait_closed()
    assert base not in str(info.value)  # the host at most, never the URL
    return info.value


async def test_megabyte_header_is_refused() -> None:
    """A venue sending a 1 MiB header line gets a network error, not a megabyte in memory."""
    err = await hostile_headers(b"X-Junk: " + b"a" * (1 << 20) + b"\r\n")
    assert err.kind is ErrorKind.NETWORK


async def test_header_flood_is_refused() -> None:
    """A venue sending thousands of header fields gets a network error."""
    err = await hostile_headers(b"".join(b"X-H%d: v\r\n" % i for i in range(5000)))
    assert err.kind is ErrorKind.NETWORK


async def test_ordinary_headers_pass() -> None:
    """A venue's usual few dozen headers, some long (cookies, CSP), are accepted."""
    extra = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 4000) for i in range(40))

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with make_session() as session:
            resp = await fetch(session, base, Request("/"), 10.0, 1 << 20)
    finally:
        server.close()
        await server.wait_closed()
    assert resp.text == "{}"
    assert resp.header("x-h39") == "v" * 4000
