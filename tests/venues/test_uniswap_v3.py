"""Uniswap v3: slot0 → price (decimals 6/6 and 18/6), liquidity → depth, QuoterV2 bid/ask,
factory getPool verification; against the shared samples and README §4's worked numbers."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from eth_abi.abi import encode

from depeg_monitor.venues import evm, uniswap_v3
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.evm import Result

from .onchain import (
    BLOCK,
    NOW,
    REVERT,
    batch_results,
    result,
    sample,
    token,
    usdc_usdt_v3,
    usde_usdt_v3,
    word,
)

L = 3_456_789_012_345_678  # univ3_pool_meta_batch_response.json id 3


def _request(call: evm.Call) -> dict[str, object]:
    return evm.eth_call(call.target, call.data)


def _slot0(sqrt_p: int, tick: int) -> Result:
    types = list(uniswap_v3.SLOT0_TYPES)
    return Result(True, encode(types, [sqrt_p, tick, 42, 100, 100, 0, True]))


def test_requests_are_the_samples() -> None:
    slot0, liquidity = uniswap_v3.calls(usdc_usdt_v3())
    assert _request(slot0) == sample("univ3_slot0_request.json")
    assert liquidity.data == bytes.fromhex(
        sample("univ3_pool_meta_batch_request.json")[2]["params"][0]["data"][2:]
    )


def test_slot0_sample_prices_usdc_in_usdt() -> None:
    """sqrtPriceX96 79220240490215319061937756560, tick -2 → 0.99980003 USDT per USDC."""
    liquidity = batch_results("univ3_pool_meta_batch_response.json")[3]
    (q,) = uniswap_v3.parse(
        usdc_usdt_v3(), [result("univ3_slot0_response.json"), liquidity], BLOCK, NOW
    )
    assert (q.venue, q.coin, q.quote_ccy) == ("uniswap-v3-usdc-usdt", "USDC", "USDT")
    assert q.price == pytest.approx(0.99980003, abs=1e-8)
    assert q.price == pytest.approx(1.0001**-2, rel=1e-6)  # the tick agrees
    assert (q.bid, q.ask) == (None, None)
    assert (q.ts_exchange, q.ts_received) == (BLOCK.timestamp, NOW)


def test_the_other_way_round_is_the_inverse() -> None:
    liquidity = word(L)
    (q,) = uniswap_v3.parse(
        usdc_usdt_v3("USDT/USDC"), [result("univ3_slot0_response.json"), liquidity], BLOCK, NOW
    )
    assert (q.coin, q.quote_ccy) == ("USDT", "USDC")
    assert q.price == pytest.approx(1 / 0.99980003, abs=1e-8)


def _sqrt_price(price: Fraction, dec0: int, dec1: int) -> int:
    raw = price * 10**dec1 / 10**dec0  # token1 base units per token0 base unit
    return math.isqrt(int(raw * 2**192))


def test_mixed_decimals_18_6() -> None:
    """USDe (18) / USDT (6): raw price ~1e-12, × 10**12 back to ~0.9995 (README §4.2)."""
    pool = usde_usdt_v3()
    sqrt_p = _sqrt_price(Fraction(9995, 10000), 18, 6)
    tick = math.floor(2 * math.log(sqrt_p / 2**96) / math.log(1.0001))
    (q,) = uniswap_v3.parse(pool, [_slot0(sqrt_p, tick), word(L)], BLOCK, NOW)
    assert (q.coin, q.quote_ccy) == ("USDe", "USDT")
    assert q.price == pytest.approx(0.9995, rel=1e-12)
    assert float(uniswap_v3.price0(sqrt_p, 18, 6)) == pytest.approx(0.9995)
    assert q.depth_usd is not None and q.depth_usd > 0


def test_depth_is_the_liquidity_within_the_band() -> None:
    """L over ±2 % of a price of ~1 (6/6 decimals): L·(1 - 1/√1.02) + L·(1 - √0.98), /1e6."""
    (q,) = uniswap_v3.parse(
        usdc_usdt_v3(), [result("univ3_slot0_response.json"), word(L)], BLOCK, NOW
    )
    root = 79220240490215319061937756560 / 2**96
    expected = (L / root * (1 - 1 / math.sqrt(1.02)) + L * root * (1 - math.sqrt(0.98))) / 1e6
    assert q.depth_usd == pytest.approx(expected)
    assert 60e6 < expected < 80e6


def test_quoter_request_and_bid_ask() -> None:
    """QuoterV2 sells 1M USDC → 999748.123456 USDT (univ3_quoterv2_quote_*.json): bid."""
    pool = usdc_usdt_v3(trade_size=1_000_000)
    _, _, sell, buy = uniswap_v3.calls(pool)
    assert buy.data[:4] == uniswap_v3.QUOTE_EXACT_INPUT_SINGLE
    assert _request(sell) == sample("univ3_quoterv2_quote_request.json")
    back = Result(True, encode(list(uniswap_v3.QUOTE_TYPES), [1_000_150 * 10**6, 2**96, 1, 90_000]))
    (q,) = uniswap_v3.parse(
        pool,
        [
            result("univ3_slot0_response.json"),
            word(L),
            result("univ3_quoterv2_quote_response.json"),
            back,
        ],
        BLOCK,
        NOW,
    )
    assert q.bid == 0.999748123456
    assert q.ask == pytest.approx(1 / 1.00015)
    assert q.bid < q.price < q.ask


def test_a_failed_quote_keeps_the_price() -> None:
    pool = usdc_usdt_v3(trade_size=1_000_000)
    (q,) = uniswap_v3.parse(
        pool, [result("univ3_slot0_response.json"), word(L), REVERT, REVERT], BLOCK, NOW
    )
    assert q.price == pytest.approx(0.9998, abs=1e-6) and (q.bid, q.ask) == (None, None)


@pytest.mark.parametrize(
    ("slot0", "kind"),
    [
        (REVERT, ErrorKind.CLIENT_ERROR),
        (Result(True, b""), ErrorKind.UNKNOWN_MARKET),
        (_slot0(0, 0), ErrorKind.MALFORMED),
        (_slot0(2**96, 500), ErrorKind.MALFORMED),  # price 1 but tick 500: garbage
        (Result(True, b"\x01" * 31), ErrorKind.MALFORMED),
    ],
)
def test_bad_slot0_fails_the_pool(slot0: Result, kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as e:
        uniswap_v3.parse(usdc_usdt_v3(), [slot0, word(L)], BLOCK, NOW)
    assert e.value.kind is kind


# --- start-up verification ------------------------------------------------------------------


def _verification(pool: uniswap_v3.Pool, get_pool: str | None = None) -> list[Result]:
    """getPool, then token0/token1/fee from univ3_pool_meta_batch_response.json, decimals."""
    meta = batch_results("univ3_pool_meta_batch_response.json")
    found = Result(True, encode(["address"], [get_pool or pool.address]))
    return [found, meta[1], meta[2], meta[4], word(6), word(6)]


def test_verify_calls() -> None:
    pool = usdc_usdt_v3()
    get_pool, *own, d0, d1 = uniswap_v3.verify_calls(pool)
    assert get_pool.target == uniswap_v3.FACTORY
    args = evm.decode(["address", "address", "uint24"], get_pool.data[4:], "getPool")
    assert args == (token("USDC").address, token("USDT").address, 100)
    assert [c.data for c in own] == [uniswap_v3.TOKEN0, uniswap_v3.TOKEN1, uniswap_v3.FEE]
    assert (d0.target, d1.target) == (pool.token0.address, pool.token1.address)


def test_verify_accepts_the_sample_pool() -> None:
    uniswap_v3.verify(usdc_usdt_v3(), _verification(usdc_usdt_v3()))


def test_verify_refuses_a_pool_the_factory_does_not_know() -> None:
    """A computed address need not be a live pool: getPool answers the zero address."""
    pool = usdc_usdt_v3()
    with pytest.raises(VenueError) as e:
        uniswap_v3.verify(pool, _verification(pool, "0x" + "00" * 20))
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET and "getPool" in str(e.value)
    results = _verification(pool)
    results[3] = word(500)
    with pytest.raises(VenueError, match="fee"):
        uniswap_v3.verify(pool, results)


def test_pool_config_is_checked() -> None:
    usdc, usdt = token("USDC"), token("USDT")
    address = usdc_usdt_v3().address
    with pytest.raises(ValueError, match="lower address"):
        uniswap_v3.Pool("x", "ethereum", address, usdt, usdc, 100, "USDC/USDT")
    with pytest.raises(ValueError, match="market"):
        uniswap_v3.Pool("x", "ethereum", address, usdc, usdt, 100, "USDC/DAI")
