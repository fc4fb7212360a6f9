"""What `depeg-monitor status` shows, read from the database: prices, open alerts, health."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.store.schema import aggregates, alert_items, alerts, health_history
from depeg_monitor.store.times import from_dt

# Kinds that close a coin's alert, or that are not about a coin at all.
_NOT_FIRING = ("resolved", "monitor_degraded", "monitor_recovered", "test")


@dataclass(frozen=True, slots=True)
class PriceRow:
    coin: str
    ts: float
    price: float | None
    deviation: float | None
    venues_used: int
    severity: int


@dataclass(frozen=True, slots=True)
class FiringRow:
    coin: str
    since: float  # the latest alert for the coin
    severity: int
    kind: str


@dataclass(frozen=True, slots=True)
class HealthRow:
    component: str
    ts: float
    status: str
    error: str | None


@dataclass(frozen=True, slots=True)
class StatusView:
    prices: list[PriceRow]
    firing: list[FiringRow]
    health: list[HealthRow]


async def read_status(engine: AsyncEngine) -> StatusView:
    latest_agg = (
        select(aggregates.c.coin, func.max(aggregates.c.ts).label("ts"))
        .where(aggregates.c.resolution == "raw")
        .group_by(aggregates.c.coin)
        .subquery()
    )
    price_q = (
        select(aggregates)
        .join(
            latest_agg,
            and_(aggregates.c.coin == latest_agg.c.coin, aggregates.c.ts == latest_agg.c.ts),
        )
        .where(aggregates.c.resolution == "raw")
        .order_by(aggregates.c.coin)
    )
    latest_item = (
        select(alert_items.c.coin, func.max(alerts.c.ts).label("ts"))
        .join(alerts, alerts.c.id == alert_items.c.alert_id)
        .group_by(alert_items.c.coin)
        .subquery()
    )
    firing_q = (
        select(alert_items.c.coin, alerts.c.ts, alert_items.c.severity, alert_items.c.kind)
        .join(alerts, alerts.c.id == alert_items.c.alert_id)
        .join(
            latest_item,
            and_(alert_items.c.coin == latest_item.c.coin, alerts.c.ts == latest_item.c.ts),
        )
        .where(alert_items.c.kind.not_in(_NOT_FIRING))
        .order_by(alert_items.c.severity.desc(), alert_items.c.coin)
    )
    last_health = select(func.max(health_history.c.ts)).scalar_subquery()
    health_q = (
        select(health_history)
        .where(health_history.c.ts == last_health)
        .order_by(health_history.c.component)
    )
    async with engine.connect() as conn:
        prices = [
            PriceRow(r.coin, from_dt(r.ts), r.price, r.deviation, r.venues_used, r.severity)
            for r in await conn.execute(price_q)
        ]
        firing = [
            FiringRow(r.coin, from_dt(r.ts), r.severity, r.kind)
            for r in await conn.execute(firing_q)
        ]
        health = [
            HealthRow(r.component, from_dt(r.ts), r.status, r.error)
            for r in await conn.execute(health_q)
        ]
    return StatusView(prices, firing, health)
