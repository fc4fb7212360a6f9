"""Kraken spot: /0/public/Ticker with a pair list; errors arrive as HTTP 200 `error` arrays.

Answers are keyed by Kraken's canonical names (USDTUSD is answered as USDTZUSD); the
AssetPairs listing maps the altname we ask for to that key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues.combinators import all_at_once, spelling
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
    split_market,
)
from depeg_monitor.venues.fields import envelope, field_of, number, optional, quote, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, rate_limited

NAME = "kraken"
TICKER_PATH = "/0/public/Ticker"
LISTING_PATH = "/0/public/AssetPairs"
# Kraken's throttle answer names no wait. Its support article on API rate limits (README §1,
# support.kraken.com/articles/206548367) says calls "would be restricted for a few seconds
# (or possibly longer if calls continue to be made while the rate limits are active)"; public
# calls stay within limits at 1 a second (README §3: ~30 rapid calls trip it). 10 s lets about
# ten calls' worth decay, covers "a few seconds" with margin, and asking nothing meanwhile is
# what keeps the restriction from being extended.
RATE_LIMIT_WAIT = 10.0
RATE_LIMIT_TEXTS = ("Too many requests", "Rate limit")  # EGeneral:…, EAPI:Rate limit exceeded

symbol = spelling()
requests = all_at_once(TICKER_PATH, list_param="pair")


def fallback_keys(market: str, sym: str) -> tuple[str, ...]:
    """Canonical spellings Kraken may answer with when AssetPairs could not be read."""
    base, q = split_market(market)
    return (sym, f"X{base}Z{q}", f"{base}Z{q}", f"X{base}{q}")


def _errors(env: dict[str, Any]) -> list[str] | None:
    """The `error` array as text ([] when absent or empty); None if it is not one."""
    raw = env.get("error")
    if raw is None:
        return []
    if isinstance(raw, str):  # one error not wrapped in its array
        return [raw] if raw else []
    if not isinstance(raw, list):
        return None
    return [text_of(e) or "unreadable error" for e in raw]


def check(resp: Response) -> Any:
    payload = load_json(resp, RATE_LIMIT_WAIT)
    env = envelope(payload)
    errors = _errors(env)
    text = "; ".join(errors or [])[:160]
    if any(t in text for t in RATE_LIMIT_TEXTS) or resp.status == 429:
        raise rate_limited(resp, text or "HTTP 429", RATE_LIMIT_WAIT)
    raise_for_status(resp)
    if errors is None:
        raise VenueError(ErrorKind.MALFORMED, "error is not a list")
    if errors:
        if "Unknown asset pair" in text:
            raise VenueError(ErrorKind.UNKNOWN_MARKET, text)
        if "Unavailable" in text or "Busy" in text:
            raise VenueError(ErrorKind.SERVER_ERROR, text)
        raise VenueError(ErrorKind.CLIENT_ERROR, text)
    result = field_of(payload, "result")
    if not isinstance(result, dict):
        raise VenueError(ErrorKind.MALFORMED, "no result object")
    return result


def parse(req: Request, resp: Response, keys: Mapping[str, str], received: float) -> list[Quote]:
    result = check(resp)
    out = []
    for key, row in result.items():
        market = keys.get(key)
        if market is None:
            continue
        # c = [price, lot volume]; b/a = [price, whole lot volume, lot volume]; v = [today, 24h]
        out.append(
            quote(
                NAME,
                market,
                received,
                price=number(_first(row, "c", 0), "c[0]"),
                bid=optional(_first(row, "b", 0)),
                ask=optional(_first(row, "a", 0)),
                volume_base=optional(_first(row, "v", 1)),
            )
        )
    return out


def _first(row: Any, key: str, index: int) -> Any:
    value = field_of(row, key)
    return value[index] if isinstance(value, list) and len(value) > index else None


def parse_listing(resp: Response) -> dict[str, str]:
    """{altname: canonical key}, plus wsname without its slash, for every listed pair."""
    result = check(resp)
    out: dict[str, str] = {}
    for key, info in result.items():
        if not isinstance(info, dict) or info.get("status", "online") != "online":
            continue
        out[key] = key
        for name in (info.get("altname"), info.get("wsname")):
            if isinstance(name, str) and name.replace("/", ""):
                out[name.replace("/", "")] = key
    return out


SPEC = VenueSpec(
    name=NAME,
    base_url="https://api.kraken.com",
    rate_limit=RateLimit(10, 10.0, "about 1 req/s per IP stays within limits"),
    paths=(TICKER_PATH, LISTING_PATH),
    symbol=symbol,
    requests=requests,
    parse=parse,
    listing=Request(LISTING_PATH),
    parse_listing=parse_listing,
    fallback_keys=fallback_keys,
    # A Ticker answer holds only the pairs we ask for (~280 B each; tens of pairs): 256 KB.
    # AssetPairs is every pair (~1,100, ~1 KB each with fee tiers), ~1.1 MB: 8 MB.
    max_body=256 << 10,
    listing_max_body=8 << 20,
    max_wait=600.0,  # no ban documented for public calls
)
