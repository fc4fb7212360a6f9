"""`depeg-monitor status`: whether the daemon is running, current prices, on-chain pools and
feeds (block, its age, price), firing alerts (and who acknowledged them), silences, the latest
alerts with who heard them, and component health — from the database."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.reading import Failed, read_database
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.model import Severity
from depeg_monitor.store.alert_history import OpenAck
from depeg_monitor.store.status import (
    AlertRow,
    DeliveryRow,
    OnChainRow,
    StatusView,
    read_status,
)
from depeg_monitor.terminal import printable

# The daemon writes health rows every health.history_interval; this many intervals without
# one (plus the writer's flush interval) and it is taken to be stopped. Two, so that a single
# late row — a slow cycle, a flush delayed by a busy database — is not called an outage.
MISSED_REPORTS = 2.0
# A delivery taken this long after it was recorded is shown as late (the outbox's late_after).
LATE_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class Expect:
    """How often the daemon reports, and how late a report may be before it is said to be down."""

    every: float  # health.history_interval
    grace: float  # the writer's flush interval: a row reaches the database this much later

    @classmethod
    def of(cls, settings: Settings) -> Expect:
        return cls(settings.health.history_interval, settings.database.flush_interval)

    def down(self, age: float) -> bool:
        return age > MISSED_REPORTS * self.every + self.grace


def span(seconds: float) -> str:
    """0.5 s, 88 s, 14 min, 3 h 5 min, 2 d 3 h: a duration as a person says it."""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}".removesuffix(".0") + " s"
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    m = s // 60
    if m < 120:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _when(ts: float, now: float) -> str:
    return f"{_stamp(ts)} ({span(now - ts)} ago)"


def daemon_line(view: StatusView, now: float, expect: Expect) -> str:
    """Whether the daemon is reporting: its last health row against the interval it keeps."""
    every = f"every {span(expect.every)}"
    if not view.health:
        return "daemon not running? it has not reported yet (no health rows in this database)"
    age = now - view.health[0].ts
    if expect.down(age):
        return f"daemon not running? last report {span(age)} ago (expected {every})"
    return f"daemon running: last report {span(age)} ago ({every})"


def _delivery(d: DeliveryRow) -> str:
    text = f"{printable(d.channel)} {printable(d.status)}"
    if d.fallback_for:
        text += f" (standing in for {printable(d.fallback_for)})"
    if d.status in ("failed", "pending", "expired") and d.attempts:
        text += f" after {d.attempts} attempt{'s' if d.attempts != 1 else ''}"
    if d.sent_at is not None and d.sent_at - d.created_at >= LATE_AFTER:
        text += f", {span(d.sent_at - d.created_at)} late"
    if d.error:
        text += f": {printable(d.error)}"
    return text


def _label(severity: int) -> str:
    try:
        return Severity(severity).label
    except ValueError:  # written by a newer version, or by hand
        return str(severity)


def _alert(a: AlertRow, now: float) -> list[str]:
    label, kind = _label(a.severity), printable(a.kind)
    coins = ", ".join(printable(c) for c in a.coins.split(",") if c) or "(the monitor)"
    head = f"  {_when(a.ts, now)}  {label:<8} {kind:<17} {coins}"
    if a.deliveries:
        heard = "; ".join(_delivery(d) for d in a.deliveries)
    elif a.suppressed:
        heard = f"not sent: {printable(a.suppressed)}"
    else:
        heard = "no delivery recorded"
    return [head.rstrip(), f"      → {heard}"]


def _acked(o: OpenAck, now: float) -> str:
    """'acknowledged (major) by alice 5 min ago: watching', and whether it still holds."""
    a = o.ack
    said = f"acknowledged ({a.severity.label}) by {printable(a.by)} {span(now - a.at)} ago"
    if a.reason:
        said += f": {printable(a.reason)}"
    if o.in_force:
        return f"{said} — no reminders until it goes past {a.severity.label}"
    return f"{said} — since escalated to {o.peak.label}: reminders back"


def _onchain(o: OnChainRow, now: float) -> str:
    """A pool or feed: its chain, last block and that block's age, what it read, and why not."""
    where = printable(o.chain)
    if o.block is None:
        where += " no block read yet"
    else:
        age = "" if o.block_ts is None else f" ({span(now - o.block_ts)} old)"
        where += f" block {o.block}{age}"
    if o.feed:
        market = printable(o.market or "")
        read = "no reading yet" if o.value is None else f"Chainlink {market} {o.value:.5f}"
        if o.value is not None and o.updated_at is not None:
            read += f", updated {span(now - o.updated_at)} ago"
    else:
        read = (
            ", ".join(f"{printable(c)} {p:.5f} {printable(q)}" for c, q, p in o.prices)
            or "no price recorded"
        )
    error = f"  {printable(o.error)}" if o.error else ""
    return f"  {printable(o.name):<20} {printable(o.status):<5} {where}  {read}{error}"


def render(view: StatusView, now: float, expect: Expect) -> list[str]:
    """The status report; every text read from the database is escaped for the terminal
    (health errors carry venues' own messages, delivery errors channels' ones)."""
    lines = [daemon_line(view, now, expect), "prices:"]
    for p in view.prices:
        price = "no quorum" if p.price is None else f"{p.price:.5f}"
        dev = "" if p.deviation is None else f"{p.deviation * 100:+.3f}%"
        lines.append(
            f"  {printable(p.coin):<6} {price:>10} {dev:>9}  {_label(p.severity):<8} "
            f"{p.venues_used} venues  {_when(p.ts, now)}"
        )
    if not view.prices:
        lines.append("  (no prices recorded yet)")
    if view.onchain:
        lines.append("on-chain pools and feeds:")
        lines += [_onchain(o, now) for o in sorted(view.onchain, key=lambda o: (o.feed, o.name))]
    lines.append("firing alerts:")
    acks = {o.ack.coin: o for o in view.acks}
    for f in view.firing:
        label = _label(f.severity)
        coin, kind = printable(f.coin), printable(f.kind)
        lines.append(f"  {coin:<6} {label:<8} {kind:<10} since {_when(f.since, now)}")
        if f.coin in acks:
            lines.append(f"         {_acked(acks.pop(f.coin), now)}")
    for o in acks.values():  # an ack whose coin's latest row is not a firing one
        lines.append(f"  {printable(o.ack.coin):<6} {_acked(o, now)}")
    if not view.firing and not acks:
        lines.append("  (none)")
    lines.append("silences:")
    for s in view.silences:
        coin = printable(s.coin or "ALL")
        if s.active(now):
            when = f"until {_stamp(s.ends_at)} ({span(s.ends_at - now)} left)"
        else:
            when = f"from {_stamp(s.starts_at)} (in {span(s.starts_at - now)})"
        lines.append(f"  {s.id:>4}  {coin:<6} {when}  {printable(s.reason)}")
    if not view.silences:
        lines.append("  (none)")
    lines.append("last alerts:")
    for a in view.recent:
        lines += _alert(a, now)
    if not view.recent:
        lines.append("  (none)")
    lines.append("health:" if not view.health else f"health ({_when(view.health[0].ts, now)}):")
    for h in view.health:
        component, status, error = (printable(t or "") for t in (h.component, h.status, h.error))
        lines.append(f"  {component:<20} {status:<5} {error}".rstrip())
    if not view.health:
        lines.append("  (no health rows yet)")
    return lines


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    now = time.time()
    read = read_database("status", settings, lambda engine: read_status(engine, now))
    if isinstance(read, Failed):
        return read.code
    view = read.value
    print("\n".join(render(view, now, Expect.of(settings))))
    return 0
