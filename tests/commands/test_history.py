"""`depeg-monitor history` against a database a real daemon wrote (SQLite and PostgreSQL),
its chart, and what happens without matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from matplotlib.image import imread

from depeg_monitor.cli import main

from .conftest import VENUES, Recorded, png_size


def test_history_summarises_the_dip_against_the_coins_levels(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text report gives the low near 0.95, the time beyond minor ≥ major ≥ critical, each
    venue's prices and the run's alerts."""
    assert main(["history", "usdc", "--since", "1h", "--config", str(recorded.config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("USDC from ")
    low = next(line for line in out.splitlines() if line.startswith("  low "))
    assert low.startswith("  low   0.9")
    assert 0.94 < float(low.split()[1]) < 0.96
    assert "time beyond: minor (≥ 0.50%)" in out and "critical (≥ 3.00%)" in out
    assert "highest severity recorded: critical" in out
    for venue in VENUES:
        assert any(line.startswith(f"  {venue} ") for line in out.splitlines())
    assert f"alerts: {len(recorded.alerts)}" in out
    assert "aggregate, every " in out


def test_history_json_has_the_series_and_the_time_beyond_each_level(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json holds every aggregate row, each venue's points and the alerts; the dip spent a
    few seconds beyond critical, and no less beyond major and minor."""
    assert main(["history", "USDC", "--json", "--config", str(recorded.config)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["coin"] == "USDC" and doc["peg"] == 1.0
    assert doc["levels"] == {"minor": 0.005, "major": 0.015, "critical": 0.03}
    beyond = doc["summary"]["seconds_beyond"]
    assert beyond["minor"] >= beyond["major"] >= beyond["critical"] > 1.0
    assert beyond["critical"] < recorded.ended - recorded.started
    assert doc["summary"]["low"]["price"] < 0.96
    assert doc["summary"]["rows"] == len(doc["aggregate"]) > 5
    assert {v["venue"] for v in doc["venues"]} == set(VENUES)
    assert all(len(v["points"]) > 3 for v in doc["venues"])
    assert [a["id"] for a in doc["alerts"]] == [a.id for a in recorded.alerts]


def test_history_plot_is_a_png_of_the_promised_size(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--plot writes a 1200×600 PNG that decodes, with more than the background in it, and
    says where it went."""
    chart = tmp_path / "usdc.png"
    args = ["history", "USDC", "--plot", str(chart), "--config", str(recorded.config)]
    assert main(args) == 0
    assert capsys.readouterr().err == f"chart: {chart} (1200×600)\n"
    assert png_size(chart) == (1200, 600)
    pixels = imread(chart)
    assert pixels.shape[:2] == (600, 1200)
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::97]}) > 20


def test_history_of_a_coin_not_configured_is_exit_2(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    """A coin the configuration does not watch has no levels: one line naming the coins, 2."""
    assert main(["history", "FRAX", "--config", str(recorded.config)]) == 2
    assert (
        capsys.readouterr().err == "history: coin FRAX is not in the configuration (coins: USDC)\n"
    )


def test_history_plot_into_a_missing_directory_is_one_line(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chart path that cannot be written: the report still prints, then one line, exit 1."""
    chart = tmp_path / "nowhere" / "c.png"
    args = ["history", "USDC", "--plot", str(chart), "--config", str(recorded.config)]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert out.startswith("USDC from ")
    assert err == f"history: cannot write {chart}: No such file or directory\n"


def _without_matplotlib(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter where importing matplotlib fails, as when it is absent."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None  # what an uninstalled package looks like to import
        from depeg_monitor.cli import main
        sys.exit(main({args!r}))
    """)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_plot_without_matplotlib_says_how_to_install_it(recorded: Recorded, tmp_path: Path) -> None:
    """Without the plot extra, history --plot and replay --plot stop at once with one line
    naming `pip install 'depeg-monitor[plot]'` and exit 3; no file is written."""
    chart = tmp_path / "c.png"
    done = _without_matplotlib(
        ["history", "USDC", "--plot", str(chart), "--config", str(recorded.config)]
    )
    hint = "drawing a chart needs matplotlib: pip install 'depeg-monitor[plot]'\n"
    assert (done.returncode, done.stdout, done.stderr) == (3, "", f"history: {hint}")
    done = _without_matplotlib(["replay", str(tmp_path / "any.toml"), "--plot", str(chart)])
    assert (done.returncode, done.stderr) == (3, f"replay: {hint}")
    assert not chart.exists()
    done = _without_matplotlib(["history", "USDC", "--config", str(recorded.config)])
    assert done.returncode == 0 and done.stdout.startswith("USDC from ")


def _config_without_a_daemon(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "depeg.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[coins.USDC]\n[venues.kraken]\nmarkets = ["USDC/USD"]\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n'
    )
    return cfg, db


def test_history_and_alerts_without_a_database_create_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the daemon ever ran: one line each saying where they looked, exit 1, and no
    empty database file left behind."""
    cfg, db = _config_without_a_daemon(tmp_path)
    assert main(["history", "USDC", "--config", str(cfg)]) == 1
    assert main(["alerts", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"history: no database at {db} (database.url)")
    assert err[1].startswith(f"alerts: no database at {db} (database.url)")
    assert not db.exists()


def test_an_empty_window_is_a_report_without_a_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database with nothing recorded yet: history says so and draws nothing (exit 1 with
    --plot), alerts lists none."""
    cfg, _ = _config_without_a_daemon(tmp_path)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    capsys.readouterr()
    chart = tmp_path / "c.png"
    assert main(["history", "USDC", "--plot", str(chart), "--config", str(cfg)]) == 1
    out, err = capsys.readouterr()
    assert "  (no prices recorded in this window)" in out and "alerts: 0" in out
    assert err == "history: no chart: nothing recorded for USDC in the window\n"
    assert not chart.exists()
    assert main(["alerts", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.startswith("0 alerts since ")
