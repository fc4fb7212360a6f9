"""Two venues disagree: the real daemon against scenarios/two-venue-dislocation.toml.

Kraken's USDC crashes alone to 0.65 while Bitstamp (more volume) holds, then both fall to
0.90. The lone crash must be a dislocation notice, never a major or critical page; both
falling must page critical within one poll.
"""

from __future__ import annotations

from pathlib import Path

import depeg_bench_stage as stage  # registered by tests/e2e/conftest.py (bench/_stage.py)
import pytest

from depeg_monitor.simulate import load_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parents[2] / "scenarios"
SCALE = 6.0  # scenario seconds per wall second
BOTH_FALL = 240.0  # scenario time both venues start to fall (the file's timeline) …
BOTH_CROSS_CRITICAL = 243.0  # … and pass 0.97


async def test_a_lone_venue_crash_is_a_dislocation_and_both_falling_is_critical_at_once(
    tmp_path: Path,
) -> None:
    """While Kraken alone is at 0.65 the monitor sends a dislocation notice naming Kraken and
    no major or critical; when Bitstamp falls too, critical arrives within about one poll."""
    scenario = load_scenario(SCENARIOS / "two-venue-dislocation.toml").with_time_scale(SCALE)
    async with stage.Stage(tmp_path, scenario) as st:
        config = st.write_config(
            stage.StageConfig(
                coins=["USDT", "USDC", "DAI", "PYUSD"],
                venues=["kraken", "bitstamp"],
                poll_interval=1.0,
                hold_minor=20.0,
                hold_major=5.0,
                clear_hold=50.0,
                confirm_minor_hold=20.0,
                dislocation_hold=60.0 / SCALE,
                stale_after=30.0,
            )
        )
        daemon = await st.start_daemon(config)
        st.restart_scenario_clock()

        def critical(m: stage.Received) -> bool:
            return "CRITICAL" in m.title and "USDC" in m.title

        [page] = (await st.wait_messages(1, "discord", timeout=120, where=critical))[:1]
        both_fall = st.market.wall_time(BOTH_FALL)
        lone = [m for m in st.inbox.messages if m.at < both_fall]
        assert await daemon.terminate() == 0

    notices = [m for m in lone if "dislocation" in m.title.lower()]
    assert notices and "kraken" in notices[0].title, [m.title for m in lone]
    assert not any(sev in m.title for m in lone for sev in ("MAJOR", "CRITICAL")), [
        (m.channel, m.title) for m in lone
    ]
    delay = page.at - st.market.wall_time(BOTH_CROSS_CRITICAL)
    assert delay < 2.5, f"critical {delay:.2f} s after both venues crossed 3 %"
