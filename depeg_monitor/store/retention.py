"""The daily retention job: raw quotes kept N days; aggregates downsampled raw → 1m → 1h.

A raw aggregate is summarised into its minute only when it leaves the raw retention window,
and a minute into its hour when it leaves the minute window: each row is summarised exactly
once, and cut-offs are aligned to bucket boundaries so no bucket is ever split.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.clock import Clock
from depeg_monitor.health.registry import Component
from depeg_monitor.store.db import describe_db_error
from depeg_monitor.store.schema import aggregates, quotes
from depeg_monitor.store.times import from_dt, to_dt

log = structlog.get_logger(__name__)

DAY = 86_400.0
# Source rows are read one window at a time, to bound memory and transaction size.
WINDOW = 3_600.0


@dataclass(frozen=True, slots=True)
class RetentionResult:
    quotes_deleted: int = 0
    minutes_written: int = 0
    hours_written: int = 0
    raw_deleted: int = 0
    minutes_deleted: int = 0
    hours_deleted: int = 0


def next_run(now: float, hour_utc: int) -> float:
    """The next hour_utc:00 UTC strictly after now."""
    day_start = math.floor(now / DAY) * DAY
    at = day_start + hour_utc * 3600
    return at if at > now else at + DAY


def summarise(rows: Sequence[Any], bucket: float, resolution: str) -> list[dict[str, Any]]:
    """Rows (ordered by coin, ts) → one row per (coin, bucket): min/max/last price, max severity."""
    out: dict[tuple[str, float], dict[str, Any]] = {}
    for r in rows:
        start = math.floor(from_dt(r.ts) / bucket) * bucket
        key = (r.coin, start)
        lo = r.price_min if r.price_min is not None else r.price
        hi = r.price_max if r.price_max is not None else r.price
        cur = out.get(key)
        if cur is None:
            out[key] = {
                "ts": to_dt(start),
                "coin": r.coin,
                "resolution": resolution,
                "price": r.price,
                "price_min": lo,
                "price_max": hi,
                "deviation": r.deviation,
                "venues_used": r.venues_used,
                "spread": r.spread,
                "severity": r.severity,
            }
            continue
        if r.price is not None:  # last known price of the bucket
            cur["price"], cur["deviation"] = r.price, r.deviation
        if lo is not None:
            cur["price_min"] = lo if cur["price_min"] is None else min(cur["price_min"], lo)
        if hi is not None:
            cur["price_max"] = hi if cur["price_max"] is None else max(cur["price_max"], hi)
        if r.spread is not None:
            cur["spread"] = r.spread if cur["spread"] is None else max(cur["spread"], r.spread)
        cur["venues_used"] = r.venues_used
        cur["severity"] = max(cur["severity"], r.severity)
    return list(out.values())


async def _downsample(
    engine: AsyncEngine, source: str, target: str, bucket: float, cutoff: float
) -> tuple[int, int]:
    """Summarise source rows older than cutoff into target rows, then delete them."""
    cutoff = math.floor(cutoff / bucket) * bucket
    written = deleted = 0
    src = aggregates.c.resolution == source
    async with engine.connect() as conn:
        oldest = (await conn.execute(select(func.min(aggregates.c.ts)).where(src))).scalar()
    if oldest is None:
        return 0, 0
    start = math.floor(from_dt(oldest) / WINDOW) * WINDOW
    while start < cutoff:
        end = min(start + max(WINDOW, bucket), cutoff)
        window = and_(src, aggregates.c.ts >= to_dt(start), aggregates.c.ts < to_dt(end))
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(aggregates).where(window).order_by(aggregates.c.coin, aggregates.c.ts)
                )
            ).all()
            if rows:
                summary = summarise(rows, bucket, target)
                await conn.execute(insert(aggregates), summary)
                deleted += (await conn.execute(delete(aggregates).where(window))).rowcount
                written += len(summary)
        start = end
    return written, deleted


@dataclass(frozen=True, slots=True)
class RetentionRules:
    quotes_days: float = 7.0  # raw quotes kept this long
    minute_days: float = 90.0  # 1-minute aggregates kept this long
    hour_days: float = 3650.0  # hourly aggregates kept this long
    hour_utc: int = 3  # when the daily job runs


class RetentionJob:
    def __init__(
        self, engine: AsyncEngine, rules: RetentionRules, clock: Clock, health: Component
    ) -> None:
        self._engine = engine
        self._settings = rules
        self._clock = clock
        self._health = health

    async def run_once(self, now: float) -> RetentionResult:
        s = self._settings
        raw_cutoff = now - s.quotes_days * DAY
        minute_cutoff = now - s.minute_days * DAY
        hour_cutoff = now - s.hour_days * DAY
        async with self._engine.begin() as conn:
            q = (await conn.execute(delete(quotes).where(quotes.c.ts < to_dt(raw_cutoff)))).rowcount
        minutes, raw_deleted = await _downsample(self._engine, "raw", "1m", 60.0, raw_cutoff)
        hours, minutes_deleted = await _downsample(self._engine, "1m", "1h", 3600.0, minute_cutoff)
        async with self._engine.begin() as conn:
            old_hours = and_(aggregates.c.resolution == "1h", aggregates.c.ts < to_dt(hour_cutoff))
            hours_deleted = (await conn.execute(delete(aggregates).where(old_hours))).rowcount
        return RetentionResult(q, minutes, hours, raw_deleted, minutes_deleted, hours_deleted)

    async def run(self, stop: asyncio.Event) -> None:
        """Run once a day at retention_hour_utc until stop."""
        while not stop.is_set():
            now = self._clock.now()
            wait = next_run(now, self._settings.hour_utc) - now
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
            try:
                result = await self.run_once(self._clock.now())
            except (SQLAlchemyError, OSError) as e:
                why = describe_db_error(e, self._engine.url)
                self._health.error(self._clock.now(), why)
                log.error("retention_failed", error=why, action="will try tomorrow")
                continue
            self._health.ok(self._clock.now())
            log.info("retention_done", **asdict(result))
