"""A database written by a real daemon run, shared by the report commands' tests.

`recorded` (session, SQLite and PostgreSQL): the daemon (in-process, SystemClock) watches USDC
on Kraken and Bitstamp served by the simulator on 127.0.0.1 while USDC slips past minor, falls
past critical to 0.95 and recovers. Two channels hear it: `console` (the log: delivered) and
`pager`, a JSON webhook whose receiver on 127.0.0.1 refuses it with HTTP 401 (failed; its URL
names a recipient, alice@example.com, that must never be printed). The run ends once the
resolution and the pager's refusal are recorded; tests read the database through the CLI.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from depeg_monitor.clock import SystemClock
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon, Timings
from depeg_monitor.simulate import SimulatedMarket, parse_scenario
from depeg_monitor.store.db import create_engine
from depeg_monitor.store.history import PastAlert, read_alerts

from ..postgres import TempPostgres

RECIPIENT = "alice@example.com"
HOOK_SECRET = "hook-s3cret-path"
VENUES = ("kraken", "bitstamp")

# Scenario seconds are real seconds here; the holds below are scaled to match.
DIP: dict[str, object] = {
    "scenario": {"name": "dip", "duration": 120, "noise": 0.0002},
    "coins": {
        "USDC": {
            "segments": [
                {"kind": "calm", "duration": 3},
                {"kind": "move", "to": 0.992, "duration": 0.5},
                {"kind": "hold", "duration": 4},
                {"kind": "move", "to": 0.95, "duration": 0.5},
                {"kind": "hold", "duration": 4},
                {"kind": "recover", "duration": 1},
            ]
        }
    },
}

_names = itertools.count()


@dataclass(frozen=True, slots=True)
class Recorded:
    config: Path  # the daemon's own configuration: the commands read what it wrote
    url: str
    started: float
    ended: float
    alerts: tuple[PastAlert, ...]  # as recorded, read straight from the store


def _config(path: Path, db_url: str, urls: dict[str, str], hook: str) -> Path:
    venues = "".join(
        f'[venues.{v}]\nbase_url = "{urls[v]}"\nmarkets = ["USDC/USD"]\npoll_interval = 0.5\n'
        for v in VENUES
    )
    path.write_text(f"""
[coins.USDC]
{venues}
[classification]
hold_minor = 1
hold_major = 0.5
clear_hold = 3
[alerts]
confirm_minor_hold = 0.5
[channels.console]
type = "console"
[channels.pager]
url = "{hook}"
[alerts.routes]
minor = [{{ channels = ["console"] }}]
major = [{{ channels = ["console", "pager"] }}]
critical = [{{ channels = ["console", "pager"] }}]
[database]
url = "{db_url}"
flush_interval = 0.2
[health]
port = 0
history_interval = 1
[logging]
level = "error"
""")
    return path


def _done(found: list[PastAlert]) -> bool:
    resolved = any(a.kind == "resolved" for a in found)
    refused = any(
        d.channel == "pager" and d.status == "failed" for a in found for d in a.deliveries
    )
    return resolved and refused


async def _record(work: Path, db_url: str) -> Recorded:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=401, text="bad token")

    app = web.Application()
    app.router.add_post("/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_port = runner.addresses[0][1]
    clock = SystemClock()
    market = SimulatedMarket(parse_scenario(DIP), clock)
    await market.start()
    try:
        hook = f"json://127.0.0.1:{hook_port}/{HOOK_SECRET}?to={RECIPIENT}"
        cfg = _config(work / "config.toml", db_url, market.base_urls(), hook)
        started = time.time()
        daemon = Daemon(load_settings(cfg), clock, None, Timings(shutdown=2.0))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        engine = create_engine(db_url)
        found: list[PastAlert] = []
        try:
            await asyncio.wait_for(ready.wait(), 30)
            until = time.monotonic() + 60
            while not _done(found):
                assert time.monotonic() < until, f"the daemon never recorded the dip: {found}"
                await asyncio.sleep(0.3)
                found = await read_alerts(engine, started)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            found = await read_alerts(engine, started)
            await engine.dispose()
        return Recorded(cfg, db_url, started, time.time(), tuple(found))
    finally:
        await market.stop()
        await runner.cleanup()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recorded]:
    """A daemon's record of a USDC dip, on SQLite and on PostgreSQL (see the module doc)."""
    work = tmp_path_factory.mktemp(f"recorded-{request.param}")
    if request.param == "sqlite":
        yield asyncio.run(_record(work, f"sqlite+aiosqlite:///{work / 'depeg.db'}"))
        return
    server: TempPostgres = request.getfixturevalue("pg_server")
    name = f"recorded{os.getpid()}_{next(_names)}"
    url = str(server.create_database(name))
    try:
        yield asyncio.run(_record(work, url))
    finally:
        if server.running():
            server.drop_database(name)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; AssertionError if the file is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path} has no IHDR first"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
