"""Benchmark: takeover time of an active/standby pair, kill -9 of the leader → first notification
from the new leader.

Run: .venv/bin/python bench/ha_takeover.py [--runs 10] [--lease-ttl 4] [--renew 1] [--margin 1.5]

Two real `depeg-monitor run` nodes ([ha] enabled) share a throwaway PostgreSQL (tests/postgres.py)
and the simulated market, whose USDC steps past critical once per cycle. A moment before each
step the current leader is killed (kill -9), so the critical can only come from the other node:
the figure is the time from the kill to that node's first message at the webhook sink (which
node sent it is known from the address it used). The killed node is started again and joins as
the standby before the next cycle, so the pair alternates. Also printed: kill → the new leader
logging that it leads (the lease alone). Bound: lease_ttl + renew_interval (+ one poll and a
send for the notification).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _stage as stage  # bench/ is sys.path[0] when run as a script

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from postgres import TempPostgres

from depeg_monitor.simulate import Scenario, parse_scenario

CRITICAL = 0.03
CALM, HOLD, AFTER = 14.0, 10.0, 6.0  # per cycle: peg, past critical, back at peg


def cycles(runs: int) -> tuple[Scenario, list[float]]:
    """USDC calm → 0.95 → held → back, `runs` times; the scenario times of each step."""
    segments: list[dict[str, Any]] = []
    steps, t = [], 0.0
    for _ in range(runs):
        segments += [
            {"kind": "calm", "duration": CALM},
            {"kind": "move", "to": 0.95, "duration": 0.05},
            {"kind": "hold", "duration": HOLD},
            {"kind": "move", "to": 1.0, "duration": 0.05},
            {"kind": "calm", "duration": AFTER},
        ]
        steps.append(t + CALM)
        t += CALM + HOLD + AFTER + 0.1
    data = {
        "scenario": {"name": "ha-takeover", "duration": t + 5, "seed": 17, "noise": 0.0},
        "coins": {"USDC": {"segments": segments}},
    }
    return parse_scenario(data, "ha_takeover cycles"), steps


def logged_at(proc: Any, event: str, after: float) -> float | None:
    for line in proc.log_lines():
        if line.get("event") == event:
            ts = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
            if ts > after:
                return ts
    return None


async def measure(runs: int, ha: dict[str, float]) -> tuple[list[float], list[float]]:
    scenario, steps = cycles(runs)
    pg = TempPostgres.create()
    pg.start()
    notified, led = [], []
    try:
        db_url = pg.create_database("ha_bench")
        with tempfile.TemporaryDirectory(prefix="depeg-ha-") as tmp:
            async with stage.Stage(Path(tmp), scenario) as st:
                cfg = stage.StageConfig(
                    coins=["USDT", "USDC"],
                    poll_interval=1.0,
                    hold_critical=0.0,
                    clear_hold=1.0,
                    routes={"critical": ["discord"]},
                    stale_after=60.0,
                )
                pair = stage.HaPair(st, db_url, cfg, ha)
                await pair.start("node-a")
                await pair.wait_role("node-a", "leader")
                await pair.start("node-b")
                await pair.wait_role("node-b", "standby")
                st.restart_scenario_clock()
                leader, standby = "node-a", "node-b"
                for k, step in enumerate(steps):
                    kill_at = st.market.wall_time(step) - 0.3
                    if time.time() > kill_at:
                        print(f"run {k + 1}: the pair was not ready in time", file=sys.stderr)
                        continue
                    await asyncio.sleep(kill_at - time.time())
                    await pair.procs[leader].kill()
                    killed = time.time()

                    def first_from(node: str, after: float = killed) -> list[stage.Received]:
                        return [
                            m
                            for m in st.inbox.messages
                            if m.at > after and stage.HaPair.sender(m) == node
                        ]

                    async def heard(node: str = standby) -> bool:
                        return bool(first_from(node))

                    await stage.wait_until(heard, 60, what=f"a message from {standby}")
                    notified.append(first_from(standby)[0].at - killed)
                    became = logged_at(pair.procs[standby], "ha_leader", killed)
                    if became is not None:
                        led.append(became - killed)
                    await pair.start(leader)
                    await pair.wait_role(leader, "standby")
                    leader, standby = standby, leader
                    print(f"run {k + 1}: {notified[-1]:.2f} s", file=sys.stderr)
                for proc in pair.procs.values():
                    await proc.terminate()
    finally:
        pg.destroy()
    return notified, led


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lease-ttl", type=float, default=4.0)
    parser.add_argument("--renew", type=float, default=1.0)
    parser.add_argument("--margin", type=float, default=1.5)
    args = parser.parse_args()
    ha = {"lease_ttl": args.lease_ttl, "renew_interval": args.renew, "margin": args.margin}
    notified, led = asyncio.run(measure(args.runs, ha))
    if not notified:
        print("no takeover measured", file=sys.stderr)
        return 1
    bound = args.lease_ttl + args.renew
    print(
        f"takeover, kill -9 of the leader → first notification from the new leader "
        f"(lease_ttl {args.lease_ttl:g} s, renew {args.renew:g} s, margin {args.margin:g} s, "
        "1 s polls)"
    )
    print(f"  runs      {len(notified)} of {args.runs}")
    for name, xs in (("notified", notified), ("leads", led)):
        print(
            f"  {name:<9} min {min(xs):.2f} s  median {statistics.median(xs):.2f} s  "
            f"max {max(xs):.2f} s"
        )
    print(f"  bound     lease_ttl + renew_interval = {bound:g} s (+ one poll and a send)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
