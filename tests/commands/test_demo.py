"""The demo: the real daemon against the simulated market, ending by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.cli import main
from depeg_monitor.commands.demo import demo_settings
from depeg_monitor.config import load_settings

REPO = Path(__file__).parents[2]


def test_demo_on_a_calm_market_ends_by_itself_with_prices_and_no_alert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A calm scenario played fast prints price lines and a summary with no message sent."""
    code = main(["demo", "--scenario", str(REPO / "scenarios" / "calm.toml"), "--speed", "60"])
    out = capsys.readouterr().out
    assert code == 0
    assert "USDC 1.000" in out or "USDC 0.999" in out
    assert "summary:" in out
    assert "discord  0 message(s)" in out
    assert "sms      0 message(s)" in out


def test_demo_settings_point_every_venue_at_the_simulator_and_scale_holds(tmp_path: Path) -> None:
    """Every venue polls the local market each second, and holds shrink with the speed."""
    base = load_settings(REPO / "config.example.toml")
    urls = {name: f"http://127.0.0.1:1/{name}" for name in base.venues}
    s = demo_settings(base, urls, 10.0, tmp_path)
    assert {v.base_url for v in s.venues.values()} == set(urls.values())
    assert s.classification.hold_minor == base.classification.hold_minor / 10
    assert s.database.resolved_url().endswith(str(tmp_path / "demo.db"))
    assert set(s.channels) == {"discord", "email", "sms"}
