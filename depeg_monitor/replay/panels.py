"""A backtest as chart panels: one per coin, its aggregate each cycle, every venue series the
manifest names, the coin's levels, the ground-truth windows shaded and each alert marked."""

from __future__ import annotations

from depeg_monitor import chart
from depeg_monitor.replay.manifest import format_time
from depeg_monitor.replay.report import Report
from depeg_monitor.replay.runner import ReplayRun
from depeg_monitor.rules import detection_rules


def panels(run: ReplayRun, report: Report) -> list[chart.Panel]:
    """run must come from run_replay(..., trace=True): its aggregate prices are drawn."""
    out = []
    for rules in detection_rules(run.manifest.settings).coins:
        coin = rules.coin
        times, prices = run.prices.get(coin, ([], []))
        markets: dict[tuple[str, str], tuple[list[float], list[float | None]]] = {}
        for s in run.series:
            if s.spec.coin != coin:
                continue
            ts, ps = markets.setdefault((s.spec.venue, s.spec.quote_ccy), ([], []))
            ts.extend(q.ts_received for q in s.quotes)
            ps.extend(q.price for q in s.quotes)
        venues = []
        for (venue, ccy), (ts, ps) in markets.items():
            order = sorted(range(len(ts)), key=ts.__getitem__)  # a market split over files
            venues.append(
                chart.line(f"{venue} {coin}/{ccy}", [ts[i] for i in order], [ps[i] for i in order])
            )
        markers = tuple(
            chart.Marker(t.ts, t.price, t.severity, t.kind.value)
            for t in report.timeline
            if t.coin == coin
        )
        windows = tuple(
            chart.Window(e.start, e.end, f"event: {e.expect.label} expected")
            for e in report.events
            if e.coin == coin
        ) + tuple(
            chart.Window(c.start, c.end, f"calm: at most {c.at_most.label}", "calm")
            for c in report.ceilings
            if c.coin == coin
        )
        if not times and not venues:
            continue  # a coin of the settings no series is about
        span = f"{format_time(times[0])} → {format_time(times[-1])}" if times else ""
        out.append(
            chart.Panel(
                f"{coin} — {report.title}  {span}".rstrip(),
                rules.peg,
                rules.levels.as_tuple(),
                chart.line("aggregate", times, prices),
                tuple(venues),
                markers,
                windows,
            )
        )
    return out
