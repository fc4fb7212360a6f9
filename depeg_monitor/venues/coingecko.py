"""CoinGecko: one /api/v3/simple/price request for every coin id (an aggregate, not a venue).

Markets are COIN/USD; the id comes from [coins.X] coingecko_id or the table below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.combinators import all_at_once, listed
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
    split_market,
)
from depeg_monitor.venues.fields import envelope, list_of, number, optional, quote, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, retry_after

NAME = "coingecko"
PRICE_PATH = "/api/v3/simple/price"
LISTING_PATH = "/api/v3/coins/list"

IDS = {
    "USDT": "tether",
    "USDC": "usd-coin",
    "DAI": "dai",
    "FDUSD": "first-digital-usd",
    "PYUSD": "paypal-usd",
    "TUSD": "true-usd",
    "FRAX": "frax",
    "USDE": "ethena-usde",
    "USDS": "usds",
    "RLUSD": "ripple-usd",
}


def symbol(market: str) -> str:
    base, _ = split_market(market)
    return IDS.get(base, base.lower())


requests = all_at_once(
    PRICE_PATH,
    (("vs_currencies", "usd"), ("include_24hr_vol", "true"), ("include_last_updated_at", "true")),
    list_param="ids",
)


def check(resp: Response) -> Any:
    payload = load_json(resp)
    message = text_of(envelope(envelope(payload).get("status")).get("error_message"), 80)
    if resp.status == 429:
        raise VenueError(ErrorKind.RATE_LIMITED, "HTTP 429", retry_after(resp))
    if resp.status == 403:
        raise VenueError(ErrorKind.BANNED, "HTTP 403 blocked", retry_after(resp))
    raise_for_status(resp, message)
    if not isinstance(payload, dict):
        raise VenueError(ErrorKind.MALFORMED, "answer is not an object")
    return payload


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    out = []
    for coin_id, row in check(resp).items():
        market = keys.get(coin_id)
        if market is None or not isinstance(row, dict):
            continue
        if "usd" not in row:
            raise VenueError(ErrorKind.MALFORMED, f"{coin_id} has no usd price")
        out.append(
            quote(
                NAME,
                market,
                received,
                price=number(row["usd"], "usd"),
                volume_quote=optional(row.get("usd_24h_vol")),  # USD across all venues
                ts_exchange=optional(row.get("last_updated_at")),  # seconds
            )
        )
    return out


def parse_listing(resp: Response) -> dict[str, str]:
    payload = list_of(check(resp) if resp.status != 200 else load_json(resp), "coins/list")
    return listed(payload, "id", lambda c: True)


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.coingecko.com",
    rate_limit=RateLimit(10, 60.0, "keyless: IP-shared, older guide says 10–30 calls/min"),
    paths=(PRICE_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
    names_by_coin_id=True,
    # simple/price for our ~10 ids is ~150 B each: 64 KB. coins/list is every coin id
    # (~17,000 rows of ~80 B), ~1.5 MB: 8 MB.
    max_body=64 << 10,
    listing_max_body=8 << 20,
    max_wait=600.0,  # keyless limits are undocumented; a 429 names its own (short) wait
)
