"""The shared outbox of a pair on the real PostgreSQL: the leader sends under its token, the new
leader sends what the old one left pending, and a deposed leader records and sends nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.clock import SystemClock
from depeg_monitor.config import Settings
from depeg_monitor.detect.detector import Detector
from depeg_monitor.ha.metrics import HaMetrics
from depeg_monitor.ha.node import HaNode
from depeg_monitor.ha.rules import HaRules
from depeg_monitor.ha.takeover import DaemonTakeover
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, AlertItem, AlertKind, Message, Severity
from depeg_monitor.notify.outbox import Outbox, OutboxRules
from depeg_monitor.rules import alert_rules, detection_rules
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

from ..waiting import eventually

pytestmark = pytest.mark.postgres


class Recording:
    """A channel that takes every message and remembers it."""

    timeout = 5.0

    def __init__(self) -> None:
        self.received: list[str] = []

    async def send(self, msg: Message, key: str) -> None:
        self.received.append(key)

    async def close(self) -> None:
        pass


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    e = create_engine(pg_url)
    await upgrade(e)
    yield e
    await e.dispose()


def alert() -> Alert:
    item = AlertItem("USDC", Severity.MAJOR, AlertKind.FIRST, None)
    return Alert(
        str(uuid.uuid4()), time.time(), Severity.MAJOR, AlertKind.FIRST, (item,), ("hook",)
    )


class Node:
    """One node of the pair: its lease, its outbox, its channel."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.channel = Recording()
        clock = SystemClock()
        self.node = HaNode(
            engine, HaRules(name, 10.0, 2.0, 3.0), clock, HaMetrics(CollectorRegistry())
        )
        self.outbox = Outbox(
            engine,
            {"hook": self.channel},
            OutboxRules(),
            clock,
            HealthRegistry(),
            Metrics(),
            self.node,
        )
        s = Settings(coins={"USDC": {}})
        policy = AlertPolicy(alert_rules(s), Router({}, "UTC", {"hook"}))
        self.node.bind(DaemonTakeover(engine, policy, Detector(detection_rules(s)), self.outbox))


async def test_the_new_leader_sends_what_was_left_and_the_old_one_nothing_more(
    engine: AsyncEngine,
) -> None:
    """The leader delivers; a delivery left pending at its fall is sent by the new leader;
    an alert the deposed leader decides afterwards is neither recorded nor sent."""
    a, b = Node(engine, "node-a"), Node(engine, "node-b")
    await a.node.step()
    await b.node.step()
    first = alert()
    await a.outbox.submit(first)
    await eventually(lambda: a.channel.received == [first.id])

    left = alert()  # recorded by the leader, not yet sent when it fell
    async with engine.begin() as conn:
        await alert_history.insert_alert(conn, left, Message("t", "b"))
        await alert_history.insert_delivery(conn, left.id, "hook", time.time())
        await conn.execute(text("UPDATE leases SET expires_at = now() - interval '1 second'"))
    await b.node.step()
    assert b.node.role == "leader"
    await eventually(lambda: b.channel.received == [left.id])

    late = alert()  # a's own clock still trusts its lease: the database does not
    await a.outbox.submit(late)
    await a.outbox.drain(1.0)
    rows = {
        (r["alert_id"], r["status"], r["claim_token"])
        for r in await alert_history.delivery_rows(engine)
    }
    assert rows == {(first.id, "delivered", 1), (left.id, "delivered", 2)}
    assert a.channel.received == [first.id] and b.channel.received == [left.id]
    await b.outbox.drain(1.0)
    await a.outbox.close()
    await b.outbox.close()
