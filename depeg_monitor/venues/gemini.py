"""Gemini: one /v1/pubticker/{symbol} request per market (v1 carries volume; v2 does not)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.combinators import per_market, requested_market, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
    split_market,
)
from depeg_monitor.venues.fields import (
    envelope,
    field_of,
    list_of,
    number,
    optional,
    quote,
    text_of,
)
from depeg_monitor.venues.status import load_json, raise_for_status, rate_limited

NAME = "gemini"
TICKER_PATH = "/v1/pubticker/{symbol}"
LISTING_PATH = "/v1/symbols"

symbol = spelling(lower=True)
requests = per_market(TICKER_PATH, "symbol")


def check(resp: Response) -> Any:
    payload = load_json(resp)
    env = envelope(payload)
    reason = text_of(env.get("reason"))
    if reason == "InvalidSymbol":
        raise VenueError(ErrorKind.UNKNOWN_MARKET, text_of(env.get("message")) or reason)
    if reason == "RateLimit" or resp.status == 429:
        raise rate_limited(resp, reason or "HTTP 429")
    raise_for_status(resp, reason)
    return payload


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    payload = check(resp)
    market = requested_market(req, keys)
    if market is None:
        return []
    base, quote_ccy = split_market(market)
    price = number(field_of(payload, "last"), "last")
    volume = envelope(payload.get("volume"))
    return [
        quote(
            NAME,
            market,
            received,
            price=price,
            bid=optional(payload.get("bid")),
            ask=optional(payload.get("ask")),
            volume_base=optional(volume.get(base)),
            volume_quote=optional(volume.get(quote_ccy)),
            # volume.timestamp is the end of a volume window refreshed every few minutes, not
            # the time of the price: it would make fresh prices look stale.
            ts_exchange=None,
        )
    ]


def parse_listing(resp: Response) -> dict[str, str]:
    payload = list_of(check(resp), "symbols")
    return {s.lower(): s.lower() for s in payload if isinstance(s, str) and s}


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.gemini.com",
    rate_limit=RateLimit(60, 60.0, "120 req/min public; Gemini recommends at most 1 req/s"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
    # One pubticker is ~140 B: 64 KB also holds an HTML error page. /v1/symbols is ~200
    # short names, ~3 KB: 256 KB.
    max_body=64 << 10,
    listing_max_body=256 << 10,
    max_wait=600.0,  # no ban documented; 429s end "until the rate drops" (README §3)
)
