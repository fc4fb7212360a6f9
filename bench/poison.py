"""Benchmark: does one poisoned venue delay, silence or bloat the real daemon? (issue 9)

Run: .venv/bin/python bench/poison.py [--only gzip_bomb,baseline] [--calm 15] [--wait 15]

One run per poison, plus a baseline with none. In each, `depeg-monitor run` (a subprocess,
poll 1 s, hold_critical 0, coins USDT, USDC and DAI) watches the simulated market: USDT steps
from the peg to 0.95 on every venue after --calm scenario seconds and stays there, while one
venue — the one where that poison hurts most — serves the poison from the start to the end.

Per run it prints the seconds from the exact crossing of the critical level (3 % below peg,
from the scenario, as bench/latency.py does) to the first CRITICAL notice about USDT at the
local webhook sink (or "none" within --wait s), the daemon's peak resident memory (VmHWM from
/proc at the end, and the largest VmRSS sampled every 0.1 s), and whether /health ever named
the poisoned venue as not "pass". Targets: each alert within one poll of the baseline's delay;
peak RSS under 150 MB. A daemon whose RSS passes --rss-cap MiB is killed (machine safety).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _stage as stage  # bench/ is sys.path[0] when run as a script
import structlog

from depeg_monitor.simulate import Scenario, parse_scenario
from depeg_monitor.simulate.faults import gzip_bomb

POLL = 1.0
CRITICAL = 0.03  # config.example.toml's critical threshold
TARGET_RSS_MIB = 150e6 / 2**20  # 150 MB
FOREVER = 1e9  # a fault end past any run


@dataclass(frozen=True)
class Poison:
    name: str
    venue: str  # "" for the baseline
    fault: dict[str, Any]
    # Fraction of the calm after which the fault starts (0: from the start, before the daemon's
    # own start-up; the scenario clock restarts once it is up, so 0.5 means mid-run).
    starts: float = 0.0


DELIST = {"venue": "binance", "kind": "delisted", "markets": ["DAI/USDT"]}


def _poison(name: str, venue: str, mode: str) -> Poison:
    return Poison(name, venue, {"venue": venue, "kind": "poison", "mode": mode})


POISONS: tuple[Poison, ...] = (
    Poison("baseline", "", {}),
    _poison("nan_volume", "bitstamp", "nan_volume"),
    _poison("negative_volume", "kraken", "negative_volume"),
    _poison("future_timestamp", "coinbase", "future_timestamp"),
    _poison("zero_price", "okx", "zero_price"),
    _poison("huge_number", "okx", "huge_number"),
    _poison("deep_nesting", "okx", "deep_nesting"),
    _poison("gzip_bomb", "binance", "gzip_bomb"),
    _poison("endless_body", "kucoin", "endless_body"),
    Poison("huge_retry_after", "okx", {"venue": "okx", "kind": "rate_limit", "retry_after": 1e12}),
    # Binance batches symbols=[…]: one delisted symbol fails the whole request, as it really does.
    # Delisted before start-up, the listing check simply drops it; delisted mid-run, every batch
    # naming it fails until the daemon looks at the listing again.
    Poison("delisted_at_start", "binance", DELIST),
    Poison("delisted_mid_run", "binance", DELIST, starts=0.5),
)


@dataclass(frozen=True)
class Result:
    poison: Poison
    delay: float | None  # crossing → first USDT CRITICAL notice; None: none within --wait
    hwm_mib: float | None  # VmHWM just before the daemon was stopped (None: it was gone)
    max_rss_mib: float
    flagged: bool  # /health named the poisoned venue as warn/fail at some point
    reason: str  # the last thing /health said about it
    exit: str  # how the daemon ended
    log_errors: int  # error-level lines in the daemon's log


def scenario_for(p: Poison, calm: float, hold: float) -> Scenario:
    faults = [{**p.fault, "start": p.starts * calm, "end": FOREVER}] if p.fault else []
    data: dict[str, Any] = {
        "scenario": {"name": f"poison-{p.name}", "duration": calm + hold, "noise": 0.0},
        "coins": {
            "USDT": {
                "segments": [
                    {"kind": "calm", "duration": calm},
                    {"kind": "move", "to": 0.95, "duration": 0.05},
                    {"kind": "hold", "duration": hold},
                ]
            }
        },
        "faults": faults,
    }
    return parse_scenario(data, f"poison:{p.name}")


def _usdt_critical(m: stage.Received) -> bool:
    return any(c == "USDT" and sev == "CRITICAL" for c, sev, _ in m.items())


async def run_one(p: Poison, calm: float, wait: float, rss_cap_mib: float) -> Result:
    scenario = scenario_for(p, calm, hold=wait + 10)
    with tempfile.TemporaryDirectory(prefix=f"depeg-poison-{p.name}-") as tmp:
        async with stage.Stage(Path(tmp), scenario) as st:
            cfg = stage.StageConfig(
                coins=["USDT", "USDC", "DAI"],
                poll_interval=POLL,
                hold_critical=0.0,
                routes={"critical": ["discord"]},
            )
            daemon = await st.start_daemon(st.write_config(cfg))
            watch = stage.Watch()
            watcher = asyncio.create_task(
                stage.watch_daemon(st, daemon, watch, rss_cap_kib=int(rss_cap_mib * 1024))
            )
            await asyncio.sleep(3 * POLL)  # every venue polled (and poisoned) once: warm
            st.restart_scenario_clock()
            warm = time.time()
            t = st.market.prices.crossing_time("kraken", "USDT", "USD", 1.0 - CRITICAL, step=0.001)
            assert t is not None, "the scenario must cross the critical level"
            crossed = st.market.wall_time(t)

            with contextlib.suppress(TimeoutError):
                await st.wait_messages(
                    1, "discord", timeout=crossed + wait - time.time(), where=_usdt_critical
                )
            # A few more seconds for /health to show the venue, then stop.
            await asyncio.sleep(max(0.0, crossed + 5.0 - time.time()))
            hwm = stage.proc_kib(daemon.pid, "VmHWM") if daemon.running else None
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            exit_text = await _stop(daemon, watch)
            alerts = [m.at for m in st.inbox.on("discord") if _usdt_critical(m) and m.at >= crossed]
            errors = sum(
                1 for line in daemon.log_lines() if line.get("level") in ("error", "critical")
            )
    flagged, reason = _flagged(watch, p.venue, since=warm)
    return Result(
        poison=p,
        delay=alerts[0] - crossed if alerts else None,
        hwm_mib=hwm / 1024 if hwm is not None else None,
        max_rss_mib=watch.max_rss_kib / 1024,
        flagged=flagged,
        reason=reason,
        exit=exit_text,
        log_errors=errors,
    )


async def _stop(daemon: stage.DaemonProcess, watch: stage.Watch) -> str:
    if watch.killed_at_kib is not None:
        return f"killed by the bench at {watch.killed_at_kib / 1024:.0f} MiB"
    if not daemon.running:
        return f"exited {daemon.proc.returncode} by itself"
    try:
        return f"exit {await daemon.terminate(timeout=15)}"
    except TimeoutError:
        await daemon.kill()
        return "did not stop in 15 s (killed)"


def _flagged(watch: stage.Watch, venue: str, since: float) -> tuple[bool, str]:
    """Whether /health called the venue warn or fail once warm (every venue had its first poll
    by then, so "no answer yet" is about the poison, not start-up), and what it said last."""
    if not venue:
        return False, ""
    said = [
        f"{check.get('status')}: {check.get('output', '')}"
        for at, check in watch.checks(f"venue:{venue}")
        if at >= since and check.get("status") != "pass"
    ]
    # The most specific words are usually the last: "no answer yet" comes before the error.
    return bool(said), (said[-1] if said else "")


async def measure(names: list[str], calm: float, wait: float, rss_cap: float) -> list[Result]:
    chosen = [p for p in POISONS if p.name in names]
    if any(p.fault.get("mode") == "gzip_bomb" for p in chosen):
        await asyncio.to_thread(gzip_bomb)  # built once here, not inside a timed run
    results = []
    for p in chosen:
        print(f"… {p.name}" + (f" at {p.venue}" if p.venue else ""), file=sys.stderr, flush=True)
        results.append(await run_one(p, calm, wait, rss_cap))
    return results


def report(results: list[Result], wait: float) -> None:
    base = next((r for r in results if r.poison.name == "baseline"), None)
    if base is not None and base.delay is not None:
        delay_target = base.delay + POLL
        target_text = (
            f"≤ baseline {base.delay:.2f} s + one poll ({POLL:g} s) = {delay_target:.2f} s"
        )
    else:
        delay_target = POLL + 0.5  # bench/latency.py's target, without a baseline to go by
        target_text = f"≤ one poll + 0.5 s = {delay_target:.2f} s (no baseline measured)"
    print(f"one poisoned venue vs the real daemon: poll {POLL:g} s, hold_critical 0, USDT → 0.95")
    head = ("poison", "venue", "alert delay (s)", "VmHWM MiB", "max RSS MiB", "health flagged")
    rows = [head]
    for r in results:
        delay = f"{r.delay:.2f}" if r.delay is not None else f"none in {wait:g} s"
        hwm = f"{r.hwm_mib:.0f}" if r.hwm_mib is not None else "—"
        flagged = "—" if not r.poison.venue else ("yes" if r.flagged else "no")
        rows.append(
            (r.poison.name, r.poison.venue or "—", delay, hwm, f"{r.max_rss_mib:.0f}", flagged)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"targets: alert delay {target_text}; peak RSS < 150 MB ({TARGET_RSS_MIB:.0f} MiB)")
    for r in results:
        peak = max(r.hwm_mib or 0.0, r.max_rss_mib)
        alert_ok = r.delay is not None and r.delay <= delay_target
        rss_ok = peak < TARGET_RSS_MIB
        verdict = "meets" if alert_ok and rss_ok else "MISSES"
        misses = [w for w, ok in (("alert", alert_ok), ("memory", rss_ok)) if not ok]
        notes = [r.exit, f"{r.log_errors} error lines in its log"]
        if r.reason:
            notes.append(f"/health: {r.reason[:90]}")
        why = f" ({', '.join(misses)})" if misses else ""
        print(f"  {r.poison.name:<17} {verdict}{why}; " + "; ".join(notes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [p.name for p in POISONS]
    parser.add_argument(
        "--only", default="", help=f"comma list of runs (default all): {', '.join(names)}"
    )
    parser.add_argument("--calm", type=float, default=15.0, help="scenario s before the step (15)")
    parser.add_argument("--wait", type=float, default=15.0, help="s to wait for the alert (15)")
    parser.add_argument(
        "--rss-cap", type=float, default=3072.0, help="MiB at which the daemon is killed (3072)"
    )
    args = parser.parse_args()
    wanted = [n.strip() for n in args.only.split(",") if n.strip()] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    # The simulated market logs each start and stop; only the table belongs on stdout.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.monotonic()
    results = asyncio.run(measure(wanted, args.calm, args.wait, args.rss_cap))
    report(results, args.wait)
    print(f"({len(results)} runs in {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
