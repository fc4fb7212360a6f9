"""Benchmark: memory and CPU of `depeg-monitor run` watching 8 coins on 9 venues.

Run: .venv/bin/python bench/daemon_resources.py [--seconds 600] [--poll 5]

The real daemon (a subprocess) polls the simulated calm market (scenarios/calm.toml) with
config.example.toml's coins and markets at --poll seconds, SQLite in a temporary folder.
After a warm-up, resident memory (VmRSS from /proc/<pid>/status) is read at the start, middle
and end of --seconds, and CPU (utime + stime from /proc/<pid>/stat) is reported per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import _stage as stage  # bench/ is sys.path[0] when run as a script

from depeg_monitor.simulate import load_scenario

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 30.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(seconds: float, poll: float) -> dict[str, float]:
    scenario = load_scenario(ROOT / "scenarios/calm.toml")
    with tempfile.TemporaryDirectory(prefix="depeg-resources-") as tmp:
        async with stage.Stage(Path(tmp), scenario) as st:
            cfg = stage.StageConfig(poll_interval=poll, routes={"critical": ["discord"]})
            daemon = await st.start_daemon(st.write_config(cfg))
            pid = daemon.pid
            await asyncio.sleep(WARM_UP)
            out = {"rss_start": rss_mib(pid)}
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(seconds / 2)
            out["rss_middle"] = rss_mib(pid)
            await asyncio.sleep(seconds / 2)
            out["rss_end"] = rss_mib(pid)
            cpu1, t1 = cpu_seconds(pid), time.monotonic()
            out["cpu_per_min"] = (cpu1 - cpu0) / (t1 - t0) * 60
            out["seconds"] = t1 - t0
            out["exit"] = float(await daemon.terminate())
            out["db_mib"] = st.db_path.stat().st_size / 2**20
            out["venues"] = float(len(cfg.venues or st.market.base_urls()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="measured span (600)")
    parser.add_argument("--poll", type=float, default=5.0, help="poll interval, s (5)")
    args = parser.parse_args()
    r = asyncio.run(measure(args.seconds, args.poll))
    print(
        f"depeg-monitor run, 8 coins x {r['venues']:.0f} venues, poll {args.poll:g} s, "
        f"{r['seconds']:.0f} s measured after {WARM_UP:.0f} s warm-up"
    )
    print(f"  RSS start   {r['rss_start']:.1f} MiB")
    print(f"  RSS middle  {r['rss_middle']:.1f} MiB")
    print(f"  RSS end     {r['rss_end']:.1f} MiB  ({r['rss_end'] - r['rss_start']:+.1f} MiB)")
    print(f"  CPU         {r['cpu_per_min']:.2f} s per minute")
    print(f"  SQLite file {r['db_mib']:.1f} MiB; exit code {r['exit']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
