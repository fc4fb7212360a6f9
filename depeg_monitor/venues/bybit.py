"""Bybit v5: every spot ticker in one /v5/market/tickers?category=spot request.

HTTP 403 means the IP is throttled ("access too frequent"): stop for at least 10 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    all_at_once,
    field_of,
    list_of,
    listed,
    load_json,
    ms,
    raise_for_status,
    rows_to_quotes,
    spelling,
)

NAME = "bybit"
TICKER_PATH = "/v5/market/tickers"
LISTING_PATH = "/v5/market/instruments-info"
BAN_SECONDS = 600.0

symbol = spelling()
requests = all_at_once(TICKER_PATH, (("category", "spot"),))
# no per-ticker time: parse stamps every row with the answer's top-level `time`
FIELDS = TickerFields(
    price="lastPrice",
    bid="bid1Price",
    ask="ask1Price",
    volume_base="volume24h",
    volume_quote="turnover24h",
)


def check(resp: Response) -> tuple[list[Any], float | None]:
    """The envelope's result.list and its top-level `time` (ms)."""
    if resp.status == 403:  # body undocumented; may not even be JSON
        raise VenueError(ErrorKind.BANNED, "HTTP 403 access too frequent", BAN_SECONDS)
    payload = load_json(resp)
    raise_for_status(resp)
    code = field_of(payload, "retCode")
    msg = str(payload.get("retMsg", ""))[:120]
    if code == 10001 and "symbol" in msg.lower():
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg)
    if code == 10006:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "retCode 10006")
    if code != 0:
        raise VenueError(ErrorKind.CLIENT_ERROR, f"retCode {code} {msg}".strip())
    rows = list_of(field_of(payload.get("result"), "list"), "result.list")
    return rows, ms(payload.get("time"))


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    rows, ts = check(resp)
    return rows_to_quotes(NAME, rows, keys, received, FIELDS, key_field="symbol", ts_exchange=ts)


def parse_listing(resp: Response) -> dict[str, str]:
    rows, _ = check(resp)
    return listed(rows, "symbol", lambda r: r.get("status", "Trading") == "Trading")


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
