"""What every venue module provides: request descriptions, parsed answers, classified errors.

A venue module does no I/O. It turns markets into Requests and an HTTP answer (Response) into
Quotes, raising VenueError with a kind the collector knows how to react to. This module is
that contract and nothing else; the package re-exports it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    """One GET (or, with a JSON body, one POST: a JSON-RPC call): the documented path
    (appended to base_url), its query, and its limiter cost."""

    path: str
    params: tuple[tuple[str, str], ...] = ()
    weight: float = 1.0
    symbols: tuple[str, ...] = ()  # the request spellings it asks for (empty: all / listing)
    body: Any = field(default=None, compare=False)  # JSON sent as a POST; None: a GET


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


def split_market(market: str) -> tuple[str, str]:
    """A configured market "BASE/QUOTE" as (base, quote)."""
    base, _, quote = market.partition("/")
    return base, quote


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
    # Markets are named by the coin's own id at this venue ([coins.X] coingecko_id), where
    # one is configured, rather than by `symbol` (an aggregator, not an exchange).
    names_by_coin_id: bool = False
