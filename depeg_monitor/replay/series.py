"""Read one historical price file into Quotes, the way a live poll would have seen them.

Real files are uneven: trade-based minute files skip minutes without trades, kline files
repeat the last price with zero volume, and some rows are unusable. A zero-volume bar is no
new information, so it yields no quote (the previous quote simply ages, as it would live);
unusable rows are counted, not fatal. Per-bar volume becomes a trailing 24 h volume, the
figure live venues report.

A series may read its file inverted (a USDC/USDT file fed as USDT/USDC: price 1/price; the
file's base volume is then the fed market's quote volume and the other way round), keep only
rows with start <= timestamp < end (its trailing volume then starts at start), and keep only
rows whose columns hold given values.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from depeg_monitor.model import Quote
from depeg_monitor.replay.manifest import ManifestError, SeriesSpec

_DAY = 86_400.0

Table = tuple[list[str], list[list[str]]]  # a CSV file's header and rows


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


def read_table(path: Path) -> Table:
    """The header and rows of a CSV file; ManifestError if it is missing or empty."""
    if not path.is_file():
        raise ManifestError(f"{path}: no such file")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ManifestError(f"{path}: empty file")
        return header, list(reader)


def load_series(spec: SeriesSpec, table: Table | None = None) -> LoadedSeries:
    """Parse spec.path (or the table already read from it); ManifestError for a missing file
    or column, counts for bad rows."""
    if table is not None:
        return _parse(spec, *table)
    if not spec.path.is_file():
        raise ManifestError(f"{spec.path}: no such file")
    with open(spec.path, newline="") as f:  # streamed: the rows are never all in memory
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ManifestError(f"{spec.path}: empty file")
        return _parse(spec, header, reader)


def _parse(spec: SeriesSpec, header: list[str], rows_in: Iterable[list[str]]) -> LoadedSeries:
    cols = {name.strip(): i for i, name in enumerate(header)}
    for col in (spec.timestamp, spec.price, spec.volume, *(k for k, _ in spec.where)):
        if col is not None and col not in cols:
            raise ManifestError(f"{spec.path}: no column '{col}' (columns: {', '.join(header)})")
    it, ip = cols[spec.timestamp], cols[spec.price]
    iv = cols[spec.volume] if spec.volume is not None else None
    filters = [(cols[k], v) for k, v in spec.where]
    parse_ts = _timestamp_parser(spec.timestamp_format)
    bar, invert, start, end = spec.bar_seconds, spec.invert, spec.start, spec.end
    # The file's base volume is the fed market's base volume, unless the pair is inverted.
    base_unit = (spec.volume_unit == "base") != invert

    quotes: list[Quote] = []
    window: deque[tuple[float, float]] = deque()
    vol24 = 0.0
    rows = zero = bad = 0
    last_ts = -math.inf
    for row in rows_in:
        if filters and not all(i < len(row) and row[i] == v for i, v in filters):
            continue
        try:
            opened = parse_ts(row[it])
            price = float(row[ip])
            vol = float(row[iv]) if iv is not None else None
        except (ValueError, IndexError):
            rows += 1
            bad += 1
            continue
        if not start <= opened < end:
            continue
        rows += 1
        ts = opened + bar
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
                1.0 / price if invert else price,
                None,
                None,
                v if base_unit else None,
                None if base_unit else v,
                ts,
                ts,
            )
        )
    return LoadedSeries(spec, tuple(quotes), rows, zero, bad)


def load_all(specs: tuple[SeriesSpec, ...]) -> list[LoadedSeries]:
    """Every series, each file read once however many series read it."""
    uses: dict[Path, int] = {}
    for s in specs:
        uses[s.path] = uses.get(s.path, 0) + 1
    tables: dict[Path, Table] = {}
    out: list[LoadedSeries] = []
    for s in specs:
        if uses[s.path] == 1:
            out.append(load_series(s))
            continue
        if s.path not in tables:
            tables[s.path] = read_table(s.path)
        out.append(load_series(s, tables[s.path]))
    return out
