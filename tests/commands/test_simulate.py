"""`depeg-monitor simulate`: the announcement that points a configuration at the market, and
addresses it cannot listen on, through the real command line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from depeg_monitor.cli import main

SCENARIO = """
[scenario]
name = "two-down"
duration = 60
[venues.kucoin]
enabled = false
"""

CONFIG = """
[coins.USDC]
[venues.kraken]
markets = ["USDC/USD"]
[venues.kucoin]
markets = ["USDC/USDT"]
[venues.binance]
enabled = false
markets = ["USDC/USDT"]
"""


async def _announcement(argv: list[str]) -> tuple[list[str], int]:
    """Start `simulate`, read what it prints until it says how long the scenario lasts, stop it
    with Ctrl-C; the lines and the exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPEG_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "depeg_monitor", *argv,
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not lines or not lines[-1].startswith("scenario lasts"):
                raw = await proc.stdout.readline()
                assert raw, f"simulate ended early: {lines}"
                lines.append(raw.decode().rstrip("\n"))
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    return lines, code


@pytest.mark.parametrize("first", [False, True], ids=["after", "before"])
async def test_with_a_config_it_points_exactly_that_configs_venues_at_the_market(
    tmp_path: Path, first: bool
) -> None:
    """`simulate X --config C` prints the variables for C's enabled venues only (REST and
    stream), and names an
    enabled venue the scenario does not serve (the monitor would poll the real exchange)."""
    scenario, cfg = tmp_path / "two-down.toml", tmp_path / "config.toml"
    scenario.write_text(SCENARIO)
    cfg.write_text(CONFIG)
    args = ["simulate", str(scenario), "--port", "0"]
    argv = ["--config", str(cfg), *args] if first else [*args, "--config", str(cfg)]
    lines, code = await _announcement(argv)
    assert code == 0
    exports = [line.split()[1].split("=")[0] for line in lines if line.startswith("  export ")]
    assert exports == ["DEPEG_VENUES__KRAKEN__BASE_URL", "DEPEG_VENUES__KRAKEN__STREAM_URL"]
    (missing,) = [line for line in lines if line.startswith("not simulated:")]
    assert missing.startswith("not simulated: kucoin — the monitor would poll the real exchange")


async def test_without_a_config_every_served_venue_is_printed(tmp_path: Path) -> None:
    """Without --config the variables cover every venue the scenario serves, and the stream of
    each one that streams (all but coingecko)."""
    scenario = tmp_path / "two-down.toml"
    scenario.write_text(SCENARIO)
    lines, code = await _announcement(["simulate", str(scenario)])
    assert code == 0
    exports = [line for line in lines if line.startswith("  export ")]
    assert not any("KUCOIN" in line for line in exports)
    assert sum("__BASE_URL=" in line for line in exports) == 8
    assert sum("__STREAM_URL=ws://" in line for line in exports) == 7
    (node,) = [line for line in exports if "DEPEG_CHAINS__" in line]
    assert node.startswith("  export DEPEG_CHAINS__ETHEREUM__RPC_URL=http://127.0.0.1:")
    assert node.endswith("/ethereum")
    assert not any(line.startswith("not simulated:") for line in lines)


async def test_a_config_with_a_chain_is_pointed_at_the_simulated_node(tmp_path: Path) -> None:
    """A configuration's [chains.ethereum] gets the node's RPC URL (without one, as above,
    no chain line)."""
    scenario, cfg = tmp_path / "two-down.toml", tmp_path / "config.toml"
    scenario.write_text(SCENARIO)
    cfg.write_text(CONFIG + "[chains.ethereum]\n")
    lines, code = await _announcement(["simulate", str(scenario), "--config", str(cfg)])
    assert code == 0
    exports = [line.split()[1].split("=")[0] for line in lines if line.startswith("  export ")]
    assert exports == [
        "DEPEG_VENUES__KRAKEN__BASE_URL",
        "DEPEG_VENUES__KRAKEN__STREAM_URL",
        "DEPEG_CHAINS__ETHEREUM__RPC_URL",
    ]


def test_a_busy_port_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A port someone else listens on is said in one line, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulate", "calm", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"simulate: cannot listen on 127.0.0.1:{port}: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_a_scenario_file_that_is_not_text_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A binary file given as the scenario is refused in one line, exit 2."""
    scenario = tmp_path / "binary.toml"
    scenario.write_bytes(b"\xff\xfe\x00")
    argv = (
        [command, str(scenario)]
        if command == "simulate"
        else [command, "--scenario", str(scenario)]
    )
    assert main(argv) == 2
    assert capsys.readouterr().err == f"invalid scenario {scenario}: not UTF-8 text\n"


def test_a_bad_config_is_refused_before_anything_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A configuration that does not load is its problems and exit 2, as for every command."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[venues.kraken]\nmarkets = ['USDCUSD']\n")
    with pytest.raises(SystemExit) as e:
        main(["simulate", "calm", "--config", str(cfg)])
    assert e.value.code == 2
    assert "venues.kraken.markets" in capsys.readouterr().err
