"""Reading a price file into quotes: inverted pairs, time ranges, row filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.series import load_all, load_series

from .conftest import T0, Write, iso, write_prices

SERIES = """
[[series]]
path = "pair.csv"
venue = "binance"
coin = "{coin}"
quote_ccy = "{quote}"
volume = "volume"
volume_unit = "{unit}"
{extra}
"""


def _one(write_manifest: Write, **kw: str) -> list[tuple[float, float, float | None, float | None]]:
    fields = {"coin": "USDC", "quote": "USDT", "unit": "base", "extra": ""} | kw
    (spec,) = load_manifest(write_manifest(SERIES.format(**fields))).series
    return [
        (q.ts, q.price, q.volume_base_24h, q.volume_quote_24h) for q in load_series(spec).quotes
    ]


def test_an_inverted_pair_is_its_opposite_with_the_volume_on_the_other_side(
    tmp_path: Path, write_manifest: Write
) -> None:
    """A USDC/USDT file read inverted is USDT/USDC at 1/price; the file's base (USDC) volume
    becomes the quote volume of the market fed, and its quote volume the base volume."""
    write_prices(tmp_path / "pair.csv", [1.05, 1.04], volume=10.0)
    straight = _one(write_manifest)
    inverted = _one(write_manifest, coin="USDT", quote="USDC", extra="invert = true")
    assert [p for _, p, _, _ in inverted] == pytest.approx([1 / p for _, p, _, _ in straight])
    assert [(b, q) for _, _, b, q in straight] == [(10.0, None), (20.0, None)]
    assert [(b, q) for _, _, b, q in inverted] == [(None, 10.0), (None, 20.0)]
    quoted = _one(write_manifest, coin="USDT", quote="USDC", unit="quote", extra="invert = true")
    assert [(b, q) for _, _, b, q in quoted] == [(10.0, None), (20.0, None)]


def test_a_time_range_keeps_rows_from_start_to_just_before_end(
    tmp_path: Path, write_manifest: Write
) -> None:
    """start <= timestamp < end, on the row's own timestamp (the bar start); each quote is
    stamped at its bar's end, and the trailing volume counts only rows in range."""
    write_prices(tmp_path / "pair.csv", [1.0, 1.001, 1.002, 1.003, 1.004], volume=5.0)
    extra = f'start = "{iso(T0 + 60)}"\nend = "{iso(T0 + 240)}"'
    quotes = _one(write_manifest, extra=extra)
    assert [(ts - T0, p, b) for ts, p, b, _ in quotes] == [
        (120.0, 1.001, 5.0),
        (180.0, 1.002, 10.0),
        (240.0, 1.003, 15.0),
    ]


def test_where_keeps_only_the_rows_whose_columns_match(
    tmp_path: Path, write_manifest: Write
) -> None:
    """A file holding several coins, one symbol per row, gives each series its own rows."""
    (tmp_path / "mixed.csv").write_text(
        "symbol,timestamp,price_usd\n"
        f"DAI,{iso(T0)},0.99\nUSDC,{iso(T0)},0.98\nDAI,{iso(T0 + 3600)},0.97\n"
    )
    path = write_manifest(
        '[[series]]\npath = "mixed.csv"\nvenue = "defillama"\ncoin = "DAI"\n'
        'quote_ccy = "USD"\nprice = "price_usd"\nbar_seconds = 0\nwhere = { symbol = "DAI" }\n'
    )
    (loaded,) = load_all(load_manifest(path).series)
    assert [(q.ts - T0, q.price) for q in loaded.quotes] == [(0.0, 0.99), (3600.0, 0.97)]
    assert loaded.rows == 2


def test_one_file_read_by_several_series_gives_each_its_own_reading(
    tmp_path: Path, write_manifest: Write
) -> None:
    """Two series of one file (as the same pair before a date, inverted after it) each get
    their own rows, read their own way."""
    write_prices(tmp_path / "pair.csv", [1.0, 1.05, 1.04])
    cut = iso(T0 + 60)
    path = write_manifest(
        f'[[series]]\npath = "pair.csv"\nvenue = "b"\ncoin = "USDC"\nquote_ccy = "USDT"\n'
        f'end = "{cut}"\n'
        f'[[series]]\npath = "pair.csv"\nvenue = "b"\ncoin = "USDT"\nquote_ccy = "USDC"\n'
        f'start = "{cut}"\ninvert = true\n'
    )
    first, second = load_all(load_manifest(path).series)
    assert [q.price for q in first.quotes] == [1.0]
    assert [q.price for q in second.quotes] == pytest.approx([1 / 1.05, 1 / 1.04])
