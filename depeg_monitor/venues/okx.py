"""OKX: every spot ticker in one /api/v5/market/tickers?instType=SPOT request.

OKX serves market data from independently cached services, so a later answer can carry an
older `ts`; the collector drops such regressions.
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
    raise_for_status,
    retry_after,
    rows_to_quotes,
    spelling,
)

NAME = "okx"
TICKERS_PATH = "/api/v5/market/tickers"
TICKER_PATH = "/api/v5/market/ticker"  # one instrument; documented, used only by tooling
LISTING_PATH = "/api/v5/public/instruments"

symbol = spelling("-")
requests = all_at_once(TICKERS_PATH, (("instType", "SPOT"),))
FIELDS = TickerFields(
    price="last",
    bid="bidPx",
    ask="askPx",
    volume_base="vol24h",  # spot: base currency
    volume_quote="volCcy24h",  # spot: quote currency
    ts="ts",
)


def check(resp: Response) -> Any:
    payload = load_json(resp)
    code = str(field_of(payload, "code"))
    msg = str(payload.get("msg", ""))[:120]
    if code == "50011" or resp.status == 429:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "code 50011", retry_after(resp))
    if code == "51001":
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg or "code 51001")
    raise_for_status(resp, msg)
    if code != "0":
        kind = ErrorKind.SERVER_ERROR if code.startswith("500") else ErrorKind.CLIENT_ERROR
        raise VenueError(kind, f"code {code} {msg}".strip())
    return list_of(payload.get("data"), "data")


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    return rows_to_quotes(NAME, check(resp), keys, received, FIELDS, key_field="instId")


def parse_listing(resp: Response) -> dict[str, str]:
    return listed(check(resp), "instId", lambda r: r.get("state", "live") == "live")


SPEC = VenueSpec(
    name=NAME,
    base_url="https://www.okx.com",
    rate_limit=RateLimit(20, 2.0, "20 req / 2 s per IP"),
    paths=(TICKERS_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH, (("instType", "SPOT"),)),
    parse_listing=parse_listing,
)
