"""Settings for on-chain sources: [chains.X] (a JSON-RPC node), [pools.X], [oracles.X].

A pool is data, not code: its kind, the chain it is read on, its address and its tokens in
the pool's own order. Another EVM chain is one more [chains.X] with its rpc_url and the pools'
addresses there. The rpc_url is a secret (provider URLs carry API keys): it comes from the
environment (DEPEG_CHAINS__<NAME>__RPC_URL) or a credential file, never printed back.

Addresses are checked here with a pattern only (the ABI library is not loaded by a check);
what a pool's own rules refuse (Uniswap's token0 must be the lower address, a market of two
of its coins) is checked by config.validate through the venue modules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from depeg_monitor.config.fields import Names

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _address(v: str) -> str:
    if not _ADDRESS.fullmatch(v):
        raise ValueError(f"{v[:50]!r} is not an address: 0x followed by 40 hex digits")
    return v.lower()


def _market(m: str) -> str:
    base, sep, quote = m.strip().upper().partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"market {m!r} must look like BASE/QUOTE, e.g. USDE/USDC")
    return f"{base}/{quote}"


class ChainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # The JSON-RPC endpoint; secret: DEPEG_CHAINS__<NAME>__RPC_URL or a credential file.
    rpc_url: SecretStr | None = None
    timeout: float = Field(10.0, gt=0, description="Seconds for one JSON-RPC request.")
    # Providers limit requests per second; a poll is one request, plus retries.
    requests_per_second: float = Field(5.0, gt=0, description="Requests per second at most.")
    poll_interval: float = Field(12.0, gt=0, description="Seconds between polls (a block).")
    # A block older than this (a node stuck behind the chain) drops every pool's quotes.
    max_block_age: float = Field(60.0, gt=0, description="Seconds a polled block may be old.")
    breaker_threshold: int = Field(5, ge=1)
    breaker_max_backoff: float = Field(300.0, gt=0, description="Longest back-off (seconds).")
    max_clock_skew: float = Field(5.0, ge=0, description="Seconds a block may lead our clock.")
    # Largest answer (bytes): an aggregate3 answer of a few dozen calls is a few KiB.
    max_body: int = Field(1 << 20, ge=1024)

    @field_validator("rpc_url")
    @classmethod
    def _http(cls, v: SecretStr | None) -> SecretStr | None:
        # The URL itself is never quoted back: its path or query may hold the API key.
        if v is not None and not v.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("rpc_url must start with http:// or https://")
        return v


class TokenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str  # the monitor's name for the coin (USDE, CRVUSD)
    address: str
    decimals: int = Field(ge=0, le=77)

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("address")
    @classmethod
    def _is_address(cls, v: str) -> str:
        return _address(v)


class PoolSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    kind: Literal["curve", "uniswap_v3"]
    chain: str = "ethereum"  # a [chains.X] name
    address: str
    # Every coin in the pool's own order: Curve's coins(k) (verified at start-up), Uniswap's
    # token0 then token1 (token0 is the lower address).
    coins: list[TokenSettings] = Field(min_length=2)
    markets: Names = Field(min_length=1)  # BASE/QUOTE of two of its coins (Uniswap: one)
    # Whole units of the coin sold each way (get_dy; Uniswap's QuoterV2, None: slot0 only).
    trade_size: float | None = Field(None, gt=0, description="Units sold each way for bid/ask.")
    weight: float = Field(1.0, ge=0, description="Multiplies this pool's liquidity weight.")
    fee: int | None = Field(None, gt=0, lt=1_000_000)  # Uniswap's fee tier (100 = 0.01 %)
    index_type: Literal["uint256", "int128"] = "uint256"  # Curve: Vyper 0.1.x pools int128
    factory: str | None = None  # Uniswap v3 factory; None: Ethereum mainnet's
    quoter: str | None = None  # Uniswap QuoterV2; None: Ethereum mainnet's

    @field_validator("address", "factory", "quoter")
    @classmethod
    def _is_address(cls, v: str | None) -> str | None:
        return None if v is None else _address(v)

    @field_validator("markets")
    @classmethod
    def _markets(cls, v: list[str]) -> list[str]:
        return [_market(m) for m in v]

    @field_validator("chain")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


class OracleSettings(BaseModel):
    """A Chainlink feed: context for alerts, never a price in the aggregate."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    chain: str = "ethereum"
    address: str  # the feed's proxy
    coin: str  # what it prices (USDC)
    quote_ccy: str = "USD"
    decimals: int = Field(8, ge=0, le=77)
    heartbeat: float = Field(gt=0, description="Seconds between forced updates.")
    threshold_pct: float = Field(gt=0, description="Deviation (percent) forcing an update.")

    @field_validator("address")
    @classmethod
    def _is_address(cls, v: str) -> str:
        return _address(v)

    @field_validator("coin", "quote_ccy")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("chain")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


if TYPE_CHECKING:
    from depeg_monitor.venues.chainlink import Feed
    from depeg_monitor.venues.curve import Pool as CurvePool
    from depeg_monitor.venues.uniswap_v3 import Pool as UniswapPool


def pool_venue(name: str, p: PoolSettings) -> CurvePool | UniswapPool:
    """The venue module's Pool for [pools.NAME]; ValueError with the reason if its own rules
    refuse it (check-config reports it; the root compiles only what passed)."""
    from depeg_monitor.venues import curve, uniswap_v3
    from depeg_monitor.venues.evm import Token

    tokens = tuple(Token(c.symbol, c.address, c.decimals) for c in p.coins)
    if p.kind == "curve":
        return curve.Pool(
            name=name,
            chain=p.chain,
            address=p.address,
            coins=tokens,
            markets=tuple(p.markets),
            trade_size=p.trade_size if p.trade_size is not None else 1000.0,
            index_type=p.index_type,
        )
    if len(tokens) != 2 or len(p.markets) != 1:
        raise ValueError("a uniswap_v3 pool has two coins (token0, token1) and one market")
    if p.fee is None:
        raise ValueError("a uniswap_v3 pool needs its fee tier (fee = 100 for 0.01 %)")
    return uniswap_v3.Pool(
        name=name,
        chain=p.chain,
        address=p.address,
        token0=tokens[0],
        token1=tokens[1],
        fee=p.fee,
        market=p.markets[0],
        trade_size=p.trade_size,
        factory=p.factory or uniswap_v3.FACTORY,
        quoter=p.quoter or uniswap_v3.QUOTER_V2,
    )


def feed_venue(name: str, o: OracleSettings) -> Feed:
    from depeg_monitor.venues.chainlink import Feed

    return Feed(
        name=name,
        chain=o.chain,
        address=o.address,
        coin=o.coin,
        heartbeat=o.heartbeat,
        threshold_pct=o.threshold_pct,
        quote_ccy=o.quote_ccy,
        decimals=o.decimals,
    )
