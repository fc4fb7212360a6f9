"""The venues the simulator speaks for, and the markets each lists unless a scenario says.

DEFAULT_MARKETS mirrors config.example.toml so the shipped config finds every market it asks
for (a test keeps the two in step).
"""

from __future__ import annotations

from depeg_monitor.venues import VENUES

# The same venues the monitor polls, in the same order.
VENUE_NAMES: tuple[str, ...] = tuple(VENUES)
# Venues with a public WebSocket the simulator serves, and those of them that can ask a
# client to reconnect (binance serverShutdown, bitstamp bts:request_reconnect, okx 64008).
STREAM_VENUES: tuple[str, ...] = tuple(v for v in VENUE_NAMES if v != "coingecko")
RECONNECT_NOTICE_VENUES: tuple[str, ...] = ("binance", "bitstamp", "okx")

DEFAULT_MARKETS: dict[str, tuple[str, ...]] = {
    "binance": ("USDC/USDT", "FDUSD/USDT", "TUSD/USDT", "USDE/USDT", "DAI/USDT"),
    "coinbase": ("USDT/USD", "DAI/USD", "PYUSD/USD", "USDT/USDC"),
    "kraken": ("USDT/USD", "USDC/USD", "DAI/USD", "PYUSD/USD", "USDC/USDT"),
    "bitstamp": ("USDT/USD", "USDC/USD", "DAI/USD", "PYUSD/USD"),
    "okx": ("USDC/USDT", "DAI/USDT", "TUSD/USDT", "FDUSD/USDT", "PYUSD/USDT", "USDE/USDT"),
    "bybit": ("USDC/USDT", "USDE/USDT", "DAI/USDT", "FDUSD/USDT", "PYUSD/USDT"),
    "gemini": ("USDT/USD", "DAI/USD", "PYUSD/USD"),
    "kucoin": ("USDC/USDT", "DAI/USDT", "TUSD/USDT", "FDUSD/USDT", "PYUSD/USDT", "USDE/USDT"),
    "coingecko": (
        "USDT/USD",
        "USDC/USD",
        "DAI/USD",
        "FDUSD/USD",
        "PYUSD/USD",
        "USDE/USD",
        "FRAX/USD",
        "TUSD/USD",
    ),
}

# CoinGecko answers by coin id, not by ticker.
COINGECKO_IDS: dict[str, str] = {
    "USDT": "tether",
    "USDC": "usd-coin",
    "DAI": "dai",
    "FDUSD": "first-digital-usd",
    "PYUSD": "paypal-usd",
    "USDE": "ethena-usde",
    "FRAX": "frax",
    "TUSD": "true-usd",
    "USDS": "usds",
    "RLUSD": "ripple-usd",
}

COIN_NAMES: dict[str, str] = {
    "USDT": "Tether",
    "USDC": "USDC",
    "DAI": "Dai",
    "FDUSD": "First Digital USD",
    "PYUSD": "PayPal USD",
    "USDE": "Ethena USDe",
    "FRAX": "Frax",
    "TUSD": "TrueUSD",
    "USDS": "USDS",
    "RLUSD": "Ripple USD",
}
