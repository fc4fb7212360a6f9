"""The replay loop: each series fresh for its own max_quote_age, one quote per market."""

from __future__ import annotations

from pathlib import Path

from depeg_monitor.replay.manifest import load_manifest
from depeg_monitor.replay.runner import run_replay

from .conftest import T0, Write, write_prices

MIXED = """
[settings.aggregation]
min_venues = 1
max_quote_age = {agg_age}
[[series]]
path = "minute.csv"
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
{minute}
[[series]]
path = "hourly.csv"
venue = "defillama"
coin = "DAI"
quote_ccy = "USD"
bar_seconds = 0
{hourly}
"""


def _no_price(path: Path) -> dict[str, int]:
    run = run_replay(load_manifest(path))
    return run.no_price_cycles


def test_an_hourly_series_stays_fresh_for_its_own_age_beside_minute_bars(
    tmp_path: Path, write_manifest: Write
) -> None:
    """Hourly samples with max_quote_age = 3600 keep DAI priced through every minute cycle,
    while the aggregator's own age (300 s) still governs the minute market."""
    write_prices(tmp_path / "minute.csv", [1.0] * 180)  # known at the end of each minute
    write_prices(tmp_path / "hourly.csv", [0.99, 0.99, 0.99], step=3600, t0=T0 + 60)
    own = _no_price(
        write_manifest(MIXED.format(agg_age=300, minute="", hourly='max_quote_age = "1h"'))
    )
    assert own == {"USDC": 0, "DAI": 0}
    shared = _no_price(write_manifest(MIXED.format(agg_age=300, minute="", hourly="")))
    assert shared["USDC"] == 0
    assert shared["DAI"] > 100  # stale after 5 of every 60 minutes


def test_a_series_with_a_shorter_age_goes_stale_sooner_than_the_aggregator_would(
    tmp_path: Path, write_manifest: Write
) -> None:
    """A minute market with max_quote_age = 120 has no price through a 10-minute gap in its
    trades even though the aggregator would keep a quote for an hour."""
    write_prices(tmp_path / "minute.csv", [1.0] * 30 + [None] * 10 + [1.0] * 30)
    write_prices(tmp_path / "hourly.csv", [1.0] * 70, t0=T0 + 60)  # a cycle every minute
    text = MIXED.format(agg_age=3600, minute="max_quote_age = 120", hourly="")
    assert _no_price(write_manifest(text))["USDC"] == 10 - 2  # fresh for the gap's first two


def test_one_file_split_into_time_ranges_is_one_market(
    tmp_path: Path, write_manifest: Write
) -> None:
    """Two series of one market (a file split at a date) never feed two quotes at once, so
    a quorum of two venues is never met by one venue twice."""
    write_prices(tmp_path / "minute.csv", [1.0] * 60)
    text = "[settings.aggregation]\nmin_venues = 2\nmax_quote_age = 600\n" + "".join(
        f'[[series]]\npath = "minute.csv"\nvenue = "kraken"\ncoin = "USDC"\n'
        f'quote_ccy = "USD"\n{r}\n'
        for r in ('end = "2024-01-01T00:30:00Z"', 'start = "2024-01-01T00:30:00Z"')
    )
    run = run_replay(load_manifest(write_manifest(text)))
    assert run.quotes_fed == run.cycles == 60
    assert run.no_price_cycles["USDC"] == 60
