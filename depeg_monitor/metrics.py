"""Prometheus metrics, one registry per monitor instance (so tests can build several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
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
            "depeg_deviation", "Deviation from peg per coin", ["coin"], registry=r
        )
        self.severity = Gauge(
            "depeg_severity", "Firing severity per coin (0-3)", ["coin"], registry=r
        )
