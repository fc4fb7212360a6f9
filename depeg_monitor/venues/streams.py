"""Streaming venues: STREAMS maps the config name of each venue with a public WebSocket to its
StreamSpec (venues/<venue>_ws.py, beside the venue's REST module; the contract is stream.py).

Every module spells markets in frames as its `symbol` does, so the loop passes
keys = {spec.symbol(m): m for m in markets} to parse.
"""

from __future__ import annotations

from depeg_monitor.venues import (
    binance_ws,
    bitstamp_ws,
    bybit_ws,
    coinbase_ws,
    gemini_ws,
    kraken_ws,
    kucoin_ws,
    okx_ws,
)
from depeg_monitor.venues.stream import StreamSpec

STREAMS: dict[str, StreamSpec] = {
    m.SPEC.name: m.SPEC
    for m in (
        binance_ws,
        coinbase_ws,
        kraken_ws,
        bitstamp_ws,
        okx_ws,
        bybit_ws,
        gemini_ws,
        kucoin_ws,
    )
}
