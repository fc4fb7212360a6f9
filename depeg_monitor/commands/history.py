"""`depeg-monitor history COIN [--since 24h] [--json] [--plot FILE.png]`: a coin's recorded
aggregate and venue prices with a summary against its configured levels — from the database."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor import chart
from depeg_monitor.commands import alerts as alerts_command
from depeg_monitor.commands.alerts import iso, label
from depeg_monitor.commands.database import EXIT_CONFIG, EXIT_RUNTIME
from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.reading import Failed, read_database
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.commands.status import span
from depeg_monitor.detect.rules import CoinRules
from depeg_monitor.model import Severity
from depeg_monitor.price_summary import Summary, summarise
from depeg_monitor.rules import detection_rules
from depeg_monitor.store.history import PastAlert, PriceHistory, read_alerts, read_history
from depeg_monitor.terminal import printable

EXIT_NO_PLOT = 3  # --plot without matplotlib (the plot extra)
TABLE_ROWS = 24  # the text report's aggregate table: about this many time buckets
_STEPS = (10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)


@dataclass(frozen=True, slots=True)
class Found:
    history: PriceHistory
    alerts: list[PastAlert]


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:+.3f}%"


def _table(h: PriceHistory) -> list[str]:
    """The aggregate in time buckets: last, lowest and highest price, highest severity."""
    step = next((s for s in _STEPS if (h.end - h.start) / s <= TABLE_ROWS), _STEPS[-1])
    rows: dict[int, list[Any]] = {}
    for p in h.aggregate:
        key = int(p.ts // step)
        row = rows.setdefault(key, [None, None, None, 0])
        if p.price is not None:
            row[0] = p.price
        if p.price_min is not None:
            row[1] = p.price_min if row[1] is None else min(row[1], p.price_min)
        if p.price_max is not None:
            row[2] = p.price_max if row[2] is None else max(row[2], p.price_max)
        row[3] = max(row[3], p.severity)
    out = [
        f"aggregate, every {span(step)}:",
        "  from                       last      low     high  severity",
    ]
    for key, (last, lo, hi, sev) in sorted(rows.items()):
        cells = ("no quorum" if v is None else f"{v:.4f}" for v in (last, lo, hi))
        out.append(
            f"  {_stamp(key * step)}  " + " ".join(f"{c:>8}" for c in cells) + f"  {label(sev)}"
        )
    if not rows:
        out.append("  (no prices recorded in this window)")
    return out


def render(found: Found, rules: CoinRules, s: Summary) -> list[str]:
    h = found.history
    coin = printable(h.coin)
    lines = [
        f"{coin} from {_stamp(h.start)} to {_stamp(h.end)} ({span(h.end - h.start)}), "
        f"peg {rules.peg:g}",
        f"  {s.rows} aggregate rows, a price for {span(s.priced)} of it",
    ]
    if s.low is not None and s.high is not None:
        lo_dev = (s.low.price - rules.peg) / rules.peg
        hi_dev = (s.high.price - rules.peg) / rules.peg
        lines.append(f"  low   {s.low.price:.4f} ({_pct(lo_dev)}) at {_stamp(s.low.ts)}")
        lines.append(f"  high  {s.high.price:.4f} ({_pct(hi_dev)}) at {_stamp(s.high.ts)}")
    if s.last is not None:
        last = "no quorum" if s.last.price is None else f"{s.last.price:.4f}"
        dev = f" ({_pct(s.last.deviation)})" if s.last.deviation is not None else ""
        lines.append(f"  last  {last}{dev} at {_stamp(s.last.ts)}, {label(s.last.severity)}")
    beyond = " · ".join(
        f"{b.severity.label} (≥ {b.threshold:.2%}) {span(b.seconds)}" for b in s.beyond
    )
    lines.append(f"  time beyond: {beyond}")
    lines.append(f"  highest severity recorded: {s.peak.label}")
    lines.append("venues (prices in the market's quote currency):")
    for v in h.venues:
        if not v.price:
            continue
        lines.append(
            f"  {printable(v.venue):<10} {printable(v.quote_ccy):<5} {v.rows:>6} rows  "
            f"low {min(v.price):.4f}  high {max(v.price):.4f}  last {v.last:.4f}"
        )
    if not h.venues:
        lines.append("  (no venue quotes in this window; they are kept for quotes_retention_days)")
    n = len(found.alerts)
    lines.append(f"alerts: {n}" + (" (`depeg-monitor alerts` shows who heard them)" if n else ""))
    for a in found.alerts:
        lines.append(f"  {_stamp(a.ts)}  {label(a.severity):<8} {printable(a.kind)}")
    return [*lines, *_table(h)]


def to_json(found: Found, rules: CoinRules, s: Summary) -> dict[str, Any]:
    h = found.history
    return {
        "coin": h.coin,
        "peg": rules.peg,
        "levels": dict(zip(("minor", "major", "critical"), rules.levels.as_tuple(), strict=True)),
        "since": iso(h.start),
        "until": iso(h.end),
        "summary": {
            "rows": s.rows,
            "priced_seconds": s.priced,
            "low": None if s.low is None else {"price": s.low.price, "time": iso(s.low.ts)},
            "high": None if s.high is None else {"price": s.high.price, "time": iso(s.high.ts)},
            "worst_deviation": s.worst,
            "seconds_beyond": {b.severity.label: b.seconds for b in s.beyond},
            "highest_severity": s.peak.label,
        },
        "aggregate": [
            {
                "time": iso(p.ts),
                "price": p.price,
                "price_min": p.price_min,
                "price_max": p.price_max,
                "deviation": p.deviation,
                "severity": label(p.severity),
                "venues_used": p.venues_used,
                "resolution": p.resolution,
            }
            for p in h.aggregate
        ],
        "venues": [  # each time bucket's lowest and highest price, at its middle
            {
                "venue": v.venue,
                "quote_ccy": v.quote_ccy,
                "rows": v.rows,
                "last": {"price": v.last, "time": iso(v.last_ts)},
                "points": [[iso(t), p] for t, p in zip(v.ts, v.price, strict=True)],
            }
            for v in h.venues
        ],
        "alerts": alerts_command.to_json(alerts_command.Found(found.alerts, []), h.start, h.coin)[
            "alerts"
        ],
    }


def markers(found: list[PastAlert], coin: str) -> tuple[chart.Marker, ...]:
    out = []
    for a in found:
        for i in a.items:
            if i.coin == coin:
                sev = Severity(i.severity) if 0 <= i.severity <= 3 else Severity.CRITICAL
                out.append(chart.Marker(a.ts, i.price, sev, i.kind))
    return tuple(out)


def panel(found: Found, rules: CoinRules) -> chart.Panel:
    h = found.history
    agg = chart.line("aggregate", [p.ts for p in h.aggregate], [p.price for p in h.aggregate])
    venues = tuple(
        chart.line(f"{v.venue} {h.coin}/{v.quote_ccy}", v.ts, v.price) for v in h.venues if v.ts
    )
    title = f"{h.coin}: {_stamp(h.start)} → {_stamp(h.end)}"
    return chart.Panel(
        title, rules.peg, rules.levels.as_tuple(), agg, venues, markers(found.alerts, h.coin)
    )


def _coin_rules(settings: Any, coin: str) -> CoinRules | None:
    return next((c for c in detection_rules(settings).coins if c.coin == coin), None)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    rules = _coin_rules(settings, args.coin)
    if rules is None:
        known = ", ".join(settings.coins) or "none"
        print(
            f"history: coin {printable(args.coin)} is not in the configuration (coins: {known})",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.plot:
        try:
            chart.plotter()  # before reading anything: say at once that it cannot draw
        except chart.PlotUnavailable as e:
            print(f"history: {e}", file=sys.stderr)
            return EXIT_NO_PLOT
    end = time.time()
    start = end - args.since

    async def read(engine: AsyncEngine) -> Found:
        history = await read_history(engine, args.coin, start, end)
        return Found(history, await read_alerts(engine, start, args.coin))

    got = read_database("history", settings, read)
    if isinstance(got, Failed):
        return got.code
    found = got.value
    summary = summarise(found.history.aggregate, rules, end)
    if args.json:
        print(json.dumps(to_json(found, rules, summary), indent=2, ensure_ascii=False))
    else:
        print("\n".join(render(found, rules, summary)))
    if args.plot:
        path = Path(args.plot)
        if not found.history.aggregate and not found.history.venues:
            print(
                f"history: no chart: nothing recorded for {printable(args.coin)} in the window",
                file=sys.stderr,
            )
            return EXIT_RUNTIME
        try:
            chart.draw(path, [panel(found, rules)], chart.HISTORY_SIZE)
        except OSError as e:
            print(
                f"history: cannot write {printable(str(path))}: {e.strerror or e}", file=sys.stderr
            )
            return EXIT_RUNTIME
        size = chart.HISTORY_SIZE
        print(f"chart: {printable(str(path))} ({size.width}×{size.height})", file=sys.stderr)
    return 0
