"""The committed manifests over the real shared history (../shared beside the clone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import load_manifest, parse_time
from depeg_monitor.replay.report import build_report
from depeg_monitor.replay.runner import run_replay

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "history"


def need_shared() -> None:
    if SHARED.is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but the shared history is missing at {SHARED.resolve()}")
    pytest.skip("../shared/history not present")


def test_svb_usdc_critical_within_minutes_and_quiet_calm_week() -> None:
    """On the real SVB minute data USDC turns critical within minutes of Kraken holding 3 %
    off, and 2023-03-01..09 raises no alert that USDC or USDT is off its peg."""
    need_shared()
    report = build_report(run_replay(load_manifest(ROOT / "manifests/usdc-svb-2023-03.toml")))
    usdc = next(e for e in report.events if e.coin == "USDC")
    critical = usdc.first[Severity.CRITICAL - 1]
    assert critical.delay is not None
    assert 0 <= critical.delay <= 10 * 60
    calm_end = parse_time("2023-03-10T00:00:00Z")
    assert [t for t in report.timeline if t.ts < calm_end and t.claims] == []
    assert report.false_alerts["critical"] == 0
    assert all(not e.missed for e in report.events)
