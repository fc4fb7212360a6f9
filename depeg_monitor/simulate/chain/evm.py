"""The simulated chain: blocks every 12 s of scenario time, and what each contract answers.

Every call is answered from the state of one block: the prices of the scenario at the block's
start (scenario time 12 × index), so all reads of a block agree, as on a real chain. Calldata
is decoded and results encoded with eth-abi, by the selectors of reference.json.

Models (illustrative, not protocol math):
- Curve: coin i is worth usd(i) / usd(j) of coin j at the pool's venue. get_dy takes the fee
  (NG pools: the dynamic fee, which grows as the pool leaves balance) and a price impact of
  IMPACT × (trade in USD) / (coin j's balance in USD). Balances lean towards the cheaper coin:
  each coin's share ∝ exp(SKEW × (mean price - its price) / mean price), the pool's size fixed.
  price_oracle is an EMA of the block prices with time constant ma_exp_time (wall seconds).
- Uniswap v3: slot0's sqrtPriceX96 from token0's price in token1 and both decimals; liquidity
  scales with the scenario's depth.
- Chainlink: a new round only when the price has moved threshold_pct from the answer, or
  heartbeat seconds (block timestamps) after the last round — so the answer lags. The first
  round is from before the scenario, an age between 10 % and 60 % of the heartbeat (fixed by
  the seed), at the price of t = 0.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError

from depeg_monitor.simulate.chain.contracts import (
    CHAIN_ID,
    CHAINLINK,
    CURVE_POOLS,
    FEEDS,
    MULTICALL3,
    NODE,
    TOKENS,
    UNISWAP_V3_FACTORY,
    UNISWAP_V3_POOLS,
    VENUE_AT,
    ZERO_ADDRESS,
    CurvePool,
    Feed,
    UniswapV3Pool,
)
from depeg_monitor.simulate.pricing import PriceModel
from depeg_monitor.simulate.scenario import Fault, Scenario

BLOCK_TIME = 12.0  # scenario seconds per block
GENESIS_BLOCK = 24_000_000  # the number of block 0 (the shared samples' block 0x16e3600)
FEE_DENOMINATOR = 10**10
IMPACT = 0.05  # price impact of a trade the size of the bought coin's whole balance
SKEW = 25.0  # how far a pool's balances lean towards its cheaper coin
ROUND_PHASE = 8 << 64  # Chainlink proxy roundId = phaseId << 64 | aggregator round
FIRST_ROUND = 1234
VIRTUAL_PRICE = 1_041_200_000_000_000_000  # the state sample's 1.0412
MULTICALL_FAILED = "Multicall3: call failed"
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a call did: returned `data`, or reverted with `data` (legacy: the -32000 way)."""

    ok: bool
    data: bytes = b""
    legacy: bool = False


NO_CODE = Outcome(True, b"")
REVERT = Outcome(False, b"")


def revert_reason(reason: str) -> Outcome:
    return Outcome(False, ERROR_SELECTOR + encode(["string"], [reason]))


def _ok(types: list[str], values: list[Any]) -> Outcome:
    return Outcome(True, encode(types, values))


@dataclass(frozen=True, slots=True)
class Round:
    block: int  # the block it landed in (-1: before the scenario)
    round_id: int
    answer: int
    updated_at: int


_CURVE_BY_VENUE = {p.venue: p for p in CURVE_POOLS}
_UNI_BY_VENUE = {p.venue: p for p in UNISWAP_V3_POOLS}
_FEED_AT = {f.address: f for f in FEEDS}
_TOKEN_AT = {t.address: t for t in TOKENS.values()}

# selector → function name, per kind of contract (reference.json "selectors")
CURVE_FNS = {
    "5e0d443f": "get_dy",
    "c6610657": "coins",
    "4903b0d1": "balances",
    "ddca3f43": "fee",
    "f446c1d0": "A",
    "86fc88d3": "price_oracle()",
    "68727653": "price_oracle(uint256)",
    "1be913a5": "ma_exp_time",
    "bb7b8b80": "get_virtual_price",
    "8edfdd5f": "offpeg_fee_multiplier",
    "76a9cd3e": "dynamic_fee",
}
UNISWAP_FNS = {
    "3850c7bd": "slot0",
    "1a686502": "liquidity",
    "0dfe1681": "token0",
    "d21220a7": "token1",
    "ddca3f43": "fee",
    "d0c93a7c": "tickSpacing",
}
CHAINLINK_FNS = {
    "feaf968c": "latestRoundData",
    "9a6fc8f5": "getRoundData",
    "313ce567": "decimals",
    "7284e416": "description",
    "54fd4d50": "version",
    "50d25bcd": "latestAnswer",
}
MULTICALL_FNS = {
    "82ad56cb": "aggregate3",
    "42cbb15c": "getBlockNumber",
    "0f28c97d": "getCurrentBlockTimestamp",
    "3408e470": "getChainId",
}
GET_POOL = "1698ee82"  # factory getPool(address,address,uint24)


def contract_fault(scenario: Scenario, venue: str, t: float) -> Fault | None:
    """The revert or no_code fault in force at a contract venue at scenario time t."""
    for f in scenario.faults:
        if f.venue == venue and f.kind in ("revert", "no_code") and f.active(t):
            return f
    return None


def stale_fault(scenario: Scenario, t: float) -> Fault | None:
    for f in scenario.faults:
        if f.venue == NODE and f.kind == "stale" and f.active(t):
            return f
    return None


class Chain:
    """Blocks and contract state of one simulated market, read lazily and kept per block."""

    def __init__(
        self, scenario: Scenario, prices: PriceModel, wall_time: Callable[[float], float]
    ) -> None:
        self._s = scenario
        self._prices = prices
        self._wall_time = wall_time
        self._ema: dict[str, list[tuple[float, ...]]] = {}
        self._rounds: dict[str, list[Round]] = {}
        self._rounds_to: dict[str, int] = {}  # feed → last block its rounds were checked at

    # -- blocks ------------------------------------------------------------------------------

    def head(self, t: float) -> int:
        """The index (0 = GENESIS_BLOCK) of the newest block at scenario time t: frozen at
        the block of a stale fault's start while it lasts."""
        stale = stale_fault(self._s, t)
        at = stale.start if stale is not None else t
        return max(0, math.floor(at / BLOCK_TIME))

    def timestamp(self, index: int) -> int:
        return int(self._wall_time(index * BLOCK_TIME))

    @staticmethod
    def number(index: int) -> int:
        return GENESIS_BLOCK + index

    # -- calls -------------------------------------------------------------------------------

    def call(self, to: str, data: bytes, index: int) -> Outcome:
        """Run `data` against the contract at `to` in block `index`."""
        to = to.lower()
        sel, args = data[:4].hex(), data[4:]
        try:
            if to == MULTICALL3:
                return self._multicall(sel, args, index)
            if to == UNISWAP_V3_FACTORY:
                return self._factory(sel, args, index)
            if to in _TOKEN_AT:  # an ERC-20: decimals(), what a reader verifies at start-up
                return _ok(["uint8"], [_TOKEN_AT[to].decimals]) if sel == "313ce567" else REVERT
            venue = VENUE_AT.get(to)
            if venue is None or not self._deployed(venue, index):
                return NO_CODE
            fault = contract_fault(self._s, venue, index * BLOCK_TIME)
            if fault is not None:  # a revert (no_code was caught by _deployed)
                return Outcome(False, b"", legacy=fault.mode == "legacy")
            if venue in _CURVE_BY_VENUE:
                return self._curve(_CURVE_BY_VENUE[venue], sel, args, index)
            if venue in _UNI_BY_VENUE:
                return self._uniswap(_UNI_BY_VENUE[venue], sel, args, index)
            return self._chainlink(_FEED_AT[to], sel, args, index)
        except (DecodingError, ValueError, OverflowError):
            return REVERT  # calldata the function cannot decode, or a value out of range

    def has_code(self, to: str, index: int) -> bool:
        to = to.lower()
        if to in (MULTICALL3, UNISWAP_V3_FACTORY) or to in _TOKEN_AT:
            return True
        venue = VENUE_AT.get(to)
        return venue is not None and self._deployed(venue, index)

    def _deployed(self, venue: str, index: int) -> bool:
        if not self._s.venue(venue).enabled:
            return False
        fault = contract_fault(self._s, venue, index * BLOCK_TIME)
        return fault is None or fault.kind != "no_code"

    # -- Multicall3 and the factory ----------------------------------------------------------

    def _multicall(self, sel: str, args: bytes, index: int) -> Outcome:
        fn = MULTICALL_FNS.get(sel)
        if fn == "getBlockNumber":
            return _ok(["uint256"], [self.number(index)])
        if fn == "getCurrentBlockTimestamp":
            return _ok(["uint256"], [self.timestamp(index)])
        if fn == "getChainId":
            return _ok(["uint256"], [CHAIN_ID])
        if fn != "aggregate3":
            return REVERT
        (calls,) = decode(["(address,bool,bytes)[]"], args)
        results: list[tuple[bool, bytes]] = []
        for target, allow_failure, calldata in calls:
            out = self.call(target, calldata, index)
            if not out.ok and not allow_failure:
                return revert_reason(MULTICALL_FAILED)
            results.append((out.ok, out.data))
        return _ok(["(bool,bytes)[]"], [results])

    def _factory(self, sel: str, args: bytes, index: int) -> Outcome:
        if sel != GET_POOL:
            return REVERT
        a, b, fee = decode(["address", "address", "uint24"], args)
        pair = {a.lower(), b.lower()}
        for p in UNISWAP_V3_POOLS:
            tokens = {t.address for t in p.tokens}
            if tokens == pair and p.fee == fee and self._deployed(p.venue, index):
                return _ok(["address"], [p.address])
        return _ok(["address"], [ZERO_ADDRESS])

    # -- Curve -------------------------------------------------------------------------------

    def _usd(self, coins: tuple[str, ...], venue: str, index: int) -> list[float]:
        t = index * BLOCK_TIME
        return [self._prices.usd_price(TOKENS[c].coin, venue, t) for c in coins]

    def _depth(self, venue: str, default: float) -> float:
        depth = self._s.venue(venue).depth
        return default if depth is None else depth

    def balances(self, pool: CurvePool, usd: list[float]) -> list[float]:
        """Each coin's balance (whole coins) for these prices: leaning to the cheaper coin."""
        mean = sum(usd) / len(usd)
        weights = [math.exp(SKEW * (mean - p) / mean) for p in usd]
        size = self._depth(pool.venue, pool.depth) * len(usd)
        return [size * w / sum(weights) for w in weights]

    @staticmethod
    def curve_fee(pool: CurvePool, bal: list[float], i: int, j: int) -> float:
        """The fee of a swap between coins i and j (1e10 = 100 %): NG's dynamic fee."""
        mul = pool.offpeg_fee_multiplier
        if mul <= FEE_DENOMINATOR:
            return float(pool.fee)
        xi, xj = bal[i], bal[j]
        balance = 4 * xi * xj / (xi + xj) ** 2  # 1 when balanced, towards 0 when not
        return mul * pool.fee / ((mul - FEE_DENOMINATOR) * balance + FEE_DENOMINATOR)

    def _curve(self, pool: CurvePool, sel: str, args: bytes, index: int) -> Outcome:
        fn, n = CURVE_FNS.get(sel), len(pool.coins)
        usd = self._usd(pool.coins, pool.venue, index)
        bal = self.balances(pool, usd)
        if fn == "get_dy":
            i, j, dx = decode(["int128", "int128", "uint256"], args)
            if not (0 <= i < n and 0 <= j < n) or i == j:
                return REVERT
            ti, tj = pool.tokens[i], pool.tokens[j]
            amount = dx / 10**ti.decimals
            impact = min(0.5, IMPACT * amount * usd[i] / (bal[j] * usd[j]))
            fee = self.curve_fee(pool, bal, i, j) / FEE_DENOMINATOR
            dy = amount * usd[i] / usd[j] * (1 - impact) * (1 - fee)
            return _ok(["uint256"], [int(dy * 10**tj.decimals)])
        if fn in ("coins", "balances"):
            (k,) = decode(["uint256"], args)
            if k >= n:
                return REVERT
            tok = pool.tokens[k]
            if fn == "coins":
                return _ok(["address"], [tok.address])
            return _ok(["uint256"], [int(bal[k] * 10**tok.decimals)])
        if fn == "fee":
            return _ok(["uint256"], [pool.fee])
        if fn == "A":
            return _ok(["uint256"], [pool.a])
        if fn == "get_virtual_price":  # the LP token's value: not a price, barely moves
            return _ok(["uint256"], [VIRTUAL_PRICE])
        if fn == "ma_exp_time" and pool.oracle != "none":
            return _ok(["uint256"], [pool.ma_exp_time])
        if fn == "price_oracle()" and pool.oracle == "no_arg":
            return _ok(["uint256"], [_e18(self._ema_at(pool, index)[0])])
        if fn == "price_oracle(uint256)" and pool.oracle == "ng":
            (k,) = decode(["uint256"], args)
            if k >= n - 1:
                return REVERT
            return _ok(["uint256"], [_e18(self._ema_at(pool, index)[k])])
        if pool.offpeg_fee_multiplier and fn == "offpeg_fee_multiplier":
            return _ok(["uint256"], [pool.offpeg_fee_multiplier])
        if pool.offpeg_fee_multiplier and fn == "dynamic_fee":
            i, j = decode(["int128", "int128"], args)
            if not (0 <= i < n and 0 <= j < n):
                return REVERT
            return _ok(["uint256"], [int(self.curve_fee(pool, bal, i, j))])
        return REVERT  # no such function on this pool (3pool's price_oracle, …)

    def _ema_at(self, pool: CurvePool, index: int) -> tuple[float, ...]:
        """price_oracle at block `index`: for each coin k ≥ 1, the EMA of its price in coin 0."""
        emas = self._ema.setdefault(pool.venue, [])
        keep = math.exp(-BLOCK_TIME / self._s.time_scale / pool.ma_exp_time)
        while len(emas) <= index:
            usd = self._usd(pool.coins, pool.venue, len(emas))
            spot = tuple(p / usd[0] for p in usd[1:])
            prev = emas[-1] if emas else spot
            emas.append(tuple(e * keep + s * (1 - keep) for e, s in zip(prev, spot, strict=True)))
        return emas[index]

    # -- Uniswap v3 --------------------------------------------------------------------------

    def _uniswap(self, pool: UniswapV3Pool, sel: str, args: bytes, index: int) -> Outcome:
        fn = UNISWAP_FNS.get(sel)
        t0, t1 = pool.tokens
        if fn == "slot0":
            usd = self._usd((pool.token0, pool.token1), pool.venue, index)
            sqrt_price, tick = sqrt_price_x96(usd[0] / usd[1], t0.decimals, t1.decimals)
            return _ok(
                ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"],
                [sqrt_price, tick, 42, 100, 100, 0, True],
            )
        if fn == "liquidity":
            scale = self._depth(pool.venue, pool.depth) / pool.depth
            return _ok(["uint128"], [int(pool.liquidity * scale)])
        if fn in ("token0", "token1"):
            return _ok(["address"], [(t0 if fn == "token0" else t1).address])
        if fn == "fee":
            return _ok(["uint24"], [pool.fee])
        if fn == "tickSpacing":
            return _ok(["int24"], [pool.tick_spacing])
        return REVERT

    # -- Chainlink ---------------------------------------------------------------------------

    def _chainlink(self, feed: Feed, sel: str, args: bytes, index: int) -> Outcome:
        fn = CHAINLINK_FNS.get(sel)
        if fn in ("latestRoundData", "latestAnswer"):
            r = self.round_at(feed, index)
            if fn == "latestAnswer":
                return _ok(["int256"], [r.answer])
            return _round(r)
        if fn == "getRoundData":
            (wanted,) = decode(["uint80"], args)
            latest = self.round_at(feed, index)
            for r in self._rounds[feed.pair]:
                if r.round_id == wanted and r.round_id <= latest.round_id:
                    return _round(r)
            return revert_reason("No data present")
        if fn == "decimals":
            return _ok(["uint8"], [feed.decimals])
        if fn == "description":
            return _ok(["string"], [feed.description])
        if fn == "version":
            return _ok(["uint256"], [4])
        return REVERT

    def round_at(self, feed: Feed, index: int) -> Round:
        """The feed's latest round as of block `index`."""
        rounds = self._rounds.get(feed.pair)
        if rounds is None:
            rounds = self._rounds[feed.pair] = [self._first_round(feed)]
            self._rounds_to[feed.pair] = -1
        threshold = feed.threshold_pct / 100
        for b in range(self._rounds_to[feed.pair] + 1, index + 1):
            last, ts = rounds[-1], self.timestamp(b)
            answer = self._answer(feed, b * BLOCK_TIME)
            moved = abs(answer - last.answer) / last.answer >= threshold
            if moved or ts - last.updated_at >= feed.heartbeat:
                rounds.append(Round(b, last.round_id + 1, answer, ts))
        self._rounds_to[feed.pair] = max(self._rounds_to[feed.pair], index)
        at = bisect.bisect_right([r.block for r in rounds], index) - 1
        return rounds[max(0, at)]

    def _answer(self, feed: Feed, t: float) -> int:
        return round(self._prices.usd_price(feed.coin, CHAINLINK, t) * 10.0**feed.decimals)

    def _first_round(self, feed: Feed) -> Round:
        spread = zlib.crc32(f"{self._s.scenario.seed}:{feed.pair}".encode()) / 0xFFFFFFFF
        age = int(feed.heartbeat * (0.1 + 0.5 * spread))
        return Round(
            -1, ROUND_PHASE | FIRST_ROUND, self._answer(feed, 0.0), self.timestamp(0) - age
        )


def _round(r: Round) -> Outcome:
    return _ok(
        ["uint80", "int256", "uint256", "uint256", "uint80"],
        [r.round_id, r.answer, r.updated_at, r.updated_at, r.round_id],
    )


def _e18(x: float) -> int:
    return int(Fraction(x) * 10**18)


def sqrt_price_x96(price: float, decimals0: int, decimals1: int) -> tuple[int, int]:
    """slot0's (sqrtPriceX96, tick) for `price` = token0 in token1, whole tokens.

    raw = price × 10**(dec1 - dec0) token1 base units per token0 base unit;
    sqrtPriceX96 = sqrt(raw) × 2**96; tick = floor(log_1.0001(raw)).
    """
    raw = Fraction(price) * 10**decimals1 / 10**decimals0
    sqrt_price = math.isqrt(math.floor(raw * 2**192))
    tick = math.floor(math.log(float(raw)) / math.log(1.0001))
    return sqrt_price, tick
