"""Volume at minute scale: what traded lately, rebuilt from 24 h figures, against the usual."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depeg_monitor.config import Settings
from depeg_monitor.detect.aggregate import Aggregator
from depeg_monitor.detect.volume import DAY, VolumeMeter
from depeg_monitor.model import Quote
from depeg_monitor.replay.manifest import SeriesSpec
from depeg_monitor.replay.series import load_series
from depeg_monitor.rules import detection_rules

T0 = 1_700_000_000.0
HOUR = 3600.0


def quote(venue: str, ts: float, volume_24h: float | None, price: float = 1.0) -> Quote:
    return Quote(venue, "USDC", "USD", price, None, None, volume_24h, None, ts, ts)


def aggregator(**aggregation: object) -> Aggregator:
    return Aggregator(detection_rules(Settings(coins={"USDC": {}}, aggregation=aggregation)))


def live_figures(rate: float, surge: float, surge_from: float, until: float, every: float = 60):
    """(t, 24 h volume) a venue reports every `every` s from T0: `rate` per second all along
    (also the day before T0), `surge` × rate from surge_from on."""
    t = T0
    while t <= until:
        extra = (surge - 1.0) * rate * max(0.0, t - surge_from)
        yield t, rate * DAY + extra
        t += every


def test_even_trading_reads_as_one_and_a_fourfold_surge_as_four() -> None:
    """A market trading evenly has a spike figure of 1.0 once warm; when it trades four times
    as fast for the last five minutes, the figure reads 4 — though its 24 h volume rose 1 %."""
    meter = VolumeMeter(window=300, baseline=DAY, warmup=HOUR)
    surge_from = T0 + 2 * HOUR
    ratios = []
    for t, v in live_figures(10.0, 4.0, surge_from, surge_from + 300):
        meter.add(t, v)
        if meter.rates is not None:
            recent, typical = meter.rates
            ratios.append((t, recent / typical))
    calm = [r for t, r in ratios if t <= surge_from]
    assert calm and all(r == pytest.approx(1.0) for r in calm)
    assert ratios[-1][1] == pytest.approx(4.0)


def test_no_figure_until_the_warmup_has_passed() -> None:
    """For the first hour of readings (plus the recent window) there is no spike figure at all,
    not a guess; right after, there is one."""
    meter = VolumeMeter(window=300, baseline=DAY, warmup=HOUR)
    seen = []
    for t, v in live_figures(10.0, 1.0, math.inf, T0 + HOUR + 600):
        meter.add(t, v)
        seen.append((t - T0, meter.rates is not None))
    assert all(not has for age, has in seen if age < HOUR + 300)
    assert all(has for age, has in seen if age >= HOUR + 300)


def test_a_venue_resetting_its_24h_figure_never_reads_as_negative_volume() -> None:
    """A 24 h figure that drops to zero (a venue's reset) counts as nothing traded, not as
    volume taken back: the recent volume stays at or above zero."""
    meter = VolumeMeter(window=300, baseline=DAY, warmup=0)
    for t, v in live_figures(10.0, 1.0, math.inf, T0 + 1200):
        meter.add(t, v)
    meter.add(T0 + 1260, 0.0)
    assert meter.rates is not None and meter.rates[0] >= 0.0


def test_repeated_older_and_absurd_readings_are_ignored() -> None:
    """The same reading seen again (the book repeats a quote), an older one, NaN, infinity or
    a negative figure change nothing."""
    meter = VolumeMeter(window=300, baseline=DAY, warmup=0)
    for t, v in live_figures(10.0, 1.0, math.inf, T0 + 1200):
        meter.add(t, v)
    before = meter.rates
    for t, v in [(T0 + 1200, 5e9), (T0 + 600, 5e9), (T0 + 1300, math.nan)]:
        meter.add(t, v)
    meter.add(T0 + 1300, math.inf)
    meter.add(T0 + 1300, -1.0)
    assert meter.rates == before


def _trailing_sums(bars: list[float], bar: float) -> list[tuple[float, float]]:
    """Replay's feed (series.py): each bar's end and the sum of the bars of the last day, the
    window starting empty at the first bar."""
    out = []
    for i in range(len(bars)):
        ts = T0 + (i + 1) * bar
        out.append((ts, sum(v for j, v in enumerate(bars[: i + 1]) if i - j < DAY / bar)))
    return out


@settings(max_examples=25, deadline=None)
@given(bars=st.lists(st.floats(0, 1e7), min_size=300, max_size=330))
def test_replay_volumes_are_rebuilt_from_their_trailing_day(bars: list[float]) -> None:
    """Fed replay's trailing 24 h sums of 10-minute bars (over two days), the recent volume is
    the sum of the bars inside the window, also after the first day when bars leave the sum —
    up to the first bar's own volume, the one reading the meter cannot place in time."""
    bar = 600.0
    meter = VolumeMeter(window=2 * bar, baseline=DAY, warmup=0)
    for i, (ts, v24) in enumerate(_trailing_sums(bars, bar)):
        meter.add(ts, v24)
        if i >= 2 and meter.rates is not None:
            recent = meter.rates[0] * 2 * bar
            slack = bars[0] + 1e-9 * max(v24, 1.0) * len(bars)
            assert abs(recent - (bars[i] + bars[i - 1])) <= slack


def test_the_first_day_of_a_replay_shows_no_fake_spike(tmp_path: Path) -> None:
    """A minute file with about the same volume every minute, read by replay's loader (whose
    24 h figure fills up over the first day) and aggregated: no spike figure in the first hour,
    then about 1 — not the 10-190× the first day of every replay used to show (within 2 %; 20 %
    for five minutes a day in, when the first bar leaves the loader's sum at once)."""
    path = tmp_path / "usdc.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "close", "volume"])
        for i in range(36 * 60):
            w.writerow([T0 + 60 * i, 1.0, 1000 + (i % 7)])
    specs = [
        SeriesSpec(path, venue, "USDC", "USD", "timestamp", "unix", "close", "volume", "base", 60)
        for venue in ("kraken", "bitstamp")
    ]
    series = [load_series(s).quotes for s in specs]
    agg = aggregator()
    spikes = []
    for a, b in zip(*series, strict=True):
        snap = agg.aggregate([a, b], a.ts)["USDC"]
        spikes.append((a.ts - T0, snap.context.volume_spike))
    assert all(s is None for age, s in spikes if age < HOUR)
    later = [(age, s) for age, s in spikes if age > HOUR + 400]
    assert later and all(s is not None and 0.75 < s < 1.25 for _, s in later)
    steady = [s for age, s in later if not DAY <= age <= DAY + 400]
    assert all(s is not None and 0.98 < s < 1.02 for s in steady)


def test_a_venue_without_volume_is_left_out_of_the_spike_not_counted_as_zero() -> None:
    """Two venues, one reporting no volume: the spike is the other venue's own ratio (here 3),
    not diluted toward zero by the venue that says nothing."""
    agg = aggregator(volume_warmup=600, volume_window=300)
    snap = None
    surge_from = T0 + 1800
    for t, v in live_figures(10.0, 3.0, surge_from, surge_from + 300):
        snap = agg.aggregate([quote("kraken", t, v), quote("bitstamp", t, None)], t)["USDC"]
    assert snap is not None
    assert snap.context.volume_spike == pytest.approx(3.0)


def test_spike_is_weighted_by_each_venue_usd_volume() -> None:
    """A big venue trading as usual and a venue a tenth its size trading 4× as fast: the coin's
    figure is their USD volumes' ratio (1.3), not the average of the two ratios (2.5)."""
    agg = aggregator(volume_warmup=600, volume_window=300)
    snap = None
    big = live_figures(100.0, 1.0, math.inf, T0 + 2100)
    small = live_figures(10.0, 4.0, T0 + 1800, T0 + 2100)
    for (t, vb), (_, vs) in zip(big, small, strict=True):
        snap = agg.aggregate([quote("kraken", t, vb), quote("bitstamp", t, vs)], t)["USDC"]
    assert snap is not None
    assert snap.context.volume_spike == pytest.approx((100 + 40) / (100 + 10))
