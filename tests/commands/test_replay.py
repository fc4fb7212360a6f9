"""`depeg-monitor replay`: a manifest or data file that cannot be read is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.cli import main

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
