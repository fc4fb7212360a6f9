"""KuCoin spot: every ticker in one /api/v1/market/allTickers request (weight 15)."""

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
    retry_after,
    rows_to_quotes,
    spelling,
)

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
    raw = resp.header("gw-ratelimit-reset")  # milliseconds until the quota resets
    try:
        return float(raw) / 1000.0 if raw is not None else retry_after(resp)
    except ValueError:
        return retry_after(resp)


def check(resp: Response) -> Any:
    payload = load_json(resp)
    code = str(field_of(payload, "code"))
    msg = str(payload.get("msg", ""))[:120]
    if code == "429000" or resp.status == 429:
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "code 429000", _reset_seconds(resp))
    if code == "400100" and "pair" in msg.lower():
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg)
    raise_for_status(resp, msg)
    if code != "200000":
        raise VenueError(ErrorKind.CLIENT_ERROR, f"code {code} {msg}".strip())
    return payload.get("data")


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    data = check(resp)
    rows = list_of(field_of(data, "ticker"), "data.ticker")
    ts = ms(data.get("time"))
    return rows_to_quotes(NAME, rows, keys, received, FIELDS, key_field="symbol", ts_exchange=ts)


def parse_listing(resp: Response) -> dict[str, str]:
    data = list_of(check(resp), "symbols")
    return listed(data, "symbol", lambda r: bool(r.get("enableTrading", True)))


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
)
