"""The real `depeg-monitor run` as a subprocess against the simulated market and local sinks.

Discord is a webhook sink (apprise json://), email a local SMTP server, SMS a Twilio stand-in;
scenarios play faster than written (time_scale) with holds shortened to match.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import depeg_bench_stage as stage  # registered by tests/e2e/conftest.py (bench/_stage.py)
import pytest

from depeg_monitor.simulate import load_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).parents[2] / "scenarios"
# FRAX is quoted by coingecko alone, so it can never reach a quorum of two venues.
COINS = ["USDT", "USDC", "DAI", "FDUSD", "PYUSD", "USDE", "TUSD"]
SVB_SCALE = 10.0


def svb_config(**overrides: Any) -> Any:
    """config.example.toml's holds divided by SVB_SCALE (clear hold shortened further)."""
    settings: dict[str, Any] = {
        "coins": COINS,
        "poll_interval": 1.0,
        "hold_minor": 12.0,
        "hold_major": 3.0,
        "clear_hold": 20.0,
        "confirm_minor_hold": 12.0,
        "stale_after": 30.0,
    }
    settings.update(overrides)
    return stage.StageConfig(**settings)


class HealthLog:
    """Samples /health in the background: (scenario time, HTTP status, report)."""

    def __init__(self, st: Any, every: float = 0.5) -> None:
        self.samples: list[tuple[float, int, dict[str, Any]]] = []
        self._st = st
        self._every = every

    async def run(self) -> None:
        while True:
            try:
                code, report = await self._st.health()
                self.samples.append((self._st.market.scenario_time(), code, report))
            except Exception as e:  # the daemon restarting: record the gap, keep sampling
                self.samples.append((self._st.market.scenario_time(), 0, {"error": repr(e)}))
            await asyncio.sleep(self._every)


@asynccontextmanager
async def sampling(st: Any) -> AsyncIterator[HealthLog]:
    hl = HealthLog(st)
    task = asyncio.create_task(hl.run())
    try:
        yield hl
    finally:
        task.cancel()


def coin_items(messages: list[Any], coin: str) -> list[tuple[str, str]]:
    """(SEVERITY, why) of one coin across messages, in arrival order."""
    return [(sev, why) for m in messages for c, sev, why in m.items() if c == coin]


def _resolved(coin: str) -> Any:
    return lambda m: m.title.lstrip("✅ ").startswith("Resolved:") and f"{coin} $" in m.title


@pytest.mark.parametrize("streams", [False, True], ids=["polling", "streams"])
async def test_svb_alerts_each_severity_once_on_its_channels_then_resolves(
    tmp_path: Path, streams: bool
) -> None:
    """The SVB weekend yields USDC minor → major → critical → resolved, each once, routed by
    severity (minor: Discord; major: + email; critical: + SMS), and /health never fails —
    the same messages whether the venues are polled or stream."""
    scenario = load_scenario(SCENARIOS / "svb.toml").with_time_scale(SVB_SCALE)
    async with stage.Stage(tmp_path, scenario) as st:
        daemon = await st.start_daemon(st.write_config(svb_config(streams=streams)))
        st.restart_scenario_clock()
        async with sampling(st) as health:
            for channel in ("discord", "email", "sms"):
                await st.wait_messages(1, channel, timeout=120, where=_resolved("USDC"))
            # DAI recovers on its own clock: its resolved may come after USDC's.
            await st.wait_messages(1, "discord", timeout=60, where=_resolved("DAI"))
            await asyncio.sleep(1.5)  # room for a duplicate to show up
        assert await daemon.terminate() == 0

    inbox = st.inbox
    assert coin_items(inbox.on("discord"), "USDC") == [
        ("MINOR", "new"),
        ("MAJOR", "escalated"),
        ("CRITICAL", "escalated"),
        ("CRITICAL", "resolved"),
    ]
    assert coin_items(inbox.on("email"), "USDC") == [
        ("MAJOR", "escalated"),
        ("CRITICAL", "escalated"),
        ("CRITICAL", "resolved"),
    ]
    sms = [m.title for m in inbox.on("sms") if "USDC $" in m.title]
    assert [t.split(" ")[0] for t in sms] == ["CRITICAL", "Resolved:"]
    # DAI follows USDC part of the way: its notices only rise, never repeat, and resolve.
    dai = coin_items(inbox.on("discord"), "DAI")
    assert ("CRITICAL", "new") in dai or ("CRITICAL", "escalated") in dai
    assert len(set(dai)) == len(dai) and dai[-1][1] == "resolved"
    named = {c for m in inbox.messages for c, _, _ in m.items()}
    assert named <= {"USDC", "DAI"}
    statuses = {(code, report.get("status")) for _, code, report in health.samples}
    assert statuses <= {(200, "pass"), (200, "warn")}, statuses
    # The SMTP password and the Twilio token never reach the log, /health or the database.
    seen = (
        daemon.log_path.read_text(errors="replace"),
        json.dumps([report for _, _, report in health.samples]),
        *(
            f.read_bytes().decode(errors="replace")
            for f in st.db_path.parent.glob(st.db_path.name + "*")  # the file and its WAL
        ),
    )
    for secret in ("stage-pass", stage.TWILIO_TOKEN):
        assert not any(secret in text for text in seen), secret


async def test_single_venue_faults_raise_no_alert_and_health_names_the_bad_venue(
    tmp_path: Path,
) -> None:
    """A wild print, a dead venue, a 429 storm and garbage, one venue at a time, alert no one;
    while a venue misbehaves /health still answers 200 but names it with the reason."""
    scale = 6.0
    scenario = load_scenario(SCENARIOS / "single-venue-faults.toml").with_time_scale(scale)
    async with stage.Stage(tmp_path, scenario) as st:
        # REST faults, so REST at its normal pace: with a healthy stream a venue is polled only
        # every 30 s (stream faults: tests/collect/test_stream_venues.py).
        cfg = svb_config(hold_minor=20.0, hold_major=5.0, confirm_minor_hold=20.0, streams=False)
        daemon = await st.start_daemon(st.write_config(cfg))
        st.restart_scenario_clock()
        async with sampling(st) as health:
            await asyncio.sleep(scenario.duration / scale + 3)
        assert await daemon.terminate() == 0

    assert st.inbox.messages == []
    assert {code for _, code, _ in health.samples} == {200}

    def named_while_bad(venue: str, start: float, end: float) -> list[str]:
        """Reasons /health gave for the venue while its fault (plus two polls) was on."""
        reasons = []
        for t, _, report in health.samples:
            check = stage.health_check(report, f"venue:{venue}") or {}
            if start <= t <= end + 2 * scale and check.get("status") == "warn":
                reasons.append(str(check.get("output")))
        return reasons

    for venue, start, end in [
        ("bitstamp", 80, 140),
        ("binance", 160, 200),
        ("okx", 220, 250),
    ]:  # gemini's 20 s of HTTP 500 is shorter than its stretched 3.3 s poll at this scale
        assert named_while_bad(venue, start, end), f"/health never named {venue}"
    # Outside its fault a venue passes: the warnings are about the fault, not noise.
    late = [r for t, _, r in health.samples if t > 300 + 2 * scale]
    assert late and all(
        (stage.health_check(r, "venue:bitstamp") or {}).get("status") == "pass" for r in late
    )


async def test_kill_9_mid_event_then_restart_neither_repeats_nor_forgets(tmp_path: Path) -> None:
    """Killed with Discord down (its notices pending) and an e-mail in flight (taken by the
    server, not yet answered), the restarted daemon delivers Discord's notices exactly once, the
    e-mail at most once more, escalates (not 'new') to critical, and resolves everywhere."""
    scenario = load_scenario(SCENARIOS / "svb.toml").with_time_scale(SVB_SCALE)
    async with stage.Stage(tmp_path, scenario) as st:
        config = st.write_config(svb_config())
        first = await st.start_daemon(config)
        st.restart_scenario_clock()
        st.inbox.webhook_statuses = [503] * 10_000  # Discord is down: its notices wait
        st.inbox.delays["email"] = 600.0  # the mail server takes the message, never answers

        def minor_fired() -> bool:
            return any(
                line.get("event") == "alert" and line.get("severity") == "minor"
                for line in first.log_lines()
            )

        async def email_in_flight() -> bool:
            return minor_fired() and len(st.inbox.on("email")) >= 1

        await stage.wait_until(email_in_flight, 90, what="an e-mail in flight")
        await asyncio.sleep(0.5)
        await first.kill()
        assert st.inbox.on("discord") == []
        st.inbox.webhook_statuses = []  # Discord is back
        st.inbox.delays.clear()  # and the mail server answers again

        second = await st.start_daemon(config)
        for channel in ("discord", "email", "sms"):
            await st.wait_messages(1, channel, timeout=120, where=_resolved("USDC"))
        await asyncio.sleep(1.5)
        assert await second.terminate() == 0

    inbox = st.inbox
    usdc = coin_items(inbox.on("discord"), "USDC")
    assert usdc[0] == ("MINOR", "new") and usdc.count(("MINOR", "new")) == 1
    assert ("CRITICAL", "escalated") in usdc and ("CRITICAL", "new") not in usdc
    assert usdc[-1] == ("CRITICAL", "resolved") and usdc.count(("CRITICAL", "resolved")) == 1
    assert len(set(usdc)) == len(usdc)  # nothing Discord missed came twice
    mail = coin_items(inbox.on("email"), "USDC")
    first_mail = mail[0]
    assert 1 <= mail.count(first_mail) <= 2  # in flight at the kill: at most one duplicate
    assert len(mail) - len(set(mail)) <= 1
    assert mail[-1] == ("CRITICAL", "resolved")
    sms = [m.title for m in inbox.on("sms")]
    assert len(sms) == len(set(sms))
    assert any(e.get("event") == "outbox_resumed" for e in second.log_lines())


async def test_every_venue_down_fails_health_and_sends_monitor_degraded(tmp_path: Path) -> None:
    """When every venue goes dark, /health answers 503 'fail' naming the venues, and after
    the self-watch grace the 'monitor degraded' alert reaches the channels; no depeg alert."""
    scenario = load_scenario(SCENARIOS / "all-down.toml").with_time_scale(30.0)  # dark after 3 s
    async with stage.Stage(tmp_path, scenario) as st:
        daemon = await st.start_daemon(st.write_config(svb_config(degraded_after=10.0)))
        st.restart_scenario_clock()

        async def failing() -> bool:
            code, report = await st.health()
            return code == 503 and report["status"] == "fail"

        await stage.wait_until(failing, 30, what="/health to fail")
        _, report = await st.health()
        assert report["checks"]["venues:status"][0]["status"] == "fail"
        degraded = await st.wait_messages(
            1, "discord", timeout=60, where=lambda m: "depeg-monitor degraded" in m.title
        )
        await st.wait_messages(1, "sms", timeout=10)
        assert await daemon.terminate() == 0

    assert "every venue is failing" in degraded[0].title + degraded[0].body
    assert all("depeg:" not in m.title for m in st.inbox.messages)


async def test_sigterm_exits_zero_promptly_with_the_last_rows_written(tmp_path: Path) -> None:
    """SIGTERM ends the daemon with exit code 0 well inside systemd's stop timeout, and the
    prices of its last seconds are in the SQLite file (a final flush, not a periodic one)."""
    scenario = load_scenario(SCENARIOS / "calm.toml")
    async with stage.Stage(tmp_path, scenario) as st:
        cfg = svb_config(db_flush_interval=600.0, db_batch_size=1_000_000)
        daemon = await st.start_daemon(st.write_config(cfg))
        await asyncio.sleep(4)
        stopped_at = time.time()
        t0 = time.monotonic()
        assert await daemon.terminate(timeout=30) == 0
        took = time.monotonic() - t0

    assert took < 12, f"took {took:.1f}s to stop"
    with sqlite3.connect(st.db_path) as db:
        (count, last) = db.execute("SELECT count(*), max(ts) FROM quotes").fetchone()
        (aggregates,) = db.execute("SELECT count(*) FROM aggregates").fetchone()
    assert count > 0 and aggregates > 0
    last_ts = datetime.fromisoformat(last)
    if last_ts.tzinfo is None:  # SQLite keeps the text; the daemon writes UTC
        last_ts = last_ts.replace(tzinfo=UTC)
    assert last_ts.timestamp() > stopped_at - 2.5
