"""Helpers for the stream tests: a reading WebSocket client, the shared real frames, shapes.

The real frames live in ../shared/exchange-apis/websocket (see its README §0 for the format);
without the folder the tests that compare against them skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from depeg_monitor.simulate import SimulatedMarket
from depeg_monitor.simulate.streams import StreamTiming

from ..payloads import SHARED, skip_without_shared
from ..waiting import eventually

WS = SHARED / "websocket"

# Short keepalive rules so the tests see pings, heartbeats and re-pushes within a second.
TEST_TIMING = StreamTiming(ping_interval=0.3, pong_timeout=1.5, heartbeat=0.2, repush=0.4)

# DAI sits at $1 until t = 10, reaches 0.90 at t = 11 and stays (no noise): every venue lists it.
DAI_DROP: dict[str, Any] = {
    "scenario": {"duration": 600, "noise": 0.0},
    "coins": {
        "DAI": {
            "segments": [
                {"kind": "calm", "duration": 10},
                {"kind": "move", "to": 0.9, "duration": 1},
            ]
        }
    },
}


def real(name: str) -> Any:
    """One shared real frame (a .json file), parsed."""
    skip_without_shared()
    return json.loads((WS / name).read_text())


def real_frames(name: str, direction: str = "recv") -> list[Any]:
    """The frames of a shared .jsonl file sent in one direction ("recv": from the venue)."""
    skip_without_shared()
    lines = [json.loads(line) for line in (WS / name).read_text().splitlines() if line.strip()]
    return [ln.get("frame", ln.get("raw")) for ln in lines if ln["dir"] == direction]


def _kind(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return repr(x) if x is None else "bool"
    if isinstance(x, int | float):
        return "number"
    return type(x).__name__


def shape_problems(real_frame: Any, ours: Any, path: str = "$") -> list[str]:
    """Where `ours` lacks a field of the real frame or gives it another JSON type (lists are
    compared by their first element; fields only we send are allowed)."""
    if _kind(real_frame) != _kind(ours):
        return [f"{path}: {_kind(ours)}, real {_kind(real_frame)}"]
    if isinstance(real_frame, dict):
        problems = []
        for k, v in real_frame.items():
            if k not in ours:
                problems.append(f"{path}.{k}: missing")
            else:
                problems += shape_problems(v, ours[k], f"{path}.{k}")
        return problems
    if isinstance(real_frame, list) and real_frame and ours:
        return shape_problems(real_frame[0], ours[0], f"{path}[0]")
    return []


@dataclass
class Message:
    kind: aiohttp.WSMsgType
    data: Any  # JSON-decoded text where it parses, else the str; bytes for binary


class Client:
    """A WebSocket client that keeps every frame it receives, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[Message] = []
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    @property
    def frames(self) -> list[Any]:
        """Text and binary frames: JSON decoded, else the text (or bytes) as received."""
        return [
            m.data
            for m in self.messages
            if m.kind in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
        ]

    @property
    def pings(self) -> int:
        return sum(m.kind == aiohttp.WSMsgType.PING for m in self.messages)

    @property
    def pongs(self) -> int:
        return sum(m.kind == aiohttp.WSMsgType.PONG for m in self.messages)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                data: Any = msg.data
                if msg.type == aiohttp.WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        data = msg.data
                self.messages.append(Message(msg.type, data))
        finally:
            self.closed = True

    async def send(self, frame: Any) -> None:
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    def mark(self) -> int:
        return len(self.frames)

    def matching(self, pred: Callable[[Any], bool], after: int = 0) -> list[Any]:
        found = []
        for f in self.frames[after:]:
            with contextlib.suppress(KeyError, IndexError, TypeError, ValueError, AttributeError):
                if pred(f):
                    found.append(f)
        return found

    async def wait_for(
        self,
        pred: Callable[[Any], bool],
        what: str,
        after: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Any:
        """The first frame (from index `after`) that pred accepts, waiting up to timeout s."""
        await eventually(lambda: bool(self.matching(pred, after)), timeout, what)
        return self.matching(pred, after)[0]

    async def wait_closed(
        self,
        what: str = "the server to close",
        timeout: float = 10.0,  # noqa: ASYNC109 (a test's own bound)
    ) -> None:
        await eventually(lambda: self.closed, timeout, what)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def passes(market: SimulatedMarket, n: int) -> None:
    """Wait until the market's publisher has looked at every stream n more times."""
    target = market.streams.passes + n
    await eventually(lambda: market.streams.passes >= target, what=f"{n} publisher passes")


async def stream_url(http: aiohttp.ClientSession, market: SimulatedMarket, venue: str) -> str:
    """Where a client connects: KuCoin's from a bullet-public token, the others' stream_url."""
    if venue != "kucoin":
        return market.stream_urls()[venue]
    async with http.post(market.base_urls()["kucoin"] + "/api/v1/bullet-public") as r:
        data = (await r.json())["data"]
    server = data["instanceServers"][0]
    return f"{server['endpoint']}?token={data['token']}&connectId=test-client"
