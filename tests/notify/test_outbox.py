"""The outbox on a real SQLite file: record first, deliver each channel in order until it is
taken or too old, fail over at the deadline while still retrying, resume after a restart."""

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
from depeg_monitor.notify.build import build_channels_report
from depeg_monitor.notify.channel import Channel, DeliveryError
from depeg_monitor.notify.outbox import Outbox, OutboxRules
from depeg_monitor.rules import outbox_rules
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.schema import alerts as alerts_table

from ..waiting import eventually


class Stuck:
    """A channel whose sends never finish (a hung connection), until released."""

    timeout = 30.0

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
    pending, _ = await alert_history.pending_deliveries(engine)
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

    timeout = 30.0

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, msg: Message, key: str) -> None:
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


def resolved(a: Alert) -> Alert:
    item = AlertItem(a.coins[0], a.severity, AlertKind.RESOLVED, None)
    return Alert(str(uuid.uuid4()), a.ts + 600, a.severity, AlertKind.RESOLVED, (item,), a.channels)


def rules(**overrides: Any) -> OutboxRules:
    base: dict[str, Any] = {
        "failover_after": 120.0,
        "max_age": {sev: 6 * 3600.0 for sev in Severity},
        "fallbacks": {},
    }
    return OutboxRules(**{**base, **overrides})


async def test_a_channel_down_past_the_old_deadline_gets_the_critical_once_then_resolved(
    engine: AsyncEngine, sink: Any
) -> None:
    """A webhook answering 500 for longer than the old 120 s deadline gets the critical exactly
    once after it recovers, marked late, and its resolved only after it."""
    clock = ManualClock(1_700_000_000.0)
    channels: dict[str, Channel] = {"hook": AppriseChannel("hook", f"json://{sink.url}/hook")}
    box = Outbox(engine, channels, rules(), clock, HealthRegistry(), Metrics())
    sink.down.add("/hook")
    firing = alert(Severity.CRITICAL, ("hook",))
    await box.submit(firing)
    await eventually(lambda: sink.hits.get("/hook", 0) >= 2, 5, "a retry")
    await box.submit(resolved(firing))
    await eventually(lambda: clock.now() - 1_700_000_000.0 > 300, 10, "five minutes of outage")
    sink.down.clear()
    await box.drain(10)

    titles = [r["title"] for r in sink.received]
    assert len(titles) == 2, titles
    assert "CRITICAL" in titles[0] and "delayed" in titles[0]
    assert "Resolved" in titles[1] or "resolved" in titles[1]
    assert "Delivered late: first tried" in sink.received[0]["message"]
    rows = await by_channel(engine)
    row = rows[(firing.id, "hook")]
    assert row["status"] == "delivered" and row["attempts"] > 5
    assert row["first_tried_at"] is not None and row["sent_at"] is not None


async def test_a_fallback_gets_the_critical_at_the_deadline_and_the_primary_after_recovery(
    engine: AsyncEngine, sink: Any
) -> None:
    """With a fallback, the critical reaches the fallback at the failover deadline while the
    primary keeps being retried, and reaches the primary too once it is back."""
    clock = ManualClock(1_700_000_000.0)
    channels: dict[str, Channel] = {
        "primary": AppriseChannel("primary", f"json://{sink.url}/primary"),
        "backup": AppriseChannel("backup", f"json://{sink.url}/backup"),
    }
    box = Outbox(
        engine,
        channels,
        rules(fallbacks={"primary": ("backup",)}),
        clock,
        HealthRegistry(),
        Metrics(),
    )
    sink.down.add("/primary")
    a = alert(Severity.CRITICAL, ("primary",))
    await box.submit(a)
    await eventually(lambda: any(r["path"] == "/backup" for r in sink.received), 10, "failover")
    await eventually(lambda: clock.now() - 1_700_000_000.0 > 600, 10, "ten minutes of outage")
    sink.down.clear()
    await box.drain(10)

    assert [r["path"] for r in sink.received] == ["/backup", "/primary"]
    rows = await by_channel(engine)
    backup, primary = rows[(a.id, "backup")], rows[(a.id, "primary")]
    assert backup["status"] == "delivered" and backup["fallback_for"] == "primary"
    failed_over_after = backup["created_at"].timestamp() - 1_700_000_000.0
    assert 120 <= failed_over_after < 125  # at the deadline, not a retry period later
    assert primary["status"] == "delivered" and primary["attempts"] > 10


async def test_a_channel_down_for_good_expires_the_delivery_at_its_max_age(
    engine: AsyncEngine,
) -> None:
    """A refused connection is retried (backoff capped at retry_max) until the severity's max
    age, then recorded as expired; the channel's health says how much waits and for how long."""
    clock = ManualClock(1_700_000_000.0)
    down_url = f"json://127.0.0.1:{closed_port()}/x"
    health = HealthRegistry()
    max_age = {Severity.MINOR: 600.0, Severity.MAJOR: 600.0, Severity.CRITICAL: 7200.0}
    box = Outbox(
        engine,
        {"down": AppriseChannel("down", down_url)},
        rules(max_age=max_age),
        clock,
        health,
        Metrics(),
    )
    a = alert(Severity.MAJOR, ("down",))
    await box.submit(a)
    await eventually(lambda: len(box.pending("down")) == 0, 20, "expiry")
    row = (await by_channel(engine))[(a.id, "down")]
    assert row["status"] == "expired"
    # ~600 s of retries at most retry_max (15 s) apart, and after the first few at least half.
    assert 35 <= row["attempts"] <= 90
    assert 600 <= clock.now() - 1_700_000_000.0 < 640


async def test_channel_health_shows_pending_count_and_oldest_age(engine: AsyncEngine) -> None:
    """While a channel keeps failing, /health's line for it names the error, how many
    deliveries wait and how old the oldest is."""
    from depeg_monitor.health.evaluate import HealthRules, evaluate

    class Down:
        name, timeout = "pager", 30.0
        attempts = 0

        async def send(self, msg: Message, key: str) -> None:
            Down.attempts += 1
            raise DeliveryError("pager.example.net answered 503", True)

        async def close(self) -> None:
            return None

    class Frozen(ManualClock):
        async def sleep(self, seconds: float) -> None:
            await asyncio.Event().wait()  # the retry waits until shutdown: read mid-outage

    clock = Frozen(1_700_000_000.0)
    health = HealthRegistry()
    box = Outbox(
        engine,
        {"pager": Down()},
        rules(),
        clock,
        health,
        Metrics(),
    )
    await box.submit(alert(Severity.CRITICAL, ("pager",)))
    await box.submit(alert(Severity.MAJOR, ("pager",), "DAI"))
    pager = health.get(Kind.CHANNEL, "pager")
    await eventually(lambda: pager is not None and pager.failing, 5, "a failed attempt")
    report = evaluate(health, clock.now() + 90, HealthRules((), 120, 60, ("pager",)), {}, None)
    check = report.checks["notifier:pager"]
    assert check.status == "warn"
    assert check.output is not None and "503" in check.output and "2 pending" in check.output
    assert check.observed_value is not None and check.observed_value >= 90
    assert report.checks["notifiers"].status == "fail"  # the only critical channel is failing
    await box.drain(0.1)  # shutdown: both stay pending in the database for the next run
    pending, _ = await alert_history.pending_deliveries(engine)
    assert len(pending) == 2


async def test_a_restart_resumes_a_failed_over_critical_without_a_second_fallback_copy(
    engine: AsyncEngine, sink: Any
) -> None:
    """After a restart a still-pending critical is retried on its primary, and the fallback that
    already had it does not get it again."""
    clock = ManualClock(1_700_000_000.0)
    sink.down.add("/primary")

    def box_with(primary: Channel) -> Outbox:
        channels = {"primary": primary, "backup": AppriseChannel("backup", f"json://{sink.url}/b")}
        return Outbox(
            engine,
            channels,
            rules(fallbacks={"primary": ("backup",)}),
            clock,
            HealthRegistry(),
            Metrics(),
        )

    first = box_with(AppriseChannel("primary", f"json://{sink.url}/primary"))
    a = alert(Severity.CRITICAL, ("primary",))
    await first.submit(a)
    await eventually(lambda: [r["path"] for r in sink.received] == ["/b"], 10, "failover")
    await first.drain(0.1)  # shutdown while the primary is still down
    await first.close()

    sink.down.clear()
    second = box_with(AppriseChannel("primary", f"json://{sink.url}/primary"))
    await second.resume_pending()
    await second.drain(10)
    assert [r["path"] for r in sink.received] == ["/b", "/primary"]
    assert "delayed" in sink.received[1]["title"]


async def test_a_shutdown_during_a_send_lets_it_finish_so_the_next_run_does_not_repeat_it(
    engine: AsyncEngine, sink: Any
) -> None:
    """A page already on the wire when the daemon stops is recorded as delivered once the
    receiver takes it, so the next run does not send it a second time."""
    sink.delay = 1.0
    box = Outbox(
        engine,
        {"primary": AppriseChannel("primary", f"json://{sink.url}/primary")},
        rules(),
        ManualClock(1_700_000_000.0),
        HealthRegistry(),
        Metrics(),
    )
    await box.submit(alert(Severity.CRITICAL, ("primary",)))
    await eventually(lambda: sink.hits.get("/primary") == 1, 10, "the send is on the wire")
    await box.drain(0.1)
    await box.close()
    pending, _ = await alert_history.pending_deliveries(engine)
    assert pending == []

    sink.delay = 0.0
    again = Outbox(
        engine,
        {"primary": AppriseChannel("primary", f"json://{sink.url}/primary")},
        rules(),
        ManualClock(1_700_000_100.0),
        HealthRegistry(),
        Metrics(),
    )
    await again.resume_pending()
    await again.drain(2)
    await again.close()
    assert [r["path"] for r in sink.received] == ["/primary"]


async def test_receivers_answering_after_20_s_get_exactly_one_copy(
    engine: AsyncEngine, sink: Any, twilio: Any
) -> None:
    """A webhook and the SMS API that take a message and answer 20 s later (inside the channels'
    30 s attempt timeout) each get the critical exactly once: nobody retries a send in flight."""
    sink.delay = 20.0
    twilio.delay = 20.0
    s = Settings(
        channels={
            "hook": {"url": f"json://{sink.url}/hook"},
            "sms": {
                "type": "twilio",
                "from_number": "+15550000000",
                "to_numbers": ["+15551234567"],
                "api_base": twilio.url,
            },
        }
    )
    channels, skipped = build_channels_report(
        s, env={"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}
    )
    assert not skipped
    box = Outbox(engine, channels, outbox_rules(s), ManualClock(), HealthRegistry(), Metrics())
    a = alert(Severity.CRITICAL, ("hook", "sms"))
    await box.submit(a)
    await box.drain(40)
    await box.close()
    assert sink.hits == {"/hook": 1} and len(sink.received) == 1
    assert len(twilio.received) == 1
    rows = await by_channel(engine)
    assert [rows[(a.id, ch)]["attempts"] for ch in ("hook", "sms")] == [1, 1]


async def test_a_reloaded_channel_url_takes_the_waiting_delivery_once(
    engine: AsyncEngine, sink: Any
) -> None:
    """A delivery retrying against a webhook that is down goes out once, in its place, through
    the URL a configuration reload gave the channel; the queue is not lost in the swap."""
    clock = ManualClock(1_700_000_000.0)
    old: dict[str, Channel] = {"hook": AppriseChannel("hook", f"json://{sink.url}/old")}
    box = Outbox(engine, old, rules(), clock, HealthRegistry(), Metrics())
    sink.down.add("/old")
    firing = alert(Severity.MAJOR, ("hook",))
    await box.submit(firing)
    await eventually(lambda: sink.hits.get("/old", 0) >= 1, 5, "an attempt at the old URL")
    assert [d.alert_id for d in box.pending("hook")] == [firing.id]
    box.retune({"hook": AppriseChannel("hook", f"json://{sink.url}/new")}, rules())
    await eventually(lambda: sink.hits.get("/new", 0) >= 1, 20, "the new URL")
    await box.drain(5)
    await box.close()
    assert sink.hits["/new"] == 1
    row = (await by_channel(engine))[(firing.id, "hook")]
    assert row["status"] == "delivered"
