"""Reading the fields of a decoded answer: numbers, times, objects and lists, and a ticker
object as a Quote.

Whatever shape a field arrives in, a reader either returns a sane value or raises VenueError
(MALFORMED); messages describe values briefly and never repr a whole answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import ErrorKind, VenueError, split_market


def _float(value: Any) -> float:
    """float(value), with an integer too large for a float as the infinity it stands for
    (exactly what float() already makes of the string "1e400"). Raises TypeError/ValueError."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    try:
        return float(value)
    except OverflowError:
        if isinstance(value, int):
            return math.inf if value > 0 else -math.inf
        raise ValueError("not representable") from None


def describe(value: Any, limit: int = 40) -> str:
    """A short, safe description of a value for an error message (never a deep repr)."""
    if isinstance(value, str):
        return repr(value[:limit])
    if isinstance(value, (bool, int, float)) or value is None:
        return text_of(value, limit)
    return f"a {type(value).__name__}"


def text_of(value: Any, limit: int = 120) -> str:
    """A venue's code or message as short text: strings and numbers only, anything else "".

    str() of an arbitrary answer could be megabytes or recurse too deep; a code sent as a
    number (0 for "0") is read the same as its string.
    """
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (bool, int, float)):
        try:
            return str(value)[:limit]
        except ValueError:  # an int beyond int→str's digit limit
            return ""
    return ""


def number(value: Any, what: str) -> float:
    """A required numeric field (exchanges send strings); NaN/inf pass, for quality checks."""
    if isinstance(value, bool) or value is None:
        raise VenueError(ErrorKind.MALFORMED, f"{what} missing")
    try:
        return _float(value)
    except (TypeError, ValueError):
        raise VenueError(
            ErrorKind.MALFORMED, f"{what} is not a number: {describe(value)}"
        ) from None


def optional(value: Any) -> float | None:
    """An optional numeric field: empty string, null or junk become None; NaN/inf pass."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return _float(value)
    except (TypeError, ValueError):
        return None


def ms(value: Any) -> float | None:
    """An optional time in milliseconds, as seconds."""
    v = optional(value)
    return v / 1000.0 if v is not None else None


def iso(value: Any) -> float | None:
    """An ISO-8601 time; one without an offset is UTC (not this host's local time)."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def field_of(obj: Any, key: str) -> Any:
    """obj[key] (None if absent) when obj is an object; otherwise the answer is malformed."""
    if not isinstance(obj, dict):
        raise VenueError(ErrorKind.MALFORMED, f"expected an object around {key!r}")
    return obj.get(key)


def envelope(obj: Any) -> dict[str, Any]:
    """obj if it is an object, else {}: for reading an error envelope that may be anything."""
    return obj if isinstance(obj, dict) else {}


def list_of(value: Any, what: str) -> list[Any]:
    """`value` if it is a list; otherwise the answer is malformed."""
    if not isinstance(value, list):
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not a list")
    return value


def quote(
    venue: str,
    market: str,
    received: float,
    *,
    price: float,
    bid: float | None = None,
    ask: float | None = None,
    volume_base: float | None = None,
    volume_quote: float | None = None,
    ts_exchange: float | None = None,
) -> Quote:
    """The Quote of one market's figures, its coin and quote currency taken from `market`."""
    base, quote_ccy = split_market(market)
    return Quote(
        venue=venue,
        coin=base,
        quote_ccy=quote_ccy,
        price=price,
        bid=bid,
        ask=ask,
        volume_base_24h=volume_base,
        volume_quote_24h=volume_quote,
        ts_exchange=ts_exchange,
        ts_received=received,
    )


@dataclass(frozen=True, slots=True)
class TickerFields:
    """Where a venue's ticker object keeps each figure (None: the venue does not send it)."""

    price: str
    bid: str | None = None
    ask: str | None = None
    volume_base: str | None = None
    volume_quote: str | None = None
    ts: str | None = None  # the exchange's time of this ticker, read with ts_parser
    ts_parser: Callable[[Any], float | None] = ms


def ticker_quote(
    venue: str,
    market: str,
    received: float,
    row: Any,
    fields: TickerFields,
    ts_exchange: float | None = None,
) -> Quote:
    """One ticker object as a Quote; `ts_exchange` stands in when the row has no time field."""
    price = number(field_of(row, fields.price), fields.price)

    def opt(name: str | None) -> float | None:
        return optional(row.get(name)) if name is not None else None

    return quote(
        venue,
        market,
        received,
        price=price,
        bid=opt(fields.bid),
        ask=opt(fields.ask),
        volume_base=opt(fields.volume_base),
        volume_quote=opt(fields.volume_quote),
        ts_exchange=fields.ts_parser(row.get(fields.ts)) if fields.ts else ts_exchange,
    )
