"""Bitstamp: one /api/v2/ticker/{pair}/ request per market (lower-case pair)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.base import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
    field_of,
    http_error,
    load_json,
    number,
    optional,
    quote,
    split_market,
)

NAME = "bitstamp"
TICKER_PATH = "/api/v2/ticker/{pair}/"
LISTING_PATH = "/api/v2/markets/"


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return (base + quote_ccy).lower()


def requests(symbols: Sequence[str]) -> list[Request]:
    return [Request(TICKER_PATH.format(pair=s), symbols=(s,)) for s in symbols]


def check(resp: Response) -> Any:
    if resp.status == 404:  # an unknown pair gets a 404 page, not JSON
        raise VenueError(ErrorKind.UNKNOWN_MARKET, "HTTP 404")
    payload = load_json(resp)
    code = str(payload.get("response_code", "")) if isinstance(payload, dict) else ""
    reason = str(payload.get("reason", payload.get("message", "")))[:120] if code else ""
    if code == "400.002":  # "Request rejected due to exceeded rate limit"
        raise VenueError(ErrorKind.RATE_LIMITED, reason or code)
    err = http_error(resp, reason)
    if err is not None:
        raise err
    if code and payload.get("status") == "error":
        raise VenueError(ErrorKind.CLIENT_ERROR, reason or code)
    return payload


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    payload = check(resp)
    market = keys.get(req.symbols[0]) if req.symbols else None
    if market is None:
        return []
    return [
        quote(
            NAME,
            market,
            received,
            price=number(field_of(payload, "last"), "last"),
            bid=optional(payload.get("bid")),
            ask=optional(payload.get("ask")),
            volume_base=optional(payload.get("volume")),
            ts_exchange=optional(payload.get("timestamp")),  # seconds, as a string
        )
    ]


def parse_listing(resp: Response) -> dict[str, str]:
    payload = check(resp)
    if not isinstance(payload, list):
        raise VenueError(ErrorKind.MALFORMED, "markets is not a list")
    out = {}
    for m in payload:
        if not isinstance(m, dict) or m.get("trading", "Enabled") != "Enabled":
            continue
        sym = m.get("market_symbol") or m.get("url_symbol")
        if sym:
            out[str(sym)] = str(sym)
    return out


SPEC = VenueSpec(
    name=NAME,
    base_url="https://www.bitstamp.net",
    rate_limit=RateLimit(8000, 600.0, "8,000 req / 10 min (ccxt; the lower published figure)"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
)
