"""The ground truth read from the data: reference prices, crossings and held levels."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.series import load_all
from depeg_monitor.replay.truth import SUSTAIN, Truth

from .conftest import T0, Write, write_prices

ONE = '[[series]]\npath = "a.csv"\nvenue = "a"\ncoin = "USDC"\nquote_ccy = "USD"\n'


def _truth(path: Path) -> Truth:
    m = load_manifest(path)
    return Truth(m, load_all(m.series))


def test_a_single_bar_wick_is_a_crossing_but_not_a_level_held(
    tmp_path: Path, write_manifest: Write
) -> None:
    """One minute at 0.95 crosses every level and holds none; twenty minutes at 0.98 after it
    hold major from their first minute."""
    prices = [1.0] * 10 + [0.95] + [1.0] * 10 + [0.98] * 20 + [1.0] * 10
    write_prices(tmp_path / "a.csv", prices)
    wt = _truth(write_manifest(ONE)).window("USDC", T0, T0 + 3600)
    wick, run = T0 + 11 * 60, T0 + 22 * 60  # bar ends
    assert [c.first for c in wt.crossings] == [wick, wick, wick]
    assert [c.held for c in wt.crossings] == [run, run, None]
    assert (wt.reached, wt.held) == (Severity.CRITICAL, Severity.MAJOR)
    assert wt.max_deviation == pytest.approx(-0.05)


def test_a_flicker_shorter_than_sustain_is_not_held_at_minute_granularity(
    tmp_path: Path, write_manifest: Write
) -> None:
    """Consecutive minutes beyond a level hold it only once they span SUSTAIN seconds."""
    short = int(SUSTAIN // 60)  # points spanning SUSTAIN - 60 s
    prices = [1.0] * 5 + [0.99] * short + [1.0] * 5 + [0.99] * (short + 1) + [1.0] * 5
    write_prices(tmp_path / "a.csv", prices)
    minor = _truth(write_manifest(ONE)).window("USDC", T0, T0 + 7200).crossing(Severity.MINOR)
    assert minor.first == T0 + 6 * 60
    assert minor.held == T0 + (5 + short + 5 + 1) * 60


def test_the_reference_is_the_median_of_usd_markets_and_leaves_out_the_rest(
    tmp_path: Path, write_manifest: Write
) -> None:
    """Two USD markets give their median; a USDT-quoted market (no assumed rate) and one marked
    reference = false are not part of it."""
    write_prices(tmp_path / "a.csv", [1.0, 0.98])
    write_prices(tmp_path / "b.csv", [1.0, 0.99])
    write_prices(tmp_path / "c.csv", [1.0, 0.50])  # a book artefact
    write_prices(tmp_path / "d.csv", [1.0, 0.60])  # priced in USDT
    text = ONE + "".join(
        f'[[series]]\npath = "{f}.csv"\nvenue = "{f}"\ncoin = "USDC"\nquote_ccy = "{q}"\n{x}'
        for f, q, x in (("b", "USD", ""), ("c", "USD", "reference = false\n"), ("d", "USDT", ""))
    )
    truth = _truth(write_manifest(text))
    assert truth.series["USDC"] == ("a USDC/USD", "b USDC/USD")
    assert truth.window("USDC", T0, T0 + 600).max_deviation == pytest.approx(-0.015)


def test_a_side_the_coin_ignores_never_crosses(tmp_path: Path, write_manifest: Write) -> None:
    """With alert_on_premium off, a premium holds no level (the deviation is still shown)."""
    write_prices(tmp_path / "a.csv", [1.02] * 30)
    text = ONE + "[settings.coins.USDC]\nalert_on_premium = false\n"
    wt = _truth(write_manifest(text)).window("USDC", T0, T0 + 3600)
    assert wt.reached == Severity.NONE
    assert wt.max_deviation == pytest.approx(0.02)
