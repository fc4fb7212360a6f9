"""`depeg-monitor simulate`: serves a scenario until interrupted; a bad file is refused clearly."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from depeg_monitor.cli import main

ROOT = Path(__file__).parents[2]


def test_bad_scenario_exits_2_with_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario with a mistake prints where the mistake is and exits 2, without a traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nduration = -5\n[[faults]]\nvenue = "nyse"\nkind = "down"\n')
    assert main(["simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "scenario.duration" in err
    assert "Traceback" not in err


async def test_serves_until_interrupted_and_prints_base_urls() -> None:
    """The command prints one base URL per venue, answers on it, and exits 0 on Ctrl-C."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "depeg_monitor",
        "simulate",
        str(ROOT / "scenarios" / "calm.toml"),
        "--time-scale",
        "5",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    try:
        async with asyncio.timeout(20):
            while len(urls) < 9:
                line = (await proc.stdout.readline()).decode()
                assert line, "the command ended before printing its URLs"
                m = re.search(r"DEPEG_VENUES__(\w+)__BASE_URL=(\S+)", line)
                if m:
                    urls[m.group(1).lower()] = m.group(2)
        async with (
            aiohttp.ClientSession() as http,
            http.get(urls["coinbase"] + "/products/USDT-USD/ticker") as r,
        ):
            assert r.status == 200
            assert float(json.loads(await r.text())["price"]) == pytest.approx(1.0, abs=0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rc = await proc.wait()
    assert rc == 0
    assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
