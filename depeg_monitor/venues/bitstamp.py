"""Bitstamp: one /api/v2/ticker/{pair}/ request per market (lower-case pair)."""

from __future__ import annotations

from typing import Any

from depeg_monitor.venues.combinators import one_ticker, per_market, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
)
from depeg_monitor.venues.fields import TickerFields, envelope, list_of, optional, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, rate_limited

NAME = "bitstamp"
TICKER_PATH = "/api/v2/ticker/{pair}/"
LISTING_PATH = "/api/v2/markets/"
# Bitstamp counts requests per 10 minutes (README §1: 8,000–10,000 / 10 min) and says nothing
# of how long a 400.002 lasts. We send a few requests a minute, so probing once a minute costs
# at most 10 of the window's allowance and resumes within a minute of it opening again,
# where waiting the whole 600 s window would leave the venue dark for longer than needed.
RATE_LIMIT_WAIT = 60.0

symbol = spelling(lower=True)
requests = per_market(TICKER_PATH, "pair")
# timestamp is in seconds, as a string
FIELDS = TickerFields(
    price="last", bid="bid", ask="ask", volume_base="volume", ts="timestamp", ts_parser=optional
)


def check(resp: Response) -> Any:
    if resp.status == 404:  # an unknown pair gets a 404 page, not JSON
        raise VenueError(ErrorKind.UNKNOWN_MARKET, "HTTP 404")
    payload = load_json(resp, RATE_LIMIT_WAIT)
    env = envelope(payload)
    # The rate-limit code is `response_code` in the refusal the README cites (hummingbot's
    # tests) and `code` in Bitstamp's newer error envelope; the real body is unverified.
    code = text_of(env.get("response_code")) or text_of(env.get("code"))
    reason = text_of(env.get("reason")) or text_of(env.get("message"))
    if code == "400.002":  # "Request rejected due to exceeded rate limit"
        raise rate_limited(resp, reason or code, RATE_LIMIT_WAIT)
    raise_for_status(resp, reason, RATE_LIMIT_WAIT)
    if env.get("status") == "error":
        raise VenueError(ErrorKind.CLIENT_ERROR, reason or code or "status error")
    return payload


parse = one_ticker(NAME, check, FIELDS)


def parse_listing(resp: Response) -> dict[str, str]:
    payload = list_of(check(resp), "markets")
    out = {}
    for m in payload:
        if not isinstance(m, dict) or m.get("trading", "Enabled") != "Enabled":
            continue
        sym = m.get("market_symbol") or m.get("url_symbol")
        if isinstance(sym, str) and sym:
            out[sym] = sym
    return out


SPEC = VenueSpec(
    name=NAME,
    base_url="https://www.bitstamp.net",
    rate_limit=RateLimit(8000, 600.0, "8,000 req / 10 min (ccxt; the lower published figure)"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
    # One pair's ticker is ~230 B, but an unknown pair answers the site's HTML 404 page:
    # 256 KB holds that page. /api/v2/markets/ is ~200 markets at ~500 B, ~100 KB: 1 MB.
    max_body=256 << 10,
    listing_max_body=1 << 20,
    max_wait=600.0,  # no ban documented; the limit's own 10-minute window is the longest wait
)
