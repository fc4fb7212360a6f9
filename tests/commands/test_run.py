"""`depeg-monitor run` as systemd runs it: SIGHUP (`systemctl reload`) re-reads the file,
tells systemd RELOADING=1 then READY=1, and logs what changed with its secrets masked."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from depeg_monitor.clock import SystemClock
from depeg_monitor.simulate import SimulatedMarket, load_scenario

from ..waiting import eventually

REPO = Path(__file__).parents[2]
HOOK_TOKEN = "hooktoken0123456789"  # a webhook URL's secret part, added by the reload


def config(urls: dict[str, str], major: float, hook: bool = False) -> str:
    venues = "".join(
        f'[venues.{v}]\nbase_url = "{urls[v]}"\npoll_interval = 1\nmarkets = ["USDT/USD"]\n'
        for v in ("kraken", "bitstamp")
    )
    channel = (
        f'[channels.hook]\nurl = "json://127.0.0.1:9/{HOOK_TOKEN}"\nseverities = ["critical"]\n'
        if hook
        else ""
    )
    return f"""
[coins.USDT]
{venues}
[classification]
thresholds = {{ minor = 0.005, major = {major}, critical = 0.03 }}
[channels.console]
type = "console"
severities = ["minor", "major", "critical"]
{channel}
[health]
port = 0
[logging]
format = "json"
"""


def log_events(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


async def test_sighup_reloads_and_tells_systemd(tmp_path: Path) -> None:
    """A good file after SIGHUP: RELOADING=1 (with MONOTONIC_USEC) and READY=1 reach the
    notify socket, the log's one summary line names the new threshold and channel without the
    webhook's token; a bad file after another SIGHUP is refused and the daemon runs on and
    still stops cleanly."""
    market = SimulatedMarket(load_scenario(REPO / "scenarios" / "calm.toml"), SystemClock())
    await market.start()
    cfg, out = tmp_path / "config.toml", tmp_path / "daemon.log"
    cfg.write_text(config(market.base_urls(), 0.015))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.setblocking(False)
    messages: list[str] = []

    def drain() -> list[str]:
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except BlockingIOError:
                return messages

    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEG_")}
    env.update(
        NOTIFY_SOCKET=str(tmp_path / "notify.sock"),
        STATE_DIRECTORY=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    with out.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "depeg_monitor", "run", "--config", str(cfg),
            env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        await eventually(lambda: any(m.startswith("READY=1") for m in drain()), 60, "READY=1")
        messages.clear()
        cfg.write_text(config(market.base_urls(), 0.01, hook=True))
        proc.send_signal(signal.SIGHUP)
        await eventually(
            lambda: any(m.startswith("READY=1") for m in drain()), 30, "READY=1 after reload"
        )
        reloading = [m for m in messages if m.startswith("RELOADING=1")]
        assert len(reloading) == 1 and "\nMONOTONIC_USEC=" in reloading[0]
        assert messages.index(reloading[0]) < next(
            i for i, m in enumerate(messages) if m.startswith("READY=1")
        )
        await eventually(
            lambda: any(e["event"] == "config_reloaded" for e in log_events(out)), 10, "summary"
        )

        cfg.write_text(
            config(market.base_urls(), 0.015).replace("[coins.USDT]", "[coins.USDT]\npeg = -1")
        )
        proc.send_signal(signal.SIGHUP)
        await eventually(
            lambda: any(e["event"] == "config_reload_refused" for e in log_events(out)),
            30,
            "the refusal",
        )
        assert proc.returncode is None
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        sock.close()
        await market.stop()

    events = log_events(out)
    (summary,) = [e for e in events if e["event"] == "config_reloaded"]
    changed = summary["changed"]
    assert isinstance(changed, list)
    assert "classification.thresholds.major: 0.015 → 0.01" in changed
    assert "channels.hook: added" in changed
    problems = [e for e in events if e["event"] == "config_reload_problem"]
    assert [p["where"] for p in problems] == ["coins.USDT.peg"]
    assert "-1" in str(problems[0]["problem"])
    assert HOOK_TOKEN not in out.read_text()
