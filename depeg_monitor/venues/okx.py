"""OKX: every spot ticker in one /api/v5/market/tickers?instType=SPOT request.

OKX serves market data from independently cached services, so a later answer can carry an
older `ts`; the collector drops such regressions.
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
    retry_after,
    split_market,
)

NAME = "okx"
TICKERS_PATH = "/api/v5/market/tickers"
TICKER_PATH = "/api/v5/market/ticker"  # one instrument; documented, used only by tooling
LISTING_PATH = "/api/v5/public/instruments"


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return f"{base}-{quote_ccy}"


def requests(symbols: Sequence[str]) -> list[Request]:
    if not symbols:
        return []
    return [Request(TICKERS_PATH, (("instType", "SPOT"),), 1.0, tuple(symbols))]


def check(resp: Response) -> Any:
    payload = load_json(resp)
    code = str(field_of(payload, "code"))
    msg = str(payload.get("msg", ""))[:120]
    if code == "50011" or resp.status == 429:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "code 50011", retry_after(resp))
    if code == "51001":
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg or "code 51001")
    err = http_error(resp, msg)
    if err is not None:
        raise err
    if code != "0":
        kind = ErrorKind.SERVER_ERROR if code.startswith("500") else ErrorKind.CLIENT_ERROR
        raise VenueError(kind, f"code {code} {msg}".strip())
    data = payload.get("data")
    if not isinstance(data, list):
        raise VenueError(ErrorKind.MALFORMED, "data is not a list")
    return data


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    out = []
    for row in check(resp):
        market = keys.get(str(field_of(row, "instId")))
        if market is None:
            continue
        out.append(
            quote(
                NAME,
                market,
                received,
                price=number(row.get("last"), "last"),
                bid=optional(row.get("bidPx")),
                ask=optional(row.get("askPx")),
                volume_base=optional(row.get("vol24h")),  # spot: base currency
                volume_quote=optional(row.get("volCcy24h")),  # spot: quote currency
                ts_exchange=ms(row.get("ts")),
            )
        )
    return out


def parse_listing(resp: Response) -> dict[str, str]:
    return {
        str(r["instId"]): str(r["instId"])
        for r in check(resp)
        if isinstance(r, dict) and "instId" in r and r.get("state", "live") == "live"
    }


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
