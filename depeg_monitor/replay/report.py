"""The detection report of a replay: alert timeline, events and ceilings scored against the
data's own crossings (replay/truth.py), false alerts, and the checks that failed.

An event fails when no alert of at least `expect` comes inside its window (missed), or when
an alert inside it is above its `at_most` (a breach); a ceiling fails on a breach. Strict
scoring also fails an event whose first such alert comes later than `within` after the
reference data held the level, and any bound the reference data does not support (an
`expect` the data never held, a ceiling below what the data reached): a bound must come
from the data, never from what the detector happens to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from depeg_monitor.model import AlertKind, Severity
from depeg_monitor.replay.manifest import format_time
from depeg_monitor.replay.runner import ReplayRun
from depeg_monitor.replay.truth import LEVELS, Truth, WindowTruth

# Kinds that tell someone a coin is (more) off its peg; reminders and resolutions are not new.
_ONSET = (AlertKind.FIRST, AlertKind.ESCALATED)
# Kinds that say a coin is off its peg now: a resolution does not, nor does a dislocation
# notice (one venue apart from the rest) or a message about the monitor itself.
_CLAIMS = (*_ONSET, AlertKind.REMINDER)


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
    id: str = ""

    @property
    def claims(self) -> bool:
        """Says the coin is off its peg now (what a ceiling bounds and an event expects)."""
        return self.kind in _CLAIMS


@dataclass(frozen=True, slots=True)
class FirstAlert:
    """The first alert of at least one level inside a window, against the data's crossing."""

    level: Severity
    ts: float | None
    id: str | None
    delay: float | None  # ts - the data's held crossing of the level (None: either missing)
    within: float | None = None  # the event's bound for this level

    @property
    def late(self) -> bool:
        return self.within is not None and self.delay is not None and self.delay > self.within


@dataclass(frozen=True, slots=True)
class EventResult:
    coin: str
    start: float
    end: float
    expect: Severity
    note: str
    at_most: Severity | None
    truth: WindowTruth
    first: tuple[FirstAlert, FirstAlert, FirstAlert]  # minor, major, critical
    first_alert: float | None  # first alert of at least `expect` inside the window
    first_alert_id: str | None
    delay: float | None  # first_alert - the data's held crossing of `expect`
    aggregate_crossed: float | None  # first cycle the aggregate deviation passed `expect`
    peak: Severity  # the highest confirmed severity inside the window
    max_deviation: float  # the aggregate's largest deviation inside the window
    messages: int  # alerts for the coin inside the window, every kind
    breaches: tuple[TimelineEntry, ...]  # alerts above at_most

    @property
    def missed(self) -> bool:
        return self.first_alert is None

    @property
    def late(self) -> bool:
        return any(f.late for f in self.first)


@dataclass(frozen=True, slots=True)
class CeilingResult:
    coin: str
    start: float
    end: float
    at_most: Severity
    note: str
    truth: WindowTruth
    messages: int
    breaches: tuple[TimelineEntry, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """One check that did not hold; strict_only ones fail only strict scoring."""

    check: str  # "event" | "ceiling"
    index: int  # the event's or ceiling's place in the manifest
    coin: str
    start: float
    end: float
    problem: str
    strict_only: bool = False

    def describe(self) -> str:
        return f"{self.check} {self.coin} {_span(self.start, self.end)}: {self.problem}"


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
    ceilings: tuple[CeilingResult, ...] = ()
    checks: tuple[Failure, ...] = ()
    reference: dict[str, tuple[str, ...]] | None = None  # coin → its reference markets

    def failures(self, strict: bool = False) -> list[Failure]:
        return [f for f in self.checks if strict or not f.strict_only]


def _span(start: float, end: float) -> str:
    return f"{format_time(start)} .. {format_time(end)}"


def _inside(
    timeline: list[TimelineEntry], coin: str, start: float, end: float
) -> list[TimelineEntry]:
    return [t for t in timeline if t.coin == coin and start <= t.ts < end]


def _first(entries: list[TimelineEntry], level: Severity) -> TimelineEntry | None:
    return next((t for t in entries if t.claims and t.severity >= level), None)


def _told(timeline: list[TimelineEntry], coin: str, before: float) -> Severity:
    """The severity of the coin's episode that alerts before `before` left open (NONE after a
    resolved, or with none)."""
    told = Severity.NONE
    for t in timeline:
        if t.ts >= before:
            break
        if t.coin == coin and (t.claims or t.kind is AlertKind.RESOLVED):
            told = t.severity if t.claims else Severity.NONE
    return told


def _breaches(entries: list[TimelineEntry], at_most: Severity | None) -> tuple[TimelineEntry, ...]:
    if at_most is None:
        return ()
    return tuple(t for t in entries if t.claims and t.severity > at_most)


def _breach_problem(breaches: tuple[TimelineEntry, ...], at_most: Severity) -> str:
    b = breaches[0]
    more = f" (and {len(breaches) - 1} more)" if len(breaches) > 1 else ""
    return (
        f"{b.severity.label} {b.kind.value} at {format_time(b.ts)} (id {b.id}) is above "
        f"at_most {at_most.label}{more}"
    )


def build_report(run: ReplayRun) -> Report:
    m = run.manifest
    truth = Truth(m, run.series)
    windows: dict[str, list[tuple[float, float]]] = {}
    for e in m.events:
        windows.setdefault(e.coin, []).append((e.start, e.end))

    timeline: list[TimelineEntry] = []
    for alert in run.alerts:
        for item in alert.items:
            a = item.assessment
            snap = a.snapshot if a is not None else None
            inside = any(s <= alert.ts < e for s, e in windows.get(item.coin, ()))
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
                    alert.id,
                )
            )

    checks: list[Failure] = []
    events: list[EventResult] = []
    for tr in run.events:
        ev = tr.event
        wt = truth.window(ev.coin, ev.start, ev.end)
        entries = _inside(timeline, ev.coin, ev.start, ev.end)
        # A level the user was already told of, in an episode still open and confirmed when the
        # window opens, counts as alerted at the window's start (its alert came before it).
        told = min(_told(timeline, ev.coin, ev.start), tr.opening or Severity.NONE)
        firsts = []
        for level in LEVELS:
            t = _first(entries, level)
            ts, alert_id = (t.ts, t.id) if t is not None else (None, None)
            if told >= level and (ts is None or ts > ev.start):
                ts, alert_id = ev.start, None
            held = wt.crossing(level).held
            delay = None if ts is None or held is None else ts - held
            firsts.append(FirstAlert(level, ts, alert_id, delay, ev.within[level - 1]))
        hit = firsts[ev.expect - 1]
        first, first_id = hit.ts, hit.id
        held = wt.crossing(ev.expect).held
        delay = None if first is None or held is None else first - held
        breaches = _breaches(entries, ev.at_most)
        result = EventResult(
            ev.coin,
            ev.start,
            ev.end,
            ev.expect,
            ev.note,
            ev.at_most,
            wt,
            (firsts[0], firsts[1], firsts[2]),
            first,
            first_id,
            delay,
            tr.aggregate_crossed,
            tr.peak,
            tr.max_deviation,
            len(entries),
            breaches,
        )
        events.append(result)
        checks.extend(_event_checks(result, len(events) - 1))

    ceilings: list[CeilingResult] = []
    for i, c in enumerate(m.ceilings):
        wt = truth.window(c.coin, c.start, c.end)
        entries = _inside(timeline, c.coin, c.start, c.end)
        cr = CeilingResult(
            c.coin,
            c.start,
            c.end,
            c.at_most,
            c.note,
            wt,
            len(entries),
            _breaches(entries, c.at_most),
        )
        ceilings.append(cr)
        if cr.breaches:
            checks.append(
                Failure(
                    "ceiling", i, c.coin, c.start, c.end, _breach_problem(cr.breaches, c.at_most)
                )
            )
        unsupported = _unsupported_ceiling(wt, c.at_most)
        if unsupported:
            checks.append(Failure("ceiling", i, c.coin, c.start, c.end, unsupported, True))

    false_alerts = {s.label: 0 for s in (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)}
    for t in timeline:
        if t.kind in _ONSET and not t.in_event:
            false_alerts[t.severity.label] += 1

    series = tuple(
        {
            "path": str(s.spec.path),
            "venue": s.spec.venue,
            "market": f"{s.spec.coin}/{s.spec.quote_ccy}",
            "inverted": s.spec.invert,
            "rows": s.rows,
            "quotes": len(s.quotes),
            "zero_volume_rows": s.zero_volume,
            "bad_rows": s.bad_rows,
            "max_quote_age": m.max_quote_age(s.spec),
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
        tuple(ceilings),
        tuple(checks),
        truth.series,
    )


def _event_checks(e: EventResult, index: int) -> list[Failure]:
    out: list[Failure] = []

    def fail(problem: str, strict_only: bool = False) -> None:
        out.append(Failure("event", index, e.coin, e.start, e.end, problem, strict_only))

    if e.missed:
        fail(
            f"missed: no alert of at least {e.expect.label} (peak {e.peak.label}, the data "
            f"reached {e.truth.reached.label}, max {e.truth.max_deviation * 100:+.2f} %)"
        )
    if e.breaches and e.at_most is not None:
        fail(_breach_problem(e.breaches, e.at_most))
    for f in e.first:
        if f.late and f.within is not None and f.delay is not None:
            fail(
                f"late: first {f.level.label} alert {_dur(f.delay)} after the data held "
                f"{f.level.label} (bound {_dur(f.within)})",
                True,
            )
        if f.within is not None and e.truth.crossing(f.level).held is None:
            fail(f"unsupported: a bound for {f.level.label}, which the data never held", True)
    if e.truth.held < e.expect:
        fail(
            f"unsupported: the reference data never held {e.expect.label} "
            f"(it held {e.truth.held.label}, reached {e.truth.reached.label})",
            True,
        )
    if e.at_most is not None and e.truth.reached > e.at_most:
        fail(
            f"unsupported: at_most {e.at_most.label} is below what the data reached "
            f"({e.truth.reached.label})",
            True,
        )
    return out


def _unsupported_ceiling(wt: WindowTruth, at_most: Severity) -> str | None:
    if wt.points == 0:
        return "unsupported: no reference data inside the window"
    if wt.reached > at_most:
        return (
            f"unsupported: at_most {at_most.label} is below what the data reached "
            f"({wt.reached.label}, {wt.max_deviation * 100:+.2f} %)"
        )
    return None


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


def _truth_json(wt: WindowTruth) -> dict[str, Any]:
    return {
        "points": wt.points,
        "max_deviation": wt.max_deviation,
        "reached": wt.reached.label,
        "held": wt.held.label,
        "crossings": {
            c.level.label: {"first": _t(c.first), "held": _t(c.held), "threshold": c.threshold}
            for c in wt.crossings
        },
    }


def _entry_json(t: TimelineEntry) -> dict[str, Any]:
    return {
        "id": t.id,
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


def _brief(t: TimelineEntry) -> dict[str, Any]:
    return {
        "id": t.id,
        "time": format_time(t.ts),
        "severity": t.severity.label,
        "kind": t.kind.value,
    }


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
        "reference": {c: list(v) for c, v in (r.reference or {}).items()},
        "no_price_cycles": r.no_price_cycles,
        "timeline": [_entry_json(t) for t in r.timeline],
        "events": [
            {
                "coin": e.coin,
                "start": format_time(e.start),
                "end": format_time(e.end),
                "expect": e.expect.label,
                "at_most": e.at_most.label if e.at_most is not None else None,
                "note": e.note,
                "data": _truth_json(e.truth),
                "first_alert": _t(e.first_alert),
                "first_alert_id": e.first_alert_id,
                "delay_seconds": e.delay,
                "first_alerts": {
                    f.level.label: {
                        "time": _t(f.ts),
                        "id": f.id,
                        "delay_seconds": f.delay,
                        "within_seconds": f.within,
                        "late": f.late,
                    }
                    for f in e.first
                },
                "aggregate_crossed": _t(e.aggregate_crossed),
                "missed": e.missed,
                "late": e.late,
                "peak": e.peak.label,
                "max_deviation": e.max_deviation,
                "messages": e.messages,
                "breaches": [_brief(t) for t in e.breaches],
            }
            for e in r.events
        ],
        "ceilings": [
            {
                "coin": c.coin,
                "start": format_time(c.start),
                "end": format_time(c.end),
                "at_most": c.at_most.label,
                "note": c.note,
                "data": _truth_json(c.truth),
                "messages": c.messages,
                "breaches": [_brief(t) for t in c.breaches],
            }
            for c in r.ceilings
        ],
        "false_alerts": r.false_alerts,
        "failures": [
            {
                "check": f.check,
                "index": f.index,
                "coin": f.coin,
                "start": format_time(f.start),
                "end": format_time(f.end),
                "problem": f.problem,
                "strict_only": f.strict_only,
            }
            for f in r.checks
        ],
        "passed": not r.failures(strict=False),
        "passed_strict": not r.failures(strict=True),
    }


def _crossed(wt: WindowTruth) -> str:
    parts = []
    for c in wt.crossings:
        if c.first is None:
            continue
        held = f", held {format_time(c.held)}" if c.held is not None else ", never held"
        parts.append(f"{c.level.label} {format_time(c.first)}{held}")
    extreme = f"max {wt.max_deviation * 100:+.2f} %"
    return "; ".join([*parts, extreme]) if parts else f"no crossing ({extreme})"


def to_text(r: Report, timeline_limit: int = 200, strict: bool = False) -> str:
    lines = [f"replay: {r.title}", f"decision stage: {r.stage}"]
    if r.assumed_rates:
        assumed = ", ".join(f"{k} = {v:g} USD" for k, v in r.assumed_rates.items())
        lines.append(f"ASSUMED reference rates (no USD market in the data): {assumed}")
    lines.append(
        f"{r.cycles} cycles, {r.quotes_read} quotes read, {r.quotes_fed} fed to the aggregator "
        f"(load {r.load_seconds:.2f} s, replay {r.run_seconds:.2f} s)"
    )
    for s in r.series:
        inv = " (inverted)" if s["inverted"] else ""
        lines.append(
            f"  {s['venue']:<10} {s['market']:<10} rows {s['rows']:>6}  quotes {s['quotes']:>6}"
            f"  zero-volume {s['zero_volume_rows']:>6}  bad {s['bad_rows']}{inv}"
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
        lines.append("events (data: the reference prices' crossings):")
        for e in r.events:
            bounds = f"expect ≥ {e.expect.label}"
            limits = [f"{f.level.label} {_dur(f.within)}" for f in e.first if f.within is not None]
            if limits:
                bounds += f" (within {', '.join(limits)})"
            if e.at_most is not None:
                bounds += f", at most {e.at_most.label}"
            lines.append(f"  {e.coin} {_span(e.start, e.end)} {bounds}")
            lines.append(f"    data: {_crossed(e.truth)}")
            if e.missed:
                lines.append(
                    f"    MISSED (peak {e.peak.label}, aggregate max deviation "
                    f"{e.max_deviation * 100:.2f} %)"
                )
            for f in e.first:
                if f.ts is None or f.level > e.expect:
                    continue
                late = "  LATE" if f.late else ""
                lines.append(
                    f"    first alert ≥ {f.level.label} {format_time(f.ts)} "
                    f"({f.id or 'already firing when the window opened'}), "
                    f"{_dur(f.delay)} after the data held it{late}"
                )
            lines.append(f"    {e.messages} messages inside the window")
        missed = sum(1 for e in r.events if e.missed)
        lines.append(f"missed events: {missed} of {len(r.events)}")
    if r.ceilings:
        lines.append("")
        lines.append("ceilings:")
        for c in r.ceilings:
            state = f"{len(c.breaches)} above" if c.breaches else "ok"
            lines.append(
                f"  {c.coin} {_span(c.start, c.end)} at most {c.at_most.label}: {state}, "
                f"{c.messages} messages; data: {_crossed(c.truth)}"
            )
    lines.append(
        "false alerts (onsets outside every event): "
        + ", ".join(f"{k} {v}" for k, v in r.false_alerts.items())
    )
    failed = r.failures(strict)
    mode = "strict" if strict else "default"
    lines.append(
        f"checks ({mode} scoring): {'all passed' if not failed else f'{len(failed)} failed'}"
    )
    lines.extend(f"  FAILED {f.describe()}" for f in failed)
    return "\n".join(lines)
