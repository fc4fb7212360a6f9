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
    VenueError,
    VenueSpec,
    field_of,
    http_error,
    load_json,
    ms,
    number,
    optional,
    quote,
    retry_after,
    split_market,
)

NAME = "binance"
TICKER_PATH = "/api/v3/ticker/24hr"
LISTING_PATH = "/api/v3/exchangeInfo"
BATCH = 20  # symbols 1–20 weigh 2; 21–100 weigh 40, so batches of 20 are cheapest
TICKER_WEIGHT = 2.0
LISTING_WEIGHT = 20.0


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return base + quote_ccy


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
    code = payload.get("code") if isinstance(payload, dict) else None
    msg = str(payload.get("msg", ""))[:120] if isinstance(payload, dict) else ""
    if code == -1121:
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg or "Invalid symbol.")
    if resp.status == 403:
        raise VenueError(ErrorKind.BANNED, "HTTP 403 (WAF)", retry_after(resp))
    err = http_error(resp, msg)
    if err is not None:
        raise err
    return payload


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    payload = check(resp)
    rows = payload if isinstance(payload, list) else [payload]
    out = []
    for row in rows:
        market = keys.get(str(field_of(row, "symbol")))
        if market is None:
            continue
        out.append(
            quote(
                NAME,
                market,
                received,
                price=number(row.get("lastPrice"), "lastPrice"),
                bid=optional(row.get("bidPrice")),
                ask=optional(row.get("askPrice")),
                volume_base=optional(row.get("volume")),
                volume_quote=optional(row.get("quoteVolume")),
                ts_exchange=ms(row.get("closeTime")),
            )
        )
    return out


def parse_listing(resp: Response) -> dict[str, str]:
    payload = check(resp)
    rows = field_of(payload, "symbols")
    if not isinstance(rows, list):
        raise VenueError(ErrorKind.MALFORMED, "exchangeInfo without symbols")
    return {
        str(r["symbol"]): str(r["symbol"])
        for r in rows
        if isinstance(r, dict) and "symbol" in r and r.get("status", "TRADING") == "TRADING"
    }


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
