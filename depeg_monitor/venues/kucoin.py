"""KuCoin spot: every ticker in one /api/v1/market/allTickers request (weight 15)."""

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

NAME = "kucoin"
TICKER_PATH = "/api/v1/market/allTickers"
LISTING_PATH = "/api/v2/symbols"
TICKER_WEIGHT = 15.0
LISTING_WEIGHT = 4.0


def symbol(market: str) -> str:
    base, quote_ccy = split_market(market)
    return f"{base}-{quote_ccy}"


def requests(symbols: Sequence[str]) -> list[Request]:
    if not symbols:
        return []
    return [Request(TICKER_PATH, (), TICKER_WEIGHT, tuple(symbols))]


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
    err = http_error(resp, msg)
    if err is not None:
        raise err
    if code != "200000":
        raise VenueError(ErrorKind.CLIENT_ERROR, f"code {code} {msg}".strip())
    return payload.get("data")


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    data = check(resp)
    rows = field_of(data, "ticker")
    if not isinstance(rows, list):
        raise VenueError(ErrorKind.MALFORMED, "data.ticker is not a list")
    ts = ms(data.get("time"))
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
                price=number(row.get("last"), "last"),
                bid=optional(row.get("buy")),
                ask=optional(row.get("sell")),
                volume_base=optional(row.get("vol")),
                volume_quote=optional(row.get("volValue")),
                ts_exchange=ts,
            )
        )
    return out


def parse_listing(resp: Response) -> dict[str, str]:
    data = check(resp)
    if not isinstance(data, list):
        raise VenueError(ErrorKind.MALFORMED, "symbols is not a list")
    return {
        str(r["symbol"]): str(r["symbol"])
        for r in data
        if isinstance(r, dict) and "symbol" in r and r.get("enableTrading", True)
    }


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
