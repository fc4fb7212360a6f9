"""Data-quality rules for quotes: one reason per drop, bad figures forgotten, watermarks honest."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor.collect.quality import QualityFilter, QualityRules, expected_price
from depeg_monitor.model import Quote

NOW = 1_700_000_000.0
RULES = QualityRules(band=(0.5, 2.0), max_age=120.0, pegs={"USDC": 1.0, "USDT": 1.0})


def q(
    price: float,
    coin: str = "USDC",
    quote: str = "USDT",
    ts: float | None = NOW,
    **figures: float | None,
) -> Quote:
    base = Quote("okx", coin, quote, price, None, None, None, None, ts, NOW)
    return dataclasses.replace(base, **figures)  # type: ignore[arg-type]


def drop(quote: Quote, f: QualityFilter | None = None) -> str | None:
    return (f or QualityFilter(RULES)).check(quote, NOW).dropped


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
        (q(1.0, ts=math.nan), "bad_timestamp"),
        (q(1.0, ts=math.inf), "bad_timestamp"),
        (q(1.0, ts=253402300799.0), "future"),
        (q(1.0, ts=NOW + 6), "future"),
        (q(0.998), None),
        (q(0.6, ts=None), None),
        (q(1.0, ts=NOW + 4), None),
    ],
)
def test_drop_reasons(quote: Quote, reason: str | None) -> None:
    """Each kind of bad quote is named; a plausible one passes."""
    assert drop(quote) == reason


@pytest.mark.parametrize(
    ("figures", "cleaned"),
    [
        ({"volume_base_24h": math.nan}, ("volume_non_finite",)),
        ({"volume_quote_24h": math.inf}, ("volume_non_finite",)),
        ({"volume_base_24h": -13779365.5}, ("volume_negative",)),
        ({"volume_quote_24h": 1e300}, ("volume_absurd",)),
        ({"bid": math.nan, "ask": 0.0}, ("bad_book", "bad_book")),
        ({"volume_base_24h": 5e6, "bid": 0.999, "ask": 1.001}, ()),
    ],
)
def test_bad_volumes_and_book_sides_are_forgotten_not_fatal(
    figures: dict[str, float], cleaned: tuple[str, ...]
) -> None:
    """A NaN, negative or absurd volume (or book side) becomes None, named; the price stays."""
    verdict = QualityFilter(RULES).check(q(0.95, **figures), NOW)
    assert verdict.dropped is None and verdict.quote is not None
    assert verdict.quote.price == 0.95 and verdict.cleaned == cleaned
    for name, value in figures.items():
        assert getattr(verdict.quote, name) == (None if cleaned else value)


def test_regression_is_dropped_but_equal_time_is_not() -> None:
    """A quote older than the market's previous one is dropped; a repeat of the same time is not."""
    f = QualityFilter(RULES)
    assert drop(q(1.0, ts=NOW), f) is None
    assert drop(q(1.0, ts=NOW), f) is None
    assert drop(q(1.0, ts=NOW - 1), f) == "regression"


def test_a_future_timestamp_never_freezes_the_market() -> None:
    """A 9999-12-31 quote is dropped without moving the watermark, so later real quotes pass."""
    f = QualityFilter(RULES)
    for _ in range(2):
        assert drop(q(0.999, ts=253402300799.0), f) == "future"
    assert drop(q(0.95, ts=NOW - 1), f) is None
    assert drop(q(0.95, ts=NOW), f) is None


def test_a_rejected_quote_never_moves_the_watermark() -> None:
    """An absurd quote stamped later does not make the next good quote look like a regression."""
    f = QualityFilter(RULES)
    assert drop(q(50.0, ts=NOW), f) == "absurd"
    assert drop(q(0.999, ts=NOW - 10), f) is None


def test_freshness_never_trusts_a_time_later_than_receipt() -> None:
    """A timestamp a little ahead of receipt is passed on as the receipt time, not its own."""
    verdict = QualityFilter(RULES).check(q(1.0, ts=NOW + 3), NOW)
    assert verdict.quote is not None and verdict.quote.ts_exchange == NOW


def test_band_is_relative_to_the_pairs_pegs() -> None:
    """Unpegged pairs have no expected price, so no absurdity check applies to them."""
    assert expected_price("USDC", "USD", RULES.pegs) == 1.0
    assert expected_price("BTC", "USD", RULES.pegs) is None
    assert drop(q(65000.0, coin="BTC")) is None


figures = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e300])
)


@given(
    price=st.floats(allow_nan=True, allow_infinity=True),
    bid=figures,
    ask=figures,
    vb=figures,
    vq=figures,
    ts=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_whatever_a_venue_sends_what_passes_is_finite_and_in_band(
    price: float,
    bid: float | None,
    ask: float | None,
    vb: float | None,
    vq: float | None,
    ts: float | None,
) -> None:
    """Any figures at all: a quote that passes has a finite in-band price, finite non-negative
    volumes, positive book sides and a finite timestamp no later than receipt."""
    quote = Quote("okx", "USDC", "USDT", price, bid, ask, vb, vq, ts, NOW)
    verdict = QualityFilter(RULES).check(quote, NOW)
    good = verdict.quote
    if good is None:
        assert verdict.dropped is not None
        return
    assert math.isfinite(good.price) and 0.5 <= good.price <= 2.0
    for v in (good.volume_base_24h, good.volume_quote_24h):
        assert v is None or (math.isfinite(v) and 0 <= v <= RULES.max_volume)
    for v in (good.bid, good.ask):
        assert v is None or (math.isfinite(v) and v > 0)
    if good.ts_exchange is not None:
        assert math.isfinite(good.ts_exchange) and good.ts_exchange <= NOW
