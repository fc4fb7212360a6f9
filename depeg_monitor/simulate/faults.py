"""Which fault a venue shows at scenario time t, and how a garbage or poisoned answer is spoiled.

Poisons start from the venue's real answer and spoil its fields where they are, so every venue
keeps its own shape, types and timestamp units; only the body poisons replace the body.
"""

from __future__ import annotations

import functools
import json
import threading
import zlib
from collections.abc import Callable
from typing import Any

from depeg_monitor.simulate.scenario import STREAM_FAULTS, Fault, Scenario

# Fields a parser needs for a price; "missing_fields" garbage removes them wherever they are.
PRICE_KEYS = frozenset(
    {
        "lastPrice",
        "bidPrice",
        "askPrice",
        "price",
        "last",
        "bid",
        "ask",
        "c",
        "a",
        "b",
        "bidPx",
        "askPx",
        "bid1Price",
        "ask1Price",
        "buy",
        "sell",
        "close",
        "usd",
    }
)


# Faults about single markets, and those of the stream alone; they combine with whatever else
# the venue's REST endpoints are doing.
_MARKET_FAULTS = frozenset({"wild_print", "delisted"})
_NOT_REST = _MARKET_FAULTS | STREAM_FAULTS


def active_fault(scenario: Scenario, venue: str, t: float) -> Fault | None:
    """The first REST fault (other than a wild print or delisting) in force at this venue."""
    for f in scenario.faults:
        if f.venue == venue and f.kind not in _NOT_REST and f.active(t):
            return f
    return None


def stream_faults(scenario: Scenario, venue: str) -> list[tuple[int, Fault]]:
    """The faults that touch this venue's stream (its own and `down`), by index."""
    return [
        (i, f)
        for i, f in enumerate(scenario.faults)
        if f.venue == venue and (f.kind in STREAM_FAULTS or f.kind == "down")
    ]


def delisted_markets(scenario: Scenario, venue: str, t: float) -> frozenset[str]:
    """Markets taken off this venue at scenario time t (listed again once the window ends)."""
    return frozenset(
        m
        for f in scenario.faults
        if f.venue == venue and f.kind == "delisted" and f.active(t)
        for m in f.markets
    )


def strip_price_fields(body: Any) -> Any:
    """The same answer with every price field removed, at any depth."""
    if isinstance(body, dict):
        return {k: strip_price_fields(v) for k, v in body.items() if k not in PRICE_KEYS}
    if isinstance(body, list):
        return [strip_price_fields(v) for v in body]
    return body


def malformed(body: Any) -> str:
    """The answer's JSON cut off half-way, as a dropped proxy connection leaves it."""
    text = json.dumps(body, separators=(",", ":"))
    return text[: max(1, len(text) // 2)]


HTML_ERROR = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


# -- poisons -----------------------------------------------------------------------------------

# 24 h volume fields of every venue (Kraken's `v` is [today, 24 h]; Gemini's `volume` an object).
VOLUME_KEYS = frozenset(
    {
        "volume",
        "quoteVolume",
        "v",
        "vol24h",
        "volCcy24h",
        "volume24h",
        "turnover24h",
        "vol",
        "volValue",
        "usd_24h_vol",
    }
)
# Exchange timestamps, in whatever unit the venue writes them (ISO, ms or s; string or number).
TIME_KEYS = frozenset(
    {
        "openTime",
        "closeTime",
        "serverTime",
        "time",
        "timestamp",
        "ts",
        "listTime",
        "last_updated_at",
    }
)
FAR_FUTURE = 253402300799  # 9999-12-31T23:59:59Z, epoch seconds
FAR_FUTURE_ISO = "9999-12-31T23:59:59Z"
NEGATIVE_VOLUME = "-13779365.5"
HUGE_NUMBER = int("9" * 400)  # json.dumps writes it as a 400-digit number literal
_MS_THRESHOLD = 1e11  # larger epoch values are milliseconds (seconds pass 1e11 in year 5138)


def _kept(v: Any) -> bool:
    return v is None or isinstance(v, bool) or v == ""


def _nan(v: Any) -> Any:
    # JSON has no NaN literal; venues that send NaN send it as a string, even CoinGecko.
    return v if _kept(v) else "NaN"


def _negative(v: Any) -> Any:
    if _kept(v):
        return v
    return NEGATIVE_VOLUME if isinstance(v, str) else float(NEGATIVE_VOLUME)


def _zero(v: Any) -> Any:
    if _kept(v):
        return v
    return "0" if isinstance(v, str) else type(v)(0)  # CoinGecko's 1.0 becomes 0.0


def _huge(v: Any) -> Any:
    return v if _kept(v) else HUGE_NUMBER


def _future(v: Any) -> Any:
    """The far future in the unit and type of the original timestamp."""
    if _kept(v):
        return v
    if isinstance(v, int | float):
        return FAR_FUTURE * 1000 if v > _MS_THRESHOLD else FAR_FUTURE
    if isinstance(v, str):
        if "T" in v:
            return FAR_FUTURE_ISO
        try:
            ms = float(v) > _MS_THRESHOLD
        except ValueError:
            return v
        return str(FAR_FUTURE * 1000 if ms else FAR_FUTURE)
    return v


# mode → (keys spoiled, what each value becomes, whether a list holds one price first)
_POISONS: dict[str, tuple[frozenset[str], Callable[[Any], Any], bool]] = {
    "nan_volume": (VOLUME_KEYS, _nan, False),
    "negative_volume": (VOLUME_KEYS, _negative, False),
    "future_timestamp": (TIME_KEYS, _future, False),
    "zero_price": (PRICE_KEYS, _zero, True),
    "huge_number": (PRICE_KEYS, _huge, True),
}


def _apply(value: Any, leaf: Callable[[Any], Any], first_only: bool) -> Any:
    if isinstance(value, list):
        # Kraken's a/b/c are [price, lot volume, …]: only the price is spoiled.
        if first_only:
            return [leaf(value[0]), *value[1:]] if value else value
        return [leaf(v) for v in value]
    if isinstance(value, dict):
        # Gemini's volume: {BASE: …, QUOTE: …, timestamp}; the timestamp is not a volume.
        return {k: v if k == "timestamp" else leaf(v) for k, v in value.items()}
    return leaf(value)


def poison_fields(body: Any, mode: str, names: frozenset[str] | None = None) -> Any:
    """The answer with `mode`'s fields spoiled wherever they are.

    names (upper-case spellings) limits it to the rows of those markets: an object is a
    market's row if one of its values, or its key in the parent (Kraken, CoinGecko), is one.
    None spoils the whole answer.
    """
    keys, leaf, first_only = _POISONS[mode]

    def walk(x: Any, inside: bool) -> Any:
        if isinstance(x, dict):
            row = inside or any(isinstance(v, str) and v.upper() in names_ for v in x.values())
            out: dict[str, Any] = {}
            for k, v in x.items():
                here = row or k.upper() in names_
                out[k] = _apply(v, leaf, first_only) if here and k in keys else walk(v, here)
            return out
        if isinstance(x, list):
            return [walk(v, inside) for v in x]
        return x

    names_ = names or frozenset()
    return walk(body, names is None)


DEEP_NESTING_DEPTH = 100_000


@functools.cache
def deep_nesting() -> bytes:
    """Valid JSON nested far past any recursive parser's stack: [[[…]]]."""
    return b"[" * DEEP_NESTING_DEPTH + b"]" * DEEP_NESTING_DEPTH


BOMB_INFLATED = 1 << 30  # bytes of zeros the bomb inflates to
_BOMB_LOCK = threading.Lock()


@functools.cache
def _build_gzip_bomb() -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member, header and trailer
    chunk = bytes(1 << 20)
    parts = [z.compress(chunk) for _ in range(BOMB_INFLATED // len(chunk))]
    parts.append(z.flush())
    return b"".join(parts)


def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zero bytes.

    Built on first use (a few seconds of CPU: call it off the event loop) and kept in memory.
    """
    with _BOMB_LOCK:
        return _build_gzip_bomb()


ENDLESS_CHUNK = b'{"a":1},' * (64 * 1024 // 8)  # 64 KiB of array items, never closed
