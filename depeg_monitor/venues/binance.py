"""Binance spot: /api/v3/ticker/24hr batched with symbols=[...]; weight-based limit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.base import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    TickerFields,
    VenueError,
    VenueSpec,
    envelope,
    field_of,
    list_of,
    listed,
    load_json,
    raise_for_status,
    retry_after,
    rows_to_quotes,
    spelling,
    text_of,
)

NAME = "binance"
TICKER_PATH = "/api/v3/ticker/24hr"
LISTING_PATH = "/api/v3/exchangeInfo"
BATCH = 20  # symbols 1–20 weigh 2; 21–100 weigh 40, so batches of 20 are cheapest
TICKER_WEIGHT = 2.0
LISTING_WEIGHT = 20.0

symbol = spelling()
FIELDS = TickerFields(
    price="lastPrice",
    bid="bidPrice",
    ask="askPrice",
    volume_base="volume",
    volume_quote="quoteVolume",
    ts="closeTime",
)


def requests(symbols: Sequence[str]) -> list[Request]:
    out = []
    for i in range(0, len(symbols), BATCH):
        chunk = list(symbols[i : i + BATCH])
        arg = json.dumps(chunk, separators=(",", ":"))
        out.append(Request(TICKER_PATH, (("symbols", arg),), TICKER_WEIGHT, tuple(chunk)))
    return out


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


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.binance.com",
    rate_limit=RateLimit(6000, 60.0, "REQUEST_WEIGHT 6000 / 1 min per IP"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH, (), LISTING_WEIGHT),
    parse_listing=parse_listing,
)
