"""Exchange venues: one module per venue, request building and parsing only (no I/O).

VENUES maps the config name of each venue to its VenueSpec: default base_url, documented
rate limit, the documented paths it uses, and its symbol/request/parse functions.

The contract (contract.py) is re-exported here. A venue module is assembled from the shared
status classification (status.py), field readers (fields.py) and building blocks
(combinators.py).
"""

from __future__ import annotations

from depeg_monitor.venues import (
    binance,
    bitstamp,
    bybit,
    coinbase,
    coingecko,
    gemini,
    kraken,
    kucoin,
    okx,
)
from depeg_monitor.venues.contract import (
    ErrorKind,
    RateLimit,
    Request,
    Response,
    VenueError,
    VenueSpec,
)

__all__ = [
    "VENUES",
    "ErrorKind",
    "RateLimit",
    "Request",
    "Response",
    "VenueError",
    "VenueSpec",
]

VENUES: dict[str, VenueSpec] = {
    m.SPEC.name: m.SPEC
    for m in (binance, coinbase, kraken, bitstamp, okx, bybit, gemini, kucoin, coingecko)
}
