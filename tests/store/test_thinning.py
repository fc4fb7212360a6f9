"""Which history rows are written: moves, tag changes, the interval, the minimum gap."""

from __future__ import annotations

from depeg_monitor.store.thinning import RowThinner


def test_a_series_gets_a_row_when_it_moves_or_its_interval_passes() -> None:
    """Repeats of a value within the interval are skipped; a 1 bp move, a new tag or the
    interval passing each give a row."""
    rows = RowThinner(move=0.0001, interval=10.0)
    kept = [
        rows.keep("USDC", t, price, tag)
        for t, price, tag in [
            (0.0, 1.0, "none"),
            (0.1, 1.00001, "none"),  # under 1 bp
            (0.2, 0.9998, "none"),  # 2 bp
            (0.3, 0.9998, "major"),  # the tag changed
            (5.0, 0.9998, "major"),
            (10.4, 0.9998, "major"),  # ten seconds on
        ]
    ]
    assert kept == [True, False, True, True, False, True]


def test_no_more_than_one_row_per_min_gap_however_fast_it_moves() -> None:
    """With a one-second gap a market moving every frame gets one row a second."""
    rows = RowThinner(interval=1.0, min_gap=1.0)
    kept = [rows.keep("m", i * 0.01, 1.0 + (i % 2) * 0.01) for i in range(300)]
    assert sum(kept) == 3
