"""`test-alert` sends through real local servers and reports each channel's real outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from depeg_monitor.cli import main


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, Any]]:
    """A webhook sink at /hook (500 at /broken) and a Twilio stand-in on one local server."""
    got: dict[str, Any] = {"hook": [], "sms": []}

    async def hook(request: web.Request) -> web.Response:
        got["hook"].append(await request.json())
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def sms(request: web.Request) -> web.Response:
        got["sms"].append(dict(await request.post()))
        return web.json_response({"sid": "SM1", "status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/broken", broken)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", sms)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    got["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield got
    await runner.cleanup()


def config(tmp_path: Path, port: int) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[channels.discord]
type = "apprise"
[channels.broken]
type = "apprise"
[channels.sms]
type = "twilio"
from_number = "+15550000000"
to_numbers = ["+15551234567"]
api_base = "http://127.0.0.1:{port}"
[channels.email]
type = "apprise"
"""
    )
    return str(path)


async def test_reports_delivered_failed_and_unconfigured(
    servers: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """Each channel is reported: delivered, failed with the server's reason, or not configured."""
    port = servers["port"]
    monkeypatch.setenv("DEPEG_CHANNELS__DISCORD__URL", f"json://127.0.0.1:{port}/hook")
    monkeypatch.setenv("DEPEG_CHANNELS__BROKEN__URL", f"json://127.0.0.1:{port}/broken")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "2" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok-secret")
    monkeypatch.delenv("DEPEG_CHANNELS__EMAIL__URL", raising=False)
    code = await asyncio.to_thread(main, ["test-alert", "--config", config(tmp_path, port)])
    out = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert code == 1
    assert out["discord"].endswith("delivered")
    assert "NOT delivered" in out["broken"] and "500" in out["broken"]
    assert out["sms"].endswith("delivered")
    assert "DEPEG_CHANNELS__EMAIL__URL" in out["email"]
    assert "TEST" in servers["hook"][0]["title"]
    assert (
        servers["sms"][0]["Body"].startswith("TEST alert") and len(servers["sms"][0]["Body"]) < 160
    )


async def test_one_channel_only_and_exit_zero(
    servers: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """--channel discord sends only there and exits 0 when it arrived."""
    port = servers["port"]
    monkeypatch.setenv("DEPEG_CHANNELS__DISCORD__URL", f"json://127.0.0.1:{port}/hook")
    args = ["test-alert", "--config", config(tmp_path, port), "--channel", "discord"]
    assert await asyncio.to_thread(main, args) == 0
    assert len(servers["hook"]) == 1 and servers["sms"] == []
    assert capsys.readouterr().out.strip().startswith("discord")
