"""The outbox: record an alert and its deliveries first, then deliver each channel on its own.

Every delivery is a task with tenacity retries bounded by a deadline; the outcome (status,
attempts, secret-free error) is written back. If the database is down, writes wait in memory in
order and are retried on the next write — alert rows are never dropped and sending never waits
for the database. After a restart, resume_pending() sends what was still pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from depeg_monitor.alerts.render import render
from depeg_monitor.clock import Clock
from depeg_monitor.health.registry import HealthRegistry, Kind, OutboxDetail
from depeg_monitor.mask import mask_personal
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, DeliveryStatus, Message, Severity
from depeg_monitor.notify.channel import Channel, DeliveryError
from depeg_monitor.store import alert_history as history

log = structlog.get_logger(__name__)

Write = Callable[[AsyncConnection], Awaitable[None]]

ATTEMPT_TIMEOUT = 30.0  # one send; the deadline bounds all of them together
DB_WRITE_TIMEOUT = 5.0  # a hanging database must not hold up the alert loop
# After a failed write, new alerts skip the database this long (kept in memory, sent at once)
# so a down database costs the alert path nothing; flush() retries in the background.
DB_RETRY_AFTER = 5.0


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery: an alert's message to one channel."""

    alert_id: str
    channel: str
    severity: Severity
    message: Message
    siblings: tuple[str, ...]  # the alert's other channels (fallbacks never duplicate them)
    attempts: int = 0
    fallback_for: str | None = None


def _retryable(e: BaseException) -> bool:
    return isinstance(e, DeliveryError) and e.retryable


@dataclass(frozen=True, slots=True)
class OutboxRules:
    delivery_deadline: float = 120.0  # seconds to keep retrying one delivery
    outbox_max_age: float = 3600.0  # older pending deliveries expire (after a restart)
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel → fallbacks


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine | None,
        channels: dict[str, Channel],
        rules: OutboxRules,
        clock: Clock,
        health: HealthRegistry,
        metrics: Metrics,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self._cfg = rules
        self._fallbacks = rules.fallbacks
        self._clock = clock
        self._health = health.component(Kind.OUTBOX)
        self._registry = health
        for name in channels:  # known from the start, so /health lists each channel
            health.component(Kind.CHANNEL, name)
        self._metrics = metrics
        self._backlog: list[Write] = []
        self._flush_lock = asyncio.Lock()
        self._db_failed_at: float | None = None  # monotonic time of the last failed write
        self._tasks: set[asyncio.Task[None]] = set()
        self._started: set[tuple[str, str]] = set()  # (alert, channel) handled by this process

    # --- recording ------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Database writes waiting for the database to come back."""
        return len(self._backlog)

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

    # --- submitting -----------------------------------------------------------------------

    async def submit(self, alert: Alert) -> None:
        """Record the alert and its pending deliveries, then start delivering (not awaited)."""
        msg = render(alert)
        targets = () if alert.suppressed else alert.channels
        now = self._clock.now()

        async def record(conn: AsyncConnection) -> None:
            await history.insert_alert(conn, alert, msg)
            for ch in targets:
                await history.insert_delivery(conn, alert.id, ch, now)

        await self._write(record)
        if alert.suppressed:
            log.info("alert_held", alert_id=alert.id, coins=alert.coins, why=alert.suppressed)
        for ch in targets:
            self._start(Job(alert.id, ch, alert.severity, msg, targets))

    def _start(self, job: Job) -> None:
        self._started.add((job.alert_id, job.channel))
        task = asyncio.create_task(self._deliver(job), name=f"deliver:{job.channel}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- delivering -----------------------------------------------------------------------

    async def _send_with_retries(self, channel: Channel, job: Job) -> tuple[int, str | None]:
        """(attempts used, None) once sent, or (attempts, last error) once retrying must stop."""
        clock, deadline = self._clock, self._cfg.delivery_deadline
        start = clock.monotonic()
        backoff = wait_exponential_jitter(initial=1, max=30)

        def remaining() -> float:
            return deadline - (clock.monotonic() - start)

        def wait(rs: RetryCallState) -> float:
            return max(0.0, min(backoff(rs), remaining()))

        attempts = job.attempts
        try:
            async for attempt in AsyncRetrying(
                stop=lambda _rs: remaining() <= 0,
                wait=wait,
                retry=retry_if_exception(_retryable),
                sleep=clock.sleep,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    try:
                        async with asyncio.timeout(min(ATTEMPT_TIMEOUT, max(remaining(), 1.0))):
                            await channel.send(job.message, job.alert_id)
                    except TimeoutError:
                        raise DeliveryError("timed out", True) from None
        except DeliveryError as e:
            return attempts, e.reason
        except Exception as e:  # a channel bug: its text may hold secrets, so only the type
            return attempts, f"unexpected {type(e).__name__}"
        return attempts, None

    async def _deliver(self, job: Job) -> None:
        channel = self._channels.get(job.channel)
        attempts, error = job.attempts, None
        if channel is None:
            error = "channel not available (not configured; see check-config)"
        else:
            attempts, error = await self._send_with_retries(channel, job)
        status = DeliveryStatus.DELIVERED if error is None else DeliveryStatus.FAILED
        await self._finish(job, status, attempts, error)
        if error is not None and job.severity == Severity.CRITICAL and job.fallback_for is None:
            await self._failover(job)

    async def _finish(
        self, job: Job, status: DeliveryStatus, attempts: int, error: str | None
    ) -> None:
        now = self._clock.now()
        if error is not None:
            error = mask_personal(error)  # delivery rows, logs and /health name no one

        async def record(conn: AsyncConnection) -> None:
            await history.update_delivery(
                conn, job.alert_id, job.channel, status, attempts, error, now
            )

        await self._write(record)
        self._metrics.deliveries.labels(job.channel, status.value).inc()
        component = self._registry.component(Kind.CHANNEL, job.channel)
        if status is DeliveryStatus.DELIVERED:
            component.ok(now)
            log.info("delivered", alert_id=job.alert_id, channel=job.channel, attempts=attempts)
        elif status is DeliveryStatus.FAILED:
            component.error(now, error or "failed")
            log.error(
                "delivery_failed",
                alert_id=job.alert_id,
                channel=job.channel,
                attempts=attempts,
                error=error,
            )

    async def _failover(self, job: Job) -> None:
        """A critical alert that a channel could not carry goes to its fallbacks."""
        for fb in self._fallbacks.get(job.channel, ()):
            if fb in job.siblings or (job.alert_id, fb) in self._started:
                continue  # that channel has (or had) this alert already
            now = self._clock.now()

            async def record(conn: AsyncConnection, fb: str = fb, now: float = now) -> None:
                await history.insert_delivery(conn, job.alert_id, fb, now, fallback_for=job.channel)

            await self._write(record)
            log.warning("failing_over", alert_id=job.alert_id, failed=job.channel, to=fb)
            self._start(
                Job(job.alert_id, fb, job.severity, job.message, job.siblings, 0, job.channel)
            )

    # --- start-up and shutdown ------------------------------------------------------------

    async def resume_pending(self) -> None:
        """Send deliveries left pending by an earlier run; expire those too old to matter."""
        if self._engine is None:
            return
        try:
            pending = await history.pending_deliveries(self._engine)
        except (SQLAlchemyError, OSError) as e:
            log.error("pending_deliveries_unreadable", error=type(e).__name__)
            return
        now = self._clock.now()
        resumed = expired = 0
        for p in pending:
            if (p.alert_id, p.channel) in self._started:
                continue  # this process is already on it
            job = Job(p.alert_id, p.channel, p.severity, p.message, (), p.attempts, p.fallback_for)
            if now - p.created_at > self._cfg.outbox_max_age:
                self._started.add((p.alert_id, p.channel))
                await self._finish(
                    job, DeliveryStatus.EXPIRED, p.attempts, "older than outbox_max_age"
                )
                expired += 1
            else:
                self._start(job)
                resumed += 1
        if pending:
            log.info("outbox_resumed", resumed=resumed, expired=expired)

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 (the daemon's API)
        """Let in-flight deliveries finish for up to timeout; the rest stay pending for later."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        # Loop: a failed critical delivery starts its fallbacks while we wait.
        while self._tasks and loop.time() < until:
            await asyncio.wait(set(self._tasks), timeout=until - loop.time())
        left = set(self._tasks)
        for t in left:
            t.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)
            log.warning("deliveries_left_pending", count=len(left))
        try:
            async with asyncio.timeout(max(timeout, 1.0)):
                await self.flush()
        except TimeoutError:
            pass
        if self._backlog:
            log.error("alert_history_lost_at_shutdown", count=len(self._backlog))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
