"""What every venue declares: body caps that hold its real answers, waits within its maximum."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from depeg_monitor.venues import VENUES, bitstamp, bybit, kraken, okx


@pytest.mark.parametrize("spec", VENUES.values(), ids=list(VENUES))
def test_caps_and_waits_are_in_a_plausible_range(spec: Any) -> None:
    """Every venue's body caps and longest wait lie between 16 KB–16 MB and 10 min–3 days, so a
    slip such as 1 << 2 for 1 << 20 shows here rather than as every answer refused."""
    assert 16 << 10 <= spec.max_body <= 8 << 20
    assert 64 << 10 <= spec.listing_max_body <= 16 << 20
    assert 600 <= spec.max_wait <= 3 * 24 * 3600


def test_every_default_wait_is_within_its_venues_maximum() -> None:
    """A documented default wait is never clamped away by the same venue's max_wait."""
    for module, wait in (
        (kraken, kraken.RATE_LIMIT_WAIT),
        (bitstamp, bitstamp.RATE_LIMIT_WAIT),
        (okx, okx.RATE_LIMIT_WAIT),
        (bybit, bybit.BAN_SECONDS),
    ):
        assert 0 < wait <= module.SPEC.max_wait, module.NAME


@pytest.mark.parametrize(
    ("venue", "file", "rows_at", "rows"),
    [
        ("okx", "okx_tickers.json", ("data",), 800),
        ("bybit", "bybit_tickers_spot.json", ("result", "list"), 700),
        ("kucoin", "kucoin_all_tickers.json", ("data", "ticker"), 1_300),
        ("binance", "binance_ticker_24hr_symbols.json", (), 20),
    ],
)
def test_a_full_ticker_answer_fits_with_headroom(
    shared: Callable[[str], Any], venue: str, file: str, rows_at: tuple[str, ...], rows: int
) -> None:
    """An answer with as many real rows as the venue returns (every spot pair; Binance: one
    batch of 20) is under a quarter of the venue's ticker cap."""
    body = shared(file)
    holder = body
    for key in rows_at[:-1]:
        holder = holder[key]
    row = (holder[rows_at[-1]] if rows_at else holder)[0]
    many = [row] * rows
    if rows_at:
        holder[rows_at[-1]] = many
    else:
        body = many
    assert len(json.dumps(body)) * 4 < VENUES[venue].max_body
