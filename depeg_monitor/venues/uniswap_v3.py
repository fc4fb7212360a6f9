"""Uniswap v3 pools: the calls of a poll and their answers as Quotes. No I/O; the calls go into
one Multicall3 poll (evm.py).

`slot0()` gives sqrtPriceX96 = sqrt(token1/token0 in base units) · 2**96, so (README §4.2)

    price of token0 in token1 = sqrtPriceX96**2 / 2**192 · 10**(decimals0 - decimals1)

computed exactly with integers, inverted when the market's coin is token1. That is the
marginal price without the fee. With a `trade_size`, QuoterV2's quoteExactInputSingle sells
that size each way (fee and price impact included) for a bid and an ask; a quoter call that
fails (a size beyond the liquidity, a chain without the quoter) leaves the quote without a
bid/ask rather than without a price.

Depth: `liquidity()` is the in-range L, not a TVL. depth_usd is the tokens that L holds within
±depth_band (2 %) of the price — x = L/√p·(1 - 1/√(1+band)) token0 and y = L·√p·(1 - √(1-band))
token1, valued at par — an estimate that assumes L constant over the band (concentrated
liquidity is deep near the price, which is where a stablecoin trades). The virtual reserves
L/√p and L·√p would overstate a concentrated pool a hundredfold.

At start-up `verify_calls()`/`verify()` check the pool with the factory's
getPool(token0, token1, fee) (a computed address need not be a live pool, README §4.1) and the
pool's own token0(), token1(), fee() and each token's decimals().
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from depeg_monitor.model import Quote
from depeg_monitor.venues import evm
from depeg_monitor.venues.contract import ErrorKind, VenueError, split_market
from depeg_monitor.venues.evm import Block, Call, Result, Token

# Mainnet deployments (reference.json "uniswap_v3"); another chain configures its own.
FACTORY = "0x1f98431c8ad98523631ae4a59f267346ea31f984"
QUOTER_V2 = "0x61ffe014ba17989e743c5f6cb21bf9697530b21e"

# Selectors (reference.json "selectors" → "uniswap_v3"; tests check them against it).
SLOT0 = bytes.fromhex("3850c7bd")  # slot0()
LIQUIDITY = bytes.fromhex("1a686502")  # liquidity()
TOKEN0 = bytes.fromhex("0dfe1681")  # token0()
TOKEN1 = bytes.fromhex("d21220a7")  # token1()
FEE = bytes.fromhex("ddca3f43")  # fee()
GET_POOL = bytes.fromhex("1698ee82")  # getPool(address,address,uint24)
QUOTE_EXACT_INPUT_SINGLE = bytes.fromhex(
    "c6a5026a"
)  # quoteExactInputSingle((address,address,uint256,uint24,uint160))

SLOT0_TYPES = ("uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool")
QUOTE_TYPES = ("uint256", "uint160", "uint32", "uint256")
# TickMath.MIN_SQRT_RATIO / MAX_SQRT_RATIO (uni-core): slot0 outside them is not a pool's.
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 1 << 96


@dataclass(frozen=True, slots=True)
class Pool:
    """A Uniswap v3 pool as configuration data.

    name: the venue name its quotes carry ("uniswap-v3-usdc-usdt-1bp"); chain: the [chains.X]
    it is read on; address: the pool; token0/token1: its tokens in the pool's order (token0
    has the lower address, as Uniswap sorts them); fee: the fee tier in hundredths of a bip
    (100 = 0.01 %); market: "BASE/QUOTE" of the two tokens' symbols, either way round;
    trade_size: whole units of the coin sold each way for a QuoterV2 bid/ask (None: no
    quoter calls); factory/quoter: the chain's deployments; depth_band: the price band the
    depth estimate covers.
    """

    name: str
    chain: str
    address: str
    token0: Token
    token1: Token
    fee: int
    market: str
    trade_size: float | None = None
    factory: str = FACTORY
    quoter: str = QUOTER_V2
    depth_band: float = 0.02

    def __post_init__(self) -> None:
        for attr in ("address", "factory", "quoter"):
            object.__setattr__(self, attr, evm.address(getattr(self, attr)))
        if not self.token0.address < self.token1.address:
            raise ValueError(f"{self.name}: token0 must be the token with the lower address")
        base, quote_ccy = split_market(self.market)
        if {base, quote_ccy} != {self.token0.symbol, self.token1.symbol}:
            raise ValueError(f"{self.name}: market {self.market!r} is not the pool's two tokens")
        if not 0 < self.fee < 1_000_000:
            raise ValueError(f"{self.name}: fee {self.fee} is not a fee tier")
        if self.trade_size is not None and not self.trade_size > 0:
            raise ValueError(f"{self.name}: trade_size must be positive")
        if not 0 < self.depth_band < 1:
            raise ValueError(f"{self.name}: depth_band must be in (0, 1)")

    @property
    def tokens(self) -> tuple[Token, Token]:
        """(base, quote) of the market."""
        if split_market(self.market)[0] == self.token0.symbol:
            return self.token0, self.token1
        return self.token1, self.token0


def _quote_call(pool: Pool, sold: Token, bought: Token, amount: int) -> Call:
    args = [(sold.address, bought.address, amount, pool.fee, 0)]
    return evm.call(
        pool.quoter, QUOTE_EXACT_INPUT_SINGLE, ["(address,address,uint256,uint24,uint160)"], args
    )


def calls(pool: Pool) -> list[Call]:
    """A poll's calls: slot0(), liquidity(), then with a trade size the quoter both ways."""
    out = [Call(pool.address, SLOT0), Call(pool.address, LIQUIDITY)]
    if pool.trade_size is not None:
        base, quote_ccy = pool.tokens
        out.append(_quote_call(pool, base, quote_ccy, base.units(pool.trade_size)))
        out.append(_quote_call(pool, quote_ccy, base, quote_ccy.units(pool.trade_size)))
    return out


def price0(sqrt_price_x96: int, decimals0: int, decimals1: int) -> Fraction:
    """token0's price in token1 (whole units), exactly."""
    return Fraction(sqrt_price_x96**2 * 10**decimals0, (1 << 192) * 10**decimals1)


def parse(pool: Pool, results: Sequence[Result], block: Block, received: float) -> list[Quote]:
    """The answers to calls(pool) as the market's Quote with the pool's depth (a list, like
    every venue's parse). Raises VenueError (for this pool only) if slot0 or liquidity failed
    or answered nonsense."""
    evm.check_count(results, len(calls(pool)), pool.name)
    sqrt_p, tick, *_ = evm.values(results[0], SLOT0_TYPES, f"{pool.name} slot0")
    if not MIN_SQRT_RATIO <= sqrt_p < MAX_SQRT_RATIO:
        raise VenueError(ErrorKind.MALFORMED, f"{pool.name}: sqrtPriceX96 out of range")
    # TickMath: tick = floor(log_1.0001(price)); a slot0 whose two halves disagree is garbage.
    log_tick = 2 * math.log(sqrt_p / Q96) / math.log(1.0001)
    if not tick - 1 <= log_tick <= tick + 2:
        raise VenueError(ErrorKind.MALFORMED, f"{pool.name}: tick {tick} disagrees with price")
    (liquidity,) = evm.values(results[1], ["uint128"], f"{pool.name} liquidity")
    base, quote_ccy = pool.tokens
    p0 = price0(sqrt_p, pool.token0.decimals, pool.token1.decimals)
    exact = p0 if base is pool.token0 else 1 / p0
    price = evm.ratio(exact.numerator, exact.denominator, f"{pool.market} price")
    bid, ask = _book(pool, results[2:], base, quote_ccy)
    return [
        Quote(
            venue=pool.name,
            coin=base.symbol,
            quote_ccy=quote_ccy.symbol,
            price=price,
            bid=bid,
            ask=ask,
            volume_base_24h=None,
            volume_quote_24h=None,
            ts_exchange=block.timestamp,
            ts_received=received,
            depth_usd=depth_usd(pool, sqrt_p, int(liquidity)),
        )
    ]


def _book(
    pool: Pool, results: Sequence[Result], base: Token, quote_ccy: Token
) -> tuple[float | None, float | None]:
    """(bid, ask) from the quoter's two answers; (None, None) without them or if they failed."""
    if pool.trade_size is None:
        return None, None
    try:
        got_quote = evm.values(results[0], QUOTE_TYPES, f"{pool.name} quote sell")[0]
        got_base = evm.values(results[1], QUOTE_TYPES, f"{pool.name} quote buy")[0]
        sold_base, sold_quote = base.units(pool.trade_size), quote_ccy.units(pool.trade_size)
        bid = evm.ratio(got_quote * 10**base.decimals, sold_base * 10**quote_ccy.decimals, "bid")
        ask = evm.ratio(sold_quote * 10**base.decimals, got_base * 10**quote_ccy.decimals, "ask")
    except VenueError:
        return None, None
    return bid, ask


def depth_usd(pool: Pool, sqrt_price_x96: int, liquidity: int) -> float:
    """The tokens the in-range liquidity holds within ±depth_band of the price, at par."""
    root = sqrt_price_x96 / Q96  # √(token1 base units per token0 base unit)
    band = pool.depth_band
    amount0 = liquidity / root * (1 - 1 / math.sqrt(1 + band))
    amount1 = liquidity * root * (1 - math.sqrt(1 - band))
    return amount0 / 10.0**pool.token0.decimals + amount1 / 10.0**pool.token1.decimals


# --- start-up verification -----------------------------------------------------------------


def verify_calls(pool: Pool) -> list[Call]:
    """factory.getPool(token0, token1, fee); the pool's token0(), token1(), fee(); both tokens'
    decimals()."""
    get_pool = evm.call(
        pool.factory,
        GET_POOL,
        ["address", "address", "uint24"],
        [pool.token0.address, pool.token1.address, pool.fee],
    )
    own = [Call(pool.address, s) for s in (TOKEN0, TOKEN1, FEE)]
    return [get_pool, *own, evm.decimals_call(pool.token0), evm.decimals_call(pool.token1)]


def verify(pool: Pool, results: Sequence[Result]) -> None:
    """Refuse a pool the factory does not know at this address, or whose tokens, fee or
    decimals differ from the configuration."""
    evm.check_count(results, 6, f"{pool.name} verification")
    expected = [
        ("factory getPool", "address", pool.address),
        ("token0()", "address", pool.token0.address),
        ("token1()", "address", pool.token1.address),
        ("fee()", "uint24", pool.fee),
    ]
    for result, (what, kind, want) in zip(results, expected, strict=False):
        (got,) = evm.values(result, [kind], f"{pool.name} {what}")
        got = got.lower() if isinstance(got, str) else got
        if got != want:
            raise VenueError(
                ErrorKind.UNKNOWN_MARKET, f"{pool.name}: {what} is {got}, configured {want}"
            )
    evm.check_decimals(pool.token0, results[4], pool.name)
    evm.check_decimals(pool.token1, results[5], pool.name)
