"""Price, aggregate and health history written in batches, off the hot path.

add_* only append to memory and never wait. run() flushes by count or time. While the database
is down rows wait in a bounded buffer; rows that do not fit are dropped, counted (metrics and
the 'db' health component) and the rows already buffered are kept until the database is back.
Alert rows do not pass through here: the notifier's outbox writes them and never drops them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import Clock
from depeg_monitor.health.registry import Component, StoreDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Assessment, Quote
from depeg_monitor.store.db import classify_db_error, describe_db_error
from depeg_monitor.store.schema import aggregates, health_history, quotes
from depeg_monitor.store.times import to_dt

if TYPE_CHECKING:
    from depeg_monitor.health.evaluate import HealthReport

log = structlog.get_logger(__name__)

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
REPEAT_LOG = 600.0  # a database still down is said again this often
DROPPED_LOG_INTERVAL = 60.0  # rows lost to a full buffer are logged at most this often
_TABLES: tuple[Table, ...] = (quotes, aggregates, health_history)


@dataclass(frozen=True, slots=True)
class WriterRules:
    batch_size: int = 500  # rows per write batch
    flush_interval: float = 2.0  # seconds between flushes
    buffer_max: int = 100_000  # rows held while the database is down
    health_interval: float = 60.0  # seconds between health-history rows


class HistoryWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        rules: WriterRules,
        clock: Clock,
        health: Component,
        metrics: Metrics,
    ) -> None:
        self._engine = engine
        self._settings = rules
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._health_interval = rules.health_interval
        self._buffers: dict[str, deque[dict[str, Any]]] = {t.name: deque() for t in _TABLES}
        for t in _TABLES:  # each table's series from the start, at zero
            metrics.buffer_rows.labels(t.name)
            metrics.buffer_dropped.labels(t.name)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._last_health_row = float("-inf")
        self._failures = 0
        self._said_at = float("-inf")  # monotonic time of the last failure logged
        self.dropped = 0
        self._dropped_said = float("-inf")  # monotonic: when lost rows were last logged
        self.written = 0

    # -- the hot path: append only --------------------------------------------------------

    @property
    def buffered(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    def _add(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        room = max(0, self._settings.buffer_max - self.buffered)
        if len(rows) > room:
            # Keep what is already waiting (older history is not rewritten); drop the overflow.
            lost = len(rows) - room
            rows = rows[:room]
            self.dropped += lost
            self._metrics.buffer_dropped.labels(table.name).inc(lost)
            self._health.error(
                self._clock.now(),
                f"write buffer full ({self._settings.buffer_max} rows)",
                StoreDetail(self.dropped),
            )
            now = self._clock.monotonic()
            if now - self._dropped_said >= DROPPED_LOG_INTERVAL:  # not once per quote
                self._dropped_said = now
                log.warning(
                    "history_rows_dropped", table=table.name, dropped=lost, total=self.dropped
                )
        buf = self._buffers[table.name]
        buf.extend(rows)
        self._metrics.buffer_rows.labels(table.name).set(len(buf))
        if self.buffered >= self._settings.batch_size:
            self._wake.set()

    def add_quotes(self, items: Sequence[Quote]) -> None:
        self._add(
            quotes,
            [
                {
                    "ts": to_dt(q.ts_received),
                    "ts_exchange": None if q.ts_exchange is None else to_dt(q.ts_exchange),
                    "venue": q.venue,
                    "coin": q.coin,
                    "quote_ccy": q.quote_ccy,
                    "price": q.price,
                    "bid": q.bid,
                    "ask": q.ask,
                    "volume_base_24h": q.volume_base_24h,
                    "volume_quote_24h": q.volume_quote_24h,
                }
                for q in items
            ],
        )

    def add_assessments(self, items: Sequence[Assessment]) -> None:
        """One 'raw' aggregates row per assessment: the snapshot's price and the severity."""
        self._add(
            aggregates,
            [
                {
                    "ts": to_dt(a.snapshot.ts),
                    "coin": a.coin,
                    "resolution": "raw",
                    "price": a.snapshot.price,
                    "price_min": a.snapshot.price,
                    "price_max": a.snapshot.price,
                    "deviation": a.snapshot.deviation,
                    "venues_used": len(a.snapshot.used),
                    "spread": a.snapshot.context.spread,
                    "severity": int(a.severity),
                }
                for a in items
            ],
        )

    def add_health_rows(self, report: HealthReport) -> None:
        """One health_history row per check of the report."""
        ts = to_dt(report.ts)
        self._add(
            health_history,
            [
                {
                    "ts": ts,
                    "component": name,
                    "status": check.status,
                    "error": check.output,
                    "detail": {
                        k: v for k, v in check.to_json().items() if k not in ("status", "output")
                    }
                    or None,
                }
                for name, check in sorted(report.checks.items())
            ],
        )

    def maybe_add_health(self, report: HealthReport, now: float) -> None:
        """add_health_rows at most once per health_interval."""
        if now - self._last_health_row >= self._health_interval:
            self._last_health_row = now
            self.add_health_rows(report)

    # -- off the hot path -----------------------------------------------------------------

    async def flush(self) -> int:
        """Write everything buffered, batch by batch; returns rows written.

        On a database error the rows stay buffered, 'db' reports the error, and the error is
        raised for the caller to retry later.
        """
        written = 0
        async with self._lock:
            while self.buffered:
                batch = {
                    name: [buf[i] for i in range(min(len(buf), self._settings.batch_size))]
                    for name, buf in self._buffers.items()
                }
                try:
                    async with self._engine.begin() as conn:
                        for table in _TABLES:
                            rows = batch[table.name]
                            if rows:
                                await conn.execute(insert(table), rows)
                except (SQLAlchemyError, OSError) as e:
                    self._failures += 1
                    problem = classify_db_error(e, self._engine.url)
                    detail = StoreDetail(self.dropped, problem.lasting)
                    self._health.error(self._clock.now(), problem.text, detail)
                    raise
                for name, rows in batch.items():
                    buf = self._buffers[name]
                    for _ in rows:
                        buf.popleft()
                    self._metrics.buffer_rows.labels(name).set(len(buf))
                n = sum(len(r) for r in batch.values())
                written += n
                self.written += n
                if self._failures:
                    log.info("database_back", written=n, action="buffered history written")
                self._failures = 0
                self._health.ok(self._clock.now(), detail=StoreDetail(self.dropped))
        return written

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every flush_interval or batch_size rows until stop; a last flush at the end."""
        delay = self._settings.flush_interval
        while not stop.is_set():
            waiters = [asyncio.ensure_future(stop.wait())]
            if not self._failures:  # while backing off, a full batch does not hurry a retry
                waiters.append(asyncio.ensure_future(self._wake.wait()))
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
            if stop.is_set():
                break
            self._wake.clear()
            try:
                await self.flush()
                delay = self._settings.flush_interval
            except (SQLAlchemyError, OSError) as e:
                # Retry with backoff; the rows stay buffered (bounded) meanwhile. Said once,
                # then again only every REPEAT_LOG seconds while it lasts.
                delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (self._failures - 1))
                now = self._clock.monotonic()
                if self._failures == 1 or now - self._said_at >= REPEAT_LOG:
                    self._said_at = now
                    log.warning(
                        "history_write_failed",
                        error=describe_db_error(e, self._engine.url),
                        buffered=self.buffered,
                        action="kept in memory; retrying",
                    )
        try:
            await self.flush()
        except (SQLAlchemyError, OSError) as e:
            log.error(
                "history_lost_at_shutdown",
                error=describe_db_error(e, self._engine.url),
                lost=self.buffered,
            )
