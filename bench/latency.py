"""Benchmark: detection latency of the real daemon, from price crossing to the phone.

Run: .venv/bin/python bench/latency.py [--runs 20] [--poll 1.0]
     .venv/bin/python bench/latency.py --stream [--runs 50] [--poll 10]

Polling (default): `depeg-monitor run` polls the simulated market (scenarios/latency.toml, its
USDC cycle repeated --runs times) every --poll seconds with hold_critical = 0. For each step
the exact instant the price crosses the critical level (3 % below peg) comes from the scenario
itself; the latency is the time from that instant to the critical notice arriving at the local
webhook sink (Discord). Target: p99 ≤ one poll interval + 0.5 s.

--stream: the venues stream from the simulator's WebSockets and are polled at the example
config's 10 s (a shorter cycle: 2 s calm, 1.5 s down); the latency runs from the simulator
writing the first frame with a price past critical (any venue; Publication.wall) to the
notice arriving at the sink — publish → parse → screen → coalesced cycle → outbox → webhook.
Target (issue 14): p99 ≤ 250 ms on the 2-core machine. Prints p50, p90, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import _stage as stage  # bench/ is sys.path[0] when run as a script

from depeg_monitor.simulate import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
CRITICAL = 0.03  # config.example.toml's critical threshold


# The streaming cycle: shorter, since no poll phase needs sampling (calm, step, hold, back).
STREAM_CYCLE = [
    {"kind": "calm", "duration": 2.0},
    {"kind": "move", "to": 0.95, "duration": 0.05},
    {"kind": "hold", "duration": 1.5},
    {"kind": "move", "to": 1.0, "duration": 0.05},
    {"kind": "calm", "duration": 2.0},
]


def repeated(runs: int, stream: bool = False) -> tuple[Scenario, list[tuple[float, float]]]:
    """The latency cycle `runs` times; each calm lengthened by a golden-ratio fraction of a
    second so the steps sample every phase of the poll schedule. Returns the cycle windows."""
    data: dict[str, Any] = tomllib.loads((ROOT / "scenarios/latency.toml").read_text())
    cycle = STREAM_CYCLE if stream else data["coins"]["USDC"]["segments"]
    segments: list[dict[str, Any]] = []
    windows: list[tuple[float, float]] = []
    t = 0.0
    for k in range(runs):
        first = dict(cycle[0], duration=cycle[0]["duration"] + (k * 0.618034) % 1.0)
        segs = [first, *cycle[1:]]
        length = sum(s["duration"] for s in segs)
        windows.append((t, t + length))
        segments.extend(segs)
        t += length
    data["coins"]["USDC"]["segments"] = segments
    data["scenario"]["duration"] = t
    return parse_scenario(data, "latency.toml × runs"), windows


async def measure(runs: int, poll: float, stream: bool = False) -> list[float]:
    scenario, windows = repeated(runs, stream)
    level = 1.0 - CRITICAL
    with tempfile.TemporaryDirectory(prefix="depeg-latency-") as tmp:
        async with stage.Stage(Path(tmp), scenario) as st:
            cfg = stage.StageConfig(
                coins=["USDT", "USDC"],
                poll_interval=poll,
                hold_critical=0.0,
                clear_hold=1.0,
                routes={"critical": ["discord"]},
                stale_after=60.0,
                streams=stream,
            )
            daemon = await st.start_daemon(st.write_config(cfg))
            await asyncio.sleep(3 * poll)  # every venue polled once: warm
            st.restart_scenario_clock()
            crossings = []
            for start, end in windows:
                t = st.market.prices.crossing_time(
                    "kraken", "USDC", "USD", level, start=start, end=end, step=0.001
                )
                assert t is not None, "the scenario must cross the critical level every cycle"
                crossings.append(st.market.wall_time(t))
            await asyncio.sleep(max(0.0, st.market.wall_time(scenario.duration) - time.time()))
            await asyncio.sleep(2 * poll)
            await daemon.terminate()
            alerts = [m.at for m in st.inbox.on("discord") if "CRITICAL depeg" in m.title]
            if stream:  # from the first frame past critical in each cycle, any venue
                published = [
                    p
                    for p in st.market.streams.publications
                    if p.market.startswith("USDC/") and p.price <= level
                ]
                crossings = [
                    min((p.wall for p in published if start <= p.t < end), default=crossed)
                    for (start, end), crossed in zip(windows, crossings, strict=True)
                ]
    latencies = []
    for k, crossed in enumerate(crossings):
        until = crossings[k + 1] if k + 1 < len(crossings) else float("inf")
        arrived = [a for a in alerts if crossed <= a < until]
        if not arrived:
            print(f"run {k + 1}: no critical notice before the next step", file=sys.stderr)
            continue
        latencies.append(arrived[0] - crossed)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="price steps to time (default 20; 50 streaming)")
    parser.add_argument("--poll", type=float, help="poll interval, s (default 1; 10 streaming)")
    parser.add_argument("--stream", action="store_true", help="venues stream (issue 14)")
    args = parser.parse_args()
    runs = args.runs or (50 if args.stream else 20)
    poll = args.poll or (10.0 if args.stream else 1.0)
    latencies = asyncio.run(measure(runs, poll, args.stream))
    if not latencies:
        print("no notice arrived", file=sys.stderr)
        return 1
    p = stage.percentile
    start = "first frame past critical" if args.stream else "crossing"
    print(f"detection latency, {start} → Discord sink, poll {poll:g} s, hold_critical 0")
    print(f"  runs      {len(latencies)} of {runs}")
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        print(f"  {name:<9} {p(latencies, q):.3f} s")
    print(f"  max       {max(latencies):.3f} s")
    print(f"  min       {min(latencies):.3f} s")
    target = 0.25 if args.stream else poll + 0.5
    verdict = "meets" if p(latencies, 99) <= target else "MISSES"
    print(f"  target    p99 ≤ {target:g} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
