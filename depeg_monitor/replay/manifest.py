"""A replay manifest: which historical files to feed, how to read them, and the ground truth.

```toml
title = "USDC / SVB"
assume_rates = { USDT = 1.0 }     # optional: only for data with no USD market for a quote coin
[settings]                        # optional: same tables as the configuration file
aggregation = { min_venues = 2 }
[[series]]
path = "../../shared/history/usdc-svb-2023-03/kraken_usdcusd_1m.csv"  # relative to this file
venue = "kraken"
coin = "USDC"
quote_ccy = "USD"
timestamp = "timestamp"           # column; timestamp_format = "iso" | "unix" | "unix_ms"
price = "close"
volume = "volume_usdc"            # optional per-bar volume; volume_unit = "base" | "quote"
bar_seconds = 60                  # a bar's price is known at its end (timestamp + bar_seconds)
[[events]]
coin = "USDC"
start = "2023-03-10T00:00:00Z"
end = "2023-03-14T00:00:00Z"
expect = "critical"               # minimum severity the detector should reach
```
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class EventSpec:
    coin: str
    start: float
    end: float
    expect: Severity
    note: str = ""


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    title: str
    settings: Settings
    series: tuple[SeriesSpec, ...]
    events: tuple[EventSpec, ...]
    assume_rates: dict[str, float]


def parse_time(text: str) -> float:
    """ISO-8601 to UTC epoch seconds; a time without a zone is UTC."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ManifestError(f"{where}: missing '{key}'")
    return table[key]


def _series(i: int, t: dict[str, Any], base: Path) -> SeriesSpec:
    where = f"series[{i}]"
    known = {
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
    }
    unknown = set(t) - known
    if unknown:
        raise ManifestError(f"{where}: unknown keys {sorted(unknown)}")
    fmt = t.get("timestamp_format", "iso")
    if fmt not in ("iso", "unix", "unix_ms"):
        raise ManifestError(f"{where}: timestamp_format must be iso, unix or unix_ms")
    unit = t.get("volume_unit", "base")
    if unit not in ("base", "quote"):
        raise ManifestError(f"{where}: volume_unit must be base or quote")
    bar = float(t.get("bar_seconds", 60))
    if bar < 0:
        raise ManifestError(f"{where}: bar_seconds must not be negative")
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
    )


def _event(i: int, t: dict[str, Any]) -> EventSpec:
    where = f"events[{i}]"
    try:
        start = parse_time(str(_need(t, "start", where)))
        end = parse_time(str(_need(t, "end", where)))
        expect = Severity.parse(str(t.get("expect", "minor")))
    except (ValueError, KeyError) as e:
        raise ManifestError(f"{where}: {e}") from None
    if end <= start:
        raise ManifestError(f"{where}: end must be after start")
    if expect == Severity.NONE:
        raise ManifestError(f"{where}: expect must be minor, major or critical")
    return EventSpec(
        str(_need(t, "coin", where)).upper(), start, end, expect, str(t.get("note", ""))
    )


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
    return Manifest(p, str(data.get("title", p.stem)), settings, series, events, assume)
