"""Benchmark: what the default process/Python collectors and the zero-initialised series cost.

Run: .venv/bin/python bench/metrics_cost.py [--seconds 20] [--scrapes 200]

The real daemon runs in-process (each variant in a fresh Python of its own) on the calm
scenario with the example config, twice: with the process_*/python_* collectors (as shipped)
and with them left out. After --seconds: VmRSS, the /metrics page (series, bytes, gzipped
bytes) and the median time of --scrapes GETs of it from 127.0.0.1. Figures, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def child(collectors: bool, seconds: float, scrapes: int) -> dict[str, Any]:
    import depeg_monitor.metrics as metrics_module

    if not collectors:  # the shipped Metrics without them: the registry has only ours
        for name in ("ProcessCollector", "PlatformCollector", "GCCollector"):
            setattr(metrics_module, name, lambda **_: None)
    from depeg_monitor.clock import SystemClock
    from depeg_monitor.commands.demo import TerminalChannel, demo_settings
    from depeg_monitor.config import load_settings
    from depeg_monitor.daemon import Daemon
    from depeg_monitor.simulate import SimulatedMarket, load_scenario

    clock = SystemClock()
    market = SimulatedMarket(load_scenario(ROOT / "scenarios" / "calm.toml"), clock)
    await market.start()
    out: dict[str, Any] = {"collectors": collectors}
    with tempfile.TemporaryDirectory() as state:
        settings = demo_settings(
            load_settings(ROOT / "config.example.toml"), market.base_urls(), 1.0, Path(state)
        )
        daemon = Daemon(settings, clock, {"discord": TerminalChannel("discord", str)})
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(seconds)
        out["rss_mib"] = round(rss_kib() / 1024, 1)
        url = f"http://127.0.0.1:{daemon.health_port}/metrics"
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
                page = await r.read()
            async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
                gz = await r.read()
            times = []
            for _ in range(scrapes):
                t0 = time.perf_counter()
                async with http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
                    await r.read()
                times.append(time.perf_counter() - t0)
        text = page.decode()
        out["series"] = sum(1 for line in text.splitlines() if line and line[0] != "#")
        out["bytes"], out["gzip_bytes"] = len(page), len(gz)
        out["scrape_ms_median"] = round(statistics.median(times) * 1000, 2)
        stop.set()
        await asyncio.wait_for(task, 30)
    await market.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--scrapes", type=int, default=200)
    p.add_argument("--child", choices=["with", "without"])
    a = p.parse_args()
    if a.child:
        print(json.dumps(asyncio.run(child(a.child == "with", a.seconds, a.scrapes))))
        return
    for variant in ("without", "with"):
        args = ["--child", variant, "--seconds", str(a.seconds), "--scrapes", str(a.scrapes)]
        done = subprocess.run(
            [sys.executable, __file__, *args],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{variant:>7} process/python collectors: RSS {r['rss_mib']} MiB, "
            f"/metrics {r['series']} series, {r['bytes']} B ({r['gzip_bytes']} B gzip), "
            f"scrape median {r['scrape_ms_median']} ms"
        )


if __name__ == "__main__":
    main()
