"""One module per simulated venue; APIS maps the venue name to its routes."""

from __future__ import annotations

from depeg_monitor.simulate.venues import (
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
from depeg_monitor.simulate.venues.base import VenueApi

APIS: dict[str, VenueApi] = {
    m.API.name: m.API
    for m in (binance, coinbase, kraken, bitstamp, okx, bybit, gemini, kucoin, coingecko)
}
