"""The detection report of a replay: alert timeline, per-event delays, misses, false alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from depeg_monitor.model import AlertKind, Severity
from depeg_monitor.replay.manifest import format_time
from depeg_monitor.replay.runner import ReplayRun

# Kinds that tell someone a coin is (more) off its peg; reminders and resolutions are not new.
_ONSET = (AlertKind.FIRST, AlertKind.ESCALATED)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    ts: float
    coin: str
    severity: Severity
    kind: AlertKind
    price: float | None
    deviation: float | None
    venues: tuple[str, ...]
    in_event: bool
    channels: tuple[str, ...] = ()  # who would have heard it
    held: str | None = None  # why nobody did (quiet_hours, silenced, …)


@dataclass(frozen=True, slots=True)
class EventResult:
    coin: str
    start: float
    end: float
    expect: Severity
    note: str
    first_alert: float | None  # first alert of at least `expect` inside the window
    delay: float | None  # first_alert - start (0 when already firing at the start)
    market_crossed: float | None  # first cycle the aggregate deviation passed `expect`
    delay_after_crossing: float | None
    peak: Severity
    max_deviation: float

    @property
    def missed(self) -> bool:
        return self.first_alert is None


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    stage: str
    assumed_rates: dict[str, float]
    cycles: int
    quotes_read: int
    quotes_fed: int
    load_seconds: float
    run_seconds: float
    series: tuple[dict[str, Any], ...]
    no_price_cycles: dict[str, int]
    timeline: tuple[TimelineEntry, ...]
    events: tuple[EventResult, ...]
    false_alerts: dict[str, int]  # severity label → onset alerts outside every event


def build_report(run: ReplayRun) -> Report:
    m = run.manifest
    windows: dict[str, list[tuple[float, float]]] = {}
    for e in m.events:
        windows.setdefault(e.coin, []).append((e.start, e.end))

    timeline: list[TimelineEntry] = []
    for alert in run.alerts:
        for item in alert.items:
            a = item.assessment
            snap = a.snapshot if a is not None else None
            inside = any(s <= alert.ts <= e for s, e in windows.get(item.coin, ()))
            timeline.append(
                TimelineEntry(
                    alert.ts,
                    item.coin,
                    item.severity,
                    item.kind,
                    snap.price if snap else None,
                    snap.deviation if snap else None,
                    tuple(sorted({u.venue for u in snap.used})) if snap else (),
                    inside,
                    alert.channels,
                    alert.suppressed,
                )
            )

    events: list[EventResult] = []
    for tr in run.events:
        ev = tr.event
        first = next(
            (
                t.ts
                for t in timeline
                if t.coin == ev.coin
                and ev.start <= t.ts <= ev.end
                and t.kind != AlertKind.RESOLVED
                and t.severity >= ev.expect
            ),
            None,
        )
        if first is None and tr.confirmed is not None and tr.confirmed == ev.start:
            first = ev.start  # already firing at that level when the window opened
        delay = None if first is None else first - ev.start
        after = None
        if first is not None and tr.market_crossed is not None:
            after = first - tr.market_crossed
        events.append(
            EventResult(
                ev.coin,
                ev.start,
                ev.end,
                ev.expect,
                ev.note,
                first,
                delay,
                tr.market_crossed,
                after,
                tr.peak,
                tr.max_deviation,
            )
        )

    false_alerts = {s.label: 0 for s in (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)}
    for t in timeline:
        if t.kind in _ONSET and not t.in_event:
            false_alerts[t.severity.label] += 1

    series = tuple(
        {
            "path": str(s.spec.path),
            "venue": s.spec.venue,
            "market": f"{s.spec.coin}/{s.spec.quote_ccy}",
            "rows": s.rows,
            "quotes": len(s.quotes),
            "zero_volume_rows": s.zero_volume,
            "bad_rows": s.bad_rows,
        }
        for s in run.series
    )
    return Report(
        m.title,
        run.stage_name,
        m.assume_rates,
        run.cycles,
        run.quotes_read,
        run.quotes_fed,
        run.load_seconds,
        run.run_seconds,
        series,
        run.no_price_cycles,
        tuple(timeline),
        tuple(events),
        false_alerts,
    )


def _t(ts: float | None) -> str | None:
    return None if ts is None else format_time(ts)


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{s / 60:.0f} min"
    return f"{sign}{s / 3600:.1f} h"


def to_json(r: Report) -> dict[str, Any]:
    return {
        "title": r.title,
        "decision_stage": r.stage,
        "assumed_rates": r.assumed_rates,
        "cycles": r.cycles,
        "quotes_read": r.quotes_read,
        "quotes_fed": r.quotes_fed,
        "seconds": {"load": round(r.load_seconds, 3), "replay": round(r.run_seconds, 3)},
        "series": list(r.series),
        "no_price_cycles": r.no_price_cycles,
        "timeline": [
            {
                "time": format_time(t.ts),
                "coin": t.coin,
                "severity": t.severity.label,
                "kind": t.kind.value,
                "price": t.price,
                "deviation": t.deviation,
                "venues": list(t.venues),
                "in_event": t.in_event,
                "channels": list(t.channels),
                "held": t.held,
            }
            for t in r.timeline
        ],
        "events": [
            {
                "coin": e.coin,
                "start": format_time(e.start),
                "end": format_time(e.end),
                "expect": e.expect.label,
                "note": e.note,
                "first_alert": _t(e.first_alert),
                "delay_seconds": e.delay,
                "market_crossed": _t(e.market_crossed),
                "delay_after_crossing_seconds": e.delay_after_crossing,
                "missed": e.missed,
                "peak": e.peak.label,
                "max_deviation": e.max_deviation,
            }
            for e in r.events
        ],
        "false_alerts": r.false_alerts,
    }


def to_text(r: Report, timeline_limit: int = 200) -> str:
    lines = [f"replay: {r.title}", f"decision stage: {r.stage}"]
    if r.assumed_rates:
        assumed = ", ".join(f"{k} = {v:g} USD" for k, v in r.assumed_rates.items())
        lines.append(f"ASSUMED reference rates (no USD market in the data): {assumed}")
    lines.append(
        f"{r.cycles} cycles, {r.quotes_read} quotes read, {r.quotes_fed} fed to the aggregator "
        f"(load {r.load_seconds:.2f} s, replay {r.run_seconds:.2f} s)"
    )
    for s in r.series:
        lines.append(
            f"  {s['venue']:<10} {s['market']:<10} rows {s['rows']:>6}  quotes {s['quotes']:>6}"
            f"  zero-volume {s['zero_volume_rows']:>6}  bad {s['bad_rows']}"
        )
    gaps = {c: n for c, n in r.no_price_cycles.items() if n}
    if gaps:
        lines.append("cycles without a price: " + ", ".join(f"{c} {n}" for c, n in gaps.items()))
    lines.append("")
    lines.append(f"alert timeline ({len(r.timeline)} items):")
    for t in r.timeline[:timeline_limit]:
        price = "-" if t.price is None else f"{t.price:.4f}"
        dev = "" if t.deviation is None else f" ({t.deviation * 100:+.2f} %)"
        flag = "" if t.in_event or t.kind not in _ONSET else "  [outside events]"
        to = f"held: {t.held}" if t.held else "→ " + ",".join(t.channels)
        lines.append(
            f"  {format_time(t.ts)}  {t.coin:<6} {t.severity.label:<8} {t.kind.value:<9} "
            f"{price}{dev}  {','.join(t.venues)}  {to}{flag}"
        )
    if len(r.timeline) > timeline_limit:
        lines.append(f"  … {len(r.timeline) - timeline_limit} more (use --json for all)")
    if r.events:
        lines.append("")
        lines.append("events:")
        for e in r.events:
            head = (
                f"  {e.coin} {format_time(e.start)} .. {format_time(e.end)} "
                f"expect ≥ {e.expect.label}"
            )
            if e.missed:
                lines.append(
                    f"{head}: MISSED (peak {e.peak.label}, max deviation "
                    f"{e.max_deviation * 100:.2f} %)"
                )
                continue
            crossed = (
                f"; market crossed at {format_time(e.market_crossed)}, alert "
                f"{_dur(e.delay_after_crossing)} later"
                if e.market_crossed is not None
                else ""
            )
            lines.append(
                f"{head}: first alert {_t(e.first_alert)}, {_dur(e.delay)} after start{crossed}"
            )
        missed = sum(1 for e in r.events if e.missed)
        lines.append(f"missed events: {missed} of {len(r.events)}")
    lines.append(
        "false alerts (onsets outside every event): "
        + ", ".join(f"{k} {v}" for k, v in r.false_alerts.items())
    )
    return "\n".join(lines)
