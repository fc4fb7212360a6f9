"""The alert history on SQLite and PostgreSQL: restart recovery, deliveries, silences, acks."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import AlertPolicy, fold
from depeg_monitor.alerts.routing import Router
from depeg_monitor.clock import ManualClock
from depeg_monitor.config import Settings
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import (
    Alert,
    AlertItem,
    AlertKind,
    Assessment,
    DeliveryStatus,
    EpisodeRow,
    Message,
    Severity,
    Snapshot,
    VenuePrice,
)
from depeg_monitor.notify.console import ConsoleChannel
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.rules import alert_rules, outbox_rules, routing
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

T0 = datetime(2023, 3, 13, 10, tzinfo=UTC).timestamp()


def a(coin: str, severity: Severity, ts: float, price: float = 0.95) -> Assessment:
    snap = Snapshot(coin, ts, 1.0, price, price - 1, (VenuePrice("kraken", "USD", price, 1),), ())
    return Assessment(coin, ts, severity, severity, price - 1, 0.0, (), snap)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    e = create_engine(db_url)
    await upgrade(e)
    yield e
    await e.dispose()


def settings() -> Settings:
    return Settings(channels={"discord": {"type": "console"}, "email": {"type": "console"}})


def policy(s: Settings) -> AlertPolicy:
    r = routing(s)
    return AlertPolicy(alert_rules(s), Router(r.routes, r.timezone, s.channels))


async def run_cycle(policy: AlertPolicy, box: Outbox, batch: list[Assessment], now: float) -> Any:
    out = policy.decide(batch, now)
    for alert in out:
        await box.submit(alert)
    await box.drain(5)
    return out


async def test_restart_restores_open_episode_from_history(engine: AsyncEngine) -> None:
    """After a restart the policy neither re-alerts an open depeg nor forgets to resolve it."""
    s = settings()
    channels: dict[str, Any] = {n: ConsoleChannel(n) for n in s.channels}
    box = Outbox(engine, channels, outbox_rules(s), ManualClock(T0), HealthRegistry(), Metrics())
    p1 = policy(s)
    await run_cycle(p1, box, [a("USDC", Severity.MAJOR, T0), a("DAI", Severity.CRITICAL, T0)], T0)
    later = T0 + 600
    await run_cycle(p1, box, [a("DAI", Severity.NONE, later, 1.0)], later)

    p2 = policy(s)
    p2.restore(await alert_history.episode_rows(engine))
    assert p2.firing() == {"USDC": (Severity.MAJOR, T0)}
    assert p2.export_state()["USDC"].heard == ("discord", "email")
    assert p2.decide([a("USDC", Severity.MAJOR, later + 60)], later + 60) == []
    [resolved] = p2.decide([a("USDC", Severity.NONE, later + 120, 1.0)], later + 120)
    assert resolved.kind == AlertKind.RESOLVED and resolved.channels == ("discord", "email")


async def test_silences_crud(engine: AsyncEngine) -> None:
    """Silences are stored, found while active, listed until they end, and can be expired."""
    sid = await alert_history.add_silence(engine, "usdt", T0, T0 + 3600, "maintenance", T0)
    other = await alert_history.add_silence(engine, None, T0 + 7200, T0 + 9000, "later", T0)
    assert [s.coin for s in await alert_history.active_silences(engine, T0 + 10)] == ["USDT"]
    assert [s.id for s in await alert_history.list_silences(engine, T0 + 10)] == [sid, other]
    assert await alert_history.expire_silence(engine, sid, T0 + 20)
    assert await alert_history.active_silences(engine, T0 + 30) == []
    assert not await alert_history.expire_silence(engine, sid, T0 + 40)
    with pytest.raises(ValueError, match="end after"):
        await alert_history.add_silence(engine, None, T0, T0, "zero", T0)


def alert(
    coin: str, kind: AlertKind, sev: Severity, ts: float, channels: tuple[str, ...] = ("discord",)
) -> Alert:
    return Alert(str(uuid.uuid4()), ts, sev, kind, (AlertItem(coin, sev, kind, None),), channels)


async def test_episode_rows_are_the_recorded_facts(engine: AsyncEngine) -> None:
    """Restart recovery reads each coin's notices in order, with the channels that heard them:
    a fallback or an expired delivery is no hearer, a monitor alert no episode."""
    msg = Message("t", "b")
    first = alert("USDC", AlertKind.FIRST, Severity.MAJOR, T0, ("discord", "sms"))
    held = dataclasses.replace(
        alert("DAI", AlertKind.FIRST, Severity.MINOR, T0, ()), suppressed="quiet_hours"
    )
    degraded = Alert("deg", T0 + 5, Severity.NONE, AlertKind.MONITOR_DEGRADED, (), ("discord",))
    esc = alert("USDC", AlertKind.ESCALATED, Severity.CRITICAL, T0 + 60, ("discord", "email"))
    async with engine.begin() as conn:
        for a_ in (first, held, degraded, esc):
            await alert_history.insert_alert(conn, a_, msg)
            for ch in a_.channels:
                await alert_history.insert_delivery(conn, a_.id, ch, a_.ts)
        await alert_history.insert_delivery(conn, first.id, "email", T0, fallback_for="sms")
        await alert_history.update_delivery(
            conn, esc.id, "email", DeliveryStatus.EXPIRED, 0, "old", T0 + 3600
        )
    rows = await alert_history.episode_rows(engine)
    assert rows == [
        EpisodeRow("USDC", T0, AlertKind.FIRST, Severity.MAJOR, None, ("discord", "sms")),
        EpisodeRow("DAI", T0, AlertKind.FIRST, Severity.MINOR, "quiet_hours", ()),
        EpisodeRow("USDC", T0 + 60, AlertKind.ESCALATED, Severity.CRITICAL, None, ("discord",)),
    ]


async def test_delivery_status_is_stored_as_its_word(engine: AsyncEngine) -> None:
    """A delivery's status reads back as the plain word people query ('delivered', 'pending')
    and only pending ones are resumed after a restart."""
    a1 = alert("USDC", AlertKind.FIRST, Severity.MAJOR, T0, ("discord", "email"))
    async with engine.begin() as conn:
        await alert_history.insert_alert(conn, a1, Message("t", "b"))
        for ch in a1.channels:
            await alert_history.insert_delivery(conn, a1.id, ch, T0)
        await alert_history.update_delivery(
            conn, a1.id, "discord", DeliveryStatus.DELIVERED, 1, None, T0 + 1
        )
    statuses = {r["channel"]: r["status"] for r in await alert_history.delivery_rows(engine)}
    assert statuses == {"discord": "delivered", "email": "pending"}
    pending, _ = await alert_history.pending_deliveries(engine)
    assert [p.channel for p in pending] == ["email"]


async def test_an_ack_is_read_back_by_the_live_and_the_restarted_daemon(
    engine: AsyncEngine,
) -> None:
    """An ack made for the episode folded from the history (as `depeg-monitor ack` does) holds
    for the policy that recorded the episode and for one restarted from the rows: no reminder,
    and the resolution names who acknowledged it — its e-mail address and number masked."""
    s = settings()
    channels: dict[str, Any] = {n: ConsoleChannel(n) for n in s.channels}
    t1 = T0 + 0.1234567  # not a whole microsecond: the database rounds it
    box = Outbox(engine, channels, outbox_rules(s), ManualClock(t1), HealthRegistry(), Metrics())
    live = policy(s)
    await run_cycle(live, box, [a("USDC", Severity.MAJOR, t1)], t1)
    open_episode = fold(await alert_history.episode_rows(engine))["USDC"]
    made = await alert_history.add_ack(
        engine,
        "usdc",
        open_episode.since,
        open_episode.severity,
        "alice@example.com",
        "call +15551234567",
        t1 + 60,
    )
    assert (made.coin, made.by, made.reason) == ("USDC", "a***@example.com", "call +1555****567")
    restarted = policy(s)
    restarted.restore(await alert_history.episode_rows(engine))
    acks = await alert_history.latest_acks(engine)
    assert acks == [made]
    later = t1 + 4 * 3600  # three reminder intervals of major
    for p in (live, restarted):
        assert p.decide([a("USDC", Severity.MAJOR, later)], later, (), acks) == []
        [resolved] = p.decide([a("USDC", Severity.NONE, later + 60, 1.0)], later + 60, (), acks)
        assert resolved.kind == AlertKind.RESOLVED
        assert resolved.items[0].acknowledged == made


async def test_acks_newest_per_coin_and_open_while_their_episode_is(engine: AsyncEngine) -> None:
    """latest_acks gives each coin's newest ack, list_acks all of them; open_acks those whose
    episode has not resolved, spent once the episode went past the level acknowledged."""
    msg = Message("t", "b")
    rows = [
        alert("USDC", AlertKind.FIRST, Severity.MAJOR, T0),
        alert("DAI", AlertKind.FIRST, Severity.MINOR, T0 + 1),
    ]
    async with engine.begin() as conn:
        for r in rows:
            await alert_history.insert_alert(conn, r, msg)
    add = alert_history.add_ack
    first = await add(engine, "USDC", T0, Severity.MAJOR, "alice", "", T0 + 10)
    dai = await add(engine, "DAI", T0 + 1, Severity.MINOR, "bob", "thin book", T0 + 20)
    newer = await add(engine, "USDC", T0, Severity.MAJOR, "carol", "taking over", T0 + 30)
    assert await alert_history.latest_acks(engine) == [dai, newer]
    assert await alert_history.list_acks(engine) == [first, dai, newer]
    assert await alert_history.list_acks(engine, since=T0 + 15, coin="usdc") == [newer]
    opened = await alert_history.open_acks(engine)
    assert [(o.ack, o.in_force) for o in opened] == [(dai, True), (newer, True)]

    async with engine.begin() as conn:
        await alert_history.insert_alert(
            conn, alert("USDC", AlertKind.ESCALATED, Severity.CRITICAL, T0 + 60), msg
        )
        await alert_history.insert_alert(
            conn, alert("DAI", AlertKind.RESOLVED, Severity.MINOR, T0 + 120), msg
        )
    [usdc] = await alert_history.open_acks(engine)
    assert (usdc.ack, usdc.peak, usdc.in_force) == (newer, Severity.CRITICAL, False)
