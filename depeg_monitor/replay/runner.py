"""Drive the daemon's own Cycle (detect → decide → outbox) over historical files.

One cycle per distinct bar-end time across all series; each cycle sees the latest quote of
every market (as the daemon sees each collector's latest answer; two series of one market,
e.g. one file split into time ranges, are one market), as long as that quote is fresh for its
own series' max_quote_age. The outbox records instead of sending, and the file clock is the
only clock. Nothing is logged: the report is the output (and may be JSON on stdout).
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
from depeg_monitor.replay.series import LoadedSeries, load_all
from depeg_monitor.rules import detection_rules


@dataclass(slots=True)
class EventTrace:
    """What happened inside one ground-truth window, gathered while replaying."""

    event: EventSpec
    aggregate_crossed: float | None = None  # first cycle the aggregate passed `expect`
    confirmed: float | None = None  # first cycle the confirmed severity reached it
    opening: Severity | None = None  # the confirmed severity on the window's first cycle
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
    # coin → (cycle times, aggregate prices) when run with trace=True (for --plot)
    prices: dict[str, tuple[list[float], list[float | None]]] = field(default_factory=dict)

    @property
    def quotes_read(self) -> int:
        return sum(len(s.quotes) for s in self.series)


def run_replay(manifest: Manifest, stage: Policy | None = None, trace: bool = False) -> ReplayRun:
    """Replay every series of the manifest; no network, no sleeping.

    stage: the decision stage (default: the daemon's AlertPolicy with the manifest's routes).
    trace: also keep every cycle's aggregate price per coin (ReplayRun.prices), for a chart.
    """
    out: list[ReplayRun] = []
    # None, not the run: asyncio.run reprs the main task (result too) at exit, ~1 s for a run.
    asyncio.run(_replay(manifest, stage, out, trace))
    return out[0]


def _restamped(q: Quote, now: float) -> Quote:
    return Quote(
        q.venue,
        q.coin,
        q.quote_ccy,
        q.price,
        q.bid,
        q.ask,
        q.volume_base_24h,
        q.volume_quote_24h,
        now,
        now,
    )


async def _replay(
    manifest: Manifest, stage: Policy | None, out: list[ReplayRun], trace: bool = False
) -> None:
    settings = manifest.settings
    t0 = time.perf_counter()
    loaded = load_all(manifest.series)
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
    # Each series' quotes stay fresh for that series' own max_quote_age, so hourly and minute
    # files can share a manifest while the aggregator has one max_quote_age (which stays the
    # default). The replay judges freshness itself; a quote still fresh for its series but
    # older than the aggregator's age is handed over re-stamped as received now — what a live
    # poller of a venue that updates hourly sees: the same last price, answered again now.
    # Younger quotes go as they are, so the aggregator's own staleness rules are untouched.
    agg_age = settings.aggregation.max_quote_age
    ages = [manifest.max_quote_age(s.spec) for s in loaded]
    restamp = any(a > agg_age for a in ages)
    market_ids: dict[tuple[str, str, str], int] = {}
    market = [
        market_ids.setdefault((s.spec.venue, s.spec.coin, s.spec.quote_ccy), len(market_ids))
        for s in loaded
    ]
    no_price = dict.fromkeys(settings.coins, 0)
    latest: dict[int, tuple[int, Quote]] = {}  # market → (series, its latest quote)
    n = len(stream)
    i = 0
    while i < n:
        now = stream[i][0]
        while i < n and stream[i][0] == now:
            _, k, q = stream[i]
            latest[market[k]] = (k, q)
            i += 1
        quotes: list[Quote] = []
        stale = False
        for k, q in latest.values():
            age = now - q.ts_received
            if age > ages[k]:
                stale = True
            elif restamp and age > agg_age:
                quotes.append(_restamped(q, now))
            else:
                quotes.append(q)
        if stale:
            latest = {m: (k, q) for m, (k, q) in latest.items() if now - q.ts_received <= ages[k]}
        run.cycles += 1
        run.quotes_fed += len(quotes)
        assessments = (await cycle.step(quotes, now)).assessments
        for a in assessments:
            if a.deviation is None:
                no_price[a.coin] += 1
        if trace:
            for a in assessments:
                times, prices = run.prices.setdefault(a.coin, ([], []))
                times.append(now)
                prices.append(a.snapshot.price)
        for tr in run.events:
            ev = tr.event
            if ev.start <= now < ev.end:  # few events, cheap test
                for a in assessments:
                    if a.coin != ev.coin:
                        continue
                    if tr.opening is None:
                        tr.opening = a.severity
                    if a.severity > tr.peak:
                        tr.peak = a.severity
                    if tr.confirmed is None and a.severity >= ev.expect:
                        tr.confirmed = now
                    if a.deviation is not None:
                        mag = abs(a.deviation)
                        tr.max_deviation = max(tr.max_deviation, mag)
                        if tr.aggregate_crossed is None and mag >= levels[ev.coin][ev.expect]:
                            tr.aggregate_crossed = now
    run.alerts = outbox.alerts
    run.no_price_cycles = no_price
    run.load_seconds = t1 - t0
    run.run_seconds = time.perf_counter() - t1
    run.run_cpu_seconds = time.process_time() - c1
    out.append(run)
