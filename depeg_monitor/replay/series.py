"""Read one historical price file into Quotes, the way a live poll would have seen them.

Real files are uneven: trade-based minute files skip minutes without trades, kline files
repeat the last price with zero volume, and some rows are unusable. A zero-volume bar is no
new information, so it yields no quote (the previous quote simply ages, as it would live);
unusable rows are counted, not fatal. Per-bar volume becomes a trailing 24 h volume, the
figure live venues report.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from depeg_monitor.model import Quote
from depeg_monitor.replay.manifest import ManifestError, SeriesSpec

_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class LoadedSeries:
    spec: SeriesSpec
    quotes: tuple[Quote, ...]  # in time order, ts = end of bar
    rows: int
    zero_volume: int
    bad_rows: int


def _timestamp_parser(fmt: str) -> Callable[[str], float]:
    if fmt == "unix":
        return float
    if fmt == "unix_ms":
        return lambda s: float(s) / 1000.0

    def iso(s: str) -> float:
        dt = datetime.fromisoformat(s)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()

    return iso


def load_series(spec: SeriesSpec) -> LoadedSeries:
    """Parse spec.path; ManifestError for a missing file or column, counts for bad rows."""
    if not spec.path.is_file():
        raise ManifestError(f"{spec.path}: no such file")
    with open(spec.path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ManifestError(f"{spec.path}: empty file")
        cols = {name.strip(): i for i, name in enumerate(header)}
        for col in (spec.timestamp, spec.price, spec.volume):
            if col is not None and col not in cols:
                raise ManifestError(
                    f"{spec.path}: no column '{col}' (columns: {', '.join(header)})"
                )
        it, ip = cols[spec.timestamp], cols[spec.price]
        iv = cols[spec.volume] if spec.volume is not None else None
        parse_ts = _timestamp_parser(spec.timestamp_format)
        bar = spec.bar_seconds
        base_unit = spec.volume_unit == "base"

        quotes: list[Quote] = []
        window: deque[tuple[float, float]] = deque()
        vol24 = 0.0
        rows = zero = bad = 0
        last_ts = -math.inf
        for row in reader:
            rows += 1
            try:
                ts = parse_ts(row[it]) + bar
                price = float(row[ip])
                vol = float(row[iv]) if iv is not None else None
            except (ValueError, IndexError):
                bad += 1
                continue
            if not (price > 0 and math.isfinite(price)) or ts <= last_ts:
                bad += 1
                continue
            if vol is not None:
                if not (vol >= 0 and math.isfinite(vol)):
                    bad += 1
                    continue
                if vol == 0:
                    zero += 1
                    continue
                window.append((ts, vol))
                vol24 += vol
                while window[0][0] <= ts - _DAY:
                    vol24 -= window.popleft()[1]
            last_ts = ts
            v = None if vol is None else max(vol24, 0.0)
            quotes.append(
                Quote(
                    spec.venue,
                    spec.coin,
                    spec.quote_ccy,
                    price,
                    None,
                    None,
                    v if base_unit else None,
                    None if base_unit else v,
                    ts,
                    ts,
                )
            )
    return LoadedSeries(spec, tuple(quotes), rows, zero, bad)
