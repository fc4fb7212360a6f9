"""USDT moving on its USDT pairs one poll before its USD markets: the real `depeg-monitor run`
against the simulated market pages USDT alone, however the move falls between the polls.

scenarios/usdt-lead.toml is the issue's reproduction (USDT to 0.95, every */USDT pair up by
1/0.95 one 4 s poll before USDT/USD follows); here its step is replayed several times, each at
another phase of the 1 s poll schedule, with the USD markets of USDT lagging by one poll.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import depeg_bench_stage as stage  # registered by tests/e2e/conftest.py (bench/_stage.py)
import pytest

from depeg_monitor.simulate import Scenario, parse_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parents[2] / "scenarios"
# FRAX is quoted by coingecko alone, so it can never reach a quorum of two venues.
COINS = ["USDT", "USDC", "DAI", "FDUSD", "PYUSD", "USDE", "TUSD"]
OTHERS = [c for c in COINS if c != "USDT"]
POLL = 1.0
RUNS = 6
CALM, HELD, AFTER = 2.0, 4.0, 3.0  # seconds before the step (plus its phase), down, back up


def repeated(runs: int, phases: list[float]) -> tuple[Scenario, list[float]]:
    """usdt-lead.toml's USDT step, `runs` times, each after a calm lengthened by its phase (a
    fraction of the poll), the USD markets of USDT one poll behind. Returns the step times."""
    data: dict[str, Any] = tomllib.loads((SCENARIOS / "usdt-lead.toml").read_text())
    segments: list[dict[str, Any]] = []
    steps: list[float] = []
    t = 0.0
    for k in range(runs):
        calm = CALM + phases[k] * POLL
        steps.append(t + calm)
        segments += [
            {"kind": "calm", "duration": calm},
            {"kind": "move", "to": 0.95, "duration": 0.01},
            {"kind": "hold", "duration": HELD},
            {"kind": "move", "to": 1.0, "duration": 0.01},
            {"kind": "calm", "duration": AFTER},
        ]
        t += calm + 0.02 + HELD + AFTER
    data["coins"]["USDT"]["segments"] = segments
    data["scenario"]["duration"] = t
    data["lags"] = {"USDT/USD": POLL, "USDT/USDC": POLL}
    return parse_scenario(data, f"usdt-lead.toml × {runs}"), steps


def named(message: Any) -> set[str]:
    """The coins a notice is about: those its title names, and its body's per-coin lines."""
    in_title = {c for c in COINS if re.search(rf"\b{c}\b", message.title)}
    return in_title | {coin for coin, _, _ in message.items()}


async def test_usdt_pairs_leading_its_usd_markets_page_usdt_alone(tmp_path: Path) -> None:
    """Six times over, USDT falls to 0.95 on its USDT pairs a poll before USDT/USD follows:
    each time USDT alone pages critical (within two polls of its USD markets showing it) and
    resolves — no notice ever names USDC, DAI, FDUSD, PYUSD, USDE or TUSD."""
    seed = random.randrange(2**32)
    base = random.Random(seed).random()
    phases = [(base + k * 0.618034) % 1.0 for k in range(RUNS)]  # spread over the poll
    scenario, steps = repeated(RUNS, phases)
    started = time.monotonic()
    async with stage.Stage(tmp_path, scenario) as st:
        cfg = stage.StageConfig(
            coins=COINS,
            poll_interval=POLL,
            # Short holds, so a coin wrongly off its peg for even two seconds would be heard.
            hold_minor=2.0,
            confirm_minor_hold=2.0,
            hold_major=1.0,
            hold_critical=0.0,
            clear_hold=1.0,
            stale_after=60.0,
        )
        st.market.started_at = time.time() + 1e9  # the market holds at scenario time 0 …
        daemon = await st.start_daemon(st.write_config(cfg))
        await asyncio.sleep(3 * POLL)  # … while every venue is polled: references warm
        st.restart_scenario_clock()
        shown = [st.market.wall_time(t + POLL) for t in steps]  # USDT/USD at 0.95 from here
        await asyncio.sleep(max(0.0, st.market.wall_time(scenario.duration) - time.time()))
        await asyncio.sleep(2 * POLL)  # the last resolution, and room for anything late
        assert await daemon.terminate() == 0
    took = time.monotonic() - started

    context = f"(seed {seed}, phases {[round(p, 2) for p in phases]}, {took:.0f} s)"
    messages = st.inbox.messages
    wrong = [(m.channel, m.title) for m in messages if named(m) - {"USDT"}]
    assert wrong == [], f"notices about coins that never moved {context}: {wrong}"
    pages = [m.at for m in st.inbox.on("discord") if "CRITICAL depeg: USDT" in m.title]
    for k, at in enumerate(shown):
        until = shown[k + 1] if k + 1 < len(shown) else float("inf")
        first = [p for p in pages if at - POLL <= p < until]
        assert first, f"run {k + 1}: no USDT critical page {context}"
        assert first[0] - at <= 2 * POLL + 1.0, f"run {k + 1}: late {first[0] - at:.2f} s {context}"
    assert sum("Resolved: USDT" in m.title for m in st.inbox.on("discord")) == RUNS, context
    assert len([m for m in st.inbox.on("sms") if "USDT" in m.title]) >= RUNS, context
