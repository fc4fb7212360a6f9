"""Curve: get_dy both ways → bid/ask, balances → depth, coins() verification, the EMA oracle's
direction; against the shared samples and README §3's worked numbers."""

from __future__ import annotations

import pytest

from depeg_monitor.venues import curve, evm
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.evm import Result

from .onchain import (
    BLOCK,
    NOW,
    REVERT,
    batch_results,
    crvusd_usdc,
    result,
    sample,
    three_pool,
    token,
    usde_usdc,
    word,
)


def _request(call: evm.Call) -> dict[str, object]:
    return evm.eth_call(call.target, call.data)


def test_get_dy_request_is_the_sample() -> None:
    """3pool get_dy(1, 2, 1e6): sell 1 USDC for USDT; and the reverse leg beside it."""
    first, reverse, *balances = curve.calls(three_pool(trade_size=1.0))
    assert _request(first) == sample("curve_3pool_get_dy_request.json")
    assert (
        reverse.data
        == first.data[:4]
        + evm.call(first.target, b"", ["int128", "int128", "uint256"], [2, 1, 10**6]).data
    )
    assert [b.data[:4] for b in balances] == [curve.BALANCES["uint256"]] * 3


def test_ng_get_dy_request_is_the_sample() -> None:
    """USDe/USDC NG: get_dy(0, 1, 1e18) — 18 decimals on the sold side."""
    assert _request(curve.calls(usde_usdc())[0]) == sample("curve_ng_usde_usdc_get_dy_request.json")


def _balances_3pool() -> list[Result]:
    """balances(0..2) from curve_3pool_state_batch_response.json (ids 4, 5, 6)."""
    by_id = batch_results("curve_3pool_state_batch_response.json")
    return [by_id[4], by_id[5], by_id[6]]


def test_3pool_quote_from_the_samples() -> None:
    """999800 → 0.9998 USDT per USDC after fee (README §3.1); the reverse leg 1 USDT → 1.0001
    USDC gives the ask; depth is the state batch's balances (60.5M + 61.2M + 88.8M)."""
    pool = three_pool(trade_size=1.0)
    results = [result("curve_3pool_get_dy_response.json"), word(1_000_100), *_balances_3pool()]
    (q,) = curve.parse(pool, results, BLOCK, NOW)
    assert (q.venue, q.coin, q.quote_ccy) == ("curve-3pool", "USDC", "USDT")
    assert q.bid == 0.9998
    assert q.ask == pytest.approx(1 / 1.0001)
    assert q.price == pytest.approx((0.9998 + 1 / 1.0001) / 2)
    assert q.bid < q.price < q.ask
    assert (q.ts_exchange, q.ts_received) == (BLOCK.timestamp, NOW)
    assert q.depth_usd == pytest.approx(210.5e6, rel=1e-3)
    shares = [
        evm.uint(r, "b") / 10**t.decimals / q.depth_usd
        for r, t in zip(_balances_3pool(), pool.coins, strict=True)
    ]
    assert [round(s, 4) for s in shares] == [0.2875, 0.2909, 0.4217]  # README §3.1


def test_ng_mixed_decimals() -> None:
    """USDe (18) in USDC (6): get_dy(0, 1, 1e18) = 999651 → 0.999651 USDC per USDe."""
    pool = usde_usdc()
    back = word(1_000_200_000_000_000_000)  # 1 USDC buys 1.0002 USDe
    balances = [word(50_000_000 * 10**18), word(40_000_000 * 10**6)]
    (q,) = curve.parse(
        pool, [result("curve_ng_usde_usdc_get_dy_response.json"), back, *balances], BLOCK, NOW
    )
    assert (q.coin, q.quote_ccy) == ("USDe", "USDC")
    assert q.bid == 0.999651
    assert q.ask == pytest.approx(1 / 1.0002)
    assert q.depth_usd == 90e6


def test_market_against_coin_order() -> None:
    """crvUSD/USDC with coins [USDC, crvUSD]: selling crvUSD is get_dy(1, 0, 1e18 × size)."""
    pool = crvusd_usdc(trade_size=10_000)
    sell, buy, *_ = curve.calls(pool)
    args = evm.decode(["int128", "int128", "uint256"], sell.data[4:], "args")
    assert args == (1, 0, 10_000 * 10**18)
    assert evm.decode(["int128", "int128", "uint256"], buy.data[4:], "args") == (
        0,
        1,
        10_000 * 10**6,
    )
    got_usdc, got_crvusd = word(9_990 * 10**6), word(10_005 * 10**18)
    (q,) = curve.parse(pool, [got_usdc, got_crvusd, word(1), word(1)], BLOCK, NOW)
    assert q.bid == 0.999 and q.ask == pytest.approx(10_000 / 10_005)


def test_several_markets_of_one_pool() -> None:
    pool = three_pool(markets=("USDC/USDT", "DAI/USDC"))
    dai_usdc = [word(999_900), word(10**18)]
    results = [word(999_800), word(1_000_000), *dai_usdc, *_balances_3pool()]
    usdc, dai = curve.parse(pool, results, BLOCK, NOW)
    assert (usdc.coin, usdc.quote_ccy, dai.coin, dai.quote_ccy) == ("USDC", "USDT", "DAI", "USDC")
    assert dai.bid == 0.9999 and dai.ask == 1.0 and usdc.depth_usd == dai.depth_usd


@pytest.mark.parametrize(
    ("broken", "kind"),
    [
        (0, ErrorKind.CLIENT_ERROR),  # get_dy reverted
        (3, ErrorKind.CLIENT_ERROR),  # a balances() reverted
    ],
)
def test_a_failed_call_fails_the_pool(broken: int, kind: ErrorKind) -> None:
    results = [word(999_800), word(1_000_100), *_balances_3pool()]
    results[broken] = REVERT
    with pytest.raises(VenueError) as e:
        curve.parse(three_pool(), results, BLOCK, NOW)
    assert e.value.kind is kind


def test_no_code_and_nothing_out() -> None:
    """An empty answer (no contract: wrong address/chain) and a zero get_dy."""
    results = [Result(True, b""), word(1), *_balances_3pool()]
    with pytest.raises(VenueError) as e:
        curve.parse(three_pool(), results, BLOCK, NOW)
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET
    with pytest.raises(VenueError) as e:
        curve.parse(three_pool(), [word(0), word(1), *_balances_3pool()], BLOCK, NOW)
    assert e.value.kind is ErrorKind.MALFORMED


# --- start-up verification ------------------------------------------------------------------


def _verification(pool: curve.Pool) -> list[Result]:
    """coins(0..2) from the state batch sample (ids 1-3), coins(3) reverting as in the
    aggregate3 sample, and each token's decimals()."""
    by_id = batch_results("curve_3pool_state_batch_response.json")
    return [by_id[1], by_id[2], by_id[3], REVERT, *(word(c.decimals) for c in pool.coins)]


def test_verify_calls() -> None:
    pool = three_pool()
    got = curve.verify_calls(pool)
    assert [c.data for c in got[:4]] == [
        curve.COINS["uint256"] + k.to_bytes(32, "big") for k in range(4)
    ]
    assert [c.target for c in got[4:]] == [c.address for c in pool.coins]
    assert all(c.data == evm.ERC20_DECIMALS for c in got[4:])


def test_verify_accepts_the_configured_order() -> None:
    curve.verify(three_pool(), _verification(three_pool()))


def test_verify_refuses_another_order() -> None:
    """A config with DAI and USDC swapped would quote reciprocals: refused at start-up."""
    pool = three_pool()
    swapped = curve.Pool(
        pool.name,
        pool.chain,
        pool.address,
        (token("USDC"), token("DAI"), token("USDT")),
        pool.markets,
    )
    with pytest.raises(VenueError) as e:
        curve.verify(swapped, _verification(swapped))
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET and "coins(0)" in str(e.value)


def test_verify_refuses_unconfigured_coins_and_wrong_decimals() -> None:
    pool = three_pool()
    results = _verification(pool)
    more = [*results[:3], word(1), *results[4:]]
    with pytest.raises(VenueError, match="more than 3 coins"):
        curve.verify(pool, more)
    wrong = [*results[:4], word(6), *results[5:]]  # DAI with 6 decimals: the kcolbchain bug
    with pytest.raises(VenueError, match="DAI has 6 decimals"):
        curve.verify(pool, wrong)


# --- the EMA oracle ------------------------------------------------------------------------


def test_crvusd_oracle_as_read() -> None:
    """crvUSD/USDC price_oracle() (no argument) = crvUSD in USDC: 0.999043 (README §3.2)."""
    pool = crvusd_usdc()
    call = curve.oracle_call(pool, "crvUSD/USDC")
    assert _request(call) == sample("curve_crvusd_usdc_price_oracle_request.json")
    raw = result("curve_crvusd_usdc_price_oracle_response.json")
    assert curve.oracle_price(pool, "crvUSD/USDC", raw) == pytest.approx(0.999043303185591283)
    assert curve.oracle_price(pool, "USDC/crvUSD", raw) == pytest.approx(1.000958, abs=1e-6)


def test_ng_oracle_is_inverted() -> None:
    """USDe/USDC NG price_oracle(0) is USDC in USDe (1.0003): USDe in USDC is 1/that."""
    pool = usde_usdc()
    call = curve.oracle_call(pool, "USDe/USDC")
    assert _request(call) == sample("curve_ng_usde_usdc_price_oracle_request.json")
    raw = result("curve_ng_usde_usdc_price_oracle_response.json")
    assert curve.oracle_price(pool, "USDe/USDC", raw) == pytest.approx(0.9997, abs=1e-7)
    assert curve.oracle_price(pool, "USDC/USDe", raw) == pytest.approx(1.00030009)


def test_pool_config_is_checked() -> None:
    pool = three_pool()
    with pytest.raises(ValueError, match="market"):
        curve.Pool("x", "ethereum", pool.address, pool.coins, ("USDC/FRAX",))
    with pytest.raises(ValueError, match="trade_size"):
        curve.Pool("x", "ethereum", pool.address, pool.coins, ("USDC/USDT",), 0.0)
    with pytest.raises(ValueError, match="address"):
        curve.Pool("x", "ethereum", "0x1234", pool.coins, ("USDC/USDT",))
    with pytest.raises(ValueError, match="no price_oracle"):
        curve.oracle_call(pool, "USDC/USDT")
