"""What `depeg-monitor status` shows, read from the database: prices, open alerts and their
acknowledgements, health, silences, and the latest alerts with what became of each delivery."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from depeg_monitor.model import Silence
from depeg_monitor.store.alert_history import OpenAck, list_silences, open_acks
from depeg_monitor.store.db import current_version
from depeg_monitor.store.schema import (
    SCHEMA_VERSION,
    aggregates,
    alert_items,
    alerts,
    deliveries,
    health_history,
    quotes,
)
from depeg_monitor.store.times import from_dt, to_dt

RECENT_ALERTS = 10  # the latest alerts `status` lists
# A pool's last quotes are looked for this far before its last good poll (quotes are thinned
# to one row a market a second, so the latest row is within a second of it).
POOL_QUOTE_WINDOW = 60.0


class NoSchema(Exception):
    """The database has no depeg-monitor tables: neither the daemon nor `db upgrade` ran."""


class SchemaTooOld(Exception):
    """The database's schema predates this version (the daemon or `db upgrade` brings it up)."""

    def __init__(self, found: int) -> None:
        super().__init__(found)
        self.found = found


async def check_schema(conn: AsyncConnection) -> None:
    """What a report reads is there: tables, and of this version (NoSchema, SchemaTooOld)."""
    version = await current_version(conn)
    if version is None:
        raise NoSchema
    if version < SCHEMA_VERSION:
        raise SchemaTooOld(version)


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
    detail: dict[str, Any] | None = None  # the check's figures (a pool's chain and block)


@dataclass(frozen=True, slots=True)
class OnChainRow:
    """A pool or a Chainlink feed as its last health row saw it, with a pool's last prices."""

    component: str  # 'venue:curve-3pool', 'oracle:chainlink-usdc-usd'
    chain: str
    status: str
    error: str | None
    block: int | None  # the last block read (None: none yet)
    block_ts: float | None
    last_ok: float | None  # when it last did its job
    value: float | None = None  # a feed's answer …
    updated_at: float | None = None  # … and when it was written on chain
    market: str | None = None  # a feed's pair
    prices: tuple[tuple[str, str, float], ...] = ()  # a pool's last quotes: coin, in, price

    @property
    def feed(self) -> bool:
        return self.component.startswith("oracle:")

    @property
    def name(self) -> str:
        return self.component.partition(":")[2]


def _ts(value: Any) -> float | None:
    """An ISO time from a health row's detail (None if absent or unreadable)."""
    try:
        return datetime.fromisoformat(value).timestamp() if isinstance(value, str) else None
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def onchain_row(r: HealthRow) -> OnChainRow | None:
    """The pool or feed a health row describes, or None for anything else (an exchange)."""
    onchain = (r.detail or {}).get("onchain")
    if not isinstance(onchain, dict) or not isinstance(onchain.get("chain"), str):
        return None
    block = onchain.get("block")
    market = onchain.get("market")
    return OnChainRow(
        r.component,
        onchain["chain"],
        r.status,
        r.error,
        block if isinstance(block, int) and not isinstance(block, bool) else None,
        _ts(onchain.get("blockTime")),
        _ts((r.detail or {}).get("time")),
        _num(onchain.get("value")),
        _ts(onchain.get("updatedAt")),
        market if isinstance(market, str) else None,
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    channel: str
    status: str  # a DeliveryStatus value
    attempts: int
    error: str | None  # free of secrets, as the outbox recorded it
    fallback_for: str | None  # the failed channel this one stood in for
    created_at: float  # recorded (and first tried) at
    updated_at: float  # the last outcome: when it was taken, failed or expired
    sent_at: float | None  # when the channel took it


def delivery_row(d: Any) -> DeliveryRow:
    """A deliveries table row as read (status and the alerts report share it)."""
    return DeliveryRow(
        d.channel,
        d.status,
        d.attempts,
        d.error,
        d.fallback_for,
        from_dt(d.created_at),
        from_dt(d.updated_at),
        None if d.sent_at is None else from_dt(d.sent_at),
    )


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    ts: float
    severity: int
    kind: str
    coins: str  # comma-separated, as stored
    suppressed: str | None  # why it was recorded but not sent
    deliveries: tuple[DeliveryRow, ...]


@dataclass(frozen=True, slots=True)
class StatusView:
    prices: list[PriceRow]
    firing: list[FiringRow]
    health: list[HealthRow]
    silences: list[Silence]  # in force or still to come, soonest-ending first
    recent: list[AlertRow]  # newest first
    acks: list[OpenAck] = field(default_factory=list)  # of episodes still open, by coin
    onchain: list[OnChainRow] = field(default_factory=list)  # pools and feeds


async def read_status(engine: AsyncEngine, now: float, recent: int = RECENT_ALERTS) -> StatusView:
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
    recent_q = select(alerts).order_by(alerts.c.ts.desc(), alerts.c.id).limit(recent)
    async with engine.connect() as conn:
        await check_schema(conn)
        prices = [
            PriceRow(r.coin, from_dt(r.ts), r.price, r.deviation, r.venues_used, r.severity)
            for r in await conn.execute(price_q)
        ]
        firing = [
            FiringRow(r.coin, from_dt(r.ts), r.severity, r.kind)
            for r in await conn.execute(firing_q)
        ]
        health = [
            HealthRow(
                r.component,
                from_dt(r.ts),
                r.status,
                r.error,
                r.detail if isinstance(r.detail, dict) else None,
            )
            for r in await conn.execute(health_q)
        ]
        onchain = await _with_prices(conn, [o for h in health if (o := onchain_row(h))])
        latest = (await conn.execute(recent_q)).all()
        heard: dict[str, list[DeliveryRow]] = {}
        if latest:
            delivery_q = (
                select(deliveries)
                .where(deliveries.c.alert_id.in_([r.id for r in latest]))
                .order_by(deliveries.c.id)
            )
            for d in await conn.execute(delivery_q):
                heard.setdefault(d.alert_id, []).append(delivery_row(d))
    recent_rows = [
        AlertRow(
            r.id,
            from_dt(r.ts),
            r.severity,
            r.kind,
            r.coins,
            r.suppressed,
            tuple(heard.get(r.id, ())),
        )
        for r in latest
    ]
    silences = await list_silences(engine, now)
    return StatusView(
        prices, firing, health, silences, recent_rows, await open_acks(engine), onchain
    )


async def _with_prices(conn: AsyncConnection, rows: list[OnChainRow]) -> list[OnChainRow]:
    """Each pool's latest quote per coin, looked for just before its last good poll (an
    indexed range of the quotes table, never a scan of its history)."""
    pools = {r.name: r for r in rows if not r.feed and r.last_ok is not None}
    if not pools:
        return rows
    since = min(r.last_ok for r in pools.values() if r.last_ok is not None) - POOL_QUOTE_WINDOW
    latest = (
        select(quotes.c.venue, quotes.c.coin, func.max(quotes.c.ts).label("ts"))
        .where(quotes.c.ts >= to_dt(since), quotes.c.venue.in_(list(pools)))
        .group_by(quotes.c.venue, quotes.c.coin)
        .subquery()
    )
    q = (
        select(quotes.c.venue, quotes.c.coin, quotes.c.quote_ccy, quotes.c.price)
        .join(
            latest,
            and_(
                quotes.c.venue == latest.c.venue,
                quotes.c.coin == latest.c.coin,
                quotes.c.ts == latest.c.ts,
            ),
        )
        .order_by(quotes.c.venue, quotes.c.coin)
    )
    prices: dict[str, dict[str, tuple[str, str, float]]] = {}
    for v in await conn.execute(q):
        prices.setdefault(v.venue, {})[v.coin] = (v.coin, v.quote_ccy, v.price)
    return [replace(r, prices=tuple(prices.get(r.name, {}).values())) for r in rows]
