"""The leader's lease and the fenced outbox claims on the real throwaway PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import ManualClock
from depeg_monitor.ha import fence
from depeg_monitor.ha.lease import Lease
from depeg_monitor.ha.rules import LEASE_NAME, HaRules
from depeg_monitor.model import Alert, AlertItem, AlertKind, DeliveryStatus, Message, Severity
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

pytestmark = pytest.mark.postgres

T0 = 1_700_000_000.0


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    e = create_engine(pg_url)
    await upgrade(e)
    yield e
    await e.dispose()


def node(engine: AsyncEngine, name: str, clock: ManualClock | None = None) -> Lease:
    return Lease(
        engine,
        HaRules(name, lease_ttl=10.0, renew_interval=2.0, margin=3.0),
        clock or ManualClock(),
    )


async def expire(engine: AsyncEngine) -> None:
    """The holder stopped renewing and its lease ran out (by the database's clock)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = :n"),
            {"n": LEASE_NAME},
        )


async def test_one_holder_at_a_time_and_the_other_sees_who(engine: AsyncEngine) -> None:
    """The first node takes the lease; the second does not get it while it is fresh, and
    learns who holds it; the holder's renewal keeps its token."""
    a, b = node(engine, "node-a"), node(engine, "node-b")
    first = await a.try_lead()
    assert (first.mine, first.holder, first.token, first.acquired) == (True, "node-a", 1, True)
    other = await b.try_lead()
    assert (other.mine, other.holder) == (False, "node-a") and not b.may_act()
    renewed = await a.try_lead()
    assert (renewed.mine, renewed.token, renewed.acquired) == (True, 1, False)
    assert 9.0 < renewed.remaining <= 10.0 and a.may_act()


async def test_after_expiry_the_standby_takes_over_and_the_stale_holder_cannot_renew(
    engine: AsyncEngine,
) -> None:
    """Once the lease lapses the standby acquires it under a larger token; the old holder's
    renewal then fails and it learns it must not act."""
    a, b = node(engine, "node-a"), node(engine, "node-b")
    await a.try_lead()
    assert not (await b.try_lead()).mine
    await expire(engine)
    taken = await b.try_lead()
    assert (taken.mine, taken.token, taken.acquired) == (True, 2, True)
    stale = await a.try_lead()
    assert (stale.mine, stale.holder, stale.token) == (False, "node-b", 2)
    assert not a.may_act() and b.may_act()


async def test_the_fencing_token_grows_with_every_new_term(engine: AsyncEngine) -> None:
    """A → B → A: each new term has a larger token, even when the same node comes back."""
    a, b = node(engine, "node-a"), node(engine, "node-b")
    tokens = [(await a.try_lead()).token]
    for n in (b, a, a):
        await expire(engine)
        tokens.append((await n.try_lead()).token)
    assert tokens == [1, 2, 3, 4]


async def test_two_standbys_racing_for_an_expired_lease_one_wins(engine: AsyncEngine) -> None:
    """Nodes asking at the same moment for a lapsed lease: exactly one holds it after."""
    dead = node(engine, "dead")
    await dead.try_lead()
    await expire(engine)
    racers = [node(engine, f"node-{i}") for i in range(4)]
    views = await asyncio.gather(*(r.try_lead() for r in racers))
    assert sum(v.mine for v in views) == 1
    assert len({v.holder for v in views}) == 1 and {v.token for v in views} == {2}


async def test_the_leader_stops_acting_by_its_own_clock_before_the_lease_runs_out(
    engine: AsyncEngine,
) -> None:
    """Without a renewal, the holder may act only until expiry minus the margin, counted from
    before its renewal was sent — without asking the database (which may not answer)."""
    clock = ManualClock(T0)
    a = node(engine, "node-a", clock)
    await a.try_lead()
    clock.advance(6.9)
    assert a.may_act()
    clock.advance(0.2)  # 7.1 s: less than the 3 s margin left of the 10 s lease
    assert not a.may_act()


async def test_release_hands_the_lease_over_at_once(engine: AsyncEngine) -> None:
    """A leader shutting down cleanly frees the lease: the standby takes it on its next ask."""
    a, b = node(engine, "node-a"), node(engine, "node-b")
    await a.try_lead()
    await a.release()
    assert (await b.try_lead()).mine and not a.may_act()


async def pending(engine: AsyncEngine, channels: tuple[str, ...]) -> list[fence.Key]:
    alert = Alert(
        str(uuid.uuid4()),
        T0,
        Severity.CRITICAL,
        AlertKind.FIRST,
        (AlertItem("USDC", Severity.CRITICAL, AlertKind.FIRST, None),),
        channels,
    )
    async with engine.begin() as conn:
        await alert_history.insert_alert(conn, alert, Message("USDC", "body"))
        for ch in channels:
            await alert_history.insert_delivery(conn, alert.id, ch, T0)
    return [(alert.id, ch) for ch in channels]


async def test_only_the_current_token_can_claim_a_delivery(engine: AsyncEngine) -> None:
    """The leader claims pending deliveries under its token; a deposed leader's claim, under
    the old token, gets nothing — whatever its own clock believes."""
    a, b = node(engine, "node-a"), node(engine, "node-b")
    keys = await pending(engine, ("discord", "sms"))
    await a.try_lead()
    got = await fence.claim(engine, LEASE_NAME, "node-a", 1, 3.0, keys)
    assert got is not None and got.granted == set(keys) and not got.gone
    await expire(engine)
    await b.try_lead()
    assert await fence.claim(engine, LEASE_NAME, "node-a", 1, 3.0, keys) is None
    again = await fence.claim(engine, LEASE_NAME, "node-b", 2, 3.0, keys)
    assert again is not None and again.granted == set(keys)


async def test_a_claim_needs_more_than_the_margin_left(engine: AsyncEngine) -> None:
    """With less than the margin left of its lease (by the database's clock), the holder
    claims nothing: what it claims is sent before anyone may take over."""
    a = node(engine, "node-a")
    keys = await pending(engine, ("discord",))
    await a.try_lead()
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE leases SET expires_at = now() + interval '2 seconds'"))
    assert await fence.claim(engine, LEASE_NAME, "node-a", 1, 3.0, keys) is None


async def test_delivered_or_newer_claims_are_let_go(engine: AsyncEngine) -> None:
    """A delivery already taken, or claimed under a newer token, is not the claimant's: it is
    reported gone (dropped from its queue), never granted."""
    keys = await pending(engine, ("discord", "email", "sms"))
    await node(engine, "node-a").try_lead()
    async with engine.begin() as conn:
        await alert_history.update_delivery(
            conn, *keys[0], DeliveryStatus.DELIVERED, 1, None, T0 + 1
        )
        await conn.execute(text("UPDATE deliveries SET claim_token = 5 WHERE channel = 'email'"))
    got = await fence.claim(engine, LEASE_NAME, "node-a", 1, 3.0, keys)
    assert got is not None
    assert got.granted == {keys[2]} and got.gone == {keys[0], keys[1]}


async def test_a_delivery_not_recorded_yet_is_neither_granted_nor_gone(
    engine: AsyncEngine,
) -> None:
    """A delivery whose row has not reached the database yet waits: asked again later."""
    await node(engine, "node-a").try_lead()
    got = await fence.claim(engine, LEASE_NAME, "node-a", 1, 3.0, [("nope", "discord")])
    assert got is not None and not got.granted and not got.gone
