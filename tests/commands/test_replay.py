"""`depeg-monitor replay`: exit 0 when every check holds, 1 when one fails (--strict: more of
them), 2 with one line when a manifest or data file cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from depeg_monitor.cli import main

from .conftest import png_size

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
START, END = "2024-01-01T00:55:00Z", "2024-01-01T02:00:00Z"

MANIFEST = """
[[series]]
path = "data.csv"
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
price = "close"
"""


def test_a_directory_given_as_the_manifest_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replay DIR` says the path is a directory, exit 2, no traceback."""
    assert main(["replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"replay: {tmp_path}: Is a directory\n"


def test_a_data_file_that_is_not_text_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A price file the manifest names that is not UTF-8 text: one line, exit 2."""
    (tmp_path / "m.toml").write_text(MANIFEST)
    (tmp_path / "data.csv").write_bytes(b"\xff\xfe\x00ts,close\n")
    assert main(["replay", str(tmp_path / "m.toml")]) == 2
    err = capsys.readouterr().err
    assert err == "replay: the manifest or a file it names is not UTF-8 text\n"


def _market(tmp_path: Path, truth: str) -> Path:
    """A one-venue USDC market that drifts 0.8 % off for an hour from minute 60."""
    rows = ["timestamp,close"]
    for minute in range(180):
        ts = datetime.fromtimestamp(T0 + 60 * minute, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{ts},{0.992 if 60 <= minute < 120 else 1.0}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    path = tmp_path / "m.toml"
    path.write_text(
        "[settings.aggregation]\nmin_venues = 1\nmax_quote_age = 120\n" + MANIFEST + truth
    )
    return path


def _event(expect: str, within: str) -> str:
    return (
        f'[[events]]\ncoin = "USDC"\nstart = "{START}"\nend = "{END}"\nexpect = "{expect}"\n'
        f'within = "{within}"\n'
    )


def test_a_missed_event_is_exit_1_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Expecting major of a minor drift: the report is printed, exit 1, and stderr says which
    event failed and why."""
    assert main(["replay", str(_market(tmp_path, _event("major", "1h")))]) == 1
    out, err = capsys.readouterr()
    assert "checks (default scoring): 1 failed" in out
    assert err.startswith("replay: 1 check failed (first: event USDC ")
    assert "missed: no alert of at least major" in err and err.count("\n") == 1


def test_a_late_alert_fails_only_with_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A minor alert later than a one-minute bound: exit 0 by default, 1 with --strict."""
    path = _market(tmp_path, _event("minor", "1m"))
    assert main(["replay", str(path)]) == 0
    assert main(["replay", str(path), "--strict"]) == 1
    assert "late: first minor alert" in capsys.readouterr().err
    path = _market(tmp_path, _event("minor", "1h"))
    assert main(["replay", str(path), "--strict", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed_strict"] is True
    assert data["events"][0]["first_alert_id"] in {t["id"] for t in data["timeline"]}


def test_plot_draws_one_panel_per_coin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--plot writes a PNG 1200 wide and one 380-pixel panel per coin (USDC and DAI here),
    after the report, and says where."""
    (tmp_path / "dai.csv").write_text(
        "timestamp,close\n"
        + "".join(
            f"{datetime.fromtimestamp(T0 + 60 * m, UTC):%Y-%m-%dT%H:%M:%SZ},1.0\n"
            for m in range(180)
        )
    )
    dai = '[[series]]\npath = "dai.csv"\nvenue = "bitstamp"\ncoin = "DAI"\nquote_ccy = "USD"\n'
    manifest = _market(tmp_path, _event("minor", "1h") + dai + 'price = "close"\n')
    chart = tmp_path / "replay.png"
    assert main(["replay", str(manifest), "--plot", str(chart)]) == 0
    out, err = capsys.readouterr()
    assert "checks (default scoring): all passed" in out
    assert err == f"chart: {chart} (1200×760)\n"
    assert png_size(chart) == (1200, 760)
