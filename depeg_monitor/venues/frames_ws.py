"""What every stream module shares: reading a text frame, its figures and times, making the
Quote, and cutting subscriptions into messages and connections at a venue's caps.

A frame is judged strictly where the REST readers (fields.py) are lenient, because a streamed
quote is priced at once: a Quote made here has a finite, positive price (the last trade where
the frame carries one, else the bid/ask midpoint), book sides that are finite and positive or
None, volumes finite and non-negative or None, and a finite, positive exchange time or None.
Anything unreadable raises VenueError(MALFORMED), never another exception.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.fields import describe, iso, optional, quote, text_of
from depeg_monitor.venues.stream import Connection

MS = 1_000
US = 1_000_000
NS = 1_000_000_000


def malformed(detail: str) -> VenueError:
    return VenueError(ErrorKind.MALFORMED, detail)


def load_frame(text: str) -> Any:
    """The decoded frame; broken JSON, nesting beyond the recursion limit and integers of more
    digits than int() accepts are all malformed."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise malformed("frame is not JSON") from None


def frame_object(text: str) -> dict[str, Any]:
    """The decoded frame, which must be a JSON object."""
    value = load_frame(text)
    if not isinstance(value, dict):
        raise malformed(f"frame is {describe(value)}, not an object")
    return value


def obj(value: Any, what: str) -> dict[str, Any]:
    """`value` if it is an object; otherwise the frame is malformed."""
    if not isinstance(value, dict):
        raise malformed(f"{what} is not an object")
    return value


def seq(value: Any, what: str) -> list[Any]:
    """`value` if it is a list; otherwise the frame is malformed."""
    if not isinstance(value, list):
        raise malformed(f"{what} is not a list")
    return value


def name(value: Any) -> str | None:
    """A non-empty string, else None (a key of any other type never matches a market)."""
    return value if isinstance(value, str) and value else None


def ref(value: Any) -> str | None:
    """A message id as text (sent as a string or a number), else None."""
    text = text_of(value, 40)
    return text or None


def positive(value: Any) -> float | None:
    """A finite, positive figure, else None (absent, junk, NaN/inf, zero or negative)."""
    v = optional(value)
    return v if v is not None and math.isfinite(v) and v > 0 else None


def amount(value: Any) -> float | None:
    """A volume: finite and non-negative, else None."""
    v = optional(value)
    return v if v is not None and math.isfinite(v) and v >= 0 else None


def epoch(value: Any, per_second: int) -> float | None:
    """A time counted in 1/per_second of a second (ms, µs, ns; a number or a digit string) as
    epoch seconds; None unless finite and positive. Integers are divided exactly, so
    nanoseconds beyond a float's 53 bits keep their microseconds."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 30:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            t = value / per_second
        except OverflowError:
            return None
    else:
        v = optional(value)
        t = v / per_second if v is not None else math.nan
    return t if math.isfinite(t) and t > 0 else None


def rfc3339(value: Any) -> float | None:
    """An RFC 3339 / ISO-8601 time as epoch seconds; None unless readable and positive."""
    t = iso(value)
    return t if t is not None and math.isfinite(t) and t > 0 else None


def _side(value: Any, what: str, needed: bool) -> float | None:
    """A book side: None when absent (an empty side of the book); unreadable is malformed only
    when the price needs it."""
    if value is None:
        return None
    v = positive(value)
    if v is None and needed:
        raise malformed(f"{what} is not a positive number: {describe(value)}")
    return v


def stream_quote(
    venue: str,
    market: str,
    received: float,
    *,
    last: Any = None,
    bid: Any = None,
    ask: Any = None,
    volume_base: Any = None,
    volume_quote: Any = None,
    ts_exchange: float | None = None,
) -> Quote | None:
    """The Quote of one frame's figures (raw values as sent), or None when the frame has no
    price to give: no last and a side of the book empty.

    price = last where given (it must then be a finite, positive number), else the bid/ask
    midpoint (both sides must then be); a side, a volume or a time that cannot be read
    alongside a last trade is left out (None) rather than failing the frame.
    """
    has_last = last is not None and last != ""
    b = _side(bid, "bid", not has_last)
    a = _side(ask, "ask", not has_last)
    if has_last:
        price = positive(last)
        if price is None:
            raise malformed(f"last is not a positive number: {describe(last)}")
    elif b is not None and a is not None:
        price = (b + a) / 2
    else:
        return None
    return quote(
        venue,
        market,
        received,
        price=price,
        bid=b,
        ask=a,
        volume_base=amount(volume_base),
        volume_quote=amount(volume_quote),
        ts_exchange=ts_exchange,
    )


def best(levels: Any, what: str) -> Any:
    """The price of the first [price, size] level (None for an empty side of the book)."""
    rows = seq(levels, what)
    if not rows:
        return None
    level = seq(rows[0], f"{what}[0]")
    if not level:
        raise malformed(f"{what}[0] is empty")
    return level[0]


def dumps(message: Any) -> str:
    """A message as compact JSON text, the way the venues' own examples write them."""
    return json.dumps(message, separators=(",", ":"))


def batches(
    items: Sequence[str],
    most: int,
    size: Callable[[Sequence[str]], int] | None = None,
    limit: int = 0,
) -> list[tuple[str, ...]]:
    """`items` in order, cut into runs of at most `most` items and, where `size` is given,
    of size(run) ≤ `limit` (an item too big on its own still gets its run)."""
    out: list[tuple[str, ...]] = []
    run: list[str] = []
    for item in items:
        bigger = [*run, item]
        if run and (len(bigger) > most or (size is not None and size(bigger) > limit)):
            out.append(tuple(run))
            bigger = [item]
        run = bigger
    if run:
        out.append(tuple(run))
    return out


def plan(
    url: str,
    per_connection: list[tuple[str, ...]],
    split: Callable[[Sequence[str]], list[tuple[str, ...]]],
    render: Callable[[str, tuple[str, ...]], str],
) -> list[Connection]:
    """One Connection per group of spellings, its subscribe messages `split` from the group and
    written by render(id, spellings); ids are 1, 2, … on each connection (Connection.acks)."""
    out = []
    for symbols in per_connection:
        runs = split(symbols)
        ids = [str(i) for i in range(1, len(runs) + 1)]
        out.append(
            Connection(
                url,
                tuple(render(i, run) for i, run in zip(ids, runs, strict=True)),
                symbols,
                dict(zip(ids, runs, strict=True)),
            )
        )
    return out


def present(row: dict[str, Any], *fields: str) -> dict[str, Any]:
    """`row`, which must carry every one of `fields` (a book ticker without a side is not one)."""
    for f in fields:
        if row.get(f) is None:
            raise malformed(f"{f} missing")
    return row
