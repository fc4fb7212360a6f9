"""Benchmark: the real daemon under sustained stream load — CPU, memory, evaluation latency.

Run: .venv/bin/python bench/stream_load.py [--seconds 300] [--rate 5000]

`depeg-monitor run` (a subprocess, config.example.toml's coins and markets, SQLite in a
XX
the simulator's own WebSocket endpoints (SimulatedMarket at /<venue>/ws, each venue's real
subscribe/ack, keepalive and frame shapes). The scenario is calm with its noise redrawn every
millisecond (time_scale 1000, ±0.04 %: every market stays within ±0.1 % of peg, nothing alerts)
and the publisher's tick (StreamTiming.tick) is steered so that about --rate frames per second
in total leave for the daemon, every one a new top of book of its market.

After every stream:<venue> check passes and a warm-up, over --seconds it reports:
- frames sent per second (the simulator's count, per minute too) and received per venue
  (depeg_stream_frames_total);
- the daemon's CPU as % of one core (utime + stime from /proc/<pid>/stat; psutil is not a
  dependency), per minute and overall, the event-loop thread's share, how long that thread
  waited for a CPU (schedstat: other processes on a shared machine), and the load generator's
  own CPU (the bench process: simulator and sinks share the machine's cores with the daemon);
- resident memory (VmRSS from /proc/<pid>/status) at the start, middle and end, and the peak;
- depeg_evaluation_seconds p50/p99 (a changed quote's receipt to the end of the cycle it woke),
  interpolated within the histogram's buckets as Prometheus' histogram_quantile does, over the
  measured span only (the difference of two /metrics scrapes), and its cumulative buckets;
- depeg_cycle_seconds: cycles per second (coalescing: far fewer cycles than frames), mean, p99;
- the history writer's backlog (depeg_buffer_rows) and rows dropped: every streamed quote is
  a row.

Targets (issue 14): CPU < 50 % of one core, RSS flat and < 130 MB, evaluation p99 reported.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import _stage as stage  # bench/ is sys.path[0] when run as a script
import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from depeg_monitor.clock import SystemClock
from depeg_monitor.simulate import Scenario, SimulatedMarket, parse_scenario
from depeg_monitor.simulate.streams import STREAMS, StreamTiming

WARM_UP = 20.0  # seconds of full load before the measured span starts
STEER_EVERY = 1.0  # seconds between adjustments of the publisher's tick
CATCH_UP = 5.0  # seconds over which frames owed (or sent ahead) are made up
TIME_SCALE = 1000.0  # scenario seconds per wall second: the noise is redrawn every 1 ms
NOISE = 0.0004  # ±0.04 % per coin: a USDT-quoted pair stays within ±0.08 % of peg
MIN_TICK = 0.0005


def load_scenario(seconds: float) -> Scenario:
    """Calm on every venue (no basis offsets), noise redrawn every wall millisecond."""
    return parse_scenario(
        {
            "scenario": {
                "name": "stream-load",
                "description": "calm, noise redrawn every millisecond",
                "duration": (seconds + 600.0) * TIME_SCALE,
                "time_scale": TIME_SCALE,
                "seed": 7,
                "noise": NOISE,
            },
            "venues": {"binance": {"volume": 200_000_000}},
        },
        "stream_load.py",
    )


# --- the daemon's process --------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU seconds of the process's first thread: the event loop (the rest is other threads,
    the SQLite driver's among them)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid: int) -> float:
    """Seconds the event-loop thread has waited for a CPU while runnable (schedstat): the
    time other processes on the machine took from it."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


def rss_mib(pid: int) -> float:
    kib = stage.proc_kib(pid, "VmRSS")
    if kib is None:
        raise RuntimeError(f"process {pid} is gone")
    return kib / 1024


# --- /metrics --------------------------------------------------------------------------------


@dataclass
class Scrape:
    frames: dict[str, float] = field(default_factory=dict)  # venue → depeg_stream_frames_total
    eval_buckets: dict[float, float] = field(default_factory=dict)  # le → cumulative count
    eval_count: float = 0.0
    eval_sum: float = 0.0
    cycle_buckets: dict[float, float] = field(default_factory=dict)
    cycle_count: float = 0.0
    cycle_sum: float = 0.0
    malformed: float = 0.0
    reconnects: float = 0.0
    alerts: float = 0.0
    buffered: float = 0.0  # rows waiting for the database (every table)
    dropped: float = 0.0  # rows dropped because the write buffer was full


async def scrape(http: aiohttp.ClientSession, port: int) -> Scrape:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
        text = await r.text()
    out = Scrape()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "depeg_stream_frames_total":
                out.frames[s.labels["venue"]] = s.value
            elif s.name == "depeg_evaluation_seconds_bucket":
                out.eval_buckets[float(s.labels["le"])] = s.value
            elif s.name == "depeg_evaluation_seconds_count":
                out.eval_count = s.value
            elif s.name == "depeg_evaluation_seconds_sum":
                out.eval_sum = s.value
            elif s.name == "depeg_cycle_seconds_bucket":
                le = float(s.labels["le"])
                out.cycle_buckets[le] = out.cycle_buckets.get(le, 0.0) + s.value
            elif s.name == "depeg_cycle_seconds_count":
                out.cycle_count += s.value
            elif s.name == "depeg_cycle_seconds_sum":
                out.cycle_sum += s.value
            elif s.name == "depeg_stream_malformed_total":
                out.malformed += s.value
            elif s.name == "depeg_stream_reconnects_total":
                out.reconnects += s.value
            elif s.name == "depeg_alerts_total":
                out.alerts += s.value
            elif s.name == "depeg_buffer_rows":
                out.buffered += s.value
            elif s.name == "depeg_buffer_dropped_total":
                out.dropped += s.value
    return out


def quantile(q: float, buckets: Mapping[float, float]) -> float:
    """histogram_quantile: q (0..1) of cumulative buckets (le → count), linear in a bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]  # the +Inf bucket
    if total <= 0:
        return math.nan
    rank, lower, below = q * total, 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return lower  # beyond the last finite bound: all we know is "at least"
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = le, count
    return lower


# --- driving ---------------------------------------------------------------------------------


def config(st: stage.Stage) -> Path:
    """config.example.toml's coins and markets; REST and streams at the simulated market."""
    cfg = stage.StageConfig(poll_interval=10.0, routes={"critical": ["discord"]}, streams=True)
    return st.write_config(cfg)


async def streams_confirmed(st: stage.Stage, venues: list[str]) -> bool:
    try:
        _, report = await st.health()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False
    checks = stage.health_checks(report)
    return all(checks.get(f"stream:{v}", {}).get("status") == "pass" for v in venues)


async def steer(market: SimulatedMarket, rate: float) -> None:
    """Hold the publisher at `rate` frames/s on average by setting its tick (until cancelled).

    A pass takes its tick plus its own work (prices, frames, the scheduler's jitter); nearly
    every subscribed market changes in every pass. Each second the pass period is set so that
    the frames still owed (rate × time so far − frames sent) are made up over CATCH_UP."""
    hub = market.streams
    loop = asyncio.get_running_loop()
    start, sent_start = loop.time(), sum(hub.frames_sent.values())
    t0, sent0, passes0 = start, sent_start, hub.passes
    work: float | None = None  # seconds a pass takes besides its tick (smoothed)
    while True:
        await asyncio.sleep(STEER_EVERY)
        t1, sent1, passes1 = loop.time(), sum(hub.frames_sent.values()), hub.passes
        if passes1 > passes0 and sent1 > sent0:
            period = (t1 - t0) / (passes1 - passes0)
            per_pass = (sent1 - sent0) / (passes1 - passes0)
            w = max(0.0, period - hub.timing.tick)
            work = w if work is None else 0.7 * work + 0.3 * w
            owed = rate * (t1 - start) - (sent1 - sent_start)
            wanted = max(rate / 4, rate + owed / CATCH_UP)
            tick = max(MIN_TICK, per_pass / wanted - work)
            hub.timing = replace(hub.timing, tick=tick)
        t0, sent0, passes0 = t1, sent1, passes1


@dataclass
class Result:
    seconds: float = 0.0
    sent: dict[str, float] = field(default_factory=dict)
    start: Scrape = field(default_factory=Scrape)
    end: Scrape = field(default_factory=Scrape)
    rss: dict[str, float] = field(default_factory=dict)
    rss_peak: float = 0.0
    cpu_minutes: list[float] = field(default_factory=list)  # % of one core, per minute
    rate_minutes: list[float] = field(default_factory=list)  # frames sent/s, per minute
    cpu: float = 0.0
    loop_cpu: float = 0.0  # the event-loop thread's share of cpu
    queued: float = 0.0  # % of the span the event loop was runnable but waited for a CPU
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the machine's load average at the end
    bench_cpu: float = 0.0
    tick: float = 0.0
    exit: int = 0
    log_lines: int = 0
    alerts_seen: int = 0


async def measure(seconds: float, rate: float) -> Result:
    scenario = load_scenario(seconds)
    out = Result()
    with tempfile.TemporaryDirectory(prefix="depeg-stream-load-") as tmp:
        st = stage.Stage(Path(tmp), scenario)
        markets = sum(len(scenario.markets(v)) for v in STREAMS)
        timing = replace(StreamTiming(), tick=max(MIN_TICK, markets / rate))
        st.market = SimulatedMarket(scenario, SystemClock(), stream_timing=timing)
        async with st:
            daemon = await st.start_daemon(config(st))
            pid = daemon.pid
            try:
                await stage.wait_until(
                    lambda: streams_confirmed(st, list(STREAMS)),
                    60,
                    0.5,
                    "every stream connected and confirmed",
                )
            except TimeoutError:
                _, health = await st.health()
                checks = stage.health_checks(health)
                print({k: c for k, c in checks.items() if k.startswith("stream")}, file=sys.stderr)
                print(daemon.log_text()[-3000:], file=sys.stderr)
                raise
            steering = asyncio.create_task(steer(st.market, rate))
            async with aiohttp.ClientSession() as http:
                await asyncio.sleep(WARM_UP)
                steering.cancel()  # afresh: frames owed during the warm-up are not made up
                steering = asyncio.create_task(steer(st.market, rate))
                hub = st.market.streams
                sent0 = dict(hub.frames_sent)
                out.start = await scrape(http, st.health_port)
                out.rss["start"] = rss_mib(pid)
                cpu0, own0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
                loop0, queued0 = main_thread_cpu_seconds(pid), run_queue_seconds(pid)
                last_cpu, last_t, last_sent = cpu0, t0, sum(sent0.values())
                peak = 0.0
                while (elapsed := time.monotonic() - t0) < seconds:
                    await asyncio.sleep(min(1.0, seconds - elapsed))
                    peak = max(peak, rss_mib(pid))
                    now = time.monotonic()
                    if now - last_t >= 60.0 or now - t0 >= seconds:
                        cpu, sent = cpu_seconds(pid), sum(hub.frames_sent.values())
                        out.cpu_minutes.append(100 * (cpu - last_cpu) / (now - last_t))
                        out.rate_minutes.append((sent - last_sent) / (now - last_t))
                        last_cpu, last_t, last_sent = cpu, now, sent
                    if "middle" not in out.rss and now - t0 >= seconds / 2:
                        out.rss["middle"] = rss_mib(pid)
                out.rss["end"] = rss_mib(pid)
                cpu1, own1, t1 = cpu_seconds(pid), time.process_time(), time.monotonic()
                loop1, queued1 = main_thread_cpu_seconds(pid), run_queue_seconds(pid)
                out.load = os.getloadavg()
                out.end = await scrape(http, st.health_port)
                sent1 = dict(hub.frames_sent)
            steering.cancel()
            out.seconds = t1 - t0
            out.cpu = 100 * (cpu1 - cpu0) / out.seconds
            out.loop_cpu = 100 * (loop1 - loop0) / out.seconds
            out.queued = 100 * (queued1 - queued0) / out.seconds
            out.bench_cpu = 100 * (own1 - own0) / out.seconds
            out.rss_peak = max(peak, out.rss["end"])
            out.sent = {v: sent1[v] - sent0.get(v, 0) for v in sent1}
            out.tick = hub.timing.tick
            out.exit = await daemon.terminate()
            out.log_lines = len(daemon.log_text().splitlines())
            out.alerts_seen = len(st.inbox.messages)
    return out


def report(r: Result, rate: float) -> None:
    span = r.seconds
    a, b = r.start, r.end
    sent = sum(r.sent.values())
    received = {v: b.frames.get(v, 0.0) - a.frames.get(v, 0.0) for v in sorted(b.frames)}
    print(
        f"depeg-monitor run under stream load: 8 venues' streams from the simulator, "
        f"target {rate:g} frames/s, {span:.0f} s measured after {WARM_UP:.0f} s warm-up"
    )
    per_minute = ", ".join(f"{x:,.0f}" for x in r.rate_minutes)
    print(f"  frames sent      {sent / span:,.0f}/s  (per minute: {per_minute})")
    print(f"  publisher tick   {r.tick * 1000:.2f} ms at the end (steered to the rate)")
    print(f"  frames received  {sum(received.values()) / span:,.0f}/s")
    for v, n in received.items():
        print(f"    {v:<9} {n / span:7,.0f}/s received, {r.sent.get(v, 0) / span:7,.0f}/s sent")
    minutes = ", ".join(f"{c:.0f}" for c in r.cpu_minutes)
    verdict = "meets" if r.cpu < 50 else "MISSES"
    print(f"  CPU              {r.cpu:.1f} % of one core (target < 50 %: {verdict})")
    print(f"    per minute     {minutes} %")
    print(
        f"    threads        event loop {r.loop_cpu:.1f} %, "
        f"others {r.cpu - r.loop_cpu:.1f} % (the SQLite driver's thread, executors)"
    )
    print(
        f"    waiting        the event loop waited for a CPU {r.queued:.1f} % of the time; "
        f"machine load average {r.load[0]:.2f}, {r.load[1]:.2f}, {r.load[2]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(f"    load generator {r.bench_cpu:.1f} % of one core (simulator + sinks, this process)")
    drift = r.rss["end"] - r.rss["start"]
    verdict = "meets" if r.rss_peak < 130 else "MISSES"
    print(f"  RSS start        {r.rss['start']:.1f} MiB")
    print(f"  RSS middle       {r.rss.get('middle', math.nan):.1f} MiB")
    print(f"  RSS end          {r.rss['end']:.1f} MiB  ({drift:+.1f} MiB)")
    print(f"  RSS peak         {r.rss_peak:.1f} MiB  (target < 130 MB: {verdict})")
    buckets = {
        le: b.eval_buckets.get(le, 0.0) - a.eval_buckets.get(le, 0.0) for le in b.eval_buckets
    }
    n = b.eval_count - a.eval_count
    mean = (b.eval_sum - a.eval_sum) / n if n else math.nan
    print(f"  evaluation       {n:,.0f} observations, mean {mean * 1000:.1f} ms")
    print(f"    p50            {quantile(0.50, buckets) * 1000:.1f} ms  (bucket estimate)")
    print(f"    p99            {quantile(0.99, buckets) * 1000:.1f} ms  (bucket estimate)")
    total = buckets.get(math.inf, 0.0)
    if total:
        shares = ", ".join(
            f"≤{le * 1000:g} ms {100 * buckets[le] / total:.1f} %"
            for le in sorted(buckets)
            if not math.isinf(le) and le >= 0.05
        )
        print(f"    cumulative     {shares}")
    cycles = b.cycle_count - a.cycle_count
    cmean = (b.cycle_sum - a.cycle_sum) / cycles if cycles else math.nan
    cb = {le: b.cycle_buckets.get(le, 0.0) - a.cycle_buckets.get(le, 0.0) for le in b.cycle_buckets}
    print(
        f"  cycles           {cycles / span:.1f}/s, mean {cmean * 1000:.1f} ms each, "
        f"p99 {quantile(0.99, cb) * 1000:.0f} ms (bucket estimate)"
    )
    print(
        f"  history writer   {b.buffered:,.0f} rows waiting at the end "
        f"({a.buffered:,.0f} at the start), {b.dropped - a.dropped:,.0f} dropped (buffer full)"
    )
    print(
        f"  malformed {b.malformed - a.malformed:.0f}, "
        f"reconnects {b.reconnects - a.reconnects:.0f}, "
        f"alerts {b.alerts:.0f} (messages at the sinks {r.alerts_seen}); "
        f"daemon log {r.log_lines} lines; exit code {r.exit}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="measured span (300)")
    parser.add_argument("--rate", type=float, default=5000.0, help="frames/s in total (5000)")
    args = parser.parse_args()
    report(asyncio.run(measure(args.seconds, args.rate)), args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
