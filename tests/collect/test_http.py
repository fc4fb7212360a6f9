"""A venue's answer is read within a byte budget and a deadline, whatever the venue sends."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import resource
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.collect.http import BoundedBody, fetch, human_bytes
from depeg_monitor.collect.session import make_session
from depeg_monitor.venues.contract import ErrorKind, Request, Response, VenueError

KiB = 1 << 10
MiB = 1 << 20
TOKEN = "s3cr3t-t0ken"  # a credential in the query: must never reach an error text
REQ = Request("/answer", params=(("apikey", TOKEN),))
JSON = json.dumps({"symbol": "USDCUSDT", "lastPrice": "0.99990000", "rows": list(range(200))})

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
SessionFactory = Callable[[], aiohttp.ClientSession]


# ------------------------------------------------------------------------------ servers


@asynccontextmanager
async def web_server(
    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]],
) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 with these GET routes; yields its base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


@asynccontextmanager
async def raw_server(handler: RawHandler) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 speaking HTTP/1.1 by hand (after the request head is read)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def head(*headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers, "", ""]
    return "\r\n".join(lines).encode()


async def get(
    base: str, max_body: int, time_limit: float = 10.0, factory: SessionFactory = make_session
) -> Response:
    async with factory() as session:
        return await fetch(session, base, REQ, time_limit, max_body)


async def refused(
    base: str, max_body: int, time_limit: float = 10.0, factory: SessionFactory = make_session
) -> VenueError:
    """The VenueError fetch raises; its text is checked to name neither the URL nor the token."""
    with pytest.raises(VenueError) as info:
        await get(base, max_body, time_limit, factory)
    text = str(info.value)
    assert base not in text and "/answer" not in text and TOKEN not in text  # the host at most
    return info.value


def peak_rss() -> int:
    """This process's peak resident set so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KiB


def encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "raw-deflate":
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return c.compress(body) + c.flush()
    return body


def wire_name(encoding: str) -> str:
    return "deflate" if encoding == "raw-deflate" else encoding


@functools.cache
def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros, built without holding the GiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 9, zlib.Z_RLE)
    zeros = bytes(MiB)
    parts = [c.compress(zeros) for _ in range(1024)]
    parts.append(c.flush())
    return b"".join(parts)


# ------------------------------------------------------------------------------ normal answers


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate", "raw-deflate"])
async def test_json_answer_comes_back_intact(encoding: str) -> None:
    """A normal JSON answer, plain or compressed, is returned as the venue meant it, and the
    venue is only offered encodings the daemon can bound."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Accept-Encoding", ""))
        assert request.query["apikey"] == TOKEN
        headers = {"Content-Type": "application/json"}
        if encoding != "identity":
            headers["Content-Encoding"] = wire_name(encoding)
        return web.Response(body=encode(JSON.encode(), encoding), headers=headers)

    async with web_server({"/answer": answer}) as base:
        resp = await get(base, max_body=MiB)
    assert resp.status == 200
    assert json.loads(resp.text) == json.loads(JSON)
    assert resp.header("content-type") == "application/json"
    assert seen == ["gzip, deflate"]


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    """Bytes that are not UTF-8 arrive as replacement characters, as before."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=b'{"p": "\xff"}')

    async with web_server({"/answer": answer}) as base:
        resp = await get(base, max_body=KiB)
    assert resp.text == '{"p": "\ufffd"}'


# ------------------------------------------------------------------------------ the byte cap


@pytest.mark.parametrize("factory", [make_session, aiohttp.ClientSession], ids=["shared", "plain"])
async def test_gzip_bomb_is_refused_with_bounded_memory(factory: SessionFactory) -> None:
    """A 1 MiB gzip answer that would inflate to 1 GiB is refused as too large, and the daemon's
    memory barely moves (even on a session that would decompress by itself)."""
    bomb = gzip_bomb()

    async def answer(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=bomb, headers=headers)

    async with web_server({"/answer": answer}) as base:
        before = peak_rss()
        err = await refused(base, max_body=4 * MiB, factory=factory)
        grown = peak_rss() - before
    assert err.kind is ErrorKind.MALFORMED
    assert err.detail == "answer larger than 4 MiB"
    assert grown < 64 * MiB


async def test_endless_chunked_body_is_cut_off() -> None:
    """A venue that streams chunks forever is cut off once the cap is passed (long before the
    deadline), with bounded memory, and the venue sees its connection dropped."""
    dropped = asyncio.Event()

    async def answer(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)  # no Content-Length: chunked
        try:
            while True:  # only the client hanging up ends this (aiohttp cancels the handler)
                await resp.write(b"[" * (16 * KiB))
        finally:
            dropped.set()

    async with web_server({"/answer": answer}) as base:
        before = peak_rss()
        err = await refused(base, max_body=MiB, time_limit=60.0)
        grown = peak_rss() - before
        await asyncio.wait_for(dropped.wait(), 30)
    assert err.kind is ErrorKind.MALFORMED
    assert err.detail == "answer larger than 1 MiB"
    assert grown < 64 * MiB


async def test_declared_length_over_the_cap_is_refused_unread() -> None:
    """An answer declaring more than the cap is refused on its headers: the connection is
    closed before the venue has written a byte of body."""
    closed_before_body = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(f"Content-Length: {64 * MiB}"))
        await writer.drain()
        # Wait for the client to hang up; were it reading the body it would wait for ever.
        if await reader.read() == b"":
            closed_before_body.set()

    async with raw_server(answer) as base:
        err = await refused(base, max_body=MiB, time_limit=30.0)
        await asyncio.wait_for(closed_before_body.wait(), 30)
    assert err.kind is ErrorKind.MALFORMED
    assert err.detail == "answer larger than 1 MiB"


def sized_answer(body: bytes, how: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler sending `body` with a Content-Length, chunked, or gzip-encoded."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if how == "length":
            return web.Response(body=body)
        if how == "gzip":
            return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
        resp = web.StreamResponse()
        await resp.prepare(request)
        for i in range(0, len(body), 97):
            await resp.write(body[i : i + 97])
        await resp.write_eof()
        return resp

    return answer


@pytest.mark.parametrize("how", ["length", "chunked", "gzip"])
async def test_body_exactly_at_the_cap_is_accepted(how: str) -> None:
    """An answer of exactly max_body bytes (after decoding) is accepted whole."""
    body = b"7" * 1000
    async with web_server({"/answer": sized_answer(body, how)}) as base:
        resp = await get(base, max_body=1000)
    assert resp.text == body.decode()


@pytest.mark.parametrize("how", ["length", "chunked", "gzip"])
async def test_one_byte_over_the_cap_is_refused(how: str) -> None:
    """An answer one byte longer than max_body is refused as too large."""
    async with web_server({"/answer": sized_answer(b"7" * 1001, how)}) as base:
        err = await refused(base, max_body=1000)
    assert err.kind is ErrorKind.MALFORMED
    assert err.detail == "answer larger than 1000 bytes"


@pytest.mark.parametrize("status", [404, 429, 503])
async def test_an_oversized_error_page_keeps_its_status(status: int) -> None:
    """A 404/429/503 whose page is over the cap comes back as that status with no body, so the
    venue's classification (unknown market, rate limit, server error) still applies."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(
            status=status, body=b"<html>" + b"x" * 5000, headers={"Retry-After": "7"}
        )

    async with web_server({"/answer": page}) as base:
        resp = await get(base, max_body=1000)
    assert (resp.status, resp.text, resp.header("Retry-After")) == (status, "", "7")


# ------------------------------------------------------------------------------ the deadline


async def test_slow_drip_ends_as_timeout_at_the_deadline() -> None:
    """A venue dripping one byte a second is given up on at time_limit, not when it ends."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head("Content-Length: 120"))
        for _ in range(120):  # two minutes of drip
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(1.0)

    async with raw_server(answer) as base:
        start = time.monotonic()
        err = await refused(base, max_body=MiB, time_limit=1.5)
        took = time.monotonic() - start
    assert err.kind is ErrorKind.TIMEOUT
    assert took < 30  # the deadline ended it, not the drip's two minutes


# ------------------------------------------------------------------------------ redirects


async def test_redirect_is_not_followed() -> None:
    """A 302 comes back as a 302: the daemon never asks wherever it points."""
    other: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/elsewhere"}, text="moved")

    async def elsewhere(request: web.Request) -> web.Response:
        other.append(request.path)
        return web.json_response({})

    async with web_server({"/answer": answer, "/elsewhere": elsewhere}) as base:
        resp = await get(base, max_body=KiB)
    assert resp.status == 302
    assert resp.header("location") == "/elsewhere"
    assert other == []


# ------------------------------------------------------------------------------ broken encodings


def _corrupt_gzip() -> bytes:
    good = gzip.compress(JSON.encode())
    return good[:10] + b"\xff" * 40 + good[50:]


@pytest.mark.parametrize(
    ("encoding", "payload", "detail"),
    [
        ("br", b"\x1b\x03\x00\xf8\xa5\x00", "answer in unsupported encoding 'br'"),
        ("zstd", b"\x28\xb5\x2f\xfd", "answer in unsupported encoding 'zstd'"),
        ("gzip, br", b"x", "answer in unsupported encoding '?'"),
        ("gzip", _corrupt_gzip(), "corrupt gzip stream"),
        ("gzip", gzip.compress(JSON.encode())[:-30], "truncated gzip stream"),
        ("deflate", b"\x78\x9c" + b"\xff" * 20, "corrupt deflate stream"),
    ],
)
async def test_undecodable_answer_is_malformed(encoding: str, payload: bytes, detail: str) -> None:
    """An encoding the daemon cannot bound, or a corrupt or truncated stream, is a malformed
    answer (retried like any other), not a crash."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=payload, headers={"Content-Encoding": encoding})

    async with web_server({"/answer": answer}) as base:
        err = await refused(base, max_body=MiB)
    assert err.kind is ErrorKind.MALFORMED
    assert err.detail == detail


# ------------------------------------------------------------------------------ transport failures


async def test_connection_dropped_mid_body_is_a_network_error() -> None:
    """A venue hanging up part-way through its declared body is a network error that says so,
    naming the host only."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head("Content-Length: 100") + b'{"p": ')
        await writer.drain()

    async with raw_server(answer) as base:
        err = await refused(base, max_body=MiB)
    assert err.kind is ErrorKind.NETWORK
    assert err.detail == "the answer from 127.0.0.1 was cut off"


async def test_nobody_listening_is_a_network_error() -> None:
    """A venue that refuses the connection is a network error that says so, with host:port."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    err = await refused(f"http://127.0.0.1:{port}", max_body=KiB)
    assert err.kind is ErrorKind.NETWORK
    assert err.detail == f"connection refused by 127.0.0.1:{port}"


# ------------------------------------------------------------------------------ the decoder alone


def human_cases() -> list[tuple[int, str]]:
    return [
        (1000, "1000 bytes"),
        (KiB, "1 KiB"),
        (1536, "1.5 KiB"),
        (MiB, "1 MiB"),
        (8 * MiB, "8 MiB"),
        (1 << 30, "1 GiB"),
    ]


@pytest.mark.parametrize(("n", "text"), human_cases())
def test_limits_are_said_in_human_units(n: int, text: str) -> None:
    """The cap in an error reads like "1 MiB", not a byte count."""
    assert human_bytes(n) == text


ENCODINGS = st.sampled_from(["identity", "gzip", "deflate", "raw-deflate"])


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def decode(encoding: str, chunks: list[bytes], max_body: int) -> bytes:
    body = BoundedBody(None if encoding == "identity" else wire_name(encoding), max_body)
    for c in chunks:
        body.feed(c)
    return body.finish()


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=3000) | st.text(max_size=3000).map(str.encode),
    encoding=ENCODINGS,
    cuts=st.lists(st.integers(min_value=0), max_size=20),
    members=st.integers(min_value=1, max_value=3),
)
def test_any_chunking_decodes_to_the_same_body(
    body: bytes, encoding: str, cuts: list[int], members: int
) -> None:
    """However the network splits a (possibly multi-member) answer, the same body comes out."""
    wire = b"".join(encode(body, encoding) for _ in range(members))
    expected = body * members
    assert decode(encoding, split(wire, cuts), max_body=len(wire) + len(expected)) == expected


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=3000),
    encoding=ENCODINGS,
    cuts=st.lists(st.integers(min_value=0), max_size=20),
    data=st.data(),
)
def test_any_body_over_the_cap_is_refused(
    body: bytes, encoding: str, cuts: list[int], data: st.DataObject
) -> None:
    """Any answer that decodes to more than the cap is refused, whatever the chunking."""
    cap = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    with pytest.raises(VenueError, match="larger than") as info:
        decode(encoding, split(encode(body, encoding), cuts), max_body=cap)
    assert info.value.kind is ErrorKind.MALFORMED


@settings(max_examples=300, deadline=None)
@given(wire=st.binary(max_size=2000), encoding=ENCODINGS, cuts=st.lists(st.integers(), max_size=8))
def test_garbage_is_malformed_or_decoded_never_a_crash(
    wire: bytes, encoding: str, cuts: list[int]
) -> None:
    """Arbitrary bytes under any encoding either decode within the cap or are malformed."""
    kinds: list[ErrorKind] = []
    out = b""
    try:
        out = decode(encoding, split(wire, cuts), max_body=4 * KiB)
    except VenueError as e:
        kinds.append(e.kind)
    assert kinds in ([], [ErrorKind.MALFORMED])
    assert len(out) <= 4 * KiB


async def test_a_request_with_a_json_body_is_posted_and_its_answer_bounded_alike() -> None:
    """A JSON-RPC call goes out as a POST with its body as JSON; the answer is held to the
    same byte budget as a GET's (an oversized one is refused, naming no URL)."""
    seen: list[object] = []

    async def rpc(request: web.Request) -> web.Response:
        seen.append((request.method, await request.json()))
        return web.Response(text=JSON if request.query.get("big") is None else "x" * 2 * KiB)

    app = web.Application()
    app.router.add_post("/rpc", rpc)
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    async with TestServer(app, host="127.0.0.1") as server, make_session() as session:
        base = str(server.make_url("")).rstrip("/")
        resp = await fetch(session, base, Request("/rpc", body=body), 10.0, MiB)
        assert resp.status == 200 and json.loads(resp.text)["symbol"] == "USDCUSDT"
        big = Request("/rpc", params=(("big", "1"),), body=body)
        with pytest.raises(VenueError) as info:
            await fetch(session, base, big, 10.0, KiB)
    assert seen == [("POST", body), ("POST", body)]
    assert info.value.kind is ErrorKind.MALFORMED and "larger than 1 KiB" in str(info.value)
    assert base not in str(info.value)
