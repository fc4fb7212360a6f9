"""Prometheus metrics, one registry per monitor instance (so tests can build several).

Names follow Prometheus conventions (`promtool check metrics`): base units in the name
(`_seconds`, `_ratio`, `_usd`), `_total` on counters, Unix times as `_timestamp_seconds`.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from depeg_monitor import __version__
from depeg_monitor.model import AlertKind, DeliveryStatus, Severity
from depeg_monitor.venues.contract import ErrorKind

# A `_created` series beside every counter and histogram doubles what is scraped and stored
# for a time Prometheus does not use; process-wide, so before any metric is made.
disable_created_metrics()  # type: ignore[no-untyped-call]

# The outcomes a quote or a request can have, so each starts at zero (rate() sees the first).
QUOTE_OUTCOMES = ("accepted", "dropped")
REQUEST_OUTCOMES = ("ok", *(k.value for k in ErrorKind))
DELIVERY_OUTCOMES = tuple(s.value for s in DeliveryStatus if s is not DeliveryStatus.PENDING)
EPISODE_KINDS = (AlertKind.FIRST, AlertKind.ESCALATED, AlertKind.REMINDER, AlertKind.RESOLVED)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        # process_* (memory, CPU, open files) and python_* (version, GC) as every exporter has;
        # the library's defaults live on its global registry, the monitor's on its own.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.build = Info("depeg_build", "The running depeg-monitor's version", registry=r)
        self.build.info({"version": __version__})
        self.quotes = Counter(
            "depeg_quotes",
            "Quotes received, by venue and outcome",
            ["venue", "outcome"],
            registry=r,
        )
        self.drops = Counter(
            "depeg_drops",
            "Quotes or answers dropped, by venue and reason",
            ["venue", "reason"],
            registry=r,
        )
        self.figures_dropped = Counter(
            "depeg_quote_figures_dropped",
            "Figures of accepted quotes ignored as unusable (NaN/negative volume, bad book side)",
            ["venue", "reason"],
            registry=r,
        )
        self.requests = Counter(
            "depeg_requests",
            "HTTP requests to venues, by venue and outcome",
            ["venue", "outcome"],
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "depeg_cycle_seconds",
            "Aggregate-classify-alert cycle duration",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
        )
        self.alerts = Counter(
            "depeg_alerts", "Alerts decided, by severity and kind", ["severity", "kind"], registry=r
        )
        self.deliveries = Counter(
            "depeg_deliveries",
            "Delivery attempts' final outcomes, by channel",
            ["channel", "outcome"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "depeg_outbox_pending",
            "Deliveries a channel has not taken yet (retried until delivered or too old)",
            ["channel"],
            registry=r,
        )
        self.buffer_rows = Gauge(
            "depeg_buffer_rows", "Rows waiting for the database, by table", ["table"], registry=r
        )
        self.buffer_dropped = Counter(
            "depeg_buffer_dropped",
            "Price rows dropped because the buffer was full",
            ["table"],
            registry=r,
        )
        self.stream_frames = Counter(
            "depeg_stream_frames", "WebSocket frames received, by venue", ["venue"], registry=r
        )
        self.stream_malformed = Counter(
            "depeg_stream_malformed",
            "WebSocket frames that could not be read (logged, counted, skipped), by venue",
            ["venue"],
            registry=r,
        )
        self.stream_reconnects = Counter(
            "depeg_stream_reconnects",
            "WebSocket reconnects, by venue and cause (routine: the venue asked or age limit)",
            ["venue", "cause"],
            registry=r,
        )
        self.stream_disagreements = Counter(
            "depeg_stream_disagreements",
            "Polled quotes a fresh streamed price of the same market was far from, by venue",
            ["venue"],
            registry=r,
        )
        self.stream_up = Gauge(
            "depeg_stream_up",
            "1 while the venue's stream is healthy (connected, confirmed, alive, none silent)",
            ["venue"],
            registry=r,
        )
        self.evaluation_seconds = Histogram(
            "depeg_evaluation_seconds",
            "From the newest quote's receipt to the end of the cycle it woke",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0),
        )
        self.price = Gauge("depeg_price_usd", "Aggregate USD price per coin", ["coin"], registry=r)
        self.deviation = Gauge(
            "depeg_deviation_ratio",
            "Deviation from peg per coin (0.01 is 1 %, negative below the peg)",
            ["coin"],
            registry=r,
        )
        self.severity = Gauge(
            "depeg_severity", "Firing severity per coin (0-3)", ["coin"], registry=r
        )
        self.price_time = Gauge(
            "depeg_price_timestamp_seconds",
            "When the coin last had a priced aggregate (Unix time): staleness is time() - this",
            ["coin"],
            registry=r,
        )
        self.venue_up = Gauge(
            "depeg_venue_up",
            "1 while the venue's last poll gave usable quotes, else 0",
            ["venue"],
            registry=r,
        )
        self.venue_last_success = Gauge(
            "depeg_venue_last_success_timestamp_seconds",
            "When the venue's last poll with usable quotes ended (Unix time)",
            ["venue"],
            registry=r,
        )

    def venue_polled(self, venue: str, now: float, usable: bool) -> None:
        """A poll's verdict, where the collector records it on the health board."""
        self.venue_up.labels(venue).set(1.0 if usable else 0.0)
        if usable:
            self.venue_last_success.labels(venue).set(now)

    def known(
        self,
        venues: Iterable[str],
        coins: Iterable[str],
        channels: Iterable[str],
        streams: Iterable[str] = (),
    ) -> None:
        """Every series the configuration implies, at zero (up: 0 until the first answer), so
        rate() and increase() see the first event and an absent series means a renamed one.
        The last-success and price times stay absent until there is one: 0 would read as
        "stale since 1970"."""
        for v in venues:
            self.venue_up.labels(v)
            for outcome in QUOTE_OUTCOMES:
                self.quotes.labels(v, outcome)
            for outcome in REQUEST_OUTCOMES:
                self.requests.labels(v, outcome)
        for s in streams:
            self.stream_up.labels(s)
            self.stream_frames.labels(s)
            self.stream_malformed.labels(s)
            self.stream_disagreements.labels(s)
            for cause in ("routine", "failure"):
                self.stream_reconnects.labels(s, cause)
        for c in coins:
            self.severity.labels(c)
        for ch in channels:
            self.outbox_pending.labels(ch)
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(ch, outcome)
        for sev in (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL):
            for kind in EPISODE_KINDS:
                self.alerts.labels(sev.label, kind.value)
