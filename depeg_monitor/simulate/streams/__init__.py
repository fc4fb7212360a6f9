"""One module per simulated venue stream; STREAMS maps the venue name to its stream."""

from __future__ import annotations

from depeg_monitor.simulate.streams import (
    binance,
    bitstamp,
    bybit,
    coinbase,
    gemini,
    kraken,
    kucoin,
    okx,
)
from depeg_monitor.simulate.streams.base import StreamApi, StreamTiming

STREAMS: dict[str, StreamApi] = {
    m.API.name: m.API for m in (binance, coinbase, kraken, bitstamp, okx, bybit, gemini, kucoin)
}

__all__ = ["STREAMS", "StreamApi", "StreamTiming"]
