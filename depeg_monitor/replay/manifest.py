"""A replay manifest: which historical files to feed, how to read them, and the ground truth.

```toml
title = "USDC / SVB"
assume_rates = { USDT = 1.0 }     # optional: only for data with no USD market for a quote coin
[settings]                        # optional: same tables as the configuration file
aggregation = { min_venues = 2 }
[[series]]
path = "../../shared/history/usdc-svb-2023-03/kraken_usdcusd_1m.csv"  # relative to this file
venue = "kraken"
coin = "USDC"                     # the market as fed: coin priced in quote_ccy
quote_ccy = "USD"
timestamp = "timestamp"           # column; timestamp_format = "iso" | "unix" | "unix_ms"
price = "close"
volume = "volume_usdc"            # optional per-bar volume; volume_unit = "base" | "quote",
                                  # the unit of the file's own pair (before any invert)
bar_seconds = 60                  # a bar's price is known at its end (timestamp + bar_seconds)
invert = false                    # true: the file holds the opposite pair (USDT/USDC fed from a
                                  # USDC/USDT file): price becomes 1/price, volumes swap sides
start = "2023-03-01T00:00:00Z"    # optional: only rows with start <= timestamp < end
end = "2023-03-22T00:00:00Z"
max_quote_age = 300               # optional: seconds this series' last quote stays fresh
                                  # (default: [settings.aggregation] max_quote_age)
where = { symbol = "DAI" }        # optional: only rows whose columns hold these values
reference = true                  # counts for the ground truth (default: USD-quoted, or quoted
                                  # in a coin of assume_rates); see replay/truth.py
[[events]]                        # the market left the peg: the detector must say so
                                  # (windows, like ranges, hold start <= t < end)
coin = "USDC"
start = "2023-03-10T22:00:00Z"
end = "2023-03-14T00:00:00Z"
expect = "critical"               # at least this severity inside the window …
within = "5m"                     # … this soon after the reference data held it (optional;
                                  # or per level: { minor = "30m", critical = "5m" })
at_most = "critical"              # never above this inside the window (optional)
[[ceilings]]                      # a stretch where the market stayed calm (no event)
coin = "USDC"
start = "2023-03-01T00:00:00Z"
end = "2023-03-10T00:00:00Z"
at_most = "none"                  # no alert above this severity inside the window
```
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from depeg_monitor.config import Settings
from depeg_monitor.model import Severity


class ManifestError(Exception):
    """The manifest or one of its files cannot be used; the message says where and why."""


TimestampFormat = Literal["iso", "unix", "unix_ms"]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    path: Path
    venue: str
    coin: str
    quote_ccy: str
    timestamp: str
    timestamp_format: TimestampFormat
    price: str
    volume: str | None
    volume_unit: Literal["base", "quote"]
    bar_seconds: float
    invert: bool = False
    start: float = -math.inf
    end: float = math.inf
    max_quote_age: float | None = None  # None: the aggregation's max_quote_age
    where: tuple[tuple[str, str], ...] = ()
    reference: bool | None = None  # None: decided by the quote currency (see replay/truth.py)

    @property
    def market(self) -> str:
        return f"{self.venue} {self.coin}/{self.quote_ccy}"


@dataclass(frozen=True, slots=True)
class EventSpec:
    coin: str
    start: float
    end: float
    expect: Severity
    note: str = ""
    # Seconds after the reference data held each level (minor, major, critical) by which an
    # alert of at least that level must come; None: no bound.
    within: tuple[float | None, float | None, float | None] = (None, None, None)
    at_most: Severity | None = None


@dataclass(frozen=True, slots=True)
class CeilingSpec:
    coin: str
    start: float
    end: float
    at_most: Severity
    note: str = ""


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    title: str
    settings: Settings
    series: tuple[SeriesSpec, ...]
    events: tuple[EventSpec, ...]
    assume_rates: dict[str, float]
    ceilings: tuple[CeilingSpec, ...] = ()

    def max_quote_age(self, spec: SeriesSpec) -> float:
        """How long the series' last quote counts as fresh."""
        if spec.max_quote_age is not None:
            return spec.max_quote_age
        return self.settings.aggregation.max_quote_age


def parse_time(text: str) -> float:
    """ISO-8601 to UTC epoch seconds; a time without a zone is UTC."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(value: object) -> float:
    """Seconds from a number or a text like '90s', '15m', '2h', '1d12h'; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        t = str(value).strip().lower()
        parts = _DURATION.findall(t)
        if not parts or "".join(n + u for n, u in parts) != t:
            raise ValueError(f"not a duration: {value!r} (seconds, or e.g. 15m, 2h)")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not 0 <= seconds < math.inf:
        raise ValueError(f"a duration is zero or more seconds, not {value!r}")
    return seconds


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ManifestError(f"{where}: missing '{key}'")
    return table[key]


def _check_keys(t: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(t) - known
    if unknown:
        raise ManifestError(f"{where}: unknown keys {sorted(unknown)}")


def _time(t: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in t and default is not None:
        return default
    try:
        return parse_time(str(_need(t, key, where)))
    except ValueError as e:
        raise ManifestError(f"{where}: {key}: {e}") from None


def _severity(t: dict[str, Any], key: str, where: str, default: str | None = None) -> Severity:
    text = t.get(key, default)
    if text is None:
        raise ManifestError(f"{where}: missing '{key}'")
    try:
        return Severity.parse(str(text))
    except KeyError:
        raise ManifestError(
            f"{where}: {key} must be none, minor, major or critical, not {text!r}"
        ) from None


_SERIES_KEYS = {
    "path",
    "venue",
    "coin",
    "quote_ccy",
    "timestamp",
    "timestamp_format",
    "price",
    "volume",
    "volume_unit",
    "bar_seconds",
    "invert",
    "start",
    "end",
    "max_quote_age",
    "where",
    "reference",
}


def _series(i: int, t: dict[str, Any], base: Path) -> SeriesSpec:
    where = f"series[{i}]"
    _check_keys(t, _SERIES_KEYS, where)
    fmt = t.get("timestamp_format", "iso")
    if fmt not in ("iso", "unix", "unix_ms"):
        raise ManifestError(f"{where}: timestamp_format must be iso, unix or unix_ms")
    unit = t.get("volume_unit", "base")
    if unit not in ("base", "quote"):
        raise ManifestError(f"{where}: volume_unit must be base or quote")
    bar = float(t.get("bar_seconds", 60))
    if bar < 0:
        raise ManifestError(f"{where}: bar_seconds must not be negative")
    for flag in ("invert", "reference"):
        if flag in t and not isinstance(t[flag], bool):
            raise ManifestError(f"{where}: {flag} must be true or false")
    start = _time(t, "start", where, -math.inf)
    end = _time(t, "end", where, math.inf)
    if end <= start:
        raise ManifestError(f"{where}: end must be after start")
    age: float | None = None
    if "max_quote_age" in t:
        try:
            age = parse_duration(t["max_quote_age"])
        except ValueError as e:
            raise ManifestError(f"{where}: max_quote_age: {e}") from None
        if age <= 0:
            raise ManifestError(f"{where}: max_quote_age must be above zero")
    filters = t.get("where", {})
    if not isinstance(filters, dict):
        raise ManifestError(f"{where}: where must be a table of column = value")
    return SeriesSpec(
        path=(base / str(_need(t, "path", where))).resolve(),
        venue=str(_need(t, "venue", where)).lower(),
        coin=str(_need(t, "coin", where)).upper(),
        quote_ccy=str(_need(t, "quote_ccy", where)).upper(),
        timestamp=str(t.get("timestamp", "timestamp")),
        timestamp_format=fmt,
        price=str(t.get("price", "close")),
        volume=str(t["volume"]) if t.get("volume") else None,
        volume_unit=unit,
        bar_seconds=bar,
        invert=bool(t.get("invert", False)),
        start=start,
        end=end,
        max_quote_age=age,
        where=tuple((str(k), str(v)) for k, v in filters.items()),
        reference=t.get("reference"),
    )


def _window(t: dict[str, Any], where: str) -> tuple[str, float, float]:
    start = _time(t, "start", where)
    end = _time(t, "end", where)
    if end <= start:
        raise ManifestError(f"{where}: end must be after start")
    return str(_need(t, "coin", where)).upper(), start, end


def _event(i: int, t: dict[str, Any]) -> EventSpec:
    where = f"events[{i}]"
    _check_keys(t, {"coin", "start", "end", "expect", "within", "at_most", "note"}, where)
    coin, start, end = _window(t, where)
    expect = _severity(t, "expect", where, "minor")
    if expect == Severity.NONE:
        raise ManifestError(f"{where}: expect must be minor, major or critical")
    within = _within(t.get("within"), expect, where)
    at_most = _severity(t, "at_most", where) if "at_most" in t else None
    if at_most is not None and at_most < expect:
        raise ManifestError(f"{where}: at_most ({at_most.label}) is below expect")
    return EventSpec(coin, start, end, expect, str(t.get("note", "")), within, at_most)


def _within(
    value: object, expect: Severity, where: str
) -> tuple[float | None, float | None, float | None]:
    """A duration bounds `expect`; a table bounds each level it names, none above expect."""
    bounds: list[float | None] = [None, None, None]
    if value is None:
        return (None, None, None)
    table = value if isinstance(value, dict) else {expect.label: value}
    for name, v in table.items():
        level = _severity({"within": name}, "within", where)
        if level == Severity.NONE or level > expect:
            raise ManifestError(
                f"{where}: within.{name}: a bound is for minor, major or critical, at most "
                f"expect ({expect.label})"
            )
        try:
            bounds[level - 1] = parse_duration(v)
        except ValueError as e:
            raise ManifestError(f"{where}: within.{name}: {e}") from None
    return (bounds[0], bounds[1], bounds[2])


def _ceiling(i: int, t: dict[str, Any]) -> CeilingSpec:
    where = f"ceilings[{i}]"
    _check_keys(t, {"coin", "start", "end", "at_most", "note"}, where)
    coin, start, end = _window(t, where)
    at_most = _severity(t, "at_most", where)
    return CeilingSpec(coin, start, end, at_most, str(t.get("note", "")))


def load_manifest(path: str | Path, routing: Settings | None = None) -> Manifest:
    """Read and check a manifest; every problem is a ManifestError naming the spot.

    routing, when given, supplies the channels and alert routes (quiet hours included) of a
    real configuration, so the report says which channel would have heard each message.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ManifestError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{p}: not valid TOML: {e}") from None
    base = p.resolve().parent
    raw_series = data.get("series") or []
    if not raw_series:
        raise ManifestError(f"{p}: no [[series]]")
    series = tuple(_series(i, t, base) for i, t in enumerate(raw_series))
    events = tuple(_event(i, t) for i, t in enumerate(data.get("events") or []))
    ceilings = tuple(_ceiling(i, t) for i, t in enumerate(data.get("ceilings") or []))
    fed = {s.coin for s in series}
    windows = [("events", i, e.coin) for i, e in enumerate(events)]
    windows += [("ceilings", i, c.coin) for i, c in enumerate(ceilings)]
    for kind, i, coin in windows:
        if coin not in fed:
            raise ManifestError(f"{p} {kind}[{i}]: no series feeds {coin}")

    overrides: dict[str, Any] = dict(data.get("settings") or {})
    coins: dict[str, Any] = dict(overrides.get("coins") or {})
    for s in series:
        coins.setdefault(s.coin, {})
    overrides["coins"] = coins
    if routing is not None:
        overrides["channels"] = routing.model_dump()["channels"]
        overrides["alerts"] = routing.alerts.model_dump()
    # Every decision is "heard" in a replay unless the manifest routes alerts itself, so the
    # policy's escalations and reminders behave as they would for a watched monitor.
    if not overrides.get("channels"):
        overrides["channels"] = {"replay": {"type": "console"}}
        alerts = dict(overrides.get("alerts") or {})
        alerts.setdefault(
            "routes", {lvl: [{"channels": ["replay"]}] for lvl in ("minor", "major", "critical")}
        )
        overrides["alerts"] = alerts
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
            for err in e.errors(include_url=False, include_input=False)
        )
        raise ManifestError(f"{p} [settings]: {problems}") from None
    assume = {str(k).upper(): float(v) for k, v in (data.get("assume_rates") or {}).items()}
    for i, s in enumerate(series):
        if s.reference and s.quote_ccy != "USD" and s.quote_ccy not in assume:
            raise ManifestError(
                f"{p} series[{i}]: reference = true needs a USD price: {s.quote_ccy} is "
                "neither USD nor in assume_rates"
            )
    title = str(data.get("title", p.stem))
    return Manifest(p, title, settings, series, events, assume, ceilings)
