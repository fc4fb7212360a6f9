"""Benchmark: what starting a command costs (wall time, peak memory, modules imported), and
the daemon's steady memory with and without delivery channels.

Run: .venv/bin/python bench/startup.py [--runs 5] [--settle 30] [--skip-daemon]

Each command runs in a fresh process (`depeg-monitor` beside this interpreter, else
`python -m depeg_monitor`), --runs times; the best wall time and the lowest peak RSS
(GNU time's %M, /usr/bin/time) are printed, with the number of modules the process imported (the
lines of `-X importtime`, via PYTHONPROFILEIMPORTTIME). `status` reads a temporary SQLite file
made by `db upgrade`. A bare interpreter is measured the same way for comparison.

The daemon (`depeg-monitor run`, config.example.toml's coins and venues polled every 10 s on
the simulated calm market, see bench/_stage.py) is started twice: with the discord (apprise
json://), email (apprise mailto://) and sms (Twilio) channels, then with the console channel
only. VmRSS is read --settle seconds after /health first answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import _stage as stage  # bench/ is sys.path[0] when run as a script

from depeg_monitor.simulate import load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "config.example.toml")
POLL = 10.0  # config.example.toml's poll interval
GNU_TIME = "/usr/bin/time"  # reports a child's own peak RSS (%M)


@dataclass(frozen=True)
class Figures:
    wall_s: float
    peak_rss_mib: float
    modules: int


def _command() -> list[str]:
    script = Path(sys.executable).with_name("depeg-monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "depeg_monitor"]


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEG_")}
    env.update(extra)
    return env


def _once(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stderr) of one run; an exit code other than 0 raises.

    The peak is GNU time's %M: a child spawned from this (large) process would report this
    process's memory as its own peak, since Linux keeps the high-water mark across exec.
    """
    with tempfile.NamedTemporaryFile("r", prefix="depeg-time-") as report:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [GNU_TIME, "-q", "-f", "%M", "-o", report.name, *argv],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.perf_counter() - t0
        peak_kib = int(report.read().split()[-1])
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    return wall, peak_kib / 1024, err


def measure(argv: Sequence[str], env: Mapping[str, str], runs: int) -> Figures:
    samples = [_once(argv, env) for _ in range(runs)]
    _, _, trace = _once(argv, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    modules = sum(
        1 for line in trace.splitlines() if line.startswith("import time:") and "|" in line
    )
    return Figures(
        wall_s=min(s[0] for s in samples),
        peak_rss_mib=min(s[1] for s in samples),
        modules=modules - 1,  # the header line
    )


def cli_figures(runs: int) -> dict[str, Figures]:
    cmd = _command()
    out: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="depeg-startup-") as tmp:
        env = _clean_env({"STATE_DIRECTORY": tmp})
        _once([*cmd, "db", "upgrade", "--config", EXAMPLE], env)
        out["python -c pass (bare interpreter)"] = measure(
            [sys.executable, "-c", "pass"], env, runs
        )
        out["depeg-monitor --version"] = measure([*cmd, "--version"], env, runs)
        out["depeg-monitor --help"] = measure([*cmd, "--help"], env, runs)
        out["depeg-monitor check-config"] = measure(
            [*cmd, "check-config", "--config", EXAMPLE], env, runs
        )
        out["depeg-monitor status"] = measure([*cmd, "status", "--config", EXAMPLE], env, runs)
    return out


class _ConsoleOnlyStage(stage.Stage):
    """The stage without channel secrets in the environment, so no channel is added by it."""

    def env(self) -> dict[str, str]:
        return {
            k: v
            for k, v in super().env().items()
            if not k.startswith(("DEPEG_CHANNELS__", "TWILIO_"))
        }


async def daemon_rss(with_channels: bool, settle: float) -> float:
    """VmRSS (MiB) of `depeg-monitor run` settle seconds after it first answers /health."""
    scenario = load_scenario(ROOT / "scenarios/calm.toml")
    kind = stage.Stage if with_channels else _ConsoleOnlyStage
    with tempfile.TemporaryDirectory(prefix="depeg-startup-") as tmp:
        async with kind(Path(tmp), scenario) as st:
            cfg = stage.StageConfig(poll_interval=POLL)
            data = stage.build_config(cfg, st.market.base_urls(), st.health_port, st.twilio_base)
            if not with_channels:
                data["channels"] = {"console": {"type": "console"}}
                data["alerts"]["routes"] = {
                    sev: [{"channels": ["console"]}] for sev in ("minor", "major", "critical")
                }
            path = Path(tmp) / "config.toml"
            path.write_text(stage.toml_dumps(data))
            daemon = await st.start_daemon(path)
            await asyncio.sleep(settle)
            rss = stage.proc_kib(daemon.pid, "VmRSS")
            await daemon.terminate()
    if rss is None:
        raise RuntimeError("the daemon was gone before its memory was read")
    return rss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command, best kept (5)")
    parser.add_argument("--settle", type=float, default=30.0, help="daemon warm-up, s (30)")
    parser.add_argument("--skip-daemon", action="store_true", help="only the commands")
    args = parser.parse_args()
    print(f"start-up, best of {args.runs} fresh processes ({' '.join(_command())}):")
    print(f"  {'command':<36} {'wall':>8} {'peak RSS':>10} {'modules':>8}")
    for name, f in cli_figures(args.runs).items():
        print(f"  {name:<36} {f.wall_s:>7.3f}s {f.peak_rss_mib:>6.1f} MiB {f.modules:>8}")
    if args.skip_daemon:
        return 0
    print(f"daemon (config.example.toml's coins and venues, poll {POLL:g} s, calm market):")
    for with_channels in (True, False):
        rss = asyncio.run(daemon_rss(with_channels, args.settle))
        what = "discord + email + sms channels" if with_channels else "console channel only"
        print(f"  VmRSS {args.settle:g} s after ready, {what:<31} {rss:6.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
