"""What only the live daemon does each cycle, besides detect → decide → outbox (cycle.py):
keep the loop's view for /health, write history, log prices, watch itself, ping the heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.render import reasons
from depeg_monitor.clock import Clock
from depeg_monitor.health.evaluate import HealthReport
from depeg_monitor.health.heartbeat import Heartbeat
from depeg_monitor.health.sdnotify import SdNotifier
from depeg_monitor.health.selfwatch import SelfWatch
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Ack, Alert, Assessment, Severity, Silence
from depeg_monitor.store import alert_history
from depeg_monitor.store.thinning import RowThinner
from depeg_monitor.store.writer import HistoryWriter

log = structlog.get_logger(__name__)

T = TypeVar("T")
# Bounded: a database that hangs (a partition) must not hold up the cycle.
READ_TIMEOUT = 2.0


@dataclass
class LoopState:
    """What the main loop has seen; read by /health and the demo."""

    last_cycle: float | None = None
    last_price: dict[str, float | None] = field(default_factory=dict)
    last_price_ts: dict[str, float] = field(default_factory=dict)
    last_logged: dict[str, float] = field(default_factory=dict)
    last_severity: dict[str, Severity] = field(default_factory=dict)


class LiveView:
    """Keeps LoopState and the metrics, writes aggregate rows when they change (or every
    `row_interval`: store/thinning.py), logs a line per coin (at most once per
    `log_interval`, and at every severity change). Raises no alert of its own."""

    def __init__(
        self,
        state: LoopState,
        metrics: Metrics,
        writer: HistoryWriter,
        log_interval: float,
        row_interval: float = 10.0,
    ) -> None:
        self._state = state
        self._metrics = metrics
        self._writer = writer
        self._log_interval = log_interval
        self._rows = RowThinner(interval=row_interval)

    def observe(
        self, assessments: Sequence[Assessment], alerts: Sequence[Alert], now: float
    ) -> Sequence[Alert]:
        rows = self._rows
        self._writer.add_assessments(
            [a for a in assessments if rows.keep(a.coin, now, a.snapshot.price, a.severity)]
        )
        st, m = self._state, self._metrics
        for a in assessments:
            snap = a.snapshot
            st.last_price[a.coin] = snap.price
            if snap.price is not None:
                st.last_price_ts[a.coin] = now
                m.price_time.labels(a.coin).set(now)
                m.price.labels(a.coin).set(snap.price)
                m.deviation.labels(a.coin).set(snap.deviation or 0.0)
            m.severity.labels(a.coin).set(int(a.severity))
            changed = st.last_severity.get(a.coin, Severity.NONE) != a.severity
            if changed or now - st.last_logged.get(a.coin, float("-inf")) >= self._log_interval:
                st.last_logged[a.coin] = now
                st.last_severity[a.coin] = a.severity
                log.info(
                    "price",
                    coin=a.coin,
                    price=None if snap.price is None else round(snap.price, 5),
                    deviation_pct=None if a.deviation is None else round(a.deviation * 100, 3),
                    severity=a.severity.label,
                    venues=len(snap.used),
                    reasons=reasons(a),
                )
        return ()


class SelfCheck:
    """The monitor watching itself each cycle: systemd's STATUS= line, health rows, 'monitor
    degraded' / 'recovered' after a grace period, and the heartbeat while it is not failing."""

    def __init__(
        self,
        report: Callable[[], HealthReport],
        selfwatch: SelfWatch,
        writer: HistoryWriter,
        heartbeat: Heartbeat,
        systemd: SdNotifier,
        watching: str,
    ) -> None:
        self._report = report
        self._selfwatch = selfwatch
        self._writer = writer
        self._heartbeat = heartbeat
        self._systemd = systemd
        self._watching = watching  # the STATUS= line while nothing is wrong

    def observe(
        self, assessments: Sequence[Assessment], alerts: Sequence[Alert], now: float
    ) -> Sequence[Alert]:
        report = self._report()
        self._systemd.follow(report, self._watching)  # STATUS= follows /health
        degraded = self._selfwatch.observe(report, now)
        self._writer.maybe_add_health(report, now)
        if report.status != "fail":
            self._heartbeat.maybe_ping(now)
        return (degraded,) if degraded is not None else ()


class _Reread(Generic[T]):
    """Rows people write from the command line, re-read from the database every `refresh`
    seconds so a running daemon follows them; a database that cannot be read keeps the last
    known ones."""

    what = "rows"

    def __init__(self, engine: AsyncEngine, clock: Clock, refresh: float) -> None:
        self._engine = engine
        self._clock = clock
        self._refresh = refresh
        self._rows: tuple[T, ...] = ()
        self._read = float("-inf")

    async def _load(self, now: float) -> Sequence[T]:
        raise NotImplementedError

    async def current(self, now: float) -> Sequence[T]:
        if now - self._read >= self._refresh:
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    rows = await self._load(now)
                self._rows = tuple(rows)
            except Exception as e:  # a down database must not stop alerting
                log.warning(
                    f"{self.what}_unreadable",
                    action="keeping the last known",
                    error=type(e).__name__,
                )
            self._read = now
        return self._rows


class StoredSilences(_Reread[Silence]):
    """The silences in force, so `silence add` takes effect within `refresh` seconds."""

    what = "silences"

    async def _load(self, now: float) -> Sequence[Silence]:
        return await alert_history.active_silences(self._engine, now)


class StoredAcks(_Reread[Ack]):
    """Each coin's newest ack, so `depeg-monitor ack` takes effect within `refresh` seconds
    (the policy sees whether it names the episode still open)."""

    what = "acks"

    async def _load(self, now: float) -> Sequence[Ack]:
        return await alert_history.latest_acks(self._engine)
