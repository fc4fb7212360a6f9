"""This node's part in an active/standby pair: lead while it holds the lease, else stand by.

Both nodes collect, aggregate and classify (a standby is warm); only the leader decides and
sends. The node gates the two places where the monitor acts — the alert policy (a standby
decides nothing, so nothing is recorded as sent) and the outbox (a delivery is sent only under a
fenced claim) — and on becoming leader rebuilds the policy from the alert history with the same
fold as restart recovery, then resumes the shared outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from depeg_monitor.clock import Clock
from depeg_monitor.cycle import AlertSink, Policy
from depeg_monitor.ha import fence
from depeg_monitor.ha.lease import Lease, LeaseView
from depeg_monitor.ha.metrics import HaMetrics
from depeg_monitor.ha.rules import LEASE_NAME, HaRules
from depeg_monitor.model import Ack, Alert, Assessment, Silence

log = structlog.get_logger(__name__)


class Takeover(Protocol):
    """What the daemon does when this node's role changes."""

    async def restore(self) -> None:
        """Rebuild the policy from the alert history (raises if it cannot be read)."""

    async def resume(self) -> None:
        """Hand the shared outbox's pending deliveries to this node's couriers."""

    def step_down(self) -> None:
        """Drop what this node was about to send: the new leader resumes it from the outbox."""


@dataclass(frozen=True, slots=True)
class Seen:
    """The last read of the lease and when it was made (monotonic)."""

    view: LeaseView
    at: float


class HaNode:
    def __init__(
        self, engine: AsyncEngine, rules: HaRules, clock: Clock, metrics: HaMetrics
    ) -> None:
        self.rules = rules
        self._engine = engine
        self._clock = clock
        self._metrics = metrics
        self.lease = Lease(engine, rules, clock)
        self._takeover: Takeover | None = None
        self._leading = False  # promoted: the policy restored, the outbox resumed
        self.seen: Seen | None = None
        self.error: str | None = None  # why the last read failed (free of secrets)
        self.error_since: float | None = None  # monotonic: unread since
        metrics.role("standby")

    def bind(self, takeover: Takeover) -> None:
        self._takeover = takeover

    @property
    def name(self) -> str:
        return self.rules.node

    def leading(self) -> bool:
        """Whether this node may decide and send right now: promoted, and its lease has more
        than the margin left by its own clock (false the moment that runs out, even while a
        renewal hangs on a database that does not answer)."""
        return self._leading and self.lease.may_act()

    @property
    def role(self) -> str:
        return "leader" if self.leading() else "standby"

    # --- the lease loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.rules.renew_interval)

    async def step(self) -> None:
        """One renewal (leader) or attempt to acquire (standby), and the role that follows."""
        try:
            view = await self.lease.try_lead(timeout=self.rules.renew_interval)
        except Exception as e:  # down, unreachable, hanging: may_act() runs out by itself
            self._unread(f"cannot read the lease: {type(e).__name__}")
            if self._leading and not self.lease.may_act():
                self._step_down("lease not renewed in time")
            return
        self.seen, self.error, self.error_since = Seen(view, self._clock.monotonic()), None, None
        if not view.mine:
            if self._leading:
                self._step_down(f"lease held by {view.holder}")
            return
        if view.acquired and self._leading:
            self._step_down("lease lapsed before it was renewed")  # a new term: restore again
        if self._leading:
            self._metrics.renewals.inc()
            return
        await self._promote(view)

    async def _promote(self, view: LeaseView) -> None:
        assert self._takeover is not None, "bind() before run()"
        try:
            await self._takeover.restore()
        except Exception as e:
            # Leading on a policy that forgot what was sent would page again: not yet.
            log.error("ha_restore_failed", error=type(e).__name__, action="retried next renewal")
            return
        self._leading = True
        self._metrics.takeovers.inc()
        self._metrics.role("leader")
        log.warning("ha_leader", node=self.name, token=view.token)
        await self._takeover.resume()

    def _step_down(self, why: str) -> None:
        self._leading = False
        self.lease.forget()
        self._metrics.role("standby")
        log.warning("ha_standby", node=self.name, why=why, action="sending stopped")
        if self._takeover is not None:
            self._takeover.step_down()

    def _unread(self, why: str) -> None:
        if self.error is None:
            log.warning("ha_lease_unreadable", node=self.name, error=why)
            self.error_since = self._clock.monotonic()
        self.error = why

    async def release(self) -> None:
        """At shutdown (after the outbox has drained): hand the lease over at once."""
        if not self._leading:
            return
        self._leading = False
        try:
            await self.lease.release()
            log.info("ha_lease_released", node=self.name)
        except Exception as e:
            log.warning("ha_lease_release_failed", error=type(e).__name__)

    # --- the gates --------------------------------------------------------------------------

    async def claim(self, keys: Sequence[fence.Key]) -> fence.Claim | None:
        """The outbox's gate: None (send nothing now) unless this node leads and the database
        confirms it under its token with more than the margin left."""
        token = self.lease.token
        if not self.leading() or token is None:
            return None
        try:
            async with asyncio.timeout(self.rules.margin):
                return await fence.claim(
                    self._engine, LEASE_NAME, self.name, token, self.rules.margin, keys
                )
        except Exception as e:
            log.warning("ha_claim_failed", error=type(e).__name__, action="not sent yet")
            return None

    async def holds(self, conn: AsyncConnection) -> bool:
        """The outbox's fence for recording a decision: this node still holds the lease."""
        token = self.lease.token
        return token is not None and await fence.holds(conn, LEASE_NAME, self.name, token)

    def policy(self, inner: Policy) -> Policy:
        return _LeaderPolicy(inner, self.leading)

    def sink(self, inner: AlertSink) -> AlertSink:
        return _LeaderSink(inner, self.leading)


class _LeaderPolicy:
    """The alert policy, consulted only while this node leads: a standby decides nothing."""

    def __init__(self, inner: Policy, leading: Callable[[], bool]) -> None:
        self._inner = inner
        self._leading = leading

    def decide(
        self,
        assessments: Sequence[Assessment],
        now: float,
        silences: Sequence[Silence] = (),
        acks: Sequence[Ack] = (),
    ) -> list[Alert]:
        return self._inner.decide(assessments, now, silences, acks) if self._leading() else []


class _LeaderSink:
    """The outbox, written to only while this node leads (a standby's self-alerts included)."""

    def __init__(self, inner: AlertSink, leading: Callable[[], bool]) -> None:
        self._inner = inner
        self._leading = leading

    async def submit(self, alert: Alert) -> None:
        if self._leading():
            await self._inner.submit(alert)
        else:
            log.info("ha_standby_not_sending", alert_id=alert.id, kind=alert.kind.value)
