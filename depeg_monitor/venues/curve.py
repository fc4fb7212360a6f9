"""Curve StableSwap pools (3pool, crvUSD/USDC, FRAXBP, stableswap-ng USDe/USDC): the calls of a
poll and their answers as Quotes. No I/O; the calls go into one Multicall3 poll (evm.py).

Per configured market BASE/QUOTE the poll sells `trade_size` of each coin for the other with
`get_dy(i, j, dx)`, which is the amount out **after the pool's fee** (README §3.1, and the NG
pools' dynamic fee, §3.3). So

    bid = what selling `trade_size` BASE returns, per BASE          (quote units)
    ask = what `trade_size` QUOTE buys, as QUOTE paid per BASE
    price = (bid + ask) / 2

and (ask - bid) / price is the round trip's cost at that size: twice the fee plus the price
impact of the trade size. Depth is the sum of `balances(k)` over the pool's coins, valued at
par (these are stablecoin pools; in a depeg the dumped coin's share climbs and the figure
overstates its USD value by the depeg).

Coin order is never assumed: `verify_calls()`/`verify()` read `coins(k)` for every configured
coin (and `coins(n)`, which must revert: no unconfigured coin) and each token's ERC-20
`decimals()`, at start-up. A reversed order would silently give the reciprocal.

`price_oracle` (the pool's EMA) is not part of a poll. Where it is read (`oracle_call`,
`oracle_price`), it is coin k's price in coin 0 — on the NG USDe/USDC pool `price_oracle(0)` is
USDC in USDe, so USDe in USDC is its inverse (README §3.3), and that pool's oracle is known to
be unreliable with mixed decimals: use get_dy there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from depeg_monitor.model import Quote
from depeg_monitor.venues import evm
from depeg_monitor.venues.contract import ErrorKind, VenueError, split_market
from depeg_monitor.venues.evm import Block, Call, Result, Token

# Selectors (reference.json "selectors" → "curve"; tests check them against it).
GET_DY = bytes.fromhex("5e0d443f")  # get_dy(int128,int128,uint256)
COINS = {
    "uint256": bytes.fromhex("c6610657"),  # coins(uint256)
    "int128": bytes.fromhex("23746eb8"),  # coins(int128) — Vyper 0.1.x pools
}
BALANCES = {
    "uint256": bytes.fromhex("4903b0d1"),  # balances(uint256)
    "int128": bytes.fromhex("065a80d8"),  # balances(int128) — Vyper 0.1.x pools
}
PRICE_ORACLE = {
    "price_oracle()": bytes.fromhex("86fc88d3"),  # price_oracle() — crvUSD pools: coin1 in coin0
    "price_oracle(uint256)": bytes.fromhex("68727653"),  # price_oracle(uint256) — NG: coin i+1
}
ORACLE_SCALE = 10**18

IndexType = Literal["uint256", "int128"]


@dataclass(frozen=True, slots=True)
class Pool:
    """A Curve pool as configuration data.

    name: the venue name its quotes carry ("curve-3pool"); chain: the [chains.X] it is read
    on; address: the pool (swap) contract; coins: every coin of the pool in the pool's own
    order (coins(k) = coins[k], verified at start-up); markets: what to quote, "BASE/QUOTE" of
    two of those coins; trade_size: the amount sold in each direction, in whole units of the
    coin sold (≈ USD for stablecoins); index_type: the argument type of coins()/balances()
    ("int128" only for Vyper 0.1.x pools); price_oracle: the signature of the pool's EMA
    getter, if it has one ("price_oracle()" or "price_oracle(uint256)"), read only on request.
    """

    name: str
    chain: str
    address: str
    coins: tuple[Token, ...]
    markets: tuple[str, ...]
    trade_size: float = 1000.0
    index_type: IndexType = "uint256"
    price_oracle: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", evm.address(self.address))
        symbols = [c.symbol for c in self.coins]
        if len(symbols) < 2 or len(set(symbols)) != len(symbols):
            raise ValueError(f"{self.name}: coins must be two or more distinct tokens")
        if not self.markets:
            raise ValueError(f"{self.name}: no markets")
        for market in self.markets:
            base, quote_ccy = split_market(market)
            if base not in symbols or quote_ccy not in symbols or base == quote_ccy:
                raise ValueError(f"{self.name}: market {market!r} is not two of {symbols}")
        if not self.trade_size > 0:
            raise ValueError(f"{self.name}: trade_size must be positive")
        if self.index_type not in COINS:
            raise ValueError(f"{self.name}: index_type {self.index_type!r}")
        if self.price_oracle is not None and self.price_oracle not in PRICE_ORACLE:
            raise ValueError(f"{self.name}: price_oracle {self.price_oracle!r}")

    def index(self, symbol: str) -> int:
        return next(k for k, c in enumerate(self.coins) if c.symbol == symbol)


def _get_dy(pool: Pool, i: int, j: int) -> Call:
    dx = pool.coins[i].units(pool.trade_size)
    return evm.call(pool.address, GET_DY, ["int128", "int128", "uint256"], [i, j, dx])


def _indexed(pool: Pool, selectors: dict[str, bytes], k: int) -> Call:
    return evm.call(pool.address, selectors[pool.index_type], [pool.index_type], [k])


def calls(pool: Pool) -> list[Call]:
    """A poll's calls: get_dy both ways per market, then balances(k) for every coin."""
    out = []
    for market in pool.markets:
        base, quote_ccy = (pool.index(s) for s in split_market(market))
        out += [_get_dy(pool, base, quote_ccy), _get_dy(pool, quote_ccy, base)]
    return out + [_indexed(pool, BALANCES, k) for k in range(len(pool.coins))]


def parse(pool: Pool, results: Sequence[Result], block: Block, received: float) -> list[Quote]:
    """The answers to calls(pool) as one Quote per market, each carrying the pool's depth.

    Raises VenueError (for this pool only) if any of its calls failed or answered nonsense.
    """
    evm.check_count(results, len(calls(pool)), pool.name)
    n = len(pool.markets)
    balances = [
        evm.uint(r, f"{pool.name} balances({k})") / 10**coin.decimals
        for k, (r, coin) in enumerate(zip(results[2 * n :], pool.coins, strict=True))
    ]
    depth = sum(balances)
    out = []
    for m, market in enumerate(pool.markets):
        base_sym, quote_sym = split_market(market)
        base, quote_ccy = pool.coins[pool.index(base_sym)], pool.coins[pool.index(quote_sym)]
        sold_base, sold_quote = base.units(pool.trade_size), quote_ccy.units(pool.trade_size)
        got_quote = evm.uint(results[2 * m], f"{pool.name} get_dy {base_sym}→{quote_sym}")
        got_base = evm.uint(results[2 * m + 1], f"{pool.name} get_dy {quote_sym}→{base_sym}")
        # bid: quote units out per base unit in; ask: quote units in per base unit out
        bid = evm.ratio(
            got_quote * 10**base.decimals, sold_base * 10**quote_ccy.decimals, f"{market} bid"
        )
        ask = evm.ratio(
            sold_quote * 10**base.decimals, got_base * 10**quote_ccy.decimals, f"{market} ask"
        )
        out.append(
            Quote(
                venue=pool.name,
                coin=base_sym,
                quote_ccy=quote_sym,
                price=(bid + ask) / 2,
                bid=bid,
                ask=ask,
                volume_base_24h=None,
                volume_quote_24h=None,
                ts_exchange=block.timestamp,
                ts_received=received,
                depth_usd=depth,
            )
        )
    return out


# --- start-up verification -----------------------------------------------------------------


def verify_calls(pool: Pool) -> list[Call]:
    """coins(k) for every configured coin, coins(n) (must revert), each token's decimals()."""
    n = len(pool.coins)
    coins = [_indexed(pool, COINS, k) for k in range(n + 1)]
    return coins + [evm.decimals_call(c) for c in pool.coins]


def verify(pool: Pool, results: Sequence[Result]) -> None:
    """Refuse a pool whose coins on chain are not the configured ones in the configured order,
    that has more coins than configured, or whose tokens' decimals differ from the config."""
    n = len(pool.coins)
    evm.check_count(results, 2 * n + 1, f"{pool.name} verification")
    for k, coin in enumerate(pool.coins):
        (got,) = evm.values(results[k], ["address"], f"{pool.name} coins({k})")
        if str(got).lower() != coin.address:
            raise VenueError(
                ErrorKind.UNKNOWN_MARKET,
                f"{pool.name}: coins({k}) is {str(got).lower()}, configured {coin.symbol} "
                f"{coin.address}",
            )
    extra = results[n]
    if extra.success and extra.data:
        raise VenueError(ErrorKind.UNKNOWN_MARKET, f"{pool.name}: has more than {n} coins")
    for coin, result in zip(pool.coins, results[n + 1 :], strict=True):
        evm.check_decimals(coin, result, pool.name)


# --- the pool's EMA oracle, on request ---------------------------------------------------------


def oracle_call(pool: Pool, market: str) -> Call:
    """The pool's EMA price of the market's non-zero coin k in coin 0 (for oracle_price)."""
    base, quote_ccy = (pool.index(s) for s in split_market(market))
    if pool.price_oracle is None:
        raise ValueError(f"{pool.name}: no price_oracle configured")
    if 0 not in (base, quote_ccy):
        raise ValueError(f"{pool.name}: the oracle prices coins in coin 0, not {market}")
    selector = PRICE_ORACLE[pool.price_oracle]
    if pool.price_oracle == "price_oracle()":
        return Call(pool.address, selector)
    return evm.call(pool.address, selector, ["uint256"], [max(base, quote_ccy) - 1])


def oracle_price(pool: Pool, market: str, result: Result) -> float:
    """A market's price from `price_oracle` (1e18-scaled coin k in coin 0): as read when the
    market is coin k in coin 0, inverted when it is coin 0 in coin k (NG USDe/USDC)."""
    base, quote_ccy = (pool.index(s) for s in split_market(market))
    raw = evm.uint(result, f"{pool.name} {pool.price_oracle}")
    if quote_ccy == 0:
        return evm.ratio(raw, ORACLE_SCALE, f"{market} oracle")
    if base == 0:
        return evm.ratio(ORACLE_SCALE, raw, f"{market} oracle")
    raise ValueError(f"{pool.name}: the oracle prices coins in coin 0, not {market}")
