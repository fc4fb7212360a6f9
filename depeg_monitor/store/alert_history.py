"""The alert history: alerts, their coins, each delivery's outcome, silences and acks.

Write functions take a connection (the caller owns the transaction); read functions take the
engine. Times cross this boundary as UTC epoch floats. Only facts are read back: restart
recovery gets plain episode rows and the alert policy alone interprets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from depeg_monitor.mask import mask_personal
from depeg_monitor.model import (
    Ack,
    Alert,
    AlertKind,
    DeliveryStatus,
    EpisodeRow,
    Message,
    Severity,
    Silence,
)
from depeg_monitor.store.schema import acks, alert_items, alerts, deliveries, silences
from depeg_monitor.store.times import from_dt, to_dt

# --- alerts and deliveries ----------------------------------------------------------------


async def insert_alert(conn: AsyncConnection, alert: Alert, msg: Message) -> None:
    await conn.execute(
        insert(alerts).values(
            id=alert.id,
            ts=to_dt(alert.ts),
            severity=int(alert.severity),
            kind=alert.kind.value,
            coins=",".join(alert.coins)[:200],
            title=msg.title,
            body=msg.body,
            suppressed=alert.suppressed,
        )
    )
    rows = []
    for item in alert.items:
        snap = item.assessment.snapshot if item.assessment else None
        rows.append(
            {
                "alert_id": alert.id,
                "coin": item.coin,
                "severity": int(item.severity),
                "kind": item.kind.value,
                "price": snap.price if snap else None,
                "deviation": snap.deviation if snap else None,
            }
        )
    if rows:
        await conn.execute(insert(alert_items), rows)


async def insert_delivery(
    conn: AsyncConnection,
    alert_id: str,
    channel: str,
    now: float,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    error: str | None = None,
    fallback_for: str | None = None,
) -> None:
    await conn.execute(
        insert(deliveries).values(
            alert_id=alert_id,
            channel=channel,
            status=status.value,
            attempts=0,
            error=error,
            fallback_for=fallback_for,
            created_at=to_dt(now),
            updated_at=to_dt(now),
        )
    )


async def update_delivery(
    conn: AsyncConnection,
    alert_id: str,
    channel: str,
    status: DeliveryStatus,
    attempts: int,
    error: str | None,
    now: float,
    first_tried_at: float | None = None,
) -> None:
    """(alert_id, channel) names one delivery: the outbox never sends an alert twice to one."""
    values: dict[str, object] = {
        "status": status.value,
        "attempts": attempts,
        "error": error,
        "updated_at": to_dt(now),
    }
    if first_tried_at is not None:
        values["first_tried_at"] = to_dt(first_tried_at)
    if status is DeliveryStatus.DELIVERED:
        values["sent_at"] = to_dt(now)
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.alert_id == alert_id, deliveries.c.channel == channel)
        .values(**values)
    )


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    alert_id: str
    channel: str
    created_at: float
    attempts: int
    first_tried_at: float | None
    severity: Severity
    kind: AlertKind
    alert_ts: float
    message: Message
    fallback_for: str | None


async def pending_deliveries(
    engine: AsyncEngine,
) -> tuple[list[PendingDelivery], set[tuple[str, str]]]:
    """The deliveries still pending, oldest first, and every (alert, channel) their alerts
    already have a delivery for (so a resumed failover never sends a fallback twice)."""
    q = (
        select(
            deliveries.c.alert_id,
            deliveries.c.channel,
            deliveries.c.created_at,
            deliveries.c.attempts,
            deliveries.c.first_tried_at,
            deliveries.c.fallback_for,
            alerts.c.severity,
            alerts.c.kind,
            alerts.c.ts,
            alerts.c.title,
            alerts.c.body,
        )
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .where(deliveries.c.status == DeliveryStatus.PENDING.value)
        .order_by(deliveries.c.created_at, deliveries.c.id)
    )
    pending_alerts = (
        select(deliveries.c.alert_id)
        .where(deliveries.c.status == DeliveryStatus.PENDING.value)
        .scalar_subquery()
    )
    known_q = select(deliveries.c.alert_id, deliveries.c.channel).where(
        deliveries.c.alert_id.in_(pending_alerts)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
        known = {(r.alert_id, r.channel) for r in (await conn.execute(known_q)).all()}
    pending = [
        PendingDelivery(
            r.alert_id,
            r.channel,
            from_dt(r.created_at),
            r.attempts,
            None if r.first_tried_at is None else from_dt(r.first_tried_at),
            Severity(r.severity),
            AlertKind(r.kind),
            from_dt(r.ts),
            Message(r.title, r.body),
            r.fallback_for,
        )
        for r in rows
    ]
    return pending, known


async def delivery_rows(
    engine: AsyncEngine, alert_id: str | None = None
) -> list[dict[str, object]]:
    """Deliveries as plain dicts (for status output and tests)."""
    q = select(deliveries).order_by(deliveries.c.id)
    if alert_id is not None:
        q = q.where(deliveries.c.alert_id == alert_id)
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(q)).all()]


# --- restart recovery ---------------------------------------------------------------------


async def episode_rows(engine: AsyncEngine) -> list[EpisodeRow]:
    """Each coin's part of every recorded first, escalated, reminder and resolved alert, oldest
    first (by time, then as recorded), with the channels that heard it.

    A channel heard an alert if a delivery to it was recorded and not expired (an expired one
    was never sent); a fallback stands in for a failed channel and is not one of the alert's.
    """
    episode = alerts.c.kind.in_([k.value for k in _EPISODE_KINDS])
    q = (
        select(
            alert_items.c.coin,
            alert_items.c.severity,
            alert_items.c.kind,
            alert_items.c.deviation,
            alerts.c.id,
            alerts.c.ts,
            alerts.c.suppressed,
        )
        .join(alerts, alerts.c.id == alert_items.c.alert_id)
        .where(episode)
        .order_by(alerts.c.ts, alert_items.c.id)
    )
    heard_q = (
        select(deliveries.c.alert_id, deliveries.c.channel)
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .where(
            episode,
            deliveries.c.fallback_for.is_(None),
            deliveries.c.status != DeliveryStatus.EXPIRED.value,
        )
        .order_by(deliveries.c.id)
    )
    async with engine.connect() as conn:
        items = (await conn.execute(q)).all()
        heard: dict[str, list[str]] = {}
        for d in (await conn.execute(heard_q)).all():
            heard.setdefault(d.alert_id, []).append(d.channel)
    return [
        EpisodeRow(
            coin=r.coin,
            ts=from_dt(r.ts),
            kind=AlertKind(r.kind),
            severity=Severity(r.severity),
            suppressed=r.suppressed,
            channels=tuple(dict.fromkeys(heard.get(r.id, ()))),
            deviation=r.deviation,
        )
        for r in items
    ]


_EPISODE_KINDS = (AlertKind.FIRST, AlertKind.ESCALATED, AlertKind.REMINDER, AlertKind.RESOLVED)


# --- silences -----------------------------------------------------------------------------


async def add_silence(
    engine: AsyncEngine, coin: str | None, starts_at: float, ends_at: float, reason: str, now: float
) -> int:
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(silences)
            .values(
                coin=coin.upper() if coin else None,
                starts_at=to_dt(starts_at),
                ends_at=to_dt(ends_at),
                reason=reason,
                created_at=to_dt(now),
            )
            .returning(silences.c.id)
        )
        return int(result.scalar_one())


def _silence(r: object) -> Silence:
    m = r._mapping  # type: ignore[attr-defined]
    ends = from_dt(m["ends_at"])
    if m["expired_at"] is not None:
        ends = min(ends, from_dt(m["expired_at"]))
    return Silence(int(m["id"]), m["coin"], from_dt(m["starts_at"]), ends, m["reason"])


async def list_silences(
    engine: AsyncEngine, now: float, include_past: bool = False
) -> list[Silence]:
    """Silences not yet over (or all of them), soonest-ending first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(silences).order_by(silences.c.id))).all()
    out = [_silence(r) for r in rows]
    if not include_past:
        out = [s for s in out if s.ends_at > now]
    return sorted(out, key=lambda s: (s.ends_at, s.id))


async def active_silences(engine: AsyncEngine, now: float) -> list[Silence]:
    return [s for s in await list_silences(engine, now) if s.active(now)]


async def expire_silence(engine: AsyncEngine, silence_id: int, now: float) -> bool:
    """End a silence now; False if there is no such silence still in force."""
    async with engine.begin() as conn:
        row = (await conn.execute(select(silences).where(silences.c.id == silence_id))).first()
        if row is None or _silence(row).ends_at <= now:
            return False
        await conn.execute(
            update(silences).where(silences.c.id == silence_id).values(expired_at=to_dt(now))
        )
        return True


# --- acknowledgements ---------------------------------------------------------------------


async def add_ack(
    engine: AsyncEngine,
    coin: str,
    since: float,
    severity: Severity,
    by: str,
    reason: str,
    now: float,
) -> Ack:
    """Record that `by` has seen coin's episode that began at since (at its level severity).
    An e-mail address or phone number in who or why is stored masked: it is sent with the
    next message."""
    values = {
        "coin": coin.upper(),
        "episode_since": to_dt(since),
        "severity": int(severity),
        "acked_by": mask_personal(by)[:64],
        "reason": mask_personal(reason),
        "created_at": to_dt(now),
    }
    async with engine.begin() as conn:
        result = await conn.execute(insert(acks).values(**values).returning(acks.c.id))
        ack_id = int(result.scalar_one())
        row = (await conn.execute(select(acks).where(acks.c.id == ack_id))).one()
    return _ack(row)


def _ack(r: object) -> Ack:
    m = r._mapping  # type: ignore[attr-defined]
    return Ack(
        int(m["id"]),
        m["coin"],
        from_dt(m["episode_since"]),
        Severity(m["severity"]),
        m["acked_by"],
        m["reason"],
        from_dt(m["created_at"]),
    )


async def latest_acks(engine: AsyncEngine) -> list[Ack]:
    """Each coin's newest ack: the only one that can name its open episode (episodes of a coin
    follow one another); the policy decides whether it does (alerts/acks.py)."""
    newest = select(func.max(acks.c.id)).group_by(acks.c.coin).scalar_subquery()
    q = select(acks).where(acks.c.id.in_(newest)).order_by(acks.c.coin)
    async with engine.connect() as conn:
        return [_ack(r) for r in (await conn.execute(q)).all()]


async def list_acks(
    engine: AsyncEngine, since: float | None = None, coin: str | None = None
) -> list[Ack]:
    """Every ack (made at or after since; of one coin), oldest first: for history views."""
    q = select(acks).order_by(acks.c.created_at, acks.c.id)
    if since is not None:
        q = q.where(acks.c.created_at >= to_dt(since))
    if coin is not None:
        q = q.where(acks.c.coin == coin.upper())
    async with engine.connect() as conn:
        return [_ack(r) for r in (await conn.execute(q)).all()]


# A time read back and written again may come back a microsecond apart.
_ROUNDING = 0.001


@dataclass(frozen=True, slots=True)
class OpenAck:
    """An ack whose episode has not resolved, and the episode's peak so far: past the level
    acknowledged, the ack is spent and reminders are back."""

    ack: Ack
    peak: Severity

    @property
    def in_force(self) -> bool:
        return self.peak <= self.ack.severity


async def open_acks(engine: AsyncEngine) -> list[OpenAck]:
    """Each coin's newest ack while its episode is still open (no 'resolved' recorded since
    the episode began), by coin: what `status` shows."""
    out = []
    newest = await latest_acks(engine)
    async with engine.connect() as conn:
        for ack in newest:
            q = (
                select(alert_items.c.kind, alert_items.c.severity)
                .join(alerts, alerts.c.id == alert_items.c.alert_id)
                .where(
                    alert_items.c.coin == ack.coin,
                    alerts.c.ts >= to_dt(ack.since - _ROUNDING),
                    alerts.c.kind.in_([k.value for k in _EPISODE_KINDS]),
                )
            )
            rows = (await conn.execute(q)).all()
            if any(r.kind == AlertKind.RESOLVED.value for r in rows) or not rows:
                continue
            out.append(OpenAck(ack, max(Severity(r.severity) for r in rows)))
    return out
