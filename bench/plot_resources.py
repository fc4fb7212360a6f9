"""Benchmark: memory of `history --plot` against the daemon's, and the time to draw a chart.

Run: .venv/bin/python bench/plot_resources.py [--hours 24] [--venues 4] [--daemon-seconds 30]

1. A SQLite file is filled with --hours of USDC as the daemon writes it: an aggregate row
   every 10 s and a quote row every 2 s per venue (a two-hour dip to 0.95 in the middle).
2. `depeg-monitor history USDC --since …` runs as a subprocess three ways — text, --json and
   --plot — and each one's peak resident memory (ru_maxrss from wait4) and wall time are shown.
3. In this process, the chart alone is drawn three times (the database read once): the
   median time of chart.draw.
4. The real daemon (`depeg-monitor run`, config.example.toml's 8 coins × 9 venues against the
   simulated calm market, bench/_stage.py) runs --daemon-seconds; its VmRSS and VmHWM are read.
matplotlib is loaded only by step 2's --plot run and step 3.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _stage as stage  # bench/ is sys.path[0] when run as a script
from sqlalchemy import insert

from depeg_monitor import chart
from depeg_monitor.commands.history import Found, panel
from depeg_monitor.config import load_settings
from depeg_monitor.rules import detection_rules
from depeg_monitor.simulate import load_scenario
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.history import read_alerts, read_history
from depeg_monitor.store.schema import aggregates, quotes
from depeg_monitor.store.times import to_dt

ROOT = Path(__file__).resolve().parents[1]
VENUES = ("kraken", "bitstamp", "coinbase", "gemini", "okx", "bybit", "kucoin", "binance")


def _price(t: float, start: float, hours: float) -> float:
    """At the peg, but for a two-hour dip to 0.95 in the middle of the window."""
    mid = start + hours * 1800
    return 0.95 if abs(t - mid) < 3600 else 1.0 + ((int(t) * 7919) % 11 - 5) * 1e-5


async def fill(url: str, hours: float, venues: int, now: float) -> tuple[int, int]:
    engine = create_engine(url)
    start = now - hours * 3600
    try:
        await upgrade(engine)
        agg = [
            {
                "ts": to_dt(t),
                "coin": "USDC",
                "resolution": "raw",
                "price": p,
                "price_min": None,
                "price_max": None,
                "deviation": p - 1,
                "venues_used": venues,
                "spread": 0.0002,
                "severity": 3 if p < 0.97 else 0,
            }
            for t in (start + 10 * i for i in range(int(hours * 360)))
            for p in (_price(t, start, hours),)
        ]
        n_quotes = 0
        async with engine.begin() as conn:
            for i in range(0, len(agg), 5000):
                await conn.execute(insert(aggregates), agg[i : i + 5000])
            for k, v in enumerate(VENUES[:venues]):
                for i in range(0, int(hours * 1800), 5000):  # a row every 2 s, 5000 at a time
                    rows = [
                        {
                            "ts": to_dt(t),
                            "ts_exchange": to_dt(t),
                            "venue": v,
                            "coin": "USDC",
                            "quote_ccy": "USD",
                            "price": _price(t, start, hours) + k * 1e-4,
                            "bid": None,
                            "ask": None,
                            "volume_base_24h": 1e6,
                            "volume_quote_24h": 1e6,
                        }
                        for t in (start + 2 * j for j in range(i, min(i + 5000, int(hours * 1800))))
                    ]
                    await conn.execute(insert(quotes), rows)
                    n_quotes += len(rows)
    finally:
        await engine.dispose()
    return len(agg), n_quotes


# Started from a small launcher: a child's ru_maxrss counts what it inherited at fork, and
# this process holds the rows it wrote; the launcher's child starts from a bare interpreter.
_LAUNCH = """
import os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - t0)
"""


def history_run(cfg: Path, hours: float, extra: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one `history` subprocess."""
    argv = [sys.executable, "-m", "depeg_monitor", "history", "USDC", "--since", f"{hours:g}h"]
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *argv, "--config", str(cfg), *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    code, maxrss, wall = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"history {extra} failed ({code}): {done.stderr}")
    return int(maxrss) / 1024, float(wall)


def draw_seconds(cfg: Path, hours: float, out: Path) -> tuple[float, int]:
    settings = load_settings(cfg)
    rules = next(c for c in detection_rules(settings).coins if c.coin == "USDC")
    end = time.time()

    async def read() -> Found:
        engine = create_engine(settings.database.resolved_url())
        try:
            h = await read_history(engine, "USDC", end - hours * 3600, end)
            return Found(h, await read_alerts(engine, end - hours * 3600, "USDC"))
        finally:
            await engine.dispose()

    found = asyncio.run(read())
    p = panel(found, rules)
    chart.plotter()  # the import is not part of drawing
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        chart.draw(out, [p], chart.HISTORY_SIZE)
        times.append(time.perf_counter() - t0)
    points = len(p.aggregate.ts) + sum(len(v.ts) for v in p.venues)
    return statistics.median(times), points


def status_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key}")


async def daemon_rss(seconds: float) -> tuple[float, float]:
    scenario = load_scenario(ROOT / "scenarios/calm.toml")
    with tempfile.TemporaryDirectory(prefix="depeg-plot-daemon-") as tmp:
        async with stage.Stage(Path(tmp), scenario) as st:
            cfg = stage.StageConfig(poll_interval=5.0, routes={"critical": ["discord"]})
            daemon = await st.start_daemon(st.write_config(cfg))
            await asyncio.sleep(seconds)
            rss, hwm = status_mib(daemon.pid, "VmRSS"), status_mib(daemon.pid, "VmHWM")
            await daemon.terminate()
    return rss, hwm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="history window (24)")
    parser.add_argument("--venues", type=int, default=4, help="venues with quotes (4)")
    parser.add_argument("--daemon-seconds", type=float, default=30.0, help="daemon run (30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="depeg-plot-") as tmp:
        work = Path(tmp)
        db = work / "depeg.db"
        cfg = work / "config.toml"
        venues = "".join(f'[venues.{v}]\nmarkets = ["USDC/USD"]\n' for v in VENUES[: args.venues])
        cfg.write_text(f'[coins.USDC]\n{venues}[database]\nurl = "sqlite+aiosqlite:///{db}"\n')
        t0 = time.perf_counter()
        n_agg, n_quotes = asyncio.run(
            fill(f"sqlite+aiosqlite:///{db}", args.hours, args.venues, time.time())
        )
        print(
            f"database: {args.hours:g} h of USDC, {n_agg} aggregate rows, {n_quotes} quote rows "
            f"({args.venues} venues), {db.stat().st_size / 2**20:.1f} MiB, "
            f"written in {time.perf_counter() - t0:.1f} s"
        )
        for name, extra in (
            ("history (text)", []),
            ("history --json", ["--json"]),
            ("history --plot", ["--plot", str(work / "h.png")]),
        ):
            rss, wall = history_run(cfg, args.hours, extra)
            print(f"  {name:<16} peak RSS {rss:6.1f} MiB   wall {wall:5.2f} s")
        seconds, points = draw_seconds(cfg, args.hours, work / "d.png")
        print(f"  draw 1200x600 PNG, {points} points: {seconds * 1000:.0f} ms (median of 3)")
    rss, hwm = asyncio.run(daemon_rss(args.daemon_seconds))
    print(
        f"daemon (8 coins x 9 venues, calm market, {args.daemon_seconds:g} s): "
        f"RSS {rss:.1f} MiB, peak {hwm:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
