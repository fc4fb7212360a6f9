"""A channel defined in the environment alone, routed by its own severities, hears a live
depeg: the real `depeg-monitor run` against the simulated market, a webhook sink on
127.0.0.1 standing in for the service."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from depeg_monitor.clock import SystemClock
from depeg_monitor.simulate import SimulatedMarket, parse_scenario

from ..waiting import eventually

# USDC calm for 2 s, then 10 % under its peg for as long as the test needs.
FALL: dict[str, Any] = {
    "scenario": {"name": "fall", "duration": 300, "noise": 0.0},
    "coins": {
        "USDC": {
            "segments": [
                {"kind": "calm", "duration": 2},
                {"kind": "move", "to": 0.9, "duration": 0.05},
                {"kind": "hold", "duration": 298},
            ]
        }
    },
}

# No channel and no route in the file: the pager below exists only in the environment.
CONFIG = """\
[coins.USDC]
[venues.kraken]
base_url = "{kraken}"
poll_interval = 1
markets = ["USDC/USD"]
[venues.bitstamp]
base_url = "{bitstamp}"
poll_interval = 1
markets = ["USDC/USD"]
[health]
enabled = false
[logging]
format = "json"
"""


async def _sink(received: list[dict[str, Any]]) -> tuple[web.AppRunner, int]:
    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def _run(config: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEPEG_", "TWILIO_"))
        and k.lower() not in ("http_proxy", "https_proxy")
    }
    clean.update(env, NO_PROXY="127.0.0.1")
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "depeg_monitor",
            "run",
            "--config",
            str(config),
            env=clean,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def test_an_environment_only_channel_hears_the_critical_alert(tmp_path: Path) -> None:
    """DEPEG_CHANNELS__PAGER__URL plus DEPEG_CHANNELS__PAGER__SEVERITIES=critical, nothing in
    the file: run starts (the pager is critical's one deliverable channel) and the USDC fall
    reaches the pager's webhook. Without the severities, run refuses to start (exit 2)."""
    market = SimulatedMarket(parse_scenario(FALL), SystemClock())
    await market.start()
    received: list[dict[str, Any]] = []
    runner, port = await _sink(received)
    proc = None
    try:
        urls = market.base_urls()
        config = tmp_path / "config.toml"
        config.write_text(CONFIG.format(kraken=urls["kraken"], bitstamp=urls["bitstamp"]))
        env = {
            "STATE_DIRECTORY": str(tmp_path / "state"),
            "DEPEG_CHANNELS__PAGER__URL": f"json://127.0.0.1:{port}/pager",
        }

        unrouted = await _run(config, env, tmp_path / "unrouted.log")
        assert await asyncio.wait_for(unrouted.wait(), 60) == 2
        said = (tmp_path / "unrouted.log").read_text()
        assert "critical alerts would reach no one" in said
        assert "channels.pager (DEPEG_CHANNELS__PAGER__URL): in no route" in said

        env["DEPEG_CHANNELS__PAGER__SEVERITIES"] = "critical"
        proc = await _run(config, env, tmp_path / "run.log")
        await eventually(
            lambda: (
                any("CRITICAL" in str(m.get("title", "")) for m in received)
                or (proc is not None and proc.returncode is not None)
            ),
            60,
            "the critical alert at the pager's webhook",
        )
        assert proc.returncode is None, (tmp_path / "run.log").read_text()[-2000:]
        assert any("USDC" in str(m.get("title", "")) for m in received)
    finally:
        if proc is not None and proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
        await runner.cleanup()
        await market.stop()
