"""Coinbase Exchange: one /products/{id}/ticker request per market; 10 req/s public."""

from __future__ import annotations

from typing import Any

from depeg_monitor.venues.combinators import listed, one_ticker, per_market, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
)
from depeg_monitor.venues.fields import TickerFields, envelope, iso, list_of, text_of
from depeg_monitor.venues.status import load_json, raise_for_status

NAME = "coinbase"
TICKER_PATH = "/products/{product_id}/ticker"
LISTING_PATH = "/products"

symbol = spelling("-")
requests = per_market(TICKER_PATH, "product_id")
# time is ISO-8601 with microseconds
FIELDS = TickerFields(
    price="price", bid="bid", ask="ask", volume_base="volume", ts="time", ts_parser=iso
)


def check(resp: Response) -> Any:
    payload = load_json(resp)
    message = text_of(envelope(payload).get("message"))
    if resp.status in (400, 404) and message in ("NotFound", "Product not found", ""):
        raise VenueError(ErrorKind.UNKNOWN_MARKET, message or f"HTTP {resp.status}")
    raise_for_status(resp, message)
    return payload


parse = one_ticker(NAME, check, FIELDS)


def parse_listing(resp: Response) -> dict[str, str]:
    payload = list_of(check(resp), "products")
    return listed(
        payload,
        "id",
        lambda p: p.get("status", "online") == "online" and not p.get("trading_disabled", False),
    )


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.exchange.coinbase.com",
    rate_limit=RateLimit(10, 1.0, "public 10 req/s per IP, bursts up to 15"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
    # One product's ticker is ~200 B; 64 KB also holds a CDN's HTML error page, whose status
    # is then still read. /products lists ~700 products at ~600 B, ~450 KB: 4 MB.
    max_body=64 << 10,
    listing_max_body=4 << 20,
    max_wait=600.0,  # no ban documented; 429s last as long as the 10 req/s bucket refills
)
