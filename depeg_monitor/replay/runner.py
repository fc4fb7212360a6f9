"""Drive the daemon's own Cycle (detect → decide → outbox) over historical files.

One cycle per distinct bar-end time across all series; each cycle sees the latest quote of
every series (as the daemon sees each collector's latest answer); quotes older than
max_quote_age are left out before the aggregator would drop them anyway. The outbox records
instead of sending, and the file clock is the only clock. Nothing is logged: the report is
the output (and may be JSON on stdout).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from depeg_monitor.cycle import Cycle, Policy, RecordingOutbox
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import Alert, Quote, Severity
from depeg_monitor.replay.decide import policy_for
from depeg_monitor.replay.manifest import EventSpec, Manifest
from depeg_monitor.replay.series import LoadedSeries, load_series
from depeg_monitor.rules import detection_rules


@dataclass(slots=True)
class EventTrace:
    """What happened inside one ground-truth window, gathered while replaying."""

    event: EventSpec
    market_crossed: float | None = None  # first cycle the aggregate passed the expected level
    confirmed: float | None = None  # first cycle the confirmed severity reached it
    peak: Severity = Severity.NONE
    max_deviation: float = 0.0


@dataclass(slots=True)
class ReplayRun:
    manifest: Manifest
    stage_name: str
    series: list[LoadedSeries]
    alerts: list[Alert] = field(default_factory=list)
    events: list[EventTrace] = field(default_factory=list)
    cycles: int = 0
    quotes_fed: int = 0
    no_price_cycles: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    run_cpu_seconds: float = 0.0  # CPU time of the replay loop (fair on a busy machine)

    @property
    def quotes_read(self) -> int:
        return sum(len(s.quotes) for s in self.series)


def run_replay(manifest: Manifest, stage: Policy | None = None) -> ReplayRun:
    """Replay every series of the manifest; no network, no sleeping.

    stage: the decision stage (default: the daemon's AlertPolicy with the manifest's routes).
    """
    return asyncio.run(_replay(manifest, stage))


async def _replay(manifest: Manifest, stage: Policy | None) -> ReplayRun:
    settings = manifest.settings
    t0 = time.perf_counter()
    loaded = [load_series(spec) for spec in manifest.series]
    stream: list[tuple[float, int, Quote]] = [
        (q.ts_received, i, q) for i, s in enumerate(loaded) for q in s.quotes
    ]
    stream.sort(key=lambda e: (e[0], e[1]))
    t1 = time.perf_counter()
    c1 = time.process_time()

    if stage is None:
        stage = policy_for(settings)
    run = ReplayRun(manifest, type(stage).__name__, loaded)
    run.events = [EventTrace(e) for e in manifest.events]
    levels = {
        c: (
            0.0,
            settings.thresholds_for(c).minor,
            settings.thresholds_for(c).major,
            settings.thresholds_for(c).critical,
        )
        for c in settings.coins
    }
    detector = Detector(detection_rules(settings), assumed_rates=manifest.assume_rates)
    outbox = RecordingOutbox()
    cycle = Cycle(detector, stage, outbox)
    max_age = settings.aggregation.max_quote_age
    no_price = dict.fromkeys(settings.coins, 0)
    latest: dict[int, Quote] = {}
    n = len(stream)
    i = 0
    while i < n:
        now = stream[i][0]
        while i < n and stream[i][0] == now:
            latest[stream[i][1]] = stream[i][2]
            i += 1
        quotes = [q for q in latest.values() if now - q.ts_received <= max_age]
        if len(quotes) < len(latest):
            latest = {k: q for k, q in latest.items() if now - q.ts_received <= max_age}
        run.cycles += 1
        run.quotes_fed += len(quotes)
        assessments = (await cycle.step(quotes, now)).assessments
        for a in assessments:
            if a.deviation is None:
                no_price[a.coin] += 1
        for tr in run.events:
            ev = tr.event
            if ev.start <= now <= ev.end:  # few events, cheap test
                for a in assessments:
                    if a.coin != ev.coin:
                        continue
                    if a.severity > tr.peak:
                        tr.peak = a.severity
                    if tr.confirmed is None and a.severity >= ev.expect:
                        tr.confirmed = now
                    if a.deviation is not None:
                        mag = abs(a.deviation)
                        tr.max_deviation = max(tr.max_deviation, mag)
                        if tr.market_crossed is None and mag >= levels[ev.coin][ev.expect]:
                            tr.market_crossed = now
    run.alerts = outbox.alerts
    run.no_price_cycles = no_price
    run.load_seconds = t1 - t0
    run.run_seconds = time.perf_counter() - t1
    run.run_cpu_seconds = time.process_time() - c1
    return run
