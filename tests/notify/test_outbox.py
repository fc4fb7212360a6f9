"""The outbox on a real SQLite file: record first, deliver independently, fail over, resume."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import ManualClock
from depeg_monitor.config import Settings
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, AlertItem, AlertKind, Message, Severity
from depeg_monitor.notify.apprise_channel import AppriseChannel
from depeg_monitor.notify.channel import Channel
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.rules import outbox_rules
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import alerts as alerts_table

from ..waiting import eventually


class Stuck:
    """A channel whose sends never finish (a hung connection), until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = asyncio.Event()

    async def send(self, msg: Message, key: str) -> None:
        await self.release.wait()

    async def close(self) -> None:
        return None


def alert(severity: Severity, channels: tuple[str, ...], coin: str = "USDC") -> Alert:
    item = AlertItem(coin, severity, AlertKind.FIRST, None)
    return Alert(str(uuid.uuid4()), 1_700_000_000.0, severity, AlertKind.FIRST, (item,), channels)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    e = create_engine(f"sqlite+aiosqlite:///{tmp_path}/alerts.db")
    await upgrade(e)
    yield e
    await e.dispose()


def settings(**channels: Any) -> Settings:
    return Settings(channels=channels, alerts={"delivery_deadline": 60, "outbox_max_age": 600})


def outbox(engine: AsyncEngine | None, channels: dict[str, Channel], s: Settings) -> Outbox:
    return Outbox(
        engine, channels, outbox_rules(s), ManualClock(1_700_000_000.0), HealthRegistry(), Metrics()
    )


async def by_channel(engine: AsyncEngine) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["alert_id"], r["channel"]): r for r in await alert_history.delivery_rows(engine)}  # type: ignore[misc]


async def test_a_hung_channel_does_not_delay_another(engine: AsyncEngine, sink: Any) -> None:
    """While one channel hangs, the other is delivered and recorded; the hung one stays pending."""
    s = settings(hook={"url": f"json://{sink.url}/hook"}, slow={"type": "console"})
    stuck = Stuck("slow")
    box = outbox(
        engine, {"hook": AppriseChannel("hook", f"json://{sink.url}/hook"), "slow": stuck}, s
    )
    a = alert(Severity.MAJOR, ("hook", "slow"))
    await box.submit(a)
    for _ in range(200):
        rows = await by_channel(engine)
        if rows[(a.id, "hook")]["status"] == "delivered":
            break
        await asyncio.sleep(0.01)
    assert rows[(a.id, "hook")]["status"] == "delivered"
    assert rows[(a.id, "slow")]["status"] == "pending"
    assert len(sink.received) == 1
    stuck.release.set()
    await box.drain(5)
    assert (await by_channel(engine))[(a.id, "slow")]["status"] == "delivered"


async def test_down_channel_retries_to_deadline_and_critical_fails_over(
    engine: AsyncEngine, sink: Any
) -> None:
    """A refused connection is retried until the deadline, then the critical alert fails over."""
    down_url = f"json://127.0.0.1:{closed_port()}/x"
    s = settings(down={"url": down_url, "fallback": ["backup"]}, backup={"url": "json://x/y"})
    channels: dict[str, Channel] = {
        "down": AppriseChannel("down", down_url),
        "backup": AppriseChannel("backup", f"json://{sink.url}/backup"),
    }
    health = HealthRegistry()
    box = Outbox(engine, channels, outbox_rules(s), ManualClock(1_700_000_000.0), health, Metrics())
    a = alert(Severity.CRITICAL, ("down",))
    await box.submit(a)
    await box.drain(10)
    rows = await by_channel(engine)
    down, backup = rows[(a.id, "down")], rows[(a.id, "backup")]
    assert down["status"] == "failed" and down["attempts"] > 2
    assert "Connection error" in down["error"]
    assert backup["status"] == "delivered" and backup["fallback_for"] == "down"
    assert [r["path"] for r in sink.received] == ["/backup"]
    state = health.get(Kind.CHANNEL, "down")
    assert state is not None and state.failing


async def test_restart_mid_backlog_loses_nothing_and_repeats_nothing(
    engine: AsyncEngine, sink: Any
) -> None:
    """Deliveries cut off by a shutdown go out after restart; delivered ones are not resent."""
    s = settings(hook={"url": "json://x/y"}, slow={"url": "json://x/y"})
    hook = AppriseChannel("hook", f"json://{sink.url}/hook")
    first = outbox(engine, {"hook": hook, "slow": Stuck("slow")}, s)
    sent = [alert(Severity.MAJOR, ("hook", "slow"), coin) for coin in ("USDC", "DAI", "USDT")]
    for a in sent:
        await first.submit(a)
    await eventually(lambda: len(sink.received) == 3, 5, "the hook deliveries")  # slow ones hang
    await first.drain(0.5)  # shutdown: slow ones are cut off and stay pending
    pending = await alert_history.pending_deliveries(engine)
    assert sorted(p.channel for p in pending) == ["slow"] * 3

    second = outbox(
        engine,
        {"hook": hook, "slow": AppriseChannel("slow", f"json://{sink.url}/slow")},
        s,
    )
    await second.resume_pending()
    await second.drain(5)
    paths = sorted(r["path"] for r in sink.received)
    assert paths == ["/hook"] * 3 + ["/slow"] * 3
    assert {r["status"] for r in (await by_channel(engine)).values()} == {"delivered"}


async def test_old_pending_deliveries_expire_at_restart(engine: AsyncEngine, sink: Any) -> None:
    """A delivery pending for longer than outbox_max_age is recorded as expired, not sent."""
    s = settings(slow={"url": "json://x/y"})
    first = outbox(engine, {"slow": Stuck("slow")}, s)
    a = alert(Severity.MAJOR, ("slow",))
    await first.submit(a)
    await first.drain(0.1)
    clock = ManualClock(1_700_000_000.0 + 3600)
    channels: dict[str, Channel] = {"slow": AppriseChannel("slow", f"json://{sink.url}/slow")}
    second = Outbox(engine, channels, outbox_rules(s), clock, HealthRegistry(), Metrics())
    await second.resume_pending()
    await second.drain(5)
    assert sink.received == []
    assert (await by_channel(engine))[(a.id, "slow")]["status"] == "expired"


async def test_database_down_still_delivers_and_records_later(tmp_path: Path, sink: Any) -> None:
    """With no usable database the alert is sent anyway and recorded once the database is back."""
    e = create_engine(f"sqlite+aiosqlite:///{tmp_path}/not-yet.db")  # no tables: writes fail
    s = settings(hook={"url": "json://x/y"})
    box = outbox(e, {"hook": AppriseChannel("hook", f"json://{sink.url}/hook")}, s)
    a = alert(Severity.MAJOR, ("hook",))
    await box.submit(a)
    await box.drain(5)
    assert len(sink.received) == 1
    assert box.backlog == 2  # the alert with its pending delivery, then its outcome
    await upgrade(e)
    await box.flush()
    assert box.backlog == 0
    async with e.connect() as conn:
        assert (await conn.execute(select(alerts_table.c.id))).scalars().all() == [a.id]
    assert (await by_channel(e))[(a.id, "hook")]["status"] == "delivered"
    await e.dispose()


async def test_postgres_outage_mid_run_loses_no_alert(
    pg_url: str, pg_control: Any, sink: Any
) -> None:
    """PostgreSQL stopped mid-run: the alert still goes out, and is in the history once back."""
    e = create_engine(pg_url)
    await upgrade(e)
    box = outbox(e, {"hook": AppriseChannel("hook", f"json://{sink.url}/hook")}, settings())
    before = alert(Severity.MINOR, ("hook",))
    await box.submit(before)
    await box.drain(5)
    pg_control.stop()
    try:
        during = alert(Severity.CRITICAL, ("hook",))
        await box.submit(during)
        await box.drain(5)
        assert len(sink.received) == 2
        assert box.backlog > 0
    finally:
        pg_control.start()
    await box.flush()
    assert box.backlog == 0
    rows = await by_channel(e)
    assert rows[(before.id, "hook")]["status"] == "delivered"
    assert rows[(during.id, "hook")]["status"] == "delivered"
    await e.dispose()


class Refuses:
    """A channel whose service refuses every send, naming the recipient as services do."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, msg: Message, key: str) -> None:
        from depeg_monitor.notify.channel import DeliveryError

        raise DeliveryError("400 invalid 'To' +15551234567 (copy to ops.team@example.com)", False)

    async def close(self) -> None:
        return None


async def test_failed_delivery_rows_and_health_name_no_one(engine: AsyncEngine) -> None:
    """A refusal that names a phone number and an address is stored and shown masked."""
    s = settings(sms={"type": "console"})
    health = HealthRegistry()
    box = Outbox(
        engine,
        {"sms": Refuses("sms")},
        outbox_rules(s),
        ManualClock(1_700_000_000.0),
        health,
        Metrics(),
    )
    a = alert(Severity.MAJOR, ("sms",))
    await box.submit(a)
    await box.drain(5)
    row = (await by_channel(engine))[(a.id, "sms")]
    state = health.get(Kind.CHANNEL, "sms")
    for text in (str(row["error"]), str(state.error if state else "")):
        assert "+15551234567" not in text and "ops.team@example.com" not in text
        assert "+1555****567" in text and "o***@example.com" in text
