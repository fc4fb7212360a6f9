"""Restart recovery: folding the recorded rows gives back exactly the policy's own state.

A random life of three coins (levels up and down, minor confirmation by context or not, gaps
long enough for reminders, prices missing, silences, quiet hours, channels that cannot be
built) goes through AlertPolicy.decide cycle by cycle. Its alerts are turned into rows the way
the outbox records them; folding those rows must give export_state() after every cycle, a
policy restarted from them at any point must go on exactly like the live one, and the same
holds after a round trip through the alert history in a real SQLite file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depeg_monitor.alerts.policy import AlertPolicy, fold
from depeg_monitor.model import (
    Alert,
    Assessment,
    DeliveryStatus,
    EpisodeRow,
    Message,
    Severity,
    Silence,
    SnapshotContext,
)
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

COINS = ("USDC", "DAI", "FRAX")
# Whole seconds, so times survive the database's microsecond timestamps exactly.
START = {
    "monday 10:00": datetime(2023, 3, 13, 10, tzinfo=UTC).timestamp(),
    "friday 17:00": datetime(2023, 3, 10, 17, tzinfo=UTC).timestamp(),
    "saturday 03:00": datetime(2023, 3, 11, 3, tzinfo=UTC).timestamp(),
}
GAPS = (10.0, 60.0, 600.0, 900.0, 3600.0, 4 * 3600.0, 9 * 3600.0, 2 * 86400.0)
CONTEXTS = (
    SnapshotContext(),  # a bare minor: confirmed only once held long enough
    SnapshotContext(volume_spike=5.0),
    SnapshotContext(volume_spike=1.5, spread=0.001),  # below both tests
    SnapshotContext(spread=0.05, cheapest_venue="a", dearest_venue="b"),
    SnapshotContext(correlated=("USDT",)),
)
ROUTES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "defaults in New York": {"timezone": "America/New_York"},
    # Major only at night: escalations and firsts are held by day; critical round the clock.
    "night shift": {
        "routes": {
            "minor": [{"channels": ["discord"], "hours": "09:00-18:00", "weekdays_only": True}],
            "major": [{"channels": ["email"], "hours": "22:00-06:00"}],
            "critical": [{"channels": ["sms", "discord"]}],
        }
    },
}
AVAILABLE = (None, frozenset({"discord"}), frozenset({"email", "sms"}))


@dataclass(frozen=True)
class Seen:
    """One coin in one cycle: the classifier's level and what surrounds it."""

    severity: Severity
    priced: bool
    held_for: float
    context: SnapshotContext


@dataclass(frozen=True)
class Cycle:
    gap: float
    seen: tuple[Seen | None, ...]  # per coin; None: not assessed this cycle
    silenced: tuple[str | None, ...]  # coins silenced now (None: every coin)


seen = st.builds(
    Seen,
    st.sampled_from(list(Severity)),
    st.sampled_from([True] * 5 + [False]),  # now and then no price: neither fires nor resolves
    st.sampled_from([0.0, 120.0, 900.0]),
    st.sampled_from(CONTEXTS),
)
cycles = st.lists(
    st.builds(
        Cycle,
        st.sampled_from(GAPS),
        st.tuples(*(st.one_of(st.none(), seen) for _ in COINS)),
        st.sampled_from([(), ("USDC",), (None,), ("DAI", "FRAX")]),
    ),
    min_size=1,
    max_size=40,
)
lives = st.fixed_dictionaries(
    {
        "start": st.sampled_from(sorted(START)),
        "routes": st.sampled_from(sorted(ROUTES)),
        "available": st.sampled_from(AVAILABLE),
        "cycles": cycles,
    }
)


def batch(mk: Any, c: Cycle, now: float) -> tuple[list[Assessment], list[Silence]]:
    out = []
    for coin, s in zip(COINS, c.seen, strict=True):
        if s is None:
            continue
        a: Assessment = mk(coin, s.severity, now, 0.9, s.held_for, s.context)
        out.append(a if s.priced else dataclasses.replace(a, deviation=None))
    silences = [Silence(i, coin, now - 1, now + 1, "test") for i, coin in enumerate(c.silenced)]
    return out, silences


def as_recorded(alerts: Sequence[Alert]) -> list[EpisodeRow]:
    """What the outbox records of each alert: a row per item; its deliveries unless held."""
    return [
        EpisodeRow(
            i.coin,
            a.ts,
            i.kind,
            i.severity,
            a.suppressed,
            () if a.suppressed else a.channels,
            i.assessment.snapshot.deviation if i.assessment else None,
        )
        for a in alerts
        for i in a.items
    ]


def essence(alerts: Sequence[Alert]) -> list[tuple[object, ...]]:
    """An alert without its random id."""
    return [
        (
            a.ts,
            a.kind,
            a.severity,
            a.channels,
            a.suppressed,
            [(i.coin, i.kind, i.severity) for i in a.items],
        )
        for a in alerts
    ]


def live(mkpolicy: Any, cfg: Any, life: dict[str, Any]) -> AlertPolicy:
    p: AlertPolicy = mkpolicy(cfg(**ROUTES[life["routes"]]), life["available"])
    return p


HYPO = settings(
    max_examples=300,
    deadline=None,
    # The builders are plain functions: nothing carries over between examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@HYPO
@given(life=lives, cut=st.integers(min_value=0))
def test_folding_the_rows_gives_the_policy_state(
    mk: Any, cfg: Any, mkpolicy: Any, life: dict[str, Any], cut: int
) -> None:
    """After every cycle the recorded rows fold to the live state, and a policy restarted from
    them at any cycle alerts exactly as the live one would have (no repeat, nothing lost)."""
    policy = live(mkpolicy, cfg, life)
    cut %= len(life["cycles"])
    rows: list[EpisodeRow] = []
    restarted: AlertPolicy | None = None
    now = START[life["start"]]
    for n, c in enumerate(life["cycles"]):
        now += c.gap
        assessments, silences = batch(mk, c, now)
        alerts = policy.decide(assessments, now, silences)
        if restarted is not None:
            assert essence(restarted.decide(assessments, now, silences)) == essence(alerts)
        rows += as_recorded(alerts)
        assert fold(rows) == policy.export_state()
        if n == cut:
            restarted = live(mkpolicy, cfg, life)
            restarted.restore(rows)
            assert restarted.firing() == policy.firing()


async def _round_trip(alerts: Sequence[Alert], url: str, fate: Sequence[int]) -> list[EpisodeRow]:
    """Record the alerts as the outbox does, settle each delivery somehow, read the rows back."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            for n, a in enumerate(alerts):
                await alert_history.insert_alert(conn, a, Message(f"alert {n}", "body"))
                for ch in () if a.suppressed else a.channels:
                    await alert_history.insert_delivery(conn, a.id, ch, a.ts)
                    f = fate[n % len(fate)]
                    if f == 1:
                        await alert_history.update_delivery(
                            conn, a.id, ch, DeliveryStatus.DELIVERED, 1, None, a.ts + 1
                        )
                    elif f == 2:  # failed, and a fallback (not the alert's own) takes over
                        await alert_history.update_delivery(
                            conn, a.id, ch, DeliveryStatus.FAILED, 3, "down", a.ts + 1
                        )
                        await alert_history.insert_delivery(
                            conn, a.id, f"{ch}-fallback", a.ts + 1, fallback_for=ch
                        )
        return await alert_history.episode_rows(engine)
    finally:
        await engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(life=lives, fate=st.lists(st.integers(0, 2), min_size=1, max_size=5))
def test_rows_read_back_from_sqlite_fold_to_the_policy_state(
    mk: Any, cfg: Any, mkpolicy: Any, life: dict[str, Any], fate: list[int]
) -> None:
    """A restart reading the alert history from a real SQLite file rebuilds the state the
    policy had, whether each delivery was still pending, delivered, or failed over."""
    policy = live(mkpolicy, cfg, life)
    alerts: list[Alert] = []
    now = START[life["start"]]
    for c in life["cycles"]:
        now += c.gap
        assessments, silences = batch(mk, c, now)
        alerts += policy.decide(assessments, now, silences)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"
        rows = asyncio.run(_round_trip(alerts, url, fate))
    assert rows == as_recorded(alerts)
    assert fold(rows) == policy.export_state()
