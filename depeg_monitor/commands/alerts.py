"""`depeg-monitor alerts [--since 7d] [--coin C] [--json]`: the alerts of a window, oldest
first, each with what every channel did with it, and the acks made in it — from the database."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.reading import Failed, read_database
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.commands.status import LATE_AFTER, span
from depeg_monitor.mask import mask_personal
from depeg_monitor.model import Ack, Severity
from depeg_monitor.store.alert_history import list_acks
from depeg_monitor.store.history import PastAlert, PastItem, read_alerts
from depeg_monitor.store.status import DeliveryRow
from depeg_monitor.terminal import printable


@dataclass(frozen=True, slots=True)
class Found:
    alerts: list[PastAlert]
    acks: list[Ack]  # made in the window, oldest first


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label(severity: int) -> str:
    try:
        return Severity(severity).label
    except ValueError:  # written by a newer version, or by hand
        return str(severity)


def _safe(text: str | None) -> str:
    """Database text as it may be shown: recipients masked, terminal controls escaped."""
    return printable(mask_personal(text or ""))


def outcome_time(d: DeliveryRow) -> float | None:
    """When the delivery got its outcome: taken, given up on, or (pending) not yet."""
    if d.sent_at is not None:
        return d.sent_at
    return None if d.status == "pending" else d.updated_at


def _delivery(d: DeliveryRow) -> str:
    text = f"{_safe(d.channel):<12} {_safe(d.status)}"
    when = outcome_time(d)
    if when is not None:
        text += f" {_stamp(when)}"
    elif d.status == "pending":
        text += f" since {_stamp(d.created_at)}"
    if d.fallback_for:
        text += f" (standing in for {_safe(d.fallback_for)})"
    if d.attempts:
        text += f", {d.attempts} attempt{'s' if d.attempts != 1 else ''}"
    if d.sent_at is not None and d.sent_at - d.created_at >= LATE_AFTER:
        text += f", {span(d.sent_at - d.created_at)} late"
    if d.error:
        text += f": {_safe(d.error)}"
    return text


def _item(i: PastItem) -> str:
    price = "" if i.price is None else f" ${i.price:.4f}"
    dev = "" if i.deviation is None else f" {i.deviation * 100:+.3f}%"
    return f"{_safe(i.coin)}{price}{dev}"


def _ack(a: Ack) -> list[str]:
    said = (
        f"{_stamp(a.at)}  ack      {'':<17} {_safe(a.coin)} ({a.severity.label}) by {_safe(a.by)}"
    )
    lines = [said]
    if a.reason:
        lines.append(f"    why: {_safe(a.reason)}")
    lines.append(
        f"    → no reminders for the episode begun {_stamp(a.since)} up to {a.severity.label}"
    )
    return lines


def _alert(a: PastAlert) -> list[str]:
    coins = ", ".join(_item(i) for i in a.items) or "(the monitor)"
    lines = [f"{_stamp(a.ts)}  {label(a.severity):<8} {_safe(a.kind):<17} {coins}"]
    lines.append(f"    why: {_safe(a.title)}")
    if a.suppressed:
        lines.append(f"    not sent: {_safe(a.suppressed)}")
    for d in a.deliveries:
        lines.append(f"    → {_delivery(d)}")
    if not a.deliveries and not a.suppressed:
        lines.append("    → no delivery recorded")
    return lines


def render(found: Found, since: float, coin: str | None) -> list[str]:
    about = f" about {printable(coin)}" if coin else ""
    n, k = len(found.alerts), len(found.acks)
    acked = f", {k} ack{'s' if k != 1 else ''}" if k else ""
    lines = [f"{n} alert{'s' if n != 1 else ''}{acked}{about} since {_stamp(since)}"]
    entries = [(a.ts, 0, _alert(a)) for a in found.alerts]
    entries += [(a.at, 1, _ack(a)) for a in found.acks]
    for _, _, said in sorted(entries, key=lambda e: (e[0], e[1])):
        lines += said
    return lines


def _delivery_json(d: DeliveryRow) -> dict[str, Any]:
    return {
        "channel": mask_personal(d.channel),
        "status": d.status,
        "attempts": d.attempts,
        "error": None if d.error is None else mask_personal(d.error),
        "fallback_for": d.fallback_for,
        "recorded_at": iso(d.created_at),
        "outcome_at": iso(outcome_time(d)),
        "sent_at": iso(d.sent_at),
    }


def to_json(found: Found, since: float, coin: str | None) -> dict[str, Any]:
    return {
        "since": iso(since),
        "coin": coin,
        "acks": [
            {
                "coin": a.coin,
                "time": iso(a.at),
                "episode_since": iso(a.since),
                "severity": a.severity.label,
                "by": mask_personal(a.by),
                "reason": mask_personal(a.reason),
            }
            for a in found.acks
        ],
        "alerts": [
            {
                "id": a.id,
                "time": iso(a.ts),
                "severity": label(a.severity),
                "kind": a.kind,
                "why": mask_personal(a.title),
                "suppressed": a.suppressed,
                "coins": [
                    {
                        "coin": i.coin,
                        "severity": label(i.severity),
                        "kind": i.kind,
                        "price": i.price,
                        "deviation": i.deviation,
                    }
                    for i in a.items
                ],
                "deliveries": [_delivery_json(d) for d in a.deliveries],
            }
            for a in found.alerts
        ],
    }


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    since = time.time() - args.since

    async def read(engine: AsyncEngine) -> Found:
        found = await read_alerts(engine, since, args.coin)
        return Found(found, await list_acks(engine, since, args.coin))

    got = read_database("alerts", settings, read)
    if isinstance(got, Failed):
        return got.code
    if args.json:
        print(json.dumps(to_json(got.value, since, args.coin), indent=2, ensure_ascii=False))
    else:
        print("\n".join(render(got.value, since, args.coin)))
    return 0
