"""The one composition root: compile the rules, build each long-lived part in dependency order,
registering its teardown right after its constructor (Alertmanager's main.go: construct, then
defer Close()), run the main loop, and let the exit stack tear down in reverse within one
shutdown deadline.

Signals are handled by the entry point (commands/run.py), which sets `stop` (and calls
`reload()` on SIGHUP); so the whole daemon can run inside a test with a stop event of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.clock import Clock, SystemClock
from depeg_monitor.collect import VenueCollector, build_collectors
from depeg_monitor.collect.book import QuoteBook
from depeg_monitor.collect.session import make_session
from depeg_monitor.collect.stream import StreamCollector
from depeg_monitor.config import Settings
from depeg_monitor.cycle import Cycle
from depeg_monitor.detect.detector import Detector
from depeg_monitor.ha.health import with_ha
from depeg_monitor.ha.metrics import HaMetrics
from depeg_monitor.ha.node import HaNode
from depeg_monitor.ha.takeover import DaemonTakeover
from depeg_monitor.health.evaluate import HealthReport, evaluate
from depeg_monitor.health.heartbeat import Heartbeat
from depeg_monitor.health.registry import HealthRegistry, Kind, StoreDetail
from depeg_monitor.health.sdnotify import SdNotifier
from depeg_monitor.health.selfwatch import SelfWatch
from depeg_monitor.health.server import HealthServer
from depeg_monitor.live import LiveView, LoopState, SelfCheck, StoredAcks, StoredSilences
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Alert, Quote
from depeg_monitor.notify.build import build_channels
from depeg_monitor.notify.channel import Channel
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.reload import Reloader, critical_reach
from depeg_monitor.rules import compile_rules
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import MissingDirectory, classify_db_error, create_engine, upgrade
from depeg_monitor.store.retention import RetentionJob
from depeg_monitor.store.thinning import RowThinner
from depeg_monitor.store.writer import HistoryWriter
from depeg_monitor.supervise import Tasks
from depeg_monitor.venues.streams import STREAMS

if TYPE_CHECKING:
    from depeg_monitor.collect.chain import ChainCollector

log = structlog.get_logger(__name__)

# A lasting failure (a database still down) is said again this often, not on every retry.
REPEAT_LOG = 600.0


class StartupError(Exception):
    """The daemon cannot start; str() is one line for the operator (exit 1, no traceback)."""


@dataclass(frozen=True, slots=True)
class Timings:
    """How the daemon paces itself; a test passes shorter ones rather than patching constants."""

    max_cycle_gap: float = 1.0  # the loop wakes on new quotes, or at the latest this often
    min_cycle_gap: float = 0.1  # changes within this of a cycle wait for one more (coalesced)
    settle: float = 0.05  # a change is evaluated this long after it came, with its burst
    silence_refresh: float = 5.0  # `silence add` and `ack` take effect within this
    price_log_interval: float = 60.0  # one price line per coin this often (and on changes)
    outbox_flush_interval: float = 5.0  # alert rows kept while the database was down
    restart_delay: float = 5.0  # before a crashed task is started again
    db_retry_interval: float = 15.0  # retry preparing a database that was down at start-up
    # Everything stops within this, below the unit's TimeoutStopSec=30 (or systemd kills us).
    shutdown: float = 20.0


class Daemon:
    """Everything the monitor runs, wired once. `run(stop)` returns when stop is set."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        channels: dict[str, Channel] | None = None,
        timings: Timings | None = None,
        *,
        reload_from: Callable[[], Settings] | None = None,  # None: the file start-up read
        on_reload: Callable[[Settings], None] | None = None,  # a new configuration accepted
    ) -> None:
        self.settings = settings
        self.rules = compile_rules(settings)
        self._channels = channels  # None: built from settings (the demo brings its own)
        self.clock = clock or SystemClock()
        self.timings = timings or Timings()
        self.health = HealthRegistry()
        self.metrics = Metrics()
        self.state = LoopState()
        self.book = QuoteBook()
        self._new_quotes = asyncio.Event()
        self._waiting_since: float | None = None  # monotonic: the oldest change not evaluated
        self._streams: list[StreamCollector] = []
        # At most one quote row per market a second: streams send thousands of quotes a
        # second, and a row per frame would outgrow the database (store/thinning.py).
        self._quote_rows = RowThinner(interval=1.0, min_gap=1.0)
        self.chains: list[ChainCollector] = []  # on-chain sources (none unless configured)
        self._aggregator = self.health.component(Kind.AGGREGATOR)
        self._db = self.health.component(Kind.DATABASE)
        self._health_rules = self.rules.health  # gains the deliverable critical channels
        self.health_port: int | None = None
        self.started: float | None = None
        self._stop_by: float | None = None  # monotonic shutdown deadline, once stopping
        self.ha: HaNode | None = None  # [ha]: this node's lease and role
        self._reload_from, self._on_reload = reload_from, on_reload
        self._reload_wanted = False

    def reload(self) -> None:
        """Read the configuration again before the next cycle (SIGHUP; reload.py)."""
        self._reload_wanted = True
        self._new_quotes.set()  # wake the loop now

    def report(self) -> HealthReport:
        report = evaluate(
            self.health,
            self.clock.now(),
            self._health_rules,
            self.state.last_price_ts,
            self.state.last_cycle,
            started=self.started,
        )
        return report if self.ha is None else with_ha(report, self.ha, self.clock.monotonic())

    def _left(self) -> float:
        """Seconds left of the one shutdown deadline (all of it before stopping began)."""
        if self._stop_by is None:
            return self.timings.shutdown
        return max(0.0, self._stop_by - self.clock.monotonic())

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        r, clock, t = self.rules, self.clock, self.timings
        sd = SdNotifier()
        self.started = clock.now()
        async with AsyncExitStack() as stack:
            stack.callback(log.info, "stopped")

            # The port first: a busy one stops us before anything else was touched.
            if r.health_server is not None:
                server = HealthServer(
                    *r.health_server, self.report, self.metrics, token=r.health_token
                )
                try:
                    await server.start()
                except OSError as e:
                    host, port = r.health_server
                    why = e.strerror or type(e).__name__
                    raise StartupError(f"health endpoint {host}:{port}: {why}") from None
                stack.push_async_callback(server.stop)
                self.health_port = server.port

            try:
                engine = create_engine(r.database_url, create_dirs=r.database_default)
            except (MissingDirectory, ArgumentError, NoSuchModuleError) as e:
                raise StartupError(f"database: {e}") from None
            stack.push_async_callback(engine.dispose)
            db_ok = await self._prepare(engine)
            if r.ha is not None:  # before the outbox: the lease is released once it drained
                node = self.ha = HaNode(engine, r.ha, clock, HaMetrics(self.metrics.registry))
                stack.push_async_callback(node.release)

            # Its run() ends with a last flush, once the tasks below are stopped.
            writer = HistoryWriter(engine, r.writer, clock, self._db, self.metrics)

            channels = (
                self._channels if self._channels is not None else build_channels(self.settings)
            )
            outbox = Outbox(engine, channels, r.outbox, clock, self.health, self.metrics, self.ha)
            stack.push_async_callback(outbox.close)
            stack.push_async_callback(lambda: outbox.drain(self._left()))

            router = Router(r.routing.routes, r.routing.timezone, set(channels))
            reach = critical_reach(r, channels)
            self._health_rules = dataclasses.replace(r.health, critical_channels=reach)
            policy = AlertPolicy(r.alerts, router)
            detector = Detector(r.detection)
            if db_ok and self.ha is None:  # [ha]: restored when this node becomes leader
                await self._restore(engine, policy, detector)

            session = make_session()
            stack.push_async_callback(session.close)

            tasks = Tasks(clock, t.restart_delay)
            stack.push_async_callback(lambda: tasks.stop(self._left()))
            retention = RetentionJob(engine, r.retention, clock, self._db)
            tasks.start("writer", writer.run, self._db)
            tasks.start("retention", retention.run, self.health.component(Kind.TASK, "retention"))
            outbox_health = self.health.component(Kind.OUTBOX)
            tasks.start("outbox", lambda st: self._flush_outbox(outbox, st), outbox_health)
            if self.ha is not None:
                self.ha.bind(DaemonTakeover(engine, policy, detector, outbox))
                tasks.start("ha-lease", self.ha.run, self.health.component(Kind.TASK, "ha-lease"))
            elif db_ok:
                tasks.once("resume", outbox.resume_pending)
            if not db_ok:
                tasks.start(
                    "db-upgrade", lambda st: self._prepare_later(engine, outbox, st), self._db
                )

            # Each venue checks its listing and polls on its own: a slow venue never holds up
            # the others, nor the start of alerting. They stop first, at once, on shutdown.
            collectors = build_collectors(
                r.collectors, session, clock, self.health, self.metrics, self._sink(writer), STREAMS
            )
            self._streams = [c.stream for c in collectors if c.stream is not None]
            collecting = Tasks(clock, t.restart_delay)
            stack.push_async_callback(lambda: collecting.stop(0.0))
            for c in collectors:
                collecting.start(
                    f"collect:{c.name}", _collect(c), self.health.component(Kind.VENUE, c.name)
                )
            # One task per chain: its pools share one eth_call a poll (each pool its own
            # /health venue). None unless [chains.X] and [pools.X] are configured.
            if r.chains:  # imported only then: the ABI library is ~10 MiB of memory
                from depeg_monitor.collect.chain import build_chain_collectors

                self.chains = build_chain_collectors(
                    r.chains, session, clock, self.health, self.metrics, self._sink(writer)
                )
            if self.chains:  # each feed's latest reading beside its coin's price (context)
                chains = self.chains
                detector.oracles = lambda: [r for ch in chains for r in ch.readings.values()]
            for ch in self.chains:
                collecting.start(
                    f"chain:{ch.name}", _chain(ch), self.health.component(Kind.TASK, ch.name)
                )
            pools = sum(len(ch.pools) for ch in self.chains)

            venue_names = [c.name for c in collectors] + [p for ch in self.chains for p in ch.pools]
            self.metrics.known(
                venue_names,
                [c.coin for c in r.detection.coins],
                channels,
                [s.name for s in self._streams],
            )
            venues = len(collectors) + pools
            watching = f"monitoring {len(r.detection.coins)} coins on {venues} venues"
            selfwatch = SelfWatch(r.alert_channels or tuple(channels), grace=r.degraded_after)
            heartbeat = Heartbeat(r.heartbeat_url, r.heartbeat_interval, session, clock)
            cycle = Cycle(
                detector,
                policy if self.ha is None else self.ha.policy(policy),  # a standby decides nothing
                outbox if self.ha is None else self.ha.sink(outbox),
                silences=StoredSilences(engine, clock, t.silence_refresh),
                acks=StoredAcks(engine, clock, t.silence_refresh),
                watchers=(
                    LiveView(self.state, self.metrics, writer, t.price_log_interval),
                    SelfCheck(self.report, selfwatch, writer, heartbeat, sd, watching),
                ),
            )

            reloader = Reloader(
                self.settings, r, channels, detector=detector, policy=policy, outbox=outbox,
                selfwatch=selfwatch, load=self._reload_from, accepted=self._on_reload,
            )  # fmt: skip

            sd.ready(watching)
            if ready is not None:
                ready.set()
            log.info(
                "started",
                coins=[c.coin for c in r.detection.coins],
                venues=venue_names,
                channels=list(channels),
                health_port=self.health_port,
            )
            try:
                await self._main_loop(stop, cycle, sd, reloader)
            finally:
                self._stop_by = clock.monotonic() + t.shutdown
                sd.stopping()
                log.info("stopping", within_seconds=t.shutdown)

    # ------------------------------------------------------------------ the loop

    async def _main_loop(
        self, stop: asyncio.Event, cycle: Cycle, sd: SdNotifier, reloader: Reloader
    ) -> None:
        clock, t = self.clock, self.timings
        last = float("-inf")  # monotonic start of the last cycle
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(stop), timeout=t.max_cycle_gap)
            # Coalesced: a change waits `settle` for the rest of its burst (a venue streams a
            # move market by market: half a USDT move looks like a few coins moving), and one
            # right after a cycle waits out min_cycle_gap, so a burst makes one cycle, not one
            # per frame.
            gap = last + t.min_cycle_gap - clock.monotonic()
            if self._waiting_since is not None:
                gap = max(gap, self._waiting_since + t.settle - clock.monotonic())
            if gap > 0 and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=gap)
            if stop.is_set():
                break
            if self._reload_wanted:  # between two cycles: none sees half of each configuration
                self._reload_wanted = False
                if (new := await reloader.reload(sd)) is not None:
                    self.settings, self.rules = new.settings, new.rules
                    self._health_rules = new.health
                    self.metrics.known((), (), new.channels)  # an added channel's at zero
            self._new_quotes.clear()
            waiting_since, self._waiting_since = self._waiting_since, None
            started = last = clock.monotonic()
            try:
                now = clock.now()
                step = await cycle.step(self._as_of(self.book.current(), now), now)
            except Exception as e:
                # A bug met by one cycle's data must not end the monitor; if every cycle fails,
                # /health turns to fail (stalled) and, without watchdog pings, systemd restarts us.
                log.exception("cycle_failed")
                self._aggregator.error(clock.now(), f"cycle failed: {type(e).__name__}")
                continue
            for alert in step.alerts:
                self._count(alert)
            self.state.last_cycle = clock.now()
            self._aggregator.ok(self.state.last_cycle)
            done = clock.monotonic()
            self.metrics.cycle_seconds.observe(done - started)
            if waiting_since is not None:
                self.metrics.evaluation_seconds.observe(done - waiting_since)
            sd.watchdog()  # only the real loop's progress feeds the systemd watchdog

    def _as_of(self, quotes: list[Quote], now: float) -> list[Quote]:
        """The book's quotes, those a healthy stream still stands behind stamped `now`: its
        silence means the market has not changed, and a converted price is only as fresh as
        its quote — a quiet USDT pair read before USDT moved must meet today's USDT rate, not
        the rate of its last frame."""
        live = {s.name: s.live() for s in self._streams}
        if not any(live.values()):
            return quotes
        out = []
        for q in quotes:
            streamed = live.get(q.venue, {}).get((q.coin, q.quote_ccy))
            if streamed is not None and (streamed.price, streamed.bid, streamed.ask) == (
                q.price,
                q.bid,
                q.ask,
            ):
                q = dataclasses.replace(q, ts_exchange=None, ts_received=now)
            out.append(q)
        return out

    async def _wait_any(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._new_quotes.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def _sink(self, writer: HistoryWriter) -> Callable[[Sequence[Quote]], None]:
        def sink(quotes: Sequence[Quote]) -> None:
            if self.book.update(quotes):
                # Only a changed price, bid or ask wakes the loop at once; the rest is seen
                # by the next cycle (one at least every max_cycle_gap).
                if self._waiting_since is None:
                    self._waiting_since = self.clock.monotonic()
                self._new_quotes.set()
            rows = self._quote_rows
            writer.add_quotes(
                [q for q in quotes if rows.keep((q.venue, q.coin, q.quote_ccy), q.ts, q.price)]
            )

        return sink

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

    # ------------------------------------------------------------------ the database

    async def _prepare(self, engine: AsyncEngine, quiet: bool = False) -> bool:
        try:
            await upgrade(engine)
            return True
        except Exception as e:  # a down database must not stop alerting
            problem = classify_db_error(e, engine.url)
            if not quiet:
                log.error("database_unavailable", error=problem.text, action="alerting goes on")
            self._db.error(self.clock.now(), problem.text, StoreDetail(lasting=problem.lasting))
            return False

    async def _prepare_later(
        self, engine: AsyncEngine, outbox: Outbox, stop: asyncio.Event
    ) -> None:
        """The database was down at start-up: prepare it once it answers, then send what waits.

        Not silently: /health shows why all along, and the log says it again whenever the
        reason changes and every REPEAT_LOG seconds while it lasts."""
        said, said_at = self._db.state.error, self.clock.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.timings.db_retry_interval)
            if stop.is_set():
                return
            if await self._prepare(engine, quiet=True):
                log.info("database_available_again")
                if self.ha is None:  # [ha]: the leader resumes it on taking over
                    await outbox.resume_pending()
                return
            now, why = self.clock.monotonic(), self._db.state.error
            if why != said or now - said_at >= REPEAT_LOG:
                log.warning("database_still_unavailable", error=why, action="alerting goes on")
                said, said_at = why, now

    async def _restore(self, engine: AsyncEngine, policy: AlertPolicy, detector: Detector) -> None:
        """Rebuild firing state from the alert history: a restart neither re-alerts nor forgets."""
        try:
            rows = await alert_history.episode_rows(engine)
        except Exception as e:
            log.error("alert_history_unreadable", error=type(e).__name__)
            return
        policy.restore(rows)  # folded through the policy's own transition function
        for coin, (severity, since) in policy.firing().items():
            detector.restore(coin, severity, since)
        if policy.firing():
            log.info("restored_open_alerts", coins=sorted(policy.firing()))

    async def _flush_outbox(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Alert rows kept in memory while the database was down get written when it is back."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.timings.outbox_flush_interval)
            if outbox.backlog:
                await outbox.flush()


def _collect(collector: VenueCollector) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def go(stop: asyncio.Event) -> None:
        await collector.start()  # the listing first: only markets it confirms are streamed
        stream = collector.stream
        if stream is None:
            await collector.run(stop)
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(collector.run(stop))
            group.create_task(stream.run(stop))

    return go


def _chain(collector: ChainCollector) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def go(stop: asyncio.Event) -> None:
        await collector.start()  # pools verified on chain before any is polled
        await collector.run(stop)

    return go
