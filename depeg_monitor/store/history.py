"""What `alerts` and `history` read back: past alerts with each delivery's outcome, and a coin's
aggregate and per-venue prices over a window.

Read-only; times cross this boundary as UTC epoch floats. Venue quotes are the heaviest table
(up to a row per market a second), so the database groups them into time buckets and only
each bucket's lowest and highest price come back, at most `max_points` per venue series: a
spike survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.store.schema import (
    aggregates,
    alert_items,
    alerts,
    deliveries,
    quotes,
)
from depeg_monitor.store.status import DeliveryRow, check_schema, delivery_row
from depeg_monitor.store.times import from_dt, to_dt

MAX_POINTS = 2000  # per venue series; a chart is ~1200 pixels wide


@dataclass(frozen=True, slots=True)
class PastItem:
    """One coin's part of an alert."""

    coin: str
    severity: int
    kind: str
    price: float | None
    deviation: float | None


@dataclass(frozen=True, slots=True)
class PastAlert:
    id: str
    ts: float
    severity: int
    kind: str
    title: str  # the rendered headline: the why, in words
    suppressed: str | None  # why it was recorded but not sent
    items: tuple[PastItem, ...]
    deliveries: tuple[DeliveryRow, ...]


async def read_alerts(
    engine: AsyncEngine, since: float, coin: str | None = None
) -> list[PastAlert]:
    """Alerts from `since` on (oldest first), with their coins and deliveries; with `coin`,
    only the alerts about that coin (a monitor alert names none)."""
    q = select(alerts).where(alerts.c.ts >= to_dt(since)).order_by(alerts.c.ts, alerts.c.id)
    if coin is not None:
        about = select(alert_items.c.alert_id).where(alert_items.c.coin == coin)
        q = q.where(alerts.c.id.in_(about))
    async with engine.connect() as conn:
        await check_schema(conn)
        rows = (await conn.execute(q)).all()
        ids = [r.id for r in rows]
        items: dict[str, list[PastItem]] = {}
        heard: dict[str, list[DeliveryRow]] = {}
        # In chunks: a database takes only so many bound parameters in one IN (…).
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            item_q = (
                select(alert_items)
                .where(alert_items.c.alert_id.in_(chunk))
                .order_by(alert_items.c.id)
            )
            for r in await conn.execute(item_q):
                items.setdefault(r.alert_id, []).append(
                    PastItem(r.coin, r.severity, r.kind, r.price, r.deviation)
                )
            delivery_q = (
                select(deliveries).where(deliveries.c.alert_id.in_(chunk)).order_by(deliveries.c.id)
            )
            for d in await conn.execute(delivery_q):
                heard.setdefault(d.alert_id, []).append(delivery_row(d))
    return [
        PastAlert(
            r.id,
            from_dt(r.ts),
            r.severity,
            r.kind,
            r.title,
            r.suppressed,
            tuple(items.get(r.id, ())),
            tuple(heard.get(r.id, ())),
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class AggregatePoint:
    ts: float
    price: float | None  # None: no quorum that cycle
    price_min: float | None  # a 1m/1h row's range; a raw row's own price
    price_max: float | None
    deviation: float | None
    severity: int
    venues_used: int
    resolution: str  # raw | 1m | 1h


@dataclass(frozen=True, slots=True)
class VenueSeries:
    venue: str
    quote_ccy: str  # the price is in this currency (USDT-quoted markets are not USD)
    ts: tuple[float, ...]  # each time bucket's middle, twice when its low and high differ
    price: tuple[float, ...]  # the bucket's low, then its high
    rows: int  # quote rows in the window
    last: float  # the latest price in the window
    last_ts: float


@dataclass(frozen=True, slots=True)
class PriceHistory:
    coin: str
    start: float
    end: float
    aggregate: tuple[AggregatePoint, ...]  # oldest first, every resolution the window holds
    venues: tuple[VenueSeries, ...]  # by venue, then quote currency


def _epoch(column: Any, dialect: str) -> Any:
    """A timestamp column as epoch seconds, in SQL (to bucket rows where they are stored)."""
    if dialect == "sqlite":  # stored as ISO text, UTC
        return (func.julianday(column) - _UNIX_JULIAN_DAY) * 86400.0
    return func.extract("epoch", column)


_UNIX_JULIAN_DAY = 2440587.5


async def read_history(
    engine: AsyncEngine, coin: str, start: float, end: float, max_points: int = MAX_POINTS
) -> PriceHistory:
    """The coin's aggregates and venue quotes with start <= ts <= end."""
    window = (to_dt(start), to_dt(end))
    agg_q = (
        select(aggregates)
        .where(aggregates.c.coin == coin, aggregates.c.ts.between(*window))
        .order_by(aggregates.c.ts, aggregates.c.id)
    )
    in_window = (quotes.c.coin == coin, quotes.c.ts.between(*window))
    span_q = select(func.min(quotes.c.ts), func.max(quotes.c.ts)).where(*in_window)
    market = (quotes.c.venue, quotes.c.quote_ccy)
    latest = (
        select(*market, func.max(quotes.c.ts).label("ts"))
        .where(*in_window)
        .group_by(*market)
        .subquery()
    )
    last_q = (
        select(*market, quotes.c.ts, quotes.c.price)
        .join(
            latest,
            and_(
                quotes.c.venue == latest.c.venue,
                quotes.c.quote_ccy == latest.c.quote_ccy,
                quotes.c.ts == latest.c.ts,
            ),
        )
        .where(quotes.c.coin == coin)
    )
    async with engine.connect() as conn:
        await check_schema(conn)
        points = tuple(
            AggregatePoint(
                from_dt(r.ts),
                r.price,
                r.price_min if r.price_min is not None else r.price,
                r.price_max if r.price_max is not None else r.price,
                r.deviation,
                r.severity,
                r.venues_used,
                r.resolution,
            )
            for r in await conn.execute(agg_q)
        )
        first, last = (await conn.execute(span_q)).one()
        if first is None:
            return PriceHistory(coin, start, end, points, ())
        # Buckets over the span the quotes cover, not the whole window (a daemon that ran for
        # an hour of the last week still gets a detailed line), grouped by the database:
        # a week of a venue's quotes is half a million rows, a chart's line a thousand.
        t0 = from_dt(first)
        bucket = max(from_dt(last) - t0, 1.0) / max(1, max_points // 2)
        key = func.floor((_epoch(quotes.c.ts, engine.dialect.name) - t0) / bucket).label("k")
        bucket_q = (
            select(
                *market,
                key,
                func.min(quotes.c.price).label("lo"),
                func.max(quotes.c.price).label("hi"),
                func.count().label("n"),
            )
            .where(*in_window)
            .group_by(*market, key)
            .order_by(*market, key)
        )
        finals = {
            (r.venue, r.quote_ccy): (from_dt(r.ts), r.price) for r in await conn.execute(last_q)
        }
        grouped: dict[tuple[str, str], list[Any]] = {}
        for r in await conn.execute(bucket_q):
            grouped.setdefault((r.venue, r.quote_ccy), []).append(r)
    series = []
    for (venue, ccy), rows in grouped.items():
        ts: list[float] = []
        price: list[float] = []
        for r in rows:
            mid = t0 + (float(r.k) + 0.5) * bucket
            ts.append(mid)
            price.append(r.lo)
            if r.hi != r.lo:
                ts.append(mid)
                price.append(r.hi)
        last_ts, last_price = finals[(venue, ccy)]
        n = sum(int(r.n) for r in rows)
        series.append(VenueSeries(venue, ccy, tuple(ts), tuple(price), n, last_price, last_ts))
    return PriceHistory(coin, start, end, points, tuple(series))
