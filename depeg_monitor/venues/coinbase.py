"""Coinbase Exchange: one /products/{id}/ticker request per market; 10 req/s public."""

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
    iso,
    load_json,
    number,
    optional,
    quote,
    split_market,
)

NAME = "coinbase"
TICKER_PATH = "/products/{product_id}/ticker"
LISTING_PATH = "/products"


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return f"{base}-{quote_ccy}"


def requests(symbols: Sequence[str]) -> list[Request]:
    return [Request(TICKER_PATH.format(product_id=s), symbols=(s,)) for s in symbols]


def check(resp: Response) -> Any:
    payload = load_json(resp)
    message = str(payload.get("message", ""))[:120] if isinstance(payload, dict) else ""
    if resp.status in (400, 404) and message in ("NotFound", "Product not found", ""):
        raise VenueError(ErrorKind.UNKNOWN_MARKET, message or f"HTTP {resp.status}")
    err = http_error(resp, message)
    if err is not None:
        raise err
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
            price=number(field_of(payload, "price"), "price"),
            bid=optional(payload.get("bid")),
            ask=optional(payload.get("ask")),
            volume_base=optional(payload.get("volume")),
            ts_exchange=iso(payload.get("time")),
        )
    ]


def parse_listing(resp: Response) -> dict[str, str]:
    payload = check(resp)
    if not isinstance(payload, list):
        raise VenueError(ErrorKind.MALFORMED, "products is not a list")
    return {
        str(p["id"]): str(p["id"])
        for p in payload
        if isinstance(p, dict)
        and "id" in p
        and p.get("status", "online") == "online"
        and not p.get("trading_disabled", False)
    }


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
)
