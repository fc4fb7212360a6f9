"""The on-chain venues the simulator serves, as data: one place for every address and coin order.

Addresses, token order, decimals, Chainlink heartbeats and thresholds are those of
../shared/exchange-apis/onchain/reference.json (Ethereum mainnet; a test keeps the two in
step). Each pool and the Chainlink feeds are a *venue* of the scenario under the name given
here, so a scenario moves, holds or faults them like an exchange:
`[coins.USDE.venues.curve-usde-usdc]`, `{ venue = "curve-3pool", kind = "revert" }`.
The node itself is the venue "ethereum" (rate limits, a stale head, invalid params, down).

Fees, A, liquidity and depth are not in the reference (they move on-chain): the values here are
illustrative, near the ones the reference's samples and deploy logs show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NODE = "ethereum"  # the JSON-RPC node, served at POST /ethereum
CHAIN_ID = 1

MULTICALL3 = "0xca11bde05977b3631167028862be2a173976ca11"
UNISWAP_V3_FACTORY = "0x1f98431c8ad98523631ae4a59f267346ea31f984"
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True, slots=True)
class Token:
    symbol: str  # as the reference spells it (crvUSD, USDe)
    address: str
    decimals: int

    @property
    def coin(self) -> str:
        """The scenario's name for the coin (upper-case, as in [coins.USDE])."""
        return self.symbol.upper()


TOKENS: dict[str, Token] = {
    t.symbol: t
    for t in (
        Token("DAI", "0x6b175474e89094c44da98b954eedeac495271d0f", 18),
        Token("USDC", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6),
        Token("USDT", "0xdac17f958d2ee523a2206206994597c13d831ec7", 6),
        Token("FRAX", "0x853d955acef822db058eb8505911ed77f175b99e", 18),
        Token("crvUSD", "0xf939e0a03fb07f59a73314e73794be0e57ac1b4e", 18),
        Token("USDe", "0x4c9edd5852cd905f086c759e8383e09bff1e68b3", 18),
    )
}

# What price_oracle a Curve pool has: none (3pool, FRAXBP: the call reverts), `no_arg`
# (crvUSD pools: price_oracle(), coin1 in coin0) or `ng` (stableswap-ng: price_oracle(i),
# coin[i+1] in coin[0] — for USDe/USDC that is USDC in USDe, the inverted-oracle pitfall).
Oracle = Literal["none", "no_arg", "ng"]


@dataclass(frozen=True, slots=True)
class CurvePool:
    venue: str
    reference: str  # its key in reference.json's curve_pools
    address: str
    coins: tuple[str, ...]  # token symbols, in the pool's own order
    fee: int  # fee(), 1e10 = 100 %
    a: int  # A()
    oracle: Oracle
    depth: float  # USD of each coin in the pool at the peg (a scenario's `depth` overrides)
    ma_exp_time: int = 866  # price_oracle's EMA time constant, seconds (10 min / ln 2)
    offpeg_fee_multiplier: int = 0  # ng: the dynamic fee's multiplier (1e10 = 1×); 0: plain fee

    @property
    def tokens(self) -> tuple[Token, ...]:
        return tuple(TOKENS[c] for c in self.coins)


@dataclass(frozen=True, slots=True)
class UniswapV3Pool:
    venue: str
    reference: str  # its key in reference.json's uniswap_v3.pools
    address: str
    token0: str
    token1: str
    fee: int  # hundredths of a bip: 100 = 0.01 %
    tick_spacing: int
    liquidity: int  # liquidity() at the scenario's default depth
    depth: float  # USD of each token in range at the peg

    @property
    def tokens(self) -> tuple[Token, Token]:
        return TOKENS[self.token0], TOKENS[self.token1]


@dataclass(frozen=True, slots=True)
class Feed:
    pair: str  # "USDC/USD", as the reference names it
    coin: str  # the scenario's coin
    address: str  # the proxy
    heartbeat: int  # seconds: a new round at the latest this long after the last one
    threshold_pct: float  # a new round once the price moved this far from the answer
    decimals: int = 8

    @property
    def description(self) -> str:
        base, quote = self.pair.split("/")
        return f"{base} / {quote}"


CURVE_POOLS: tuple[CurvePool, ...] = (
    CurvePool(
        "curve-3pool",
        "3pool",
        "0xbebc44782c7db0a1a60cb6fe97d0b483032ff1c7",
        ("DAI", "USDC", "USDT"),
        fee=1_500_000,  # 1.5 bp, the state sample's fee()
        a=4000,
        oracle="none",
        depth=60_000_000.0,
    ),
    CurvePool(
        "curve-crvusd-usdc",
        "crvUSD/USDC",
        "0x4dece678ceceb27446b35c672dc7d61f30bad69e",
        ("USDC", "crvUSD"),
        fee=1_000_000,  # the deploy script's stable_fee (0.01 %)
        a=500,
        oracle="no_arg",
        depth=20_000_000.0,
    ),
    CurvePool(
        "curve-usde-usdc",
        "USDe/USDC",
        "0x02950460e2b9529d0e00284a5fa2d7bdf3fa4d72",
        ("USDe", "USDC"),
        fee=1_000_000,
        a=1000,
        oracle="ng",
        depth=30_000_000.0,
        offpeg_fee_multiplier=50_000_000_000,  # 5×, a common NG setting
    ),
    CurvePool(
        "curve-frax-usdc",
        "FRAX/USDC (FRAXBP)",
        "0xdcef968d416a41cdac0ed8702fac8128a64241a2",
        ("FRAX", "USDC"),
        fee=1_000_000,
        a=1500,
        oracle="none",
        depth=5_000_000.0,
    ),
)

UNISWAP_V3_POOLS: tuple[UniswapV3Pool, ...] = (
    UniswapV3Pool(
        "univ3-usdc-usdt",
        "USDC/USDT 0.01%",
        "0x3416cf6c708da44db2624d63ea0aaef7113527c6",
        "USDC",
        "USDT",
        fee=100,
        tick_spacing=1,
        liquidity=3_456_789_012_345_678,  # the meta sample's liquidity()
        depth=40_000_000.0,
    ),
    UniswapV3Pool(
        "univ3-usde-usdt",  # unverified on mainnet (reference: address computed); 18/6 decimals
        "USDe/USDT 0.01%",
        "0x435664008f38b0650fbc1c9fc971d0a3bc2f1e47",
        "USDe",
        "USDT",
        fee=100,
        tick_spacing=1,
        liquidity=1_234_567_890_123_456_789_012,
        depth=10_000_000.0,
    ),
)

CHAINLINK = "chainlink"  # one venue for every feed: [coins.USDC.venues.chainlink]
FEEDS: tuple[Feed, ...] = (
    Feed("USDC/USD", "USDC", "0x8fffffd4afb6115b954bd326cbe7b4ba576818f6", 82800, 0.25),
    Feed("USDT/USD", "USDT", "0x3e7d1eab13ad0104d2750b8863b489d65364e32d", 86400, 0.25),
    Feed("DAI/USD", "DAI", "0xaed0c38402a5d19df6e4c03f4e2dced6e29c1ee9", 3600, 0.25),
    Feed("USDe/USD", "USDE", "0xa569d910839ae8865da8f8e70fffb0cba869f961", 82800, 0.5),
    Feed("FRAX/USD", "FRAX", "0xb9e1e3a9feff48998e45fa90847ed4d467e8bcfd", 3600, 1.0),
    Feed("CRVUSD/USD", "CRVUSD", "0xeef0c605546958c1f899b6fb336c20671f9cd49f", 86400, 0.5),
    Feed("PYUSD/USD", "PYUSD", "0x8f1df6d7f2db73eece86a18b4381f4707b918fb1", 86400, 0.3),
    Feed("FDUSD/USD", "FDUSD", "0xfaa9147190c2c2cc5b8387b4f49016bdb3380572", 86400, 0.3),
    Feed("TUSD/USD", "TUSD", "0xec746ecf986e2927abd291a2a1716c940100f8ba", 86400, 0.3),
    Feed("USDS/USD", "USDS", "0xff30586cd0f29ed462364c7e81375fc0c71219b1", 82800, 0.3),
    Feed("GHO/USD", "GHO", "0x3f12643d3f6f874d39c2a4c9f2cd6f2dbac877fc", 86400, 0.5),
    Feed("RLUSD/USD", "RLUSD", "0x26c46b7ad0012ca71f2298ada567dc9af14e7f2a", 86400, 0.3),
    Feed("USD1/USD", "USD1", "0xf0d9bb015cd7bfab877b7156146dc09bf461370d", 86400, 0.5),
    Feed("USDP/USD", "USDP", "0x09023c0da49aaf8fc3fa3adf34c6a7016d38d5e3", 86400, 1.0),
)

# Every contract venue a scenario may name, and the node.
CONTRACT_VENUES: tuple[str, ...] = (
    *(p.venue for p in CURVE_POOLS),
    *(p.venue for p in UNISWAP_V3_POOLS),
    CHAINLINK,
)
CHAIN_VENUES: tuple[str, ...] = (NODE, *CONTRACT_VENUES)

# address → the contract venue answering there
VENUE_AT: dict[str, str] = {
    **{p.address: p.venue for p in CURVE_POOLS},
    **{p.address: p.venue for p in UNISWAP_V3_POOLS},
    **{f.address: CHAINLINK for f in FEEDS},
}
