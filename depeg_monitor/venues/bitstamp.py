"""Bitstamp: one /api/v2/ticker/{pair}/ request per market (lower-case pair)."""

from __future__ import annotations

from typing import Any

from depeg_monitor.venues.base import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    TickerFields,
    VenueError,
    VenueSpec,
    list_of,
    load_json,
    one_ticker,
    optional,
    per_market,
    raise_for_status,
    spelling,
)

NAME = "bitstamp"
TICKER_PATH = "/api/v2/ticker/{pair}/"
LISTING_PATH = "/api/v2/markets/"

symbol = spelling(lower=True)
requests = per_market(TICKER_PATH, "pair")
# timestamp is in seconds, as a string
FIELDS = TickerFields(
    price="last", bid="bid", ask="ask", volume_base="volume", ts="timestamp", ts_parser=optional
)


def check(resp: Response) -> Any:
    if resp.status == 404:  # an unknown pair gets a 404 page, not JSON
        raise VenueError(ErrorKind.UNKNOWN_MARKET, "HTTP 404")
    payload = load_json(resp)
    code = str(payload.get("response_code", "")) if isinstance(payload, dict) else ""
    reason = str(payload.get("reason", payload.get("message", "")))[:120] if code else ""
    if code == "400.002":  # "Request rejected due to exceeded rate limit"
        raise VenueError(ErrorKind.RATE_LIMITED, reason or code)
    raise_for_status(resp, reason)
    if code and payload.get("status") == "error":
        raise VenueError(ErrorKind.CLIENT_ERROR, reason or code)
    return payload


parse = one_ticker(NAME, check, FIELDS)


def parse_listing(resp: Response) -> dict[str, str]:
    payload = list_of(check(resp), "markets")
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
