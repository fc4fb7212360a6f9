"""Bybit v5: every spot ticker in one /v5/market/tickers?category=spot request.

HTTP 403 means the IP is throttled ("access too frequent"): stop for at least 10 minutes.
"""

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
    ms,
    number,
    optional,
    quote,
    split_market,
)

NAME = "bybit"
TICKER_PATH = "/v5/market/tickers"
LISTING_PATH = "/v5/market/instruments-info"
BAN_SECONDS = 600.0


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return base + quote_ccy


def requests(symbols: Sequence[str]) -> list[Request]:
    if not symbols:
        return []
    return [Request(TICKER_PATH, (("category", "spot"),), 1.0, tuple(symbols))]


def check(resp: Response) -> tuple[list[Any], float | None]:
    """The envelope's result.list and its top-level `time` (ms)."""
    if resp.status == 403:  # body undocumented; may not even be JSON
        raise VenueError(ErrorKind.BANNED, "HTTP 403 access too frequent", BAN_SECONDS)
    payload = load_json(resp)
    err = http_error(resp)
    if err is not None:
        raise err
    code = field_of(payload, "retCode")
    msg = str(payload.get("retMsg", ""))[:120]
    if code == 10001 and "symbol" in msg.lower():
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg)
    if code == 10006:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "retCode 10006")
    if code != 0:
        raise VenueError(ErrorKind.CLIENT_ERROR, f"retCode {code} {msg}".strip())
    rows = field_of(payload.get("result"), "list")
    if not isinstance(rows, list):
        raise VenueError(ErrorKind.MALFORMED, "result.list is not a list")
    return rows, ms(payload.get("time"))


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    rows, ts = check(resp)
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
                bid=optional(row.get("bid1Price")),
                ask=optional(row.get("ask1Price")),
                volume_base=optional(row.get("volume24h")),
                volume_quote=optional(row.get("turnover24h")),
                ts_exchange=ts,  # the answer's time: Bybit gives no per-ticker timestamp
            )
        )
    return out


def parse_listing(resp: Response) -> dict[str, str]:
    rows, _ = check(resp)
    return {
        str(r["symbol"]): str(r["symbol"])
        for r in rows
        if isinstance(r, dict) and "symbol" in r and r.get("status", "Trading") == "Trading"
    }


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.bybit.com",
    rate_limit=RateLimit(600, 5.0, "600 req / 5 s per IP"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH, (("category", "spot"),)),
    parse_listing=parse_listing,
)
