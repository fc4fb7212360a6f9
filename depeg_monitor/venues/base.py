"""What every venue module provides: request descriptions, parsed answers, classified errors.

A venue module does no I/O. It turns markets into Requests and an HTTP answer (Response) into
Quotes, raising VenueError with a kind the collector knows how to react to.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from depeg_monitor.model import Quote


class ErrorKind(enum.Enum):
    """How a venue's refusal is handled: retried, paused for, or given up on."""

    RATE_LIMITED = "rate-limited"
    BANNED = "banned"
    GEO_BLOCKED = "geo-blocked"
    UNKNOWN_MARKET = "unknown market"
    SERVER_ERROR = "server error"
    CLIENT_ERROR = "client error"
    MALFORMED = "malformed answer"
    TIMEOUT = "timeout"
    NETWORK = "network error"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = {ErrorKind.SERVER_ERROR, ErrorKind.TIMEOUT, ErrorKind.NETWORK, ErrorKind.MALFORMED}


class VenueError(Exception):
    """A classified failure; str() is safe to show (no URLs, no secrets)."""

    def __init__(self, kind: ErrorKind, detail: str = "", retry_after: float | None = None):
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after
        text = kind.value + (f": {detail}" if detail else "")
        if retry_after is not None:
            text += f" (retry after {retry_after:g}s)"
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: the documented path (appended to base_url), its query, and its limiter cost."""

    path: str
    params: tuple[tuple[str, str], ...] = ()
    weight: float = 1.0
    symbols: tuple[str, ...] = ()  # the request spellings it asks for (empty: all / listing)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer as received; headers keys are matched case-insensitively."""

    status: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The venue's documented limit: `limit` request-weight units per `period` seconds."""

    limit: float
    period: float
    note: str = ""


# market → the spelling used in requests (e.g. "USDC/USDT" → "USDCUSDT")
SymbolFn = Callable[[str], str]
# request spellings → the requests that fetch them
RequestsFn = Callable[[Sequence[str]], list[Request]]
# (request, answer, response key → market, received) → quotes; raises VenueError
ParseFn = Callable[[Request, Response, Mapping[str, str], float], list[Quote]]
# listing answer → {request spelling: response key} for every market that trades
ParseListingFn = Callable[[Response], dict[str, str]]


def _same_key(market: str, symbol: str) -> tuple[str, ...]:
    return (symbol,)


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """A venue as data plus a few functions (no class hierarchy)."""

    name: str
    base_url: str
    rate_limit: RateLimit
    paths: tuple[str, ...]  # the documented request paths this module uses
    symbol: SymbolFn
    requests: RequestsFn
    parse: ParseFn
    listing: Request
    parse_listing: ParseListingFn
    # keys a ticker answer may use for a market when the listing is not known (Kraken)
    fallback_keys: Callable[[str, str], tuple[str, ...]] = _same_key
    # The listing request for just these spellings, where the venue can narrow it (Binance's
    # full exchangeInfo is megabytes); None: `listing` for every check.
    listing_for: Callable[[Sequence[str]], Request] | None = None
    # Largest decompressed answer accepted, in bytes: a ticker answer and a listing answer.
    # Sized from the venue's largest real answer with headroom; beyond it the answer is
    # malformed and reading stops (a gzip bomb or an endless body never reaches memory).
    max_body: int = 1 << 20
    listing_max_body: int = 8 << 20
    # The longest wait the venue documents (a ban's maximum); any wait it asks for is clamped.
    max_wait: float = 600.0


# ----------------------------------------------------------------------------- helpers


def split_market(market: str) -> tuple[str, str]:
    base, _, quote = market.partition("/")
    return base, quote


def spelling(sep: str = "", *, lower: bool = False) -> SymbolFn:
    """The symbol function of a venue that writes BASE/QUOTE as BASE{sep}QUOTE."""

    def symbol(market: str) -> str:
        base, quote_ccy = split_market(market)
        text = f"{base}{sep}{quote_ccy}"
        return text.lower() if lower else text

    return symbol


def per_market(template: str, placeholder: str) -> RequestsFn:
    """One request per market, its spelling put into the path (e.g. /ticker/{pair}/)."""

    def requests(symbols: Sequence[str]) -> list[Request]:
        return [Request(template.format(**{placeholder: s}), symbols=(s,)) for s in symbols]

    return requests


def all_at_once(
    path: str,
    params: tuple[tuple[str, str], ...] = (),
    weight: float = 1.0,
    *,
    list_param: str | None = None,
) -> RequestsFn:
    """One request for every market; `list_param` (if any) names them comma-separated, first."""

    def requests(symbols: Sequence[str]) -> list[Request]:
        if not symbols:
            return []
        listed = ((list_param, ",".join(symbols)),) if list_param else ()
        return [Request(path, listed + params, weight, tuple(symbols))]

    return requests


def requested_market(req: Request, keys: Mapping[str, str]) -> str | None:
    """The market a one-market request asked for (None: not one we watch)."""
    return keys.get(req.symbols[0]) if req.symbols else None


def one_ticker(venue: str, check: Callable[[Response], Any], fields: TickerFields) -> ParseFn:
    """The parser of a one-market-per-request venue: check the answer, read one ticker."""

    def parse(
        req: Request, resp: Response, keys: Mapping[str, str], received: float
    ) -> list[Quote]:
        payload = check(resp)
        market = requested_market(req, keys)
        return [] if market is None else [ticker_quote(venue, market, received, payload, fields)]

    return parse


def seconds(raw: str | None, scale: float = 1.0) -> float | None:
    """A header's wait as seconds (`raw` / `scale`): only finite, non-negative figures count."""
    if raw is None:
        return None
    try:
        value = float(raw) / scale
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def retry_after(resp: Response) -> float | None:
    """Retry-After in seconds. The HTTP-date form is ignored (None): the venues here send
    seconds, and a date would have to be read against a clock this module does not have."""
    return seconds(resp.header("Retry-After"))


def rate_limited(resp: Response, detail: str, default: float | None = None) -> VenueError:
    """A rate-limit refusal waiting for Retry-After if sent, else the venue's `default`."""
    wait = retry_after(resp)
    return VenueError(ErrorKind.RATE_LIMITED, detail, wait if wait is not None else default)


def http_error(resp: Response, detail: str = "", wait: float | None = None) -> VenueError | None:
    """The classification every venue shares for non-2xx statuses (None for 2xx); `wait` is
    the venue's documented pause for a 429 that sends no Retry-After."""
    s = resp.status
    if 200 <= s < 300:
        return None
    if s == 429:
        return rate_limited(resp, detail or "HTTP 429", wait)
    if s == 418:
        return VenueError(ErrorKind.BANNED, detail or "HTTP 418", retry_after(resp))
    if s == 451:
        return VenueError(ErrorKind.GEO_BLOCKED, detail or "HTTP 451")
    if s >= 500:
        return VenueError(ErrorKind.SERVER_ERROR, f"HTTP {s}")
    return VenueError(ErrorKind.CLIENT_ERROR, f"HTTP {s}" + (f" {detail}" if detail else ""))


def raise_for_status(resp: Response, detail: str = "", wait: float | None = None) -> None:
    """Raise the shared classification of a non-2xx status; return quietly on 2xx."""
    err = http_error(resp, detail, wait)
    if err is not None:
        raise err


def load_json(resp: Response, wait: float | None = None) -> Any:
    """Decode the body; an undecodable body is classified by its status (a 5xx is a server
    error, a 429 a rate limit of Retry-After or `wait`), and is malformed on 2xx.

    Undecodable includes nesting deeper than Python's recursion limit (RecursionError) and
    integers of more digits than int() accepts (ValueError), not only broken syntax.
    """
    try:
        return json.loads(resp.text)
    except (ValueError, RecursionError):
        err = http_error(resp, wait=wait)
        if err is not None:
            raise err from None
        raise VenueError(ErrorKind.MALFORMED, "body is not JSON") from None


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


def rows_to_quotes(
    venue: str,
    rows: Iterable[Any],
    keys: Mapping[str, str],
    received: float,
    fields: TickerFields,
    *,
    key_field: str,
    ts_exchange: float | None = None,
) -> list[Quote]:
    """Quotes for the rows of a list answer whose `key_field` names a market we watch."""
    out = []
    for row in rows:
        key = field_of(row, key_field)
        market = keys.get(key) if isinstance(key, str) else None
        if market is not None:
            out.append(ticker_quote(venue, market, received, row, fields, ts_exchange))
    return out


def listed(
    rows: Iterable[Any], key_field: str, trading: Callable[[dict[str, Any]], bool]
) -> dict[str, str]:
    """{spelling: spelling} for the listing rows whose `key_field` is a name and still trade."""
    return {
        r[key_field]: r[key_field]
        for r in rows
        if isinstance(r, dict) and isinstance(r.get(key_field), str) and r[key_field] and trading(r)
    }
