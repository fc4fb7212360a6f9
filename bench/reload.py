"""How long a configuration reload takes on a running daemon, and how long the main loop waits.

The real daemon in-process (config.example.toml's coins and venues aimed at the calm simulated
market, console channels), reloaded --runs times with the major threshold alternating; each
reload is timed from the request to the new rules being in place (load, check, compile, swap),
and the longest gap between two cycles around it is what the loop lost.

    .venv/bin/python bench/reload.py --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import _stage as stage  # bench/ is sys.path[0] when run as a script

from depeg_monitor.clock import SystemClock
from depeg_monitor.config import load_settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.simulate import SimulatedMarket, load_scenario


def write(path: Path, market: SimulatedMarket, major: float) -> None:
    data = stage.build_config(
        stage.StageConfig(streams=False, log_level="error"),
        market.base_urls(),
        0,
        "http://127.0.0.1:9",
    )
    data["classification"]["thresholds"] = {"minor": 0.005, "major": major, "critical": 0.03}
    data["channels"] = {n: {"type": "console"} for n in ("discord", "email", "sms")}
    data["database"]["url"] = f"sqlite+aiosqlite:///{path.parent / 'bench.db'}"
    path.write_text(stage.toml_dumps(data))


async def main(runs: int) -> None:
    market = SimulatedMarket(load_scenario(stage.ROOT / "scenarios" / "calm.toml"), SystemClock())
    await market.start()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.toml"
        write(cfg, market, 0.015)
        d = Daemon(load_settings(cfg, {}), reload_from=lambda: load_settings(cfg, {}))
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(d.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(3)  # the venues' first answers
        took, gaps = [], []
        for i in range(runs):
            major = 0.01 if i % 2 == 0 else 0.015
            write(cfg, market, major)
            before, last = d.rules, d.state.last_cycle
            t0 = time.perf_counter()
            d.reload()
            while d.rules is before:  # noqa: ASYNC110 (polling the daemon's own attribute)
                await asyncio.sleep(0.001)
            took.append(time.perf_counter() - t0)
            while d.state.last_cycle == last:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            gaps.append(time.perf_counter() - t0)
            await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(task, 30)
    await market.stop()
    ms = [x * 1000 for x in took]
    print("each (ms):", " ".join(f"{x:.0f}" for x in ms))
    gap_ms = [x * 1000 for x in gaps]
    print(
        f"reloads: {runs} on {len(d.rules.collectors)} venues, {len(d.rules.detection.coins)} coins"
    )
    print(f"request → new rules in place: p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms")
    print(
        f"request → next cycle done: p50 {statistics.median(gap_ms):.0f} ms, "
        f"max {max(gap_ms):.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
