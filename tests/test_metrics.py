"""/metrics of a real daemon run (tests/scrape.py): what Prometheus and promtool expect."""

from __future__ import annotations

import gzip
import subprocess

from depeg_monitor import __version__

from .scrape import Scrape, promtool


def test_the_scrape_passes_promtool_check_metrics(daemon_scrape: Scrape) -> None:
    """Every exported name, type and help text passes Prometheus' own linter."""
    done = subprocess.run(
        [promtool(), "check", "metrics"],
        input=daemon_scrape.metrics.text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_process_python_and_build_info_are_exported(daemon_scrape: Scrape) -> None:
    """The daemon's memory, CPU and Python runtime are there as for any exporter, and the
    running version as depeg_build_info."""
    s = daemon_scrape
    rss = s.value("process_resident_memory_bytes")
    assert rss is not None and rss > 10_000_000
    assert s.value("process_cpu_seconds_total") is not None
    assert s.value("python_info") == 1.0
    assert s.value("python_gc_collections_total", generation="0") is not None
    assert s.value("depeg_build_info", version=__version__) == 1.0


def test_each_venue_is_up_with_its_last_success_time_and_each_coin_its_price_time(
    daemon_scrape: Scrape,
) -> None:
    """Staleness can be alerted on in PromQL: each configured venue has an up gauge, those that
    answered a last-success time, and each coin the time of its last price (Unix seconds)."""
    s = daemon_scrape
    for venue, v in s.settings.venues.items():
        if v.enabled:
            assert s.value("depeg_venue_up", venue=venue) == 1.0, venue
            at = s.value("depeg_venue_last_success_timestamp_seconds", venue=venue)
            assert at is not None and s.started <= at <= s.finished, venue
    for coin in s.settings.coins:
        at = s.value("depeg_price_timestamp_seconds", coin=coin)
        assert at is not None and s.started <= at <= s.finished, coin
        assert s.value("depeg_deviation_ratio", coin=coin) is not None


def test_counters_of_the_configured_labels_start_at_zero(daemon_scrape: Scrape) -> None:
    """A counter nothing has happened to yet is there at 0 (so rate() sees its first event):
    each channel's failed deliveries, each venue's timeouts, each severity's first alerts."""
    s = daemon_scrape
    assert s.value("depeg_deliveries_total", channel="discord", outcome="failed") == 0.0
    assert s.value("depeg_deliveries_total", channel="discord", outcome="expired") == 0.0
    assert s.value("depeg_outbox_pending", channel="discord") == 0.0
    for venue in ("binance", "kraken", "coingecko"):
        assert s.value("depeg_requests_total", venue=venue, outcome="timeout") == 0.0
        assert s.value("depeg_quotes_total", venue=venue, outcome="dropped") is not None
    for severity in ("minor", "major", "critical"):
        assert s.value("depeg_alerts_total", severity=severity, kind="first") == 0.0
    assert s.value("depeg_buffer_dropped_total", table="quotes") == 0.0
    assert s.value("depeg_severity", coin="USDT") == 0.0


def test_no_created_series(daemon_scrape: Scrape) -> None:
    """Counters and histograms come without a `_created` series beside them."""
    assert "_created" not in daemon_scrape.metrics.text
    assert "_created" not in daemon_scrape.openmetrics.text


def test_the_format_follows_accept_and_the_body_is_gzipped_when_asked(
    daemon_scrape: Scrape,
) -> None:
    """Prometheus asking for OpenMetrics gets it (ending in # EOF); a plain client gets the
    text format; Accept-Encoding: gzip gets a gzip body that decodes to the same page."""
    s = daemon_scrape
    assert s.metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert s.openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert s.openmetrics.text.rstrip().endswith("# EOF")
    assert "depeg_venue_up" in s.openmetrics.text
    assert s.gzipped.headers.get("Content-Encoding") == "gzip"
    body = gzip.decompress(s.gzipped.text.encode("latin-1")).decode()
    assert "depeg_build_info" in body
