"""A node of the pair on the real PostgreSQL: who decides and sends, the hand-over, /health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import ManualClock
from depeg_monitor.ha.health import ha_check
from depeg_monitor.ha.metrics import HaMetrics
from depeg_monitor.ha.node import HaNode
from depeg_monitor.ha.rules import HaRules
from depeg_monitor.model import Ack, Alert, AlertItem, AlertKind, Assessment, Severity, Silence
from depeg_monitor.store.db import create_engine, upgrade

pytestmark = pytest.mark.postgres

ALERT = Alert(
    "a1",
    0.0,
    Severity.CRITICAL,
    AlertKind.FIRST,
    (AlertItem("USDC", Severity.CRITICAL, AlertKind.FIRST, None),),
    ("discord",),
)


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    e = create_engine(pg_url)
    await upgrade(e)
    yield e
    await e.dispose()


class Recorder:
    """The daemon's side of a role change, written down."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def restore(self) -> None:
        self.events.append("restore")

    async def resume(self) -> None:
        self.events.append("resume")

    def step_down(self) -> None:
        self.events.append("step_down")


class AlwaysAlerts:
    def decide(
        self,
        assessments: Sequence[Assessment],
        now: float,
        silences: Sequence[Silence] = (),
        acks: Sequence[Ack] = (),
    ) -> list[Alert]:
        return [ALERT]


def make(
    engine: AsyncEngine, name: str, clock: ManualClock
) -> tuple[HaNode, Recorder, CollectorRegistry]:
    registry = CollectorRegistry()
    n = HaNode(engine, HaRules(name, 10.0, 2.0, 3.0), clock, HaMetrics(registry))
    rec = Recorder()
    n.bind(rec)
    return n, rec, registry


async def expire(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE leases SET expires_at = now() - interval '1 second'"))


async def test_only_the_leader_decides_and_the_standby_takes_over_after_expiry(
    engine: AsyncEngine,
) -> None:
    """The leader's policy decides; the standby's decides nothing. When the lease lapses the
    standby restores its policy from the history before resuming the outbox, and the old
    leader, on its next renewal, steps down and drops what it was to send."""
    clock = ManualClock()
    a, ra, reg_a = make(engine, "node-a", clock)
    b, rb, reg_b = make(engine, "node-b", clock)
    await a.step()
    await b.step()
    assert (a.role, b.role) == ("leader", "standby")
    assert a.policy(AlwaysAlerts()).decide([], 0.0) == [ALERT]
    assert b.policy(AlwaysAlerts()).decide([], 0.0) == []
    assert ra.events == ["restore", "resume"] and rb.events == []

    await expire(engine)
    await b.step()
    await a.step()
    assert (a.role, b.role) == ("standby", "leader")
    assert rb.events == ["restore", "resume"] and ra.events[-1] == "step_down"
    assert a.policy(AlwaysAlerts()).decide([], 0.0) == []
    text_b = generate_latest(reg_b).decode()
    assert 'depeg_ha_role{role="leader"} 1.0' in text_b and "depeg_ha_takeovers_total 1.0" in text_b
    assert 'depeg_ha_role{role="standby"} 1.0' in generate_latest(reg_a).decode()


async def test_a_leader_that_cannot_renew_stops_by_its_own_clock(engine: AsyncEngine) -> None:
    """Without a renewal (a database that does not answer), the leader is a standby once less
    than the margin is left of its lease — before anyone could take it over."""
    clock = ManualClock()
    a, _, _ = make(engine, "node-a", clock)
    await a.step()
    clock.advance(7.5)
    assert a.role == "standby" and a.policy(AlwaysAlerts()).decide([], 0.0) == []


async def test_health_says_role_holder_and_fails_when_the_pair_is_leaderless(
    engine: AsyncEngine,
) -> None:
    """/health on the standby is pass while the leader's lease is fresh, naming it; once the
    lease has lapsed with nobody taking it for longer than the takeover time, it fails."""
    clock = ManualClock()
    a, _, _ = make(engine, "node-a", clock)
    b, _, _ = make(engine, "node-b", clock)
    await a.step()
    await b.step()
    leader, standby = ha_check(a, clock.monotonic()), ha_check(b, clock.monotonic())
    assert leader.status == "pass" and "leader: this node (node-a)" in (leader.output or "")
    assert standby.status == "pass" and "leader node-a" in (standby.output or "")
    clock.advance(11.0)  # the leader died: its lease ran out 1 s ago
    assert ha_check(b, clock.monotonic()).status == "warn"
    clock.advance(12.5)  # expired 13.5 s ago, more than the 12 s takeover time
    dead = ha_check(b, clock.monotonic())
    assert dead.status == "fail" and "no leader" in (dead.output or "")


async def test_the_standby_sends_nothing_not_even_its_own_alerts(engine: AsyncEngine) -> None:
    """What reaches the standby's outbox sink (a self-alert, say) is not recorded or sent."""
    clock = ManualClock()
    a, _, _ = make(engine, "node-a", clock)
    b, _, _ = make(engine, "node-b", clock)
    await a.step()
    await b.step()

    class Box:
        def __init__(self) -> None:
            self.got: list[Alert] = []

        async def submit(self, alert: Alert) -> None:
            self.got.append(alert)

    box_a, box_b = Box(), Box()
    await a.sink(box_a).submit(ALERT)
    await b.sink(box_b).submit(ALERT)
    assert (box_a.got, box_b.got) == ([ALERT], [])
    assert await b.claim([("a1", "discord")]) is None


async def test_a_node_that_cannot_read_the_lease_warns_then_fails() -> None:
    """A node whose database refuses it says so on /health (warn), and fails once that has
    lasted longer than the takeover time: it can neither send nor take over."""
    clock = ManualClock()
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        n, _, _ = make(dead, "node-a", clock)
        await n.step()
        first = ha_check(n, clock.monotonic())
        assert first.status == "warn" and "cannot read the lease" in (first.output or "")
        clock.advance(12.5)
        await n.step()
        later = ha_check(n, clock.monotonic())
        assert later.status == "fail" and "more than the takeover time" in (later.output or "")
    finally:
        await dead.dispose()
