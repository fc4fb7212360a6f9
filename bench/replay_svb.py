"""Benchmark: replay the USDC/SVB manifest; print quotes per second and peak memory.

Run: .venv/bin/python bench/replay_svb.py [MANIFEST]
"quotes fed" counts every quote the aggregator evaluates (each cycle sees every series' latest
quote); "quotes read" counts the file rows that became quotes.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.report import build_report
from depeg_monitor.replay.runner import run_replay

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 3


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "manifests/usdc-svb-2023-03.toml"
    manifest = load_manifest(path)

    # Best of three, as timeit does: the machine may be shared, the code is deterministic.
    runs = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        r = run_replay(manifest)
        runs.append((time.perf_counter() - t0, r))
    wall, run = min(runs, key=lambda x: x[0])
    report = build_report(run)

    tracemalloc.start()
    run_replay(manifest)
    _, peak_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"manifest: {path.name}  (decision stage: {run.stage_name}; best of {REPEAT})")
    print(f"cycles: {run.cycles}  alerts: {len(report.timeline)}")
    print(f"quotes read: {run.quotes_read}  quotes fed to the aggregator: {run.quotes_fed}")
    print(f"load (parse files): {run.load_seconds:.2f} s   replay: {run.run_seconds:.2f} s")
    print(
        f"quotes fed / s (replay only): {run.quotes_fed / run.run_seconds:,.0f} wall, "
        f"{run.quotes_fed / run.run_cpu_seconds:,.0f} per CPU-second"
    )
    print(f"quotes read / s (load + replay): {run.quotes_read / wall:,.0f}")
    print(f"whole manifest wall time: {wall:.2f} s")
    print(
        f"peak traced Python memory: {peak_traced / 2**20:.1f} MiB   "
        f"max RSS: {rss_kib / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
