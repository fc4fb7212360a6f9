"""Manifest parsing: per-series options, event bounds, ceilings, and the errors for each."""

from __future__ import annotations

import math

import pytest

from depeg_monitor.model import Severity
from depeg_monitor.replay.manifest import ManifestError, load_manifest, parse_duration

from .conftest import Write

SERIES = '[[series]]\npath = "a.csv"\nvenue = "x"\ncoin = "USDC"\nquote_ccy = "{q}"\n{extra}\n'
EVENT = '[[events]]\ncoin = "USDC"\nstart = "2024-01-01"\nend = "2024-01-02"\n'


def test_series_options_are_read(write_manifest: Write) -> None:
    """invert, the time range, max_quote_age (a duration), where and reference are kept; a
    series without max_quote_age takes the aggregation's."""
    extra = (
        'invert = true\nstart = "2024-01-01T00:00:00Z"\nend = "2024-02-01"\n'
        'max_quote_age = "1h30m"\nwhere = { symbol = "USDC" }\nreference = false\n'
    )
    text = SERIES.format(q="USD", extra=extra) + SERIES.format(q="USD", extra="")
    m = load_manifest(write_manifest(text))
    a, b = m.series
    assert (a.invert, a.max_quote_age, a.where, a.reference) == (
        True,
        5400.0,
        (("symbol", "USDC"),),
        False,
    )
    assert a.end - a.start == 31 * 86400
    assert (b.start, b.end, m.max_quote_age(b)) == (-math.inf, math.inf, 60.0)


def test_event_bounds_per_level_and_ceilings_are_read(write_manifest: Write) -> None:
    """within may bound each level up to expect; a bare duration bounds expect itself."""
    text = (
        SERIES.format(q="USD", extra="")
        + EVENT
        + 'expect = "critical"\nwithin = { minor = "30m", critical = 300 }\nat_most = "critical"\n'
        + EVENT
        + 'expect = "major"\nwithin = "15m"\n'
        + '[[ceilings]]\ncoin = "USDC"\nstart = "2024-02-01"\nend = "2024-03-01"\n'
        + 'at_most = "none"\nnote = "calm"\n'
    )
    m = load_manifest(write_manifest(text))
    first, second = m.events
    assert first.within == (1800.0, None, 300.0)
    assert second.within == (None, 900.0, None)
    assert (first.at_most, second.at_most) == (Severity.CRITICAL, None)
    (ceiling,) = m.ceilings
    assert (ceiling.at_most, ceiling.note) == (Severity.NONE, "calm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (EVENT + 'expect = "minor"\nwithin = { major = "5m" }\n', "at most expect"),
        (EVENT + 'within = "5 minutes"\n', "not a duration"),
        (EVENT + 'expect = "major"\nat_most = "minor"\n', "below expect"),
        (EVENT + 'at_most = "severe"\n', "must be none, minor, major or critical"),
        (EVENT + "expected = 'minor'\n", r"unknown keys \['expected'\]"),
        (EVENT.replace("USDC", "DAI", 1), "no series feeds DAI"),
        ('[[ceilings]]\ncoin = "USDC"\nstart = "2024-01-01"\nend = "2024-01-02"\n', "at_most"),
    ],
)
def test_bad_bounds_are_manifest_errors(write_manifest: Write, text: str, message: str) -> None:
    """Each malformed event or ceiling is refused, naming what is wrong."""
    with pytest.raises(ManifestError, match=message):
        load_manifest(write_manifest(SERIES.format(q="USD", extra="") + text))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("reference = true", "reference = true needs a USD price"),
        ('start = "2024-02-01"\nend = "2024-01-01"', "end must be after start"),
        ("max_quote_age = 0", "max_quote_age must be above zero"),
        ('invert = "yes"', "invert must be true or false"),
        ('where = "symbol"', "where must be a table"),
    ],
)
def test_bad_series_options_are_manifest_errors(
    write_manifest: Write, extra: str, message: str
) -> None:
    """Each malformed series option is refused, naming it."""
    with pytest.raises(ManifestError, match=message):
        load_manifest(write_manifest(SERIES.format(q="USDT", extra=extra)))


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90.0), ("90s", 90.0), ("15m", 900.0), ("1d12h", 129600.0)]
)
def test_durations(value: object, seconds: float) -> None:
    """Numbers are seconds; text takes s, m, h and d units."""
    assert parse_duration(value) == seconds
