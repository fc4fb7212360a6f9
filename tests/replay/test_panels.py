"""A backtest as chart panels: one per coin, its aggregate, its venues, its events and alerts."""

from __future__ import annotations

from pathlib import Path

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.panels import panels
from depeg_monitor.replay.report import build_report
from depeg_monitor.replay.runner import run_replay

from .conftest import T0, Write, iso, write_prices

MANIFEST = """
[settings.aggregation]
min_venues = 1
max_quote_age = 120
[settings.coins.USDC]
[settings.coins.DAI]

[[series]]
path = "usdc-kraken.csv"
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
price = "close"

[[series]]
path = "usdc-bitstamp.csv"
venue = "bitstamp"
coin = "USDC"
quote_ccy = "USD"
price = "close"

[[series]]
path = "dai-kraken.csv"
venue = "kraken"
coin = "DAI"
quote_ccy = "USD"
price = "close"

[[events]]
coin = "USDC"
start = "{start}"
end = "{end}"
expect = "critical"
"""


def write_two_coins(tmp_path: Path, write_manifest: Write) -> Path:
    """USDC falls to 0.95 on both venues from minute 60 to 120; DAI stays at its peg."""
    dip = [0.95 if 60 <= m < 120 else 1.0 for m in range(180)]
    write_prices(tmp_path / "usdc-kraken.csv", dip)
    write_prices(tmp_path / "usdc-bitstamp.csv", [p + 0.0002 for p in dip])
    write_prices(tmp_path / "dai-kraken.csv", [1.0] * 180)
    return write_manifest(MANIFEST.format(start=iso(T0 + 55 * 60), end=iso(T0 + 150 * 60)))


def test_one_panel_per_coin_with_its_venues_event_and_alerts(
    tmp_path: Path, write_manifest: Write
) -> None:
    """USDC's panel has both venues, the cycle-by-cycle aggregate down to 0.95, the event as a
    window and a marker for each of its alerts; DAI's has its venue and no marker."""
    run = run_replay(load_manifest(write_two_coins(tmp_path, write_manifest)), trace=True)
    report = build_report(run)
    usdc, dai = panels(run, report)
    assert usdc.title.startswith("USDC") and dai.title.startswith("DAI")
    assert [v.label for v in usdc.venues] == ["kraken USDC/USD", "bitstamp USDC/USD"]
    assert len(usdc.aggregate.ts) == run.cycles
    assert min(v for v in usdc.aggregate.values if v is not None) < 0.951
    assert [(w.start, w.label) for w in usdc.windows] == [
        (T0 + 55 * 60, "event: critical expected")
    ]
    timeline = [t for t in report.timeline if t.coin == "USDC"]
    assert [(m.ts, m.kind) for m in usdc.markers] == [(t.ts, t.kind.value) for t in timeline]
    assert any(m.severity is Severity.CRITICAL for m in usdc.markers)
    assert usdc.levels == (0.005, 0.015, 0.03) and usdc.peg == 1.0
    assert dai.markers == () and [v.label for v in dai.venues] == ["kraken DAI/USD"]


def test_without_trace_the_replay_keeps_no_prices(tmp_path: Path, write_manifest: Write) -> None:
    """A replay that will not be drawn keeps nothing per cycle (its throughput is untouched)."""
    run = run_replay(load_manifest(write_two_coins(tmp_path, write_manifest)))
    assert run.prices == {}
