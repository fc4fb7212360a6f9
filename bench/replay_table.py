"""Detection on real events: one table per replay manifest, scored against the data's crossings.

Run: .venv/bin/python bench/replay_table.py > /tmp/replay_before.txt
(or name manifests: .venv/bin/python bench/replay_table.py manifests/usdc-svb-2023-03.toml)

Per event and level: when the reference data first went beyond the level (0.5 / 1.5 / 3 %),
when it first held it (a run lasting 5 minutes or two bars; the delay bounds count from
there), the first alert of at least that level inside the window, its delay after each, and
the manifest's bound; then the messages sent inside the window. Per manifest: false alerts
(onsets outside every event) per severity, the ceilings and their breaches, and every check
that fails by default and under --strict. A first alert marked * is the window's start: the
level was already firing, alerted before the window opened. Needs ../shared/history beside the
clone.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.report import EventResult, Report, build_report
from depeg_monitor.replay.runner import run_replay

ROOT = Path(__file__).resolve().parents[1]


def _t(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _d(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else "+"
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{s / 60:.0f}m"
    return f"{sign}{s / 3600:.1f}h"


def _event_rows(e: EventResult) -> list[str]:
    bounds = f"expect {e.expect.label}" + (f", at most {e.at_most.label}" if e.at_most else "")
    verdict = "MISSED" if e.missed else ("LATE" if e.late else "caught")
    if e.breaches:
        verdict += f", {len(e.breaches)} above at_most"
    lines = [
        f"  {e.coin} {_t(e.start)} .. {_t(e.end)}  {bounds}; data max "
        f"{e.truth.max_deviation * 100:+.2f} %; {e.messages} messages; {verdict}",
        f"    {'level':<9}{'first beyond':<18}{'held from':<18}{'first alert':<18}"
        f"{'after beyond':>13}{'after held':>12}{'bound':>8}",
    ]
    for f in e.first:
        c = e.truth.crossing(f.level)
        after_first = None if f.ts is None or c.first is None else f.ts - c.first
        lines.append(
            f"    {f.level.label:<9}{_t(c.first):<18}{_t(c.held):<18}"
            f"{_t(f.ts) + ('' if f.id or f.ts is None else '*'):<18}"
            f"{_d(after_first):>13}{_d(f.delay):>12}{_d(f.within).lstrip('+'):>8}"
            + ("  LATE" if f.late else "")
        )
    return lines


def table(r: Report, seconds: float, name: str) -> str:
    lines = [
        f"== {name}: {r.title}",
        f"   {r.cycles} cycles, {r.quotes_fed} quotes fed, {seconds:.1f} s"
        + (f"; ASSUMED {r.assumed_rates}" if r.assumed_rates else ""),
    ]
    lines.append(f"events ({len(r.events)}):")
    for e in r.events:
        lines.extend(_event_rows(e))
    lines.append(
        "false alerts (onsets outside every event): "
        + ", ".join(f"{k} {v}" for k, v in r.false_alerts.items())
    )
    breached = [c for c in r.ceilings if c.breaches]
    lines.append(
        f"ceilings: {len(r.ceilings)}, breached {len(breached)}; messages inside them: "
        f"{sum(c.messages for c in r.ceilings)}"
    )
    for c in breached:
        lines.append(
            f"  {c.coin} {_t(c.start)} .. {_t(c.end)} at most {c.at_most.label}: "
            + ", ".join(f"{b.severity.label} {b.kind.value} {_t(b.ts)}" for b in c.breaches[:3])
            + (f" (+{len(c.breaches) - 3})" if len(c.breaches) > 3 else "")
        )
    default, strict = r.failures(), r.failures(strict=True)
    lines.append(f"failed checks: {len(default)} by default, {len(strict)} strict")
    lines.extend(f"  {'' if f.strict_only else 'DEFAULT '}{f.describe()}" for f in strict)
    return "\n".join(lines)


def main() -> int:
    paths = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "manifests").glob("*.toml"))
    total = 0.0
    for path in paths:
        t0 = time.perf_counter()
        report = build_report(run_replay(load_manifest(path)))
        seconds = time.perf_counter() - t0
        total += seconds
        print(table(report, seconds, path.stem))
        print()
    print(f"{len(paths)} manifests in {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
