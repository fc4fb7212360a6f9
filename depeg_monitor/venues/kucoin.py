"""KuCoin spot: every ticker in one /api/v1/market/allTickers request (weight 15)."""

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
from depeg_monitor.venues.fields import TickerFields, envelope, field_of, list_of, ms, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, retry_after, seconds

NAME = "kucoin"
TICKER_PATH = "/api/v1/market/allTickers"
LISTING_PATH = "/api/v2/symbols"
TICKER_WEIGHT = 15.0
LISTING_WEIGHT = 4.0

symbol = spelling("-")
requests = all_at_once(TICKER_PATH, weight=TICKER_WEIGHT)
# no per-ticker time: parse stamps every row with data.time
FIELDS = TickerFields(
    price="last", bid="buy", ask="sell", volume_base="vol", volume_quote="volValue"
)


def _reset_seconds(resp: Response) -> float | None:
    """gw-ratelimit-reset: milliseconds until the quota resets (a finite, non-negative figure
    only); Retry-After where it is missing or not sane."""
    wait = seconds(resp.header("gw-ratelimit-reset"), 1000.0)
    return wait if wait is not None else retry_after(resp)


def check(resp: Response) -> Any:
    env = envelope(load_json(resp, _reset_seconds(resp)))
    code = text_of(env.get("code"))
    msg = text_of(env.get("msg"))
    if code == "429000" or resp.status == 429:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "code 429000", _reset_seconds(resp))
    if code == "400100" and "pair" in msg.lower():
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg)
    raise_for_status(resp, msg)
    if not code:
        raise VenueError(ErrorKind.MALFORMED, "answer without a code")
    if code != "200000":
        raise VenueError(ErrorKind.CLIENT_ERROR, f"code {code} {msg}".strip())
    return env.get("data")


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    data = check(resp)
    rows = list_of(field_of(data, "ticker"), "data.ticker")
    ts = ms(data.get("time"))
    return rows_to_quotes(NAME, rows, keys, received, FIELDS, key_field="symbol", ts_exchange=ts)


def parse_listing(resp: Response) -> dict[str, str]:
    data = list_of(check(resp), "symbols")
    # enableTrading is a JSON boolean; anything else is not taken as "trading"
    return listed(data, "symbol", lambda r: r.get("enableTrading", True) is True)


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.kucoin.com",
    rate_limit=RateLimit(2000, 30.0, "Public pool 2000 weight / 30 s per IP"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH, (), LISTING_WEIGHT),
    parse_listing=parse_listing,
    # Both answers list every spot pair (~1,300): allTickers ~400 B a row, ~520 KB; symbols
    # ~550 B a row, ~700 KB. 4 MB for each.
    max_body=4 << 20,
    listing_max_body=4 << 20,
    max_wait=600.0,  # a quota resets within its 30 s window; no ban documented
)
