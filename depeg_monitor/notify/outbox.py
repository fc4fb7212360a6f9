"""The outbox: record each delivery first, then deliver every channel in order until the channel
has taken it or it is too old to matter.

Each channel has a courier: one task and its queue of pending deliveries, oldest first. The
courier sends the head — or, when several wait, all of them folded into one message that says
they were held — and retries with capped exponential backoff plus jitter until the channel takes
it or the delivery passes its severity's max age; a restart resumes from the database. One queue
per channel is what makes a "resolved" follow the alert it resolves: it waits behind it. A
critical a channel has not taken by the failover deadline also goes to that channel's
fallbacks, while the channel itself keeps being retried.

If the database is down, writes wait in memory in order and are retried on the next write:
alert rows are never dropped and sending never waits for the database.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from depeg_monitor.alerts.render import held, render
from depeg_monitor.clock import Clock
from depeg_monitor.health.registry import (
    ChannelDetail,
    Component,
    HealthRegistry,
    Kind,
    OutboxDetail,
)
from depeg_monitor.mask import mask_personal
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, DeliveryStatus, Message, Severity
from depeg_monitor.notify.channel import Channel, DeliveryError
from depeg_monitor.store import alert_history as history

log = structlog.get_logger(__name__)

Write = Callable[[AsyncConnection], Awaitable[None]]

DB_WRITE_TIMEOUT = 5.0  # a hanging database must not hold up the alert loop
# After a failed write, new alerts skip the database this long (kept in memory, sent at once)
# so a down database costs the alert path nothing; flush() retries in the background.
DB_RETRY_AFTER = 5.0
# A channel's own timeouts end a send within its timeout; this backstop is for a library that
# does not keep its word (the request may then still land: at-least-once, as documented).
BACKSTOP_MARGIN = 15.0
FOLD_MAX = 20  # at most this many held messages folded into one
# At shutdown a send already on the wire gets this long to finish, so its outcome is recorded
# and the next run does not send it again; apprise's worker thread cannot be stopped anyway.
IN_FLIGHT_GRACE = 3.0
CLAIM_RETRY = 0.5  # [ha]: a delivery not claimable yet (standby, row not written) is asked again


class Claimed(Protocol):
    @property
    def granted(self) -> frozenset[tuple[str, str]]: ...
    @property
    def gone(self) -> frozenset[tuple[str, str]]: ...


class Gate(Protocol):
    """[ha]: who may send. claim() → None: send nothing now; else what may be sent (granted)
    and what another node has (gone). Without a gate, this process always sends."""

    async def claim(self, keys: Sequence[tuple[str, str]]) -> Claimed | None: ...

    async def holds(self, conn: AsyncConnection) -> bool:
        """Whether this node still leads, checked inside the transaction recording an alert."""
        ...


class Deposed(Exception):
    """[ha] an alert decided by a leader that has lost the lease before it was recorded: the
    new leader decides for itself, so this one is dropped rather than left pending."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert's message to one channel, and how far its delivery has come."""

    alert_id: str
    channel: str
    severity: Severity
    message: Message
    created_at: float  # when it was recorded: its age (max age, failover) counts from here
    attempts: int = 0
    first_tried_at: float | None = None
    fallback_for: str | None = None  # the channel this one stands in for

    @property
    def key(self) -> tuple[str, str]:
        return (self.alert_id, self.channel)


@dataclass(frozen=True, slots=True)
class OutboxRules:
    failover_after: float = 120.0  # a critical still pending this long also goes to fallbacks
    max_age: Mapping[Severity, float] = field(default_factory=dict)  # then it expires
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel → fallbacks
    retry_first: float = 1.0  # the first retry's wait; doubling …
    retry_max: float = 15.0  # … up to this (a recovered channel hears within about this)
    late_after: float = 60.0  # a message sent this long after it was recorded says it is late

    def expires(self, d: Delivery) -> float:
        age = self.max_age.get(d.severity, self.max_age.get(Severity.MINOR, 3600.0))
        return d.created_at + age


def backoff(rules: OutboxRules, failures: int) -> float:
    """Capped exponential backoff with full jitter in its upper half: never two channels (or
    two daemons) retrying in lock-step, never longer than retry_max."""
    ceiling = min(rules.retry_max, rules.retry_first * 2.0 ** max(0, failures - 1))
    return ceiling * (0.5 + random.random() / 2)


@dataclass(slots=True)
class _Courier:
    """One channel's pending deliveries (oldest first) and the task working through them."""

    name: str
    channel: Channel | None  # None: named by a stored delivery, not configured now
    health: Component
    queue: list[Delivery] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    busy: bool = False  # a batch is being worked on
    sending: bool = False  # an attempt is on the wire
    task: asyncio.Task[None] | None = None

    def add(self, d: Delivery) -> None:
        bisect.insort(self.queue, d, key=lambda x: x.created_at)
        self.wake.set()

    def remove(self, done: list[Delivery]) -> None:
        keys = {d.key for d in done}
        self.queue = [d for d in self.queue if d.key not in keys]

    def detail(self) -> ChannelDetail:
        return ChannelDetail(len(self.queue), self.queue[0].created_at if self.queue else None)


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine | None,
        channels: dict[str, Channel],
        rules: OutboxRules,
        clock: Clock,
        health: HealthRegistry,
        metrics: Metrics,
        gate: Gate | None = None,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._channels = channels
        self._rules = rules
        self._clock = clock
        self._health = health.component(Kind.OUTBOX)
        self._registry = health
        self._metrics = metrics
        self._backlog: list[Write] = []
        self._flush_lock = asyncio.Lock()
        self._db_failed_at: float | None = None  # monotonic time of the last failed write
        self._couriers: dict[str, _Courier] = {}
        self._known: set[tuple[str, str]] = set()  # (alert, channel) with a delivery row
        self._progress = asyncio.Event()  # a courier finished a batch (drain waits on it)
        self._stopping = False  # no new attempt starts; the one on the wire may finish
        self._retired: list[Channel] = []  # replaced by a reload; closed at close()
        for name in channels:  # known from the start, so /health lists each channel
            health.component(Kind.CHANNEL, name)

    # --- recording ------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Database writes waiting for the database to come back."""
        return len(self._backlog)

    def pending(self, channel: str) -> list[Delivery]:
        """What the channel has not taken yet, oldest first."""
        courier = self._couriers.get(channel)
        return list(courier.queue) if courier else []

    async def _write(self, op: Write) -> None:
        if self._engine is None:
            return
        self._backlog.append(op)
        failed = self._db_failed_at
        if failed is None or self._clock.monotonic() - failed >= DB_RETRY_AFTER:
            await self.flush()

    async def flush(self) -> None:
        """Write what waits, in order; stop at the first failure and keep the rest."""
        if self._engine is None:
            return
        async with self._flush_lock:
            while self._backlog:
                try:
                    async with asyncio.timeout(DB_WRITE_TIMEOUT), self._engine.begin() as conn:
                        await self._backlog[0](conn)
                except Deposed:
                    log.warning("alert_dropped_not_leader", action="the leader decides anew")
                except (SQLAlchemyError, OSError, TimeoutError) as e:
                    why = f"cannot record alerts: {type(e).__name__}"
                    self._health.error(self._clock.now(), why, OutboxDetail(self.backlog))
                    log.warning(
                        "alert_history_write_failed", waiting=self.backlog, action="kept in memory"
                    )
                    self._db_failed_at = self._clock.monotonic()
                    return
                self._backlog.pop(0)
            self._db_failed_at = None
            self._health.ok(self._clock.now(), detail=OutboxDetail(0))

    async def _record(self, d: Delivery, status: DeliveryStatus, error: str | None) -> None:
        now = self._clock.now()

        async def op(conn: AsyncConnection) -> None:
            await history.update_delivery(
                conn, d.alert_id, d.channel, status, d.attempts, error, now, d.first_tried_at
            )

        await self._write(op)

    # --- submitting -----------------------------------------------------------------------

    async def submit(self, alert: Alert) -> None:
        """Record the alert and its pending deliveries, then hand them to the couriers."""
        msg = render(alert)
        targets = () if alert.suppressed else alert.channels
        now = self._clock.now()

        async def record(conn: AsyncConnection) -> None:
            if self._gate is not None and not await self._gate.holds(conn):
                raise Deposed
            await history.insert_alert(conn, alert, msg)
            for ch in targets:
                await history.insert_delivery(conn, alert.id, ch, now)

        await self._write(record)
        if alert.suppressed:
            log.info("alert_held", alert_id=alert.id, coins=alert.coins, why=alert.suppressed)
        for ch in targets:
            self._enqueue(Delivery(alert.id, ch, alert.severity, msg, now))

    def _enqueue(self, d: Delivery) -> None:
        self._known.add(d.key)
        courier = self._courier(d.channel)
        courier.add(d)
        courier.health.describe(courier.detail())
        self._metrics.outbox_pending.labels(d.channel).set(len(courier.queue))

    def _courier(self, name: str) -> _Courier:
        courier = self._couriers.get(name)
        if courier is None:
            health = self._registry.component(Kind.CHANNEL, name)
            courier = self._couriers[name] = _Courier(name, self._channels.get(name), health)
        if courier.task is None:  # first use, or after a drain
            courier.task = asyncio.create_task(self._work(courier), name=f"deliver:{name}")
        return courier

    # --- delivering -----------------------------------------------------------------------

    async def _work(self, courier: _Courier) -> None:
        """Forever: wait for deliveries, then work through them in order."""
        while not self._stopping:
            if not courier.queue:
                courier.wake.clear()
                await courier.wake.wait()
                continue
            courier.busy = True
            try:
                await self._deliver_batch(courier, self._next_batch(courier))
            except Exception as e:  # a bug here must not end this channel's deliveries
                log.exception("courier_failed", channel=courier.name, error=type(e).__name__)
                await asyncio.sleep(1.0)
            finally:
                courier.busy = False
                self._progress.set()
            courier.health.describe(courier.detail())
            self._metrics.outbox_pending.labels(courier.name).set(len(courier.queue))

    def _next_batch(self, courier: _Courier) -> list[Delivery]:
        """The head alone while the channel keeps up; everything waiting (up to FOLD_MAX), as
        one message, once the head is late or has failed before: after an outage the channel
        hears one message saying what it missed, not a burst of stale ones."""
        head = courier.queue[0]
        if head.attempts == 0 and self._clock.now() - head.created_at < self._rules.late_after:
            return [head]
        return courier.queue[:FOLD_MAX]

    async def _deliver_batch(self, courier: _Courier, batch: list[Delivery]) -> None:
        """Send one batch (the same one on every retry, so a partly reached SMS list is never
        sent a different text) until it is taken, refused for good, or expired."""
        rules, clock = self._rules, self._clock
        failures = 0
        while True:
            now = clock.now()
            await self._expire_due(courier, now)
            await self._failover_due(courier, now)
            keys = {d.key for d in courier.queue}
            batch = [d for d in batch if d.key in keys]
            if not batch:
                return
            channel = courier.channel
            if channel is None:
                why = "channel not available (not configured; see check-config)"
                await self._refused(courier, batch, why)
                return
            if self._gate is not None:
                claimed = await self._claim(courier, batch)
                if not claimed:  # not leading, or not written yet: ask again shortly
                    if self._stopping:
                        return
                    await clock.sleep(CLAIM_RETRY)
                    continue
                batch = claimed
            batch = [
                dataclasses.replace(
                    d, attempts=d.attempts + 1, first_tried_at=d.first_tried_at or now
                )
                for d in batch
            ]
            if self._stopping:
                return
            courier.sending = True
            try:
                error = await self._attempt(channel, batch, now)
            finally:
                courier.sending = False
            if error is None:
                await self._delivered(courier, batch)
                return
            if not error.retryable:
                await self._refused(courier, batch, error.reason)
                return
            failures += 1
            reason = mask_personal(error.reason)
            self._replace(courier, batch)
            courier.health.error(clock.now(), reason, courier.detail())
            for d in batch:
                await self._record(d, DeliveryStatus.PENDING, reason)
            if failures == 1:
                log.warning("delivery_retrying", channel=courier.name, error=reason)
            if self._stopping:
                return
            wait = min(backoff(rules, failures), self._next_deadline(courier) - clock.now())
            await clock.sleep(max(wait, 0.05))

    async def _claim(self, courier: _Courier, batch: list[Delivery]) -> list[Delivery]:
        """[ha]: the part of the batch this node may send now; what another node has (taken,
        or claimed under a newer lease) leaves the queue."""
        assert self._gate is not None
        got = await self._gate.claim([d.key for d in batch])
        if got is None:
            return []
        gone = [d for d in batch if d.key in got.gone]
        if gone:
            courier.remove(gone)
            log.info("delivery_taken_elsewhere", channel=courier.name, count=len(gone))
        return [d for d in batch if d.key in got.granted]

    def step_down(self) -> None:
        """[ha] this node no longer leads: forget what it was to send (the rows stay pending in
        the shared outbox for the leader); a send already on the wire finishes."""
        for courier in self._couriers.values():
            courier.queue.clear()
            courier.wake.set()
            courier.health.describe(courier.detail())
            self._metrics.outbox_pending.labels(courier.name).set(0)
        self._known.clear()

    async def _attempt(
        self, channel: Channel, batch: list[Delivery], now: float
    ) -> DeliveryError | None:
        first = min(d.first_tried_at or now for d in batch)
        created = min(d.created_at for d in batch)
        msg = batch[0].message
        if len(batch) > 1 or now - created >= self._rules.late_after:
            msg = held([d.message for d in batch], min(first, created), now)
        key = batch[0].alert_id if len(batch) == 1 else f"{batch[0].alert_id}+{len(batch) - 1}"
        try:
            async with asyncio.timeout(channel.timeout + BACKSTOP_MARGIN):
                await channel.send(msg, key)
        except DeliveryError as e:
            return e
        except TimeoutError:
            return DeliveryError(f"no answer within {channel.timeout + BACKSTOP_MARGIN:g}s", True)
        except Exception as e:  # a channel bug: its text may hold secrets, so only the type
            return DeliveryError(f"unexpected {type(e).__name__}", True)
        return None

    def _replace(self, courier: _Courier, batch: list[Delivery]) -> None:
        """Keep the queue's copies in step with the batch's attempts and first try."""
        by_key = {d.key: d for d in batch}
        courier.queue = [by_key.get(d.key, d) for d in courier.queue]

    async def _delivered(self, courier: _Courier, batch: list[Delivery]) -> None:
        courier.remove(batch)
        now = self._clock.now()
        for d in batch:
            await self._record(d, DeliveryStatus.DELIVERED, None)
            self._metrics.deliveries.labels(d.channel, DeliveryStatus.DELIVERED.value).inc()
        courier.health.ok(now, detail=courier.detail())
        late = now - min(d.created_at for d in batch)
        log.info(
            "delivered",
            channel=courier.name,
            alert_ids=[d.alert_id for d in batch],
            attempts=max(d.attempts for d in batch),
            **({"late_s": round(late, 1)} if late >= self._rules.late_after else {}),
        )

    async def _refused(self, courier: _Courier, batch: list[Delivery], reason: str) -> None:
        """The channel said no for good (a 4xx, no such channel): failed; a critical goes to
        the fallbacks now rather than at the deadline."""
        reason = mask_personal(reason)
        courier.remove(batch)
        for d in batch:
            await self._record(d, DeliveryStatus.FAILED, reason)
            self._metrics.deliveries.labels(d.channel, DeliveryStatus.FAILED.value).inc()
        courier.health.error(self._clock.now(), reason, courier.detail())
        log.error(
            "delivery_failed",
            channel=courier.name,
            alert_ids=[d.alert_id for d in batch],
            attempts=max(d.attempts for d in batch),
            error=reason,
        )
        for d in batch:
            await self._fail_over(d)

    async def _expire_due(self, courier: _Courier, now: float) -> None:
        old = [d for d in courier.queue if now >= self._rules.expires(d)]
        if not old:
            return
        courier.remove(old)
        for d in old:
            await self._record(d, DeliveryStatus.EXPIRED, "not delivered within outbox_max_age")
            self._metrics.deliveries.labels(d.channel, DeliveryStatus.EXPIRED.value).inc()
        log.error(
            "delivery_expired",
            channel=courier.name,
            alert_ids=[d.alert_id for d in old],
            attempts=max(d.attempts for d in old),
        )

    async def _failover_due(self, courier: _Courier, now: float) -> None:
        for d in list(courier.queue):
            if now - d.created_at >= self._rules.failover_after:
                await self._fail_over(d)

    async def _fail_over(self, d: Delivery) -> None:
        """A critical the channel has not taken goes to each of its fallbacks, once."""
        if d.severity < Severity.CRITICAL or d.fallback_for is not None:
            return
        for fb in self._rules.fallbacks.get(d.channel, ()):
            if (d.alert_id, fb) in self._known:
                continue  # that channel has (or had) this alert already
            now = self._clock.now()
            self._known.add((d.alert_id, fb))

            async def record(conn: AsyncConnection, fb: str = fb, now: float = now) -> None:
                await history.insert_delivery(conn, d.alert_id, fb, now, fallback_for=d.channel)

            await self._write(record)
            log.warning("failing_over", alert_id=d.alert_id, failed=d.channel, to=fb)
            self._enqueue(Delivery(d.alert_id, fb, d.severity, d.message, now, 0, None, d.channel))

    def _next_deadline(self, courier: _Courier) -> float:
        """The soonest moment a waiting delivery expires or is due to fail over."""
        rules = self._rules
        times = [rules.expires(d) for d in courier.queue]
        times += [
            d.created_at + rules.failover_after
            for d in courier.queue
            if d.severity >= Severity.CRITICAL
            and d.fallback_for is None
            and any(
                (d.alert_id, fb) not in self._known for fb in rules.fallbacks.get(d.channel, ())
            )
        ]
        return min(times, default=float("inf"))

    def retune(self, channels: dict[str, Channel], rules: OutboxRules) -> None:
        """A reloaded configuration's channels and rules. Every queued delivery stays queued,
        in order: a kept channel goes on as it was, a changed one makes its next attempt
        through its new build, and a removed one still delivers what it already holds (no
        alert is routed to it any more)."""
        for name, ch in self._channels.items():
            if channels.get(name) is not ch:
                self._retired.append(ch)  # an attempt may still be on the wire: closed last
        self._channels = dict(channels)
        self._rules = rules
        for name in channels:
            self._registry.component(Kind.CHANNEL, name)
        for name, courier in self._couriers.items():
            if name in channels:
                courier.channel = channels[name]

    # --- start-up and shutdown ------------------------------------------------------------

    async def resume_pending(self) -> None:
        """Hand deliveries left pending by an earlier run back to their couriers (each one
        expires by its own max age, counted from when it was first recorded)."""
        if self._engine is None:
            return
        try:
            pending, known = await history.pending_deliveries(self._engine)
        except (SQLAlchemyError, OSError) as e:
            log.error("pending_deliveries_unreadable", error=type(e).__name__)
            return
        mine = set(self._known)
        self._known |= known
        resumed = 0
        for p in pending:
            if (p.alert_id, p.channel) in mine:
                continue  # this process is already on it
            self._enqueue(
                Delivery(
                    p.alert_id,
                    p.channel,
                    p.severity,
                    p.message,
                    p.created_at,
                    p.attempts,
                    p.first_tried_at,
                    p.fallback_for,
                )
            )
            resumed += 1
        if resumed:
            log.info("outbox_resumed", resumed=resumed)

    def _idle(self) -> bool:
        return all(not c.queue and not c.busy for c in self._couriers.values())

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 (the daemon's API)
        """Let pending deliveries go out for up to timeout; the rest stay pending for the next
        run (their rows say so)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while True:
            self._progress.clear()
            if self._idle() or loop.time() >= until:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(until - loop.time()):
                    await self._progress.wait()
        left = sum(len(c.queue) for c in self._couriers.values())
        await self._stop_couriers()
        if left:
            log.warning("deliveries_left_pending", count=left)
        try:
            async with asyncio.timeout(max(timeout, 1.0)):
                await self.flush()
        except TimeoutError:
            pass
        if self._backlog:
            log.error("alert_history_lost_at_shutdown", count=len(self._backlog))

    async def _stop_couriers(self) -> None:
        """Stop every courier: an idle or waiting one at once, one with a send on the wire once
        that send's outcome is recorded (up to IN_FLIGHT_GRACE)."""
        self._stopping = True
        running = [(c, c.task) for c in self._couriers.values() if c.task is not None]
        for c, task in running:
            if not c.sending:
                task.cancel()
        in_flight = [task for c, task in running if c.sending]
        if in_flight:
            await asyncio.wait(in_flight, timeout=IN_FLIGHT_GRACE)
        for _, task in running:
            task.cancel()
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)
        for c, _ in running:
            c.task = None
        self._stopping = False

    async def close(self) -> None:
        await self._stop_couriers()
        for ch in [*self._channels.values(), *self._retired]:
            await ch.close()
