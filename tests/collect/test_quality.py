"""Data-quality rules for quotes, one reason each."""

from __future__ import annotations

import math

import pytest

from depeg_monitor.collect.quality import QualityFilter, QualityRules, expected_price
from depeg_monitor.model import Quote

NOW = 1_700_000_000.0
RULES = QualityRules(band=(0.5, 2.0), max_age=120.0, pegs={"USDC": 1.0, "USDT": 1.0})


def q(price: float, coin: str = "USDC", quote: str = "USDT", ts: float | None = NOW) -> Quote:
    return Quote("okx", coin, quote, price, None, None, None, None, ts, NOW)


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        (q(math.nan), "non_finite"),
        (q(math.inf), "non_finite"),
        (q(0.0), "non_positive"),
        (q(-1.0), "non_positive"),
        (q(0.49), "absurd"),
        (q(2.01), "absurd"),
        (q(1.0, ts=NOW - 121), "stale"),
        (q(0.998), None),
        (q(0.6, ts=None), None),
    ],
)
def test_drop_reasons(quote: Quote, reason: str | None) -> None:
    """Each kind of bad quote is named; a plausible one passes."""
    assert QualityFilter(RULES).reason_to_drop(quote, NOW) == reason


def test_regression_is_dropped_but_equal_time_is_not() -> None:
    """A quote older than the market's previous one is dropped; a repeat of the same time is not."""
    f = QualityFilter(RULES)
    assert f.reason_to_drop(q(1.0, ts=NOW), NOW) is None
    assert f.reason_to_drop(q(1.0, ts=NOW), NOW) is None
    assert f.reason_to_drop(q(1.0, ts=NOW - 1), NOW) == "regression"


def test_band_is_relative_to_the_pairs_pegs() -> None:
    """Unpegged pairs have no expected price, so no absurdity check applies to them."""
    assert expected_price("USDC", "USD", RULES.pegs) == 1.0
    assert expected_price("BTC", "USD", RULES.pegs) is None
    assert QualityFilter(RULES).reason_to_drop(q(65000.0, coin="BTC"), NOW) is None
