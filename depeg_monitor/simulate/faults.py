"""Which fault a venue shows at scenario time t, and how a garbage answer is spoiled."""

from __future__ import annotations

import json
from typing import Any

from depeg_monitor.simulate.scenario import Fault, Scenario

# Fields a parser needs for a price; "missing_fields" garbage removes them wherever they are.
PRICE_KEYS = frozenset(
    {
        "lastPrice",
        "bidPrice",
        "askPrice",
        "price",
        "last",
        "bid",
        "ask",
        "c",
        "a",
        "b",
        "bidPx",
        "askPx",
        "bid1Price",
        "ask1Price",
        "buy",
        "sell",
        "close",
        "usd",
    }
)


def active_fault(scenario: Scenario, venue: str, t: float) -> Fault | None:
    """The first scripted fault (other than a wild print) in force at this venue, if any."""
    for f in scenario.faults:
        if f.venue == venue and f.kind != "wild_print" and f.active(t):
            return f
    return None


def strip_price_fields(body: Any) -> Any:
    """The same answer with every price field removed, at any depth."""
    if isinstance(body, dict):
        return {k: strip_price_fields(v) for k, v in body.items() if k not in PRICE_KEYS}
    if isinstance(body, list):
        return [strip_price_fields(v) for v in body]
    return body


def malformed(body: Any) -> str:
    """The answer's JSON cut off half-way, as a dropped proxy connection leaves it."""
    text = json.dumps(body, separators=(",", ":"))
    return text[: max(1, len(text) // 2)]


HTML_ERROR = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)
