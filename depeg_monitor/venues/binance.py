"""Binance spot: /api/v3/ticker/24hr batched with symbols=[...]; weight-based limit.

The listing is exchangeInfo narrowed with the same symbols=[...] (the full one is megabytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.combinators import listed, rows_to_quotes, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
)
from depeg_monitor.venues.fields import TickerFields, envelope, field_of, list_of, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, retry_after

NAME = "binance"
TICKER_PATH = "/api/v3/ticker/24hr"
LISTING_PATH = "/api/v3/exchangeInfo"
BATCH = 20  # symbols 1–20 weigh 2; 21–100 weigh 40, so batches of 20 are cheapest
TICKER_WEIGHT = 2.0
LISTING_WEIGHT = 20.0  # exchangeInfo weighs 20 with or without symbols=[...]
# A repeated 429 earns an IP ban (418) of "2 min … 3 days" (README §1, rest-api.md §LIMITS).
MAX_WAIT = 3 * 24 * 3600.0

symbol = spelling()
FIELDS = TickerFields(
    price="lastPrice",
    bid="bidPrice",
    ask="askPrice",
    volume_base="volume",
    volume_quote="quoteVolume",
    ts="closeTime",
)


def _symbols_param(symbols: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return (("symbols", json.dumps(list(symbols), separators=(",", ":"))),)


def requests(symbols: Sequence[str]) -> list[Request]:
    out = []
    for i in range(0, len(symbols), BATCH):
        chunk = list(symbols[i : i + BATCH])
        out.append(Request(TICKER_PATH, _symbols_param(chunk), TICKER_WEIGHT, tuple(chunk)))
    return out


def listing_for(symbols: Sequence[str]) -> Request:
    """exchangeInfo for just these symbols; one unknown symbol refuses it all with -1121."""
    if not symbols:
        return LISTING
    return Request(LISTING_PATH, _symbols_param(symbols), LISTING_WEIGHT, tuple(symbols))


def check(resp: Response) -> Any:
    """Binance's body is always {"code", "msg"} on errors; the status says what it means."""
    payload = load_json(resp)
    env = envelope(payload)
    code = env.get("code")
    msg = text_of(env.get("msg"))
    if code == -1121:
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg or "Invalid symbol.")
    if resp.status == 403:
        raise VenueError(ErrorKind.BANNED, "HTTP 403 (WAF)", retry_after(resp))
    raise_for_status(resp, msg)
    return payload


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    payload = check(resp)
    rows = payload if isinstance(payload, list) else [payload]
    return rows_to_quotes(NAME, rows, keys, received, FIELDS, key_field="symbol")


def parse_listing(resp: Response) -> dict[str, str]:
    payload = check(resp)
    rows = list_of(field_of(payload, "symbols"), "exchangeInfo symbols")
    return listed(rows, "symbol", lambda r: r.get("status", "TRADING") == "TRADING")


LISTING = Request(LISTING_PATH, (), LISTING_WEIGHT)

SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.binance.com",
    rate_limit=RateLimit(6000, 60.0, "REQUEST_WEIGHT 6000 / 1 min per IP"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=LISTING,
    parse_listing=parse_listing,
    listing_for=listing_for,
    # A FULL 24hr row is ~510 B and a batch holds 20: ~10 KB; 256 KB leaves 25x headroom.
    # The narrowed exchangeInfo carries ~5 KB per symbol (filters, permissionSets) plus its
    # rateLimits header, so even 100 configured spellings stay near 500 KB; 2 MB. The full,
    # unfiltered exchangeInfo (10+ MB) is never read by the collector, which narrows.
    max_body=256 << 10,
    listing_max_body=2 << 20,
    max_wait=MAX_WAIT,
)
