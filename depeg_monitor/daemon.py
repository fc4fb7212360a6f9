"""The one composition root: builds every long-lived object in dependency order, runs the
main loop, and tears everything down in reverse on stop.

Signals are handled by the entry point (commands/run.py), which sets `stop`; so the whole
daemon can run inside a test with a stop event of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.clock import Clock, SystemClock
from depeg_monitor.collect import VenueCollector, build_collectors
from depeg_monitor.collect.book import QuoteBook
from depeg_monitor.collect.session import make_session
from depeg_monitor.config import Settings
from depeg_monitor.detect.detector import Detector
from depeg_monitor.health.evaluate import HealthReport, evaluate
from depeg_monitor.health.heartbeat import Heartbeat
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.health.sdnotify import SdNotifier
from depeg_monitor.health.selfwatch import SelfWatch
from depeg_monitor.health.server import HealthServer
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, Assessment, Quote, Severity, Silence
from depeg_monitor.notify.channels import Channel, build_channels
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.rules import alert_rules, routing
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.retention import RetentionJob
from depeg_monitor.store.writer import HistoryWriter

log = structlog.get_logger(__name__)

# The main loop wakes on new quotes, or at the latest this often (hold timers, health).
MAX_CYCLE_GAP = 1.0
# Silences are re-read from the database this often, so `silence add` takes effect quickly.
SILENCE_REFRESH = 5.0
# One summary line per coin at most this often (plus every severity change).
PRICE_LOG_INTERVAL = 60.0
SHUTDOWN_GRACE = 10.0
OUTBOX_FLUSH_INTERVAL = 5.0
RESTART_DELAY = 5.0  # before a crashed task is started again
DB_RETRY_INTERVAL = 15.0  # retry preparing a database that was down at start-up


@dataclass
class LoopState:
    """What the main loop has seen; read by /health."""

    last_cycle: float | None = None
    last_price: dict[str, float | None] = field(default_factory=dict)
    last_price_ts: dict[str, float] = field(default_factory=dict)
    last_logged: dict[str, float] = field(default_factory=dict)
    last_severity: dict[str, Severity] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()
    silences_read: float = float("-inf")


class Daemon:
    """Everything the monitor runs, wired once. `run(stop)` returns when stop is set."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        channels: dict[str, Channel] | None = None,
    ) -> None:
        self.settings = settings
        self._channels = channels  # None: built from settings (the demo brings its own)
        self.clock = clock or SystemClock()
        self.health = HealthRegistry()
        self.metrics = Metrics()
        self.state = LoopState()
        self.book = QuoteBook()
        self._new_quotes = asyncio.Event()
        self.health_port: int | None = None
        self.started: float | None = None

    def report(self) -> HealthReport:
        return evaluate(
            self.health,
            self.clock.now(),
            self.settings,
            self.state.last_price_ts,
            self.state.last_cycle,
            started=self.started,
        )

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        s, clock = self.settings, self.clock
        sd = SdNotifier()
        self.started = clock.now()
        async with AsyncExitStack() as stack:
            engine = create_engine(s.database.resolved_url())
            stack.push_async_callback(engine.dispose)
            db_ok = await self._upgrade(engine)

            writer = HistoryWriter(
                engine,
                s.database,
                clock,
                self.health,
                self.metrics,
                health_interval=s.health.history_interval,
            )
            channels = self._channels if self._channels is not None else build_channels(s)
            outbox = Outbox(engine, channels, s, clock, self.health, self.metrics)
            routes = routing(s)
            router = Router(routes.routes, routes.timezone, set(s.channels) & set(channels))
            policy = AlertPolicy(alert_rules(s), router)
            detector = Detector(s)
            if db_ok:
                await self._restore(engine, policy, detector)

            session = make_session()
            stack.push_async_callback(session.close)

            def sink(quotes: Sequence[Quote]) -> None:
                self.book.update(quotes)
                writer.add_quotes(quotes)
                self._new_quotes.set()

            collectors = build_collectors(s, session, clock, self.health, self.metrics, sink)

            server: HealthServer | None = None
            if s.health.enabled:
                server = HealthServer(s.health, self.report, self.metrics)
                await server.start()
                self.health_port = server.port
                stack.push_async_callback(server.stop)

            selfwatch = SelfWatch(s.health, tuple(channels), grace=s.health.degraded_after)
            heartbeat = Heartbeat(s.health, session, clock)
            retention = RetentionJob(engine, s.database, clock, self.health)

            # Collectors stop at once on shutdown; the writer and the outbox get a grace period
            # after the main loop has ended, so what the last cycle produced is flushed.
            bg_stop = asyncio.Event()
            # Each venue checks its listing and starts polling on its own: a slow venue never
            # holds up the others, nor the start of alerting.
            collecting = [
                self._supervised(f"collect:{c.name}", self._collect(c), bg_stop) for c in collectors
            ]
            tasks = [
                self._supervised("writer", writer.run, bg_stop),
                self._supervised("retention", retention.run, bg_stop),
                self._supervised("outbox", lambda st: self._flush_outbox(outbox, st), bg_stop),
            ]
            if db_ok:
                tasks.append(asyncio.create_task(outbox.resume_pending(), name="resume"))
            else:
                tasks.append(
                    self._supervised(
                        "db-upgrade", lambda st: self._upgrade_later(engine, outbox, st), bg_stop
                    )
                )

            sd.ready(f"monitoring {len(s.coins)} coins on {len(collectors)} venues")
            if ready is not None:
                ready.set()
            log.info(
                "started",
                coins=list(s.coins),
                venues=[c.name for c in collectors],
                channels=list(channels),
                health_port=self.health_port,
            )
            try:
                await self._main_loop(
                    stop, detector, policy, outbox, writer, selfwatch, heartbeat, engine, sd
                )
            finally:
                sd.stopping()
                log.info("stopping")
                bg_stop.set()
                for t in collecting:
                    t.cancel()
                await asyncio.gather(*collecting, return_exceptions=True)
                _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                with contextlib.suppress(Exception):
                    await writer.flush()
                await outbox.drain(SHUTDOWN_GRACE)
                await outbox.close()
                log.info("stopped")

    @staticmethod
    def _collect(collector: VenueCollector) -> Callable[[asyncio.Event], Awaitable[None]]:
        async def go(stop: asyncio.Event) -> None:
            await collector.start()
            await collector.run(stop)

        return go

    def _supervised(
        self,
        name: str,
        run: Callable[[asyncio.Event], Awaitable[None]],
        stop: asyncio.Event,
    ) -> asyncio.Task[None]:
        """Run a long-lived task; a bug that kills it is logged, shown in /health, and the task
        restarts, so one broken part never silently takes the monitor down with it."""

        async def loop() -> None:
            while not stop.is_set():
                try:
                    await run(stop)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.exception("task crashed; restarting", task=name)
                    self.health.error(name, self.clock.now(), f"crashed: {type(e).__name__}")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=RESTART_DELAY)

        return asyncio.create_task(loop(), name=name)

    async def _flush_outbox(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Alert rows kept in memory while the database was down get written when it is back."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=OUTBOX_FLUSH_INTERVAL)
            if outbox.backlog:
                await outbox.flush()

    async def _upgrade(self, engine: AsyncEngine, quiet: bool = False) -> bool:
        try:
            await upgrade(engine)
            return True
        except Exception as e:  # a down database must not stop alerting
            if not quiet:
                log.error("database unavailable; alerting goes on", error=type(e).__name__)
            self.health.error("db", self.clock.now(), f"unavailable: {type(e).__name__}")
            return False

    async def _upgrade_later(
        self, engine: AsyncEngine, outbox: Outbox, stop: asyncio.Event
    ) -> None:
        """The database was down at start-up: prepare it once it answers, then send what waits."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=DB_RETRY_INTERVAL)
            if not stop.is_set() and await self._upgrade(engine, quiet=True):
                log.info("database available again")
                await outbox.resume_pending()
                return

    async def _restore(self, engine: AsyncEngine, policy: AlertPolicy, detector: Detector) -> None:
        """Rebuild firing state from the alert history: a restart neither re-alerts nor forgets."""
        try:
            rows = await alert_history.episode_rows(engine)
        except Exception as e:
            log.error("could not read alert history", error=type(e).__name__)
            return
        policy.restore(rows)
        for coin, (severity, since) in policy.firing().items():
            detector.restore(coin, severity, since)
        if policy.firing():
            log.info("restored open alerts", coins=sorted(policy.firing()))

    async def _silences(self, engine: AsyncEngine) -> tuple[Silence, ...]:
        now = self.clock.now()
        if now - self.state.silences_read >= SILENCE_REFRESH:
            try:
                self.state.silences = tuple(await alert_history.active_silences(engine, now))
            except Exception as e:
                log.warning(
                    "could not read silences; keeping the last known", error=type(e).__name__
                )
            self.state.silences_read = now
        return self.state.silences

    async def _main_loop(
        self,
        stop: asyncio.Event,
        detector: Detector,
        policy: AlertPolicy,
        outbox: Outbox,
        writer: HistoryWriter,
        selfwatch: SelfWatch,
        heartbeat: Heartbeat,
        engine: AsyncEngine,
        sd: SdNotifier,
    ) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(stop), timeout=MAX_CYCLE_GAP)
            if stop.is_set():
                break
            self._new_quotes.clear()
            try:
                await self._cycle(detector, policy, outbox, writer, selfwatch, heartbeat, engine)
            except Exception as e:
                # A bug met by one cycle's data must not end the monitor; if every cycle fails,
                # /health turns to fail (stalled) and, without watchdog pings, systemd restarts us.
                log.exception("cycle failed")
                self.health.error(
                    "aggregator", self.clock.now(), f"cycle failed: {type(e).__name__}"
                )
                continue
            # Only the real loop's progress feeds the systemd watchdog.
            sd.watchdog()

    async def _cycle(
        self,
        detector: Detector,
        policy: AlertPolicy,
        outbox: Outbox,
        writer: HistoryWriter,
        selfwatch: SelfWatch,
        heartbeat: Heartbeat,
        engine: AsyncEngine,
    ) -> None:
        """One aggregate → classify → alert pass over the latest quotes."""
        started = self.clock.monotonic()
        now = self.clock.now()
        assessments = detector.step(self.book.current(), now)
        writer.add_assessments(assessments)
        self._observe(assessments, now)
        alerts = policy.decide(assessments, now, await self._silences(engine))
        report = self.report()
        degraded = selfwatch.observe(report, now)
        for alert in [*alerts, *([degraded] if degraded else [])]:
            self._count(alert)
            await outbox.submit(alert)
        writer.maybe_add_health(report, now)
        if report.status != "fail":
            heartbeat.maybe_ping(now)
        self.state.last_cycle = self.clock.now()
        self.health.ok("aggregator", self.state.last_cycle)
        self.metrics.cycle_seconds.observe(self.clock.monotonic() - started)

    async def _wait_any(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._new_quotes.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def _count(self, alert: Alert) -> None:
        self.metrics.alerts.labels(alert.severity.label, alert.kind.value).inc()
        log.info(
            "alert",
            kind=alert.kind.value,
            severity=alert.severity.label,
            coins=list(alert.coins),
            channels=list(alert.channels),
            suppressed=alert.suppressed,
        )

    def _observe(self, assessments: Sequence[Assessment], now: float) -> None:
        st, m = self.state, self.metrics
        for a in assessments:
            snap = a.snapshot
            st.last_price[a.coin] = snap.price
            if snap.price is not None:
                st.last_price_ts[a.coin] = now
                m.price.labels(a.coin).set(snap.price)
                m.deviation.labels(a.coin).set(snap.deviation or 0.0)
            m.severity.labels(a.coin).set(int(a.severity))
            changed = st.last_severity.get(a.coin, Severity.NONE) != a.severity
            if changed or now - st.last_logged.get(a.coin, float("-inf")) >= PRICE_LOG_INTERVAL:
                st.last_logged[a.coin] = now
                st.last_severity[a.coin] = a.severity
                log.info(
                    "price",
                    coin=a.coin,
                    price=None if snap.price is None else round(snap.price, 5),
                    deviation_pct=None if a.deviation is None else round(a.deviation * 100, 3),
                    severity=a.severity.label,
                    venues=len(snap.used),
                    reasons=list(a.reasons),
                )
