"""CoinGecko: /api/v3/coins/list and /api/v3/simple/price?ids=…&vs_currencies=usd (numbers)."""

from __future__ import annotations

from typing import Any

from depeg_monitor.simulate.defaults import COIN_NAMES, COINGECKO_IDS
from depeg_monitor.simulate.pricing import Tick
from depeg_monitor.simulate.venues.base import (
    Ask,
    Book,
    Reply,
    VenueApi,
    named_by,
    too_many,
)


def coin_id(t: Tick) -> str:
    return COINGECKO_IDS.get(t.base, t.base.lower())


def coins_list(ask: Ask, book: Book) -> Reply:
    rows = [
        {"id": coin_id(t), "symbol": t.base.lower(), "name": COIN_NAMES.get(t.base, t.base)}
        for t in book.ticks.values()
    ]
    return Reply(200, rows)


def _flag(ask: Ask, name: str) -> bool:
    return ask.query.get(name, "false").lower() == "true"


def simple_price(ask: Ask, book: Book) -> Reply:
    ids = [i.strip() for i in ask.query.get("ids", "").split(",") if i.strip()]
    vs = [v.strip().lower() for v in ask.query.get("vs_currencies", "").split(",") if v.strip()]
    if not ids or not vs:
        missing = "ids" if not ids else "vs_currencies"
        return Reply(400, {"error": f"Missing parameter {missing}"})
    by_id = {coin_id(t): t for t in book.ticks.values() if t.quote == "USD"}
    out: dict[str, Any] = {}
    for i in ids:
        t = by_id.get(i)
        if t is None:
            continue  # unknown ids are simply absent
        row: dict[str, Any] = {}
        for cur in vs:
            if cur != "usd":
                continue
            row["usd"] = round(t.price, 8)
            if _flag(ask, "include_market_cap"):
                row["usd_market_cap"] = round(t.price * 1e10, 2)
            if _flag(ask, "include_24hr_vol"):
                row["usd_24h_vol"] = round(t.volume_quote, 4)
            if _flag(ask, "include_24hr_change"):
                row["usd_24h_change"] = round((t.price - t.open) / t.open * 100, 8)
        if _flag(ask, "include_last_updated_at"):
            row["last_updated_at"] = int(book.now)
        out[i] = row
    return Reply(200, out)


rate_limited = too_many(
    {
        "status": {
            "error_code": 429,
            "error_message": "You've exceeded the Rate Limit. Please visit "
            "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for "
            "higher rate limits.",
        }
    }
)


API = VenueApi(
    name="coingecko",
    routes=(("/api/v3/coins/list", coins_list), ("/api/v3/simple/price", simple_price)),
    rate_limited=rate_limited,
    names=named_by(coin_id),
)
