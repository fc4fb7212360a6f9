"""Local stand-ins on 127.0.0.1: an HTTP webhook sink, an SMTP server, Twilio's API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller


@dataclass
class Sink:
    """Records what arrives; answers with the statuses queued in `statuses` (then 200), or 500
    while a path is `down`, after waiting `delay` seconds."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    down: set[str] = field(default_factory=set)  # paths answering 500 (a service outage)
    delay: float = 0.0  # seconds before answering (a slow receiver)
    hits: dict[str, int] = field(default_factory=dict)  # requests per path, answered or not


@dataclass
class TwilioStandIn:
    url: str = ""
    received: list[dict[str, str]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    fail_to: set[str] = field(default_factory=set)  # numbers answered with 400 (invalid 'To')
    delay: float = 0.0  # seconds before answering, the message already taken (a slow API)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}"


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    s = Sink()

    async def hook(request: web.Request) -> web.Response:
        s.hits[request.path] = s.hits.get(request.path, 0) + 1
        if s.delay:
            await asyncio.sleep(s.delay)
        status = s.statuses.pop(0) if s.statuses else 200
        if request.path in s.down:
            status = 500
        if status == 200:
            s.received.append({"path": request.path, **(await request.json())})
        return web.Response(status=status, text="ok" if status == 200 else "down")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner, host = await _serve(app)
    s.url = host
    yield s
    await runner.cleanup()


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    t = TwilioStandIn()

    async def messages(request: web.Request) -> web.Response:
        form = dict(await request.post())
        t.auth.append(request.headers.get("Authorization", ""))
        if form.get("To") in t.fail_to:
            return web.json_response(
                {"code": 21211, "message": "The 'To' number is not valid.", "status": 400},
                status=400,
            )
        t.received.append({k: str(v) for k, v in form.items()})
        if t.delay:
            await asyncio.sleep(t.delay)
        sid = request.match_info["sid"]
        return web.json_response(
            {"sid": "SM" + "0" * 32, "account_sid": sid, "status": "queued", **form}, status=201
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    runner, host = await _serve(app)
    t.url = f"http://{host}"
    yield t
    await runner.cleanup()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Mailbox, int]]:
    box = _Mailbox()
    port = _free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        auth_required=False,
        authenticator=lambda *a: _accept(),
    )
    controller.start()
    yield box, port
    controller.stop()


def _accept() -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)
