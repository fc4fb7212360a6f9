"""Delivery after a channel outage: how long after the channel is back does the page arrive?

A critical alert is submitted while a local webhook (apprise json://, 127.0.0.1) answers 500;
the outage lasts --outage seconds, then the webhook answers 200. The real outbox (SQLite file,
the example config's retry rules) retries until the channel takes it. Time is scaled (--scale
times faster than real, the outbox's clock and sleeps alike) so a 10-minute outage takes
seconds; network time is scaled too, so the delays below slightly overstate it.

    .venv/bin/python bench/delivery_outage.py [--outage 600] [--trials 8] [--scale 30]

Prints, per trial, the delay from recovery to delivery and the attempts used, then the spread.
Before the delivery-guarantees work the outbox gave up after 120 s: this critical was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aiohttp import web

from depeg_monitor.config import Settings
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, AlertItem, AlertKind, Severity
from depeg_monitor.notify.build import build_channels_report
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.rules import outbox_rules
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

T0 = 1_700_000_000.0


class ScaledClock:
    """Wall and monotonic time running `scale` times faster than real; sleeps shortened alike."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._start = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._start) * self.scale

    def now(self) -> float:
        return T0 + self.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


async def trial(outage: float, scale: float, workdir: Path) -> tuple[float, int, int]:
    clock = ScaledClock(scale)
    arrived: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        if clock.monotonic() < outage:
            return web.Response(status=500, text="down")
        arrived.append(clock.monotonic())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    settings = Settings(channels={"hook": {"url": f"json://127.0.0.1:{port}/hook"}})
    channels, skipped = build_channels_report(settings, env={})
    assert not skipped, skipped
    engine = create_engine(f"sqlite+aiosqlite:///{workdir}/{uuid.uuid4()}.db")
    await upgrade(engine)
    box = Outbox(engine, channels, outbox_rules(settings), clock, HealthRegistry(), Metrics())
    item = AlertItem("USDC", Severity.CRITICAL, AlertKind.FIRST, None)
    alert = Alert(
        str(uuid.uuid4()), clock.now(), Severity.CRITICAL, AlertKind.FIRST, (item,), ("hook",)
    )
    try:
        await box.submit(alert)
        while not arrived:  # noqa: ASYNC110 (filled by the sink's handler)
            await asyncio.sleep(0.01)
        await box.drain(5)
        rows = await alert_history.delivery_rows(engine, alert.id)
        attempts = int(rows[0]["attempts"])  # type: ignore[call-overload]
    finally:
        await box.close()
        await engine.dispose()
        await runner.cleanup()
    return arrived[0] - outage, attempts, len(arrived)


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--outage", type=float, default=600.0, help="seconds the channel is down")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--scale", type=float, default=30.0, help="times faster than real time")
    args = p.parse_args()
    rules = outbox_rules(Settings())
    print(
        f"outage {args.outage:g} s during a critical; retries back off from "
        f"{rules.retry_first:g} s to at most {rules.retry_max:g} s (jittered); time x{args.scale:g}"
    )
    delays: list[float] = []
    copies: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, args.trials + 1):
            delay, attempts, got = await trial(args.outage, args.scale, Path(tmp))
            delays.append(delay)
            copies.append(got)
            print(
                f"  trial {n}: delivered {delay:5.1f} s after recovery, {attempts} attempts, "
                f"{got} cop{'y' if got == 1 else 'ies'}"
            )
    print(
        f"recovery → delivery: min {min(delays):.1f} s, median {statistics.median(delays):.1f} s,"
        f" max {max(delays):.1f} s (bound: retry_max {rules.retry_max:g} s); "
        f"copies received per trial: {sorted(set(copies))}"
    )


if __name__ == "__main__":
    asyncio.run(main())
