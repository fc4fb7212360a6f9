"""OKX: every spot ticker in one /api/v5/market/tickers?instType=SPOT request.

OKX serves market data from independently cached services, so a later answer can carry an
older `ts`; the collector drops such regressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.combinators import all_at_once, listed, rows_to_quotes, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
)
from depeg_monitor.venues.fields import TickerFields, envelope, list_of, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, rate_limited

NAME = "okx"
TICKERS_PATH = "/api/v5/market/tickers"
LISTING_PATH = "/api/v5/public/instruments"
# 50011 often comes as HTTP 200 with no Retry-After. The limit is "20 req / 2 s per IP"
# (README §1, okx.com/docs-v5 #order-book-trading-market-data-get-tickers): after one 2 s
# window the allowance is whole again.
RATE_LIMIT_WAIT = 2.0

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
    env = envelope(load_json(resp, RATE_LIMIT_WAIT))
    code = text_of(env.get("code"))
    msg = text_of(env.get("msg"))
    if code == "50011" or resp.status == 429:
        raise rate_limited(resp, msg or "code 50011", RATE_LIMIT_WAIT)
    if code == "51001":
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg or "code 51001")
    raise_for_status(resp, msg)
    if not code:
        raise VenueError(ErrorKind.MALFORMED, "answer without a code")
    if code != "0":
        kind = ErrorKind.SERVER_ERROR if code.startswith("500") else ErrorKind.CLIENT_ERROR
        raise VenueError(kind, f"code {code} {msg}".strip())
    return list_of(env.get("data"), "data")


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
    # Both answers list every spot instrument (~800): tickers ~280 B a row, ~220 KB, so 2 MB;
    # instruments ~700 B a row (~30 fields), ~560 KB, so 4 MB.
    max_body=2 << 20,
    listing_max_body=4 << 20,
    max_wait=600.0,  # no ban documented; the limit's window is 2 s
)
