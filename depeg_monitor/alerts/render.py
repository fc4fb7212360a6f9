"""Alert → words a person reads on a phone at 3 a.m.; one Message, shaped per channel kind.

A Message (title + plain body) is what the alerts table stores, so a delivery resumed after a
restart is shaped from the same text: Discord markdown, an email, one SMS line, a log line.
The classifier's facts are worded here too (reasons), for the daemon's price log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from depeg_monitor.model import (
    Ack,
    Alert,
    AlertItem,
    AlertKind,
    Assessment,
    Clearing,
    InsufficientData,
    Message,
    OracleContext,
    OracleMove,
    Pending,
    Severity,
    SideIgnored,
    Thresholds,
)

DISCORD_LIMIT = 2000
SMS_LIMIT = 159
# Widening below this factor is rounding, not news.
_WIDEN_WORTH_SAYING = 1.0005
# At most this many "venue reason" pairs in an insufficient-data line.
_DROPPED_SHOWN = 6
# A single monitor problem up to this long is the title itself (what an SMS shows).
_PROBLEM_IN_TITLE = 100
# Held alerts are listed in full up to this many characters, then older ones by title and time.
_HELD_IN_FULL = 1500

EMOJI = {
    Severity.NONE: "✅",
    Severity.MINOR: "🟡",
    Severity.MAJOR: "🟠",
    Severity.CRITICAL: "🔴",
}
_KIND_EMOJI = {
    AlertKind.RESOLVED: "✅",
    AlertKind.DISLOCATION: "↔️",
    AlertKind.MONITOR_DEGRADED: "⚠️",
    AlertKind.MONITOR_RECOVERED: "✅",
    AlertKind.TEST: "🧪",
}
WHY = {
    AlertKind.FIRST: "new",
    AlertKind.ESCALATED: "escalated",
    AlertKind.REMINDER: "still firing (reminder)",
    AlertKind.RESOLVED: "resolved",
    AlertKind.DISLOCATION: "one venue apart",
}


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- the classifier's facts ---------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def duration(seconds: float) -> str:
    """Seconds as a person says them: '40 s', '5 min', '2.5 h'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def reasons(a: Assessment) -> list[str]:
    """Why the assessment says what it says, one short sentence per fact, most telling first."""
    s = a.snapshot
    missing = a.fact(InsufficientData)
    if missing is not None:
        out = [f"insufficient data: {missing.agreeing} of {missing.needed} venues agree"]
        dropped = sorted({f"{d.venue} {d.reason}" for d in s.dropped})
        if dropped:
            out.append("dropped: " + ", ".join(dropped[:_DROPPED_SHOWN]))
        return out
    out = []
    if s.price is not None and a.deviation is not None:
        side = "above" if a.deviation > 0 else "below"
        out.append(f"price {s.price:.4f} is {_pct(abs(a.deviation))} {side} peg")
    ignored = a.fact(SideIgnored)
    if ignored is not None:
        out.append(f"{ignored.side} ignored by settings")
    clearing = a.fact(Clearing)
    if clearing is not None:
        out.append(
            f"clearing: inside {_pct(clearing.band)} for "
            f"{duration(clearing.held)} of {duration(clearing.needed)}"
        )
    thresholds = a.fact(Thresholds)
    if thresholds is not None and a.severity > Severity.NONE:
        out.append(f"{a.severity.label} at ≥ {_pct(thresholds.of(a.severity))}")
    pending = a.fact(Pending)
    if pending is not None:
        out.append(
            f"{pending.level.label} pending: "
            f"held {duration(pending.held)} of {duration(pending.needed)}"
        )
    if thresholds is not None and thresholds.widened > _WIDEN_WORTH_SAYING:
        out.append(f"thresholds widened ×{thresholds.widened:.2f} for volatility")
    if s.context.correlated:
        out.append("also deviating: " + ", ".join(s.context.correlated))
    return out


# --- alerts --------------------------------------------------------------------------------


def _price(item: AlertItem) -> tuple[float | None, float | None]:
    a = item.assessment
    if a is None:
        return None, None
    return a.snapshot.price, a.snapshot.deviation


def _short(item: AlertItem) -> str:
    price, dev = _price(item)
    if price is None or dev is None:
        return item.coin
    return f"{item.coin} ${price:.4f} ({dev:+.2%})"


def _title(alert: Alert) -> str:
    k = alert.kind
    if k == AlertKind.TEST:
        return "🧪 TEST alert from depeg-monitor (no action needed)"
    if k == AlertKind.MONITOR_DEGRADED:
        found = note_lines(alert)
        if _problem_in_title(found):
            return f"⚠️ depeg-monitor degraded: {found[0]}"
        n = len(found)
        return "⚠️ depeg-monitor degraded" + (f": {n} problems" if n > 1 else "")
    if k == AlertKind.MONITOR_RECOVERED:
        return "✅ depeg-monitor recovered"
    if k == AlertKind.DISLOCATION:
        return "↔️ Venue dislocation: " + ", ".join(_split_short(i) for i in alert.items)
    coins = ", ".join(_short(i) for i in alert.items)
    if k == AlertKind.RESOLVED:
        return f"✅ Resolved: {coins}"
    return f"{EMOJI[alert.severity]} {alert.severity.name} depeg: {coins} — {WHY[k]}"


def _split_short(item: AlertItem) -> str:
    d = item.assessment.snapshot.dislocation if item.assessment else None
    if d is None:
        return item.coin
    names = "+".join(dict.fromkeys(v.venue for v in d.venues))  # a venue's markets are one
    return f"{item.coin} on {names} ${d.price:.4f} vs ${d.followed_price:.4f} ({d.gap:+.2%})"


def _dislocation_lines(item: AlertItem) -> list[str]:
    d = item.assessment.snapshot.dislocation if item.assessment else None
    if d is None:
        return []
    names = ", ".join(f"{v.venue} ${v.price_usd:.4f}" for v in d.venues)
    return [
        f"  apart: {names}; the rest of the market ${d.followed_price:.4f} ({d.gap:+.2%})",
        f"  arbitrage net of fees {d.arbitrage_net:.2%}; not a depeg while the rest holds",
    ]


def _item_lines(item: AlertItem) -> list[str]:
    lines = [f"{item.coin} — {item.severity.name} ({WHY.get(item.kind, item.kind.value)})"]
    if item.kind == AlertKind.RESOLVED and item.peak_deviation is not None:
        lasted = (
            f", lasted {duration(item.assessment.ts - item.since)}"
            if (item.assessment is not None and item.since is not None)
            else ""
        )
        lines.append(f"  peak {item.peak_deviation:+.2%} ({item.severity.name.lower()}){lasted}")
    if item.acknowledged is not None:
        lines.append("  " + acknowledged(item.acknowledged))
    if item.kind == AlertKind.DISLOCATION:
        lines.extend(_dislocation_lines(item))
    a = item.assessment
    if a is None:
        return lines
    s = a.snapshot
    if s.price is not None and s.deviation is not None:
        lines.append(f"  price ${s.price:.4f}, {s.deviation:+.2%} from the ${s.peg:g} peg")
    if s.used:
        venues = " · ".join(
            f"{v.venue} ${v.price_usd:.4f}" + ("" if v.quote_ccy == "USD" else f" ({v.quote_ccy})")
            for v in sorted(s.used, key=lambda v: v.price_usd)
        )
        lines.append(f"  venues: {venues}")
    c = s.context
    if c.volume_spike is not None and c.volume_spike >= 1.5:
        lines.append(f"  volume spike ×{c.volume_spike:.1f} of normal")
    if c.correlated:
        lines.append(f"  also deviating: {', '.join(c.correlated)}")
    if c.spread is not None and c.cheapest_venue and c.dearest_venue:
        lines.append(
            f"  cross-venue spread {c.spread:.2%} "
            f"(cheapest {c.cheapest_venue}, dearest {c.dearest_venue})"
        )
    for o in c.oracles:
        if o.moved is not None:  # the update lenders act on: its own line, first
            lines.append("  " + oracle_move_line(o, o.moved))
        lines.append("  " + oracle_line(o))
    if s.dropped:
        # Venues whose data could not count: stale, no USD reference, or an outlier print.
        dropped = ", ".join(f"{d.venue} ({d.reason.replace('_', ' ')})" for d in s.dropped)
        lines.append(f"  left out: {dropped}")
    return lines


def acknowledged(ack: Ack) -> str:
    """'acknowledged by alice at 2023-03-11 03:10:00 UTC: bank run, watching'."""
    said = f"acknowledged by {ack.by} at {utc(ack.at)}"
    return f"{said}: {ack.reason}" if ack.reason else said


def oracle_line(o: OracleContext) -> str:
    """'Chainlink USDC/USD 0.9990, updated 3 h ago; market 0.9612 — oracle lags 3.8 %'."""
    ago = f"{o.age / 3600:.0f} h" if o.age >= 7200 else duration(o.age)
    pair = f"{o.coin}/{o.quote_ccy}"
    return (
        f"Chainlink {pair} {o.value:.4f}, updated {ago} ago; "
        f"market {o.market:.4f} — oracle lags {abs(o.lag) * 100:.1f} %"
    )


def oracle_move_line(o: OracleContext, m: OracleMove) -> str:
    """'Chainlink USDC/USD moved to 0.9712 at 03:14, beyond major — lending protocols
    liquidate on this'; back: '… moved back to 0.9990 at 05:00, inside minor (was beyond
    major)'."""
    at = datetime.fromtimestamp(m.updated_at, UTC).strftime("%H:%M")
    pair = f"Chainlink {o.coin}/{o.quote_ccy}"
    if m.level > m.previous:
        return (
            f"{pair} moved to {m.value:.4f} at {at}, beyond {m.level.label} — "
            "lending protocols liquidate on this"
        )
    where = "inside minor" if m.level == Severity.NONE else f"beyond {m.level.label} only"
    return f"{pair} moved back to {m.value:.4f} at {at}, {where} (was beyond {m.previous.label})"


def note_lines(alert: Alert) -> list[str]:
    """The alert's note, one line per thing it says (a monitor alert: per failing check),
    each on one line whatever the text it came from held."""
    return [" ".join(line.split()) for line in alert.note.splitlines() if line.strip()]


def _problem_in_title(found: list[str]) -> bool:
    return len(found) == 1 and len(found[0]) <= _PROBLEM_IN_TITLE


def render(alert: Alert) -> Message:
    lines: list[str] = []
    if alert.kind == AlertKind.TEST:
        lines.append("This is a test of the alert channel. Nothing has depegged.")
    for item in alert.items:
        lines.extend(_item_lines(item))
    notes = note_lines(alert)
    # A degraded monitor's one short problem is already the title: said once, not twice.
    if not (alert.kind == AlertKind.MONITOR_DEGRADED and _problem_in_title(notes)):
        lines.extend(notes)
    lines.append(f"Time: {utc(alert.ts)}")
    return Message(_title(alert), "\n".join(lines))


# --- late deliveries ----------------------------------------------------------------------


def late(msg: Message, first_tried: float, sent_at: float) -> Message:
    """A message the channel could not take when it was decided, saying so: when it was first
    tried and when it was sent (the SMS line keeps the alert's own time and the delay)."""
    delay = duration(sent_at - first_tried)
    return Message(
        f"{msg.title} (delayed {delay})",
        f"{msg.body}\nDelivered late: first tried {utc(first_tried)}, sent {utc(sent_at)} "
        f"({delay} later).",
    )


def held(messages: Sequence[Message], first_tried: float, sent_at: float) -> Message:
    """Several messages a channel could not take, in the order they were decided, as one: the
    title names the first and the last (a late firing and its resolution say both)."""
    if len(messages) == 1:
        return late(messages[0], first_tried, sent_at)
    delay = duration(sent_at - first_tried)
    first, last = messages[0], messages[-1]
    between = f" … (+{len(messages) - 2})" if len(messages) > 2 else ""
    title = f"{first.title}{between} … then {_bare(last.title)} (delayed {delay})"
    head = (
        f"{len(messages)} alerts this channel could not take when they were decided, in "
        f"order: first tried {utc(first_tried)}, sent {utc(sent_at)} ({delay} later)."
    )
    parts = [f"[{i}/{len(messages)}] {m.title}\n{m.body}" for i, m in enumerate(messages, 1)]
    if sum(map(len, parts)) > _HELD_IN_FULL:  # older ones by title and time; the last in full
        parts[:-1] = [
            f"[{i}/{len(messages)}] {m.title}\n{_time_line(m)}"
            for i, m in enumerate(messages[:-1], 1)
        ]
    return Message(title, "\n\n".join([head, *parts]))


def _time_line(msg: Message) -> str:
    return next((ln for ln in reversed(msg.body.splitlines()) if ln.startswith("Time: ")), "")


def _bare(title: str) -> str:
    """A title without its leading emoji."""
    for emoji in (*EMOJI.values(), *_KIND_EMOJI.values()):
        title = title.removeprefix(emoji)
    return title.strip()


# --- per channel kind ---------------------------------------------------------------------


def _cut(text: str, limit: int, ellipsis: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(ellipsis)].rstrip() + ellipsis


def discord(msg: Message) -> str:
    """Markdown within Discord's 2,000-character limit; the body in a quote block."""
    body = "\n".join(f"> {line}" for line in msg.body.splitlines())
    return _cut(f"**{msg.title}**\n{body}", DISCORD_LIMIT)


def sms(msg: Message) -> str:
    """One line under 160 characters, no emoji (it would force a 70-character UCS-2 segment)."""
    title = msg.title
    for emoji in (*EMOJI.values(), *_KIND_EMOJI.values()):
        title = title.replace(emoji, "")  # a held message names two alerts, each with its own
    title = title.replace("—", "-").replace("…", "...").strip()
    when = msg.body.rsplit("Time: ", 1)[-1][11:16] if "Time: " in msg.body else ""
    text = f"{title} {when} UTC" if when else title
    return _cut(" ".join(text.split()), SMS_LIMIT, "...")


def plain(msg: Message) -> str:
    return f"{msg.title}\n{msg.body}"
