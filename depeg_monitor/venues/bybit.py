"""Bybit v5: every spot ticker in one /v5/market/tickers?category=spot request.

HTTP 403 means the IP is throttled ("access too frequent"): stop for at least 10 minutes.
retCode 10006 is the per-UID limit; X-Bapi-Limit-Reset-Timestamp (ms) says when it resets.
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
from depeg_monitor.venues.fields import TickerFields, envelope, field_of, list_of, ms, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, retry_after, seconds

NAME = "bybit"
TICKER_PATH = "/v5/market/tickers"
LISTING_PATH = "/v5/market/instruments-info"
# "terminate all HTTP sessions and wait for at least 10 minutes" (docs/v5/rate-limit.mdx).
BAN_SECONDS = 600.0
RESET_HEADER = "X-Bapi-Limit-Reset-Timestamp"

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


def limit_reset(resp: Response, answer_time: float | None) -> float | None:
    """Seconds until the per-UID limit resets: the reset header less the answer's own `time`,
    both Bybit's clock (so ours may be skewed), or Retry-After; None if neither is sane."""
    reset = seconds(resp.header(RESET_HEADER), 1000.0)
    if reset is not None and answer_time is not None and 0 <= answer_time <= reset:
        return reset - answer_time
    return retry_after(resp)


def check(resp: Response) -> tuple[list[Any], float | None]:
    """The envelope's result.list and its top-level `time` (ms)."""
    if resp.status == 403:  # body undocumented; may not even be JSON
        raise VenueError(ErrorKind.BANNED, "HTTP 403 access too frequent", BAN_SECONDS)
    payload = load_json(resp)
    env = envelope(payload)
    code = env.get("retCode")
    msg = text_of(env.get("retMsg"))
    ts = ms(env.get("time"))
    if code == 10006:  # "Too many visits!"
        raise VenueError(ErrorKind.RATE_LIMITED, msg or "retCode 10006", limit_reset(resp, ts))
    raise_for_status(resp, msg)
    if not isinstance(code, int) or isinstance(code, bool):
        raise VenueError(ErrorKind.MALFORMED, "answer without a retCode")
    if code == 10001 and "symbol" in msg.lower():
        raise VenueError(ErrorKind.UNKNOWN_MARKET, msg)
    if code != 0:
        raise VenueError(ErrorKind.CLIENT_ERROR, f"retCode {code} {msg}".strip())
    rows = list_of(field_of(env.get("result"), "list"), "result.list")
    return rows, ts


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
    # Both answers list every spot pair (~700): tickers ~320 B a row, ~220 KB, so 2 MB;
    # instruments-info ~500 B a row, ~350 KB, so 4 MB.
    max_body=2 << 20,
    listing_max_body=4 << 20,
    max_wait=BAN_SECONDS,
)
