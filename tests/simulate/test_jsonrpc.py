"""The simulated Ethereum node: JSON-RPC shapes of the shared samples, scenario-driven contract
state read through Multicall3, and each on-chain fault — decoded here with eth-abi alone."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from eth_abi.abi import decode, encode

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import PriceModel, ScenarioError, SimulatedMarket, load_scenario
from depeg_monitor.simulate import parse_scenario as parse
from depeg_monitor.simulate.chain import contracts

from ..payloads import payload
from .conftest import StartMarket

ROOT = Path(__file__).parents[2]
HEX_QUANTITY = re.compile(r"0x(0|[1-9a-f][0-9a-f]*)")
GENESIS = 0x16E3600  # block 0 of the simulator: the samples' block


def sample(name: str) -> Any:
    return payload(f"onchain/{name}")


def ref() -> Any:
    return sample("reference.json")


def sel(kind: str, signature: str) -> bytes:
    """A selector as reference.json computed it."""
    return bytes.fromhex(ref()["selectors"][kind][signature][2:])


def addr(x: str) -> str:
    return x.lower()


CURVE = {
    "curve-3pool": "3pool",
    "curve-crvusd-usdc": "crvUSD/USDC",
    "curve-usde-usdc": "USDe/USDC",
    "curve-frax-usdc": "FRAX/USDC (FRAXBP)",
}
UNI = {"univ3-usdc-usdt": "USDC/USDT 0.01%", "univ3-usde-usdt": "USDe/USDT 0.01%"}


def curve_pool(venue: str) -> dict[str, Any]:
    pool: dict[str, Any] = ref()["curve_pools"][CURVE[venue]]
    return pool


def uni_pool(venue: str) -> dict[str, Any]:
    pool: dict[str, Any] = ref()["uniswap_v3"]["pools"][UNI[venue]]
    return pool


def token(symbol: str) -> dict[str, Any]:
    tok: dict[str, Any] = ref()["tokens"][symbol]
    return tok


def feed(pair: str) -> str:
    return str(ref()["chainlink_feeds"][pair]["proxy"])


MULTICALL = "0xca11bde05977b3631167028862be2a173976ca11"
FACTORY = "0x1f98431c8ad98523631ae4a59f267346ea31f984"


def scenario(
    coins: Mapping[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "scenario": {"duration": 600, "noise": 0.0},
        "coins": dict(coins or {}),
        "faults": faults or [],
        **extra,
    }


def level(x: float, venue: str | None = None) -> dict[str, Any]:
    """A coin held at `x` from t = 0 (at one venue only, if named)."""
    path = {"segments": [{"kind": "calm", "duration": 600, "level": x}]}
    return {"venues": {venue: path}} if venue else path


async def post(http: aiohttp.ClientSession, market: SimulatedMarket, body: Any) -> Any:
    url = market.rpc_urls()["ethereum"]
    async with http.post(url, data=body if isinstance(body, str) else json.dumps(body)) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def request(method: str, params: list[Any], id_: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


async def eth_call(
    http: aiohttp.ClientSession,
    market: SimulatedMarket,
    to: str,
    data: bytes,
    block: str = "latest",
) -> Any:
    return await post(
        http, market, request("eth_call", [{"to": to, "data": "0x" + data.hex()}, block])
    )


async def aggregate3(
    http: aiohttp.ClientSession,
    market: SimulatedMarket,
    calls: list[tuple[str, bytes]],
    allow_failure: bool = True,
) -> list[tuple[bool, bytes]]:
    data = sel("multicall3", "aggregate3((address,bool,bytes)[])") + encode(
        ["(address,bool,bytes)[]"], [[(to, allow_failure, cd) for to, cd in calls]]
    )
    answer = await eth_call(http, market, MULTICALL, data)
    (results,) = decode(["(bool,bytes)[]"], bytes.fromhex(answer["result"][2:]))
    return [(bool(ok), bytes(rd)) for ok, rd in results]


def uint(data: bytes) -> int:
    (x,) = decode(["uint256"], data)
    return int(x)


def get_dy(i: int, j: int, dx: int) -> bytes:
    return sel("curve", "get_dy(int128,int128,uint256)") + encode(
        ["int128", "int128", "uint256"], [i, j, dx]
    )


def by_index(kind: str, signature: str, i: int) -> bytes:
    return sel(kind, signature) + encode(["uint256"], [i])


# -- the data and the samples' shapes ---------------------------------------------------------


def test_contract_data_matches_the_reference() -> None:
    """Every pool's address and coin order, every token's decimals and every feed's proxy,
    heartbeat and threshold in chain/contracts.py are those of reference.json."""
    for t in contracts.TOKENS.values():
        assert (t.address, t.decimals) == (token(t.symbol)["address"], token(t.symbol)["decimals"])
    for p in contracts.CURVE_POOLS:
        assert (p.address, list(p.coins)) == (
            curve_pool(p.venue)["address"],
            curve_pool(p.venue)["coins"],
        )
    for u in contracts.UNISWAP_V3_POOLS:
        real = uni_pool(u.venue)
        assert (u.address, u.token0, u.token1, u.fee) == (
            real["address"],
            real["token0"],
            real["token1"],
            real["fee"],
        )
    for f in contracts.FEEDS:
        real = ref()["chainlink_feeds"][f.pair]
        assert (f.address, f.heartbeat, f.threshold_pct, f.decimals) == (
            real["proxy"],
            real["heartbeat"],
            real["threshold_pct"],
            real["decimals"],
        )
    assert ref()["multicall3"]["address"] == contracts.MULTICALL3
    assert ref()["uniswap_v3"]["factory"]["address"] == contracts.UNISWAP_V3_FACTORY


async def test_block_number_has_the_samples_shape(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """eth_blockNumber answers like the sample (block 0x16e3600 at t = 0) and echoes any id."""
    market = await start_market(scenario())
    got = await post(http, market, sample("eth_blockNumber_request.json"))
    assert got == sample("eth_blockNumber_response.json")
    got = await post(http, market, request("eth_blockNumber", [], id_="a-7"))
    assert got["id"] == "a-7" and HEX_QUANTITY.fullmatch(got["result"])


async def test_blocks_come_every_12_scenario_seconds(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """The head moves one block per 12 scenario seconds, stamped with the wall time it began."""
    market = await start_market(scenario())
    start = clock.now()
    clock.advance(11.9)
    assert (await post(http, market, request("eth_blockNumber", [])))["result"] == hex(GENESIS)
    clock.advance(0.2)
    assert (await post(http, market, request("eth_blockNumber", [])))["result"] == hex(GENESIS + 1)
    clock.advance(24)
    block = (await post(http, market, sample("eth_getBlockByNumber_request.json")))["result"]
    real = sample("eth_getBlockByNumber_response.json")["result"]
    assert block.keys() == real.keys()
    assert block["number"] == hex(GENESIS + 3)
    assert int(block["timestamp"], 16) == int(start + 36)
    assert all(HEX_QUANTITY.fullmatch(block[k]) for k in ("number", "timestamp", "gasUsed"))
    assert len(block["hash"]) == len(real["hash"])
    old = await post(http, market, request("eth_getBlockByNumber", [hex(GENESIS + 1), False]))
    assert int(old["result"]["timestamp"], 16) == int(start + 12)
    parent = await post(http, market, request("eth_getBlockByNumber", [hex(GENESIS + 2), False]))
    assert parent["result"]["hash"] == block["parentHash"]
    future = await post(http, market, request("eth_getBlockByNumber", [hex(GENESIS + 99), False]))
    assert future["result"] is None


async def test_blocks_follow_scenario_time_not_wall_time(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """Played 4× faster, a block comes every 3 wall seconds."""
    data = scenario()
    data["scenario"]["time_scale"] = 4.0
    market = await start_market(data)
    clock.advance(9.1)
    got = await post(http, market, request("eth_blockNumber", []))
    assert got["result"] == hex(GENESIS + 3)


async def test_chain_id_and_code(start_market: StartMarket, http: aiohttp.ClientSession) -> None:
    """eth_chainId is mainnet's 0x1; known contracts have code, any other address none."""
    market = await start_market(scenario())
    assert (await post(http, market, request("eth_chainId", [])))["result"] == "0x1"
    code = await post(
        http, market, request("eth_getCode", [curve_pool("curve-3pool")["address"], "latest"])
    )
    assert len(code["result"]) > 2
    none = await post(http, market, request("eth_getCode", ["0x" + "12" * 20, "latest"]))
    assert none["result"] == "0x"


async def test_a_batch_is_answered_item_by_item(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """The 3pool state batch gets one answer per id (coins as the sample's real addresses);
    an empty batch gets the spec's single -32600."""
    market = await start_market(scenario())
    got = await post(http, market, sample("curve_3pool_state_batch_request.json"))
    real = {r["id"]: r for r in sample("curve_3pool_state_batch_response.json")}
    assert sorted(r["id"] for r in got) == sorted(real)
    for r in got:
        assert r.keys() == real[r["id"]].keys()
        assert len(r["result"]) == len(real[r["id"]]["result"])
    mine = {r["id"]: r["result"] for r in got}
    assert [mine[i] for i in (1, 2, 3)] == [real[i]["result"] for i in (1, 2, 3)]
    assert await post(http, market, "[]") == sample("error_batch_empty_invalid_request.json")


async def test_the_sample_aggregate3_decodes_like_the_sample_answer(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """The shared aggregate3 request (pinned to block 0x16e3600) comes back in the sample
    answer's layout: four successes and coins(3)'s failure, the block's timestamp last."""
    market = await start_market(scenario())
    got = await post(http, market, sample("multicall3_aggregate3_request.json"))
    real = sample("multicall3_aggregate3_response.json")
    assert got.keys() == real.keys() and got["id"] == real["id"]
    assert len(got["result"]) == len(real["result"])
    (ours,) = decode(["(bool,bytes)[]"], bytes.fromhex(got["result"][2:]))
    (theirs,) = decode(["(bool,bytes)[]"], bytes.fromhex(real["result"][2:]))
    assert [ok for ok, _ in ours] == [ok for ok, _ in theirs] == [True, True, True, False, True]
    assert [len(rd) for _, rd in ours] == [len(rd) for _, rd in theirs]
    dy = uint(ours[0][1]) / 1e6
    assert dy == pytest.approx(1 - 1.5e-4, abs=2e-6)  # USDC → USDT at par, after 3pool's fee
    block = await post(http, market, request("eth_getBlockByNumber", ["0x16e3600", False]))
    assert uint(ours[4][1]) == int(block["result"]["timestamp"], 16)


# -- prices from the scenario ------------------------------------------------------------------

# venue → (its first coin's scenario level, index of that coin, index of the other)
CURVE_CASES = {
    "curve-3pool": ("DAI", 0.99, 0, 1),  # 18 → 6 decimals
    "curve-crvusd-usdc": ("CRVUSD", 1.01, 1, 0),  # crvUSD is coin 1: 18 → 6
    "curve-usde-usdc": ("USDE", 0.98, 0, 1),  # NG, dynamic fee
    "curve-frax-usdc": ("FRAX", 0.97, 0, 1),
}


@pytest.mark.parametrize("venue", list(CURVE_CASES))
async def test_curve_get_dy_both_ways_brackets_the_scenario_price(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """Selling one coin gets its scenario price less the pool's fee; buying it back costs the
    price plus the fee: a bid/ask pair around the scenario's price, decimals 18/6 mixed."""
    coin, price, i, j = CURVE_CASES[venue]
    market = await start_market(scenario({coin: level(price, venue)}))
    pool = curve_pool(venue)
    dec_i, dec_j = (token(pool["coins"][k])["decimals"] for k in (i, j))
    address = pool["address"]
    ng = venue == "curve-usde-usdc"
    fee_call = (
        sel("curve", "dynamic_fee(int128,int128)") + encode(["int128", "int128"], [i, j])
        if ng
        else sel("curve", "fee()")
    )
    results = await aggregate3(
        http,
        market,
        [
            (address, get_dy(i, j, 10**dec_i)),
            (address, get_dy(j, i, 10**dec_j)),
            (address, fee_call),
        ],
    )
    assert all(ok for ok, _ in results)
    sell = uint(results[0][1]) / 10**dec_j
    buy = 1 / (uint(results[1][1]) / 10**dec_i)
    fee = uint(results[2][1]) / 1e10
    assert sell < price < buy
    assert sell == pytest.approx(price * (1 - fee), abs=2e-6)  # whole base units
    assert buy == pytest.approx(price / (1 - fee), rel=1e-4)  # the fee of the other side
    if ng:
        assert fee > 1e-4  # off balance, the NG pool's fee is above its base fee


async def test_a_large_trade_gets_a_worse_price(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """get_dy of 5 M USDC returns less per USDC than get_dy of 1 USDC: price impact."""
    market = await start_market(scenario())
    address = curve_pool("curve-3pool")["address"]
    small, large = await aggregate3(
        http, market, [(address, get_dy(1, 2, 10**6)), (address, get_dy(1, 2, 5 * 10**12))]
    )
    assert uint(large[1]) / 5e6 < uint(small[1]) / 1 - 1e-4 < uint(small[1])


async def test_balances_lean_to_the_cheaper_coin_and_coins_keep_the_pool_order(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """With DAI at 0.99 the 3pool holds more DAI than USDC or USDT; coins(i) are the
    reference's addresses in order, and coins(3) fails."""
    market = await start_market(scenario({"DAI": level(0.99, "curve-3pool")}))
    address = curve_pool("curve-3pool")["address"]
    calls = [(address, by_index("curve", "coins(uint256)", i)) for i in range(4)]
    calls += [(address, by_index("curve", "balances(uint256)", i)) for i in range(3)]
    results = await aggregate3(http, market, calls)
    assert [ok for ok, _ in results] == [True, True, True, False, True, True, True]
    coins = [decode(["address"], rd)[0].lower() for _, rd in results[:3]]
    assert coins == [token(c)["address"] for c in ("DAI", "USDC", "USDT")]
    dai, usdc, usdt = (
        uint(rd) / 10 ** token(c)["decimals"]
        for (_, rd), c in zip(results[4:], ("DAI", "USDC", "USDT"), strict=True)
    )
    assert dai > usdc == pytest.approx(usdt) and dai / (dai + usdc + usdt) > 0.36


async def test_ng_price_oracle_is_inverted_and_the_crvusd_one_is_not(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """USDe/USDC's price_oracle(0) is USDC in USDe (1/0.98): the README pitfall; crvUSD/USDC's
    price_oracle() is crvUSD in USDC; 3pool has none (the sub-call fails)."""
    market = await start_market(scenario({"USDE": level(0.98), "CRVUSD": level(1.01)}))
    results = await aggregate3(
        http,
        market,
        [
            (
                curve_pool("curve-usde-usdc")["address"],
                by_index("curve", "price_oracle(uint256)", 0),
            ),
            (curve_pool("curve-crvusd-usdc")["address"], sel("curve", "price_oracle()")),
            (curve_pool("curve-3pool")["address"], sel("curve", "price_oracle()")),
        ],
    )
    (ok_ng, ng), (ok_crv, crv), (ok_3, _) = results
    assert ok_ng and ok_crv and not ok_3
    assert uint(ng) / 1e18 == pytest.approx(1 / 0.98, rel=1e-9)
    assert 10**36 / uint(ng) / 1e18 == pytest.approx(
        0.98, rel=1e-9
    )  # USDe in USDC, as a client must
    assert uint(crv) / 1e18 == pytest.approx(1.01, rel=1e-9)


async def test_price_oracle_lags_a_move_that_get_dy_shows_at_once(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A minute after USDe steps to 0.95 the EMA oracle is still most of the way at 1.00."""
    step = {
        "segments": [
            {"kind": "calm", "duration": 60},
            {"kind": "calm", "duration": 600, "level": 0.95},
        ]
    }
    market = await start_market(scenario({"USDE": step}))
    clock.advance(121)
    address = curve_pool("curve-usde-usdc")["address"]
    (_, oracle), (_, dy) = await aggregate3(
        http,
        market,
        [(address, by_index("curve", "price_oracle(uint256)", 0)), (address, get_dy(0, 1, 10**18))],
    )
    ema = 10**36 / uint(oracle) / 1e18
    assert uint(dy) / 1e6 == pytest.approx(0.95, abs=0.002)
    assert ema > 0.99
    expected = 1 - 0.05 * (1 - math.exp(-60 / 866))  # five blocks after the step
    assert ema == pytest.approx(expected, abs=0.001)


UNI_CASES = {
    "univ3-usdc-usdt": ("USDC", 0.995),  # 6/6
    "univ3-usde-usdt": ("USDE", 0.98),  # 18/6
}


@pytest.mark.parametrize("venue", list(UNI_CASES))
async def test_slot0_gives_the_scenario_price_with_both_decimals(
    start_market: StartMarket, http: aiohttp.ClientSession, venue: str
) -> None:
    """sqrtPriceX96²/2¹⁹² × 10^(dec0 - dec1) is token0's scenario price in token1, the tick
    agrees with it, and slot0 has the sample's seven words."""
    coin, price = UNI_CASES[venue]
    market = await start_market(scenario({coin: level(price, venue)}))
    pool = uni_pool(venue)
    dec0, dec1 = token(pool["token0"])["decimals"], token(pool["token1"])["decimals"]
    u = "uniswap_v3"
    results = await aggregate3(
        http,
        market,
        [
            (pool["address"], sel(u, "slot0()")),
            (pool["address"], sel(u, "liquidity()")),
            (pool["address"], sel(u, "token0()")),
            (pool["address"], sel(u, "token1()")),
        ],
    )
    assert all(ok for ok, _ in results)
    slot0 = results[0][1]
    assert len(slot0) == len(bytes.fromhex(sample("univ3_slot0_response.json")["result"][2:]))
    sqrt_p, tick, *_ = decode(
        ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"], slot0
    )
    raw = sqrt_p**2 / 2**192
    assert raw * 10 ** (dec0 - dec1) == pytest.approx(price, rel=1e-9)
    assert 1.0001**tick <= raw * (1 + 1e-12) and raw < 1.0001 ** (tick + 1)
    assert uint(results[1][1]) > 0
    assert decode(["address"], results[2][1])[0].lower() == token(pool["token0"])["address"]
    assert decode(["address"], results[3][1])[0].lower() == token(pool["token1"])["address"]


async def test_the_sample_slot0_request_gets_the_samples_shape(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """A plain eth_call of slot0 (the shared request) answers 7 words, tick as a signed int."""
    market = await start_market(scenario({"USDC": level(0.99981, "univ3-usdc-usdt")}))
    got = await post(http, market, sample("univ3_slot0_request.json"))
    real = sample("univ3_slot0_response.json")
    assert got.keys() == real.keys() and len(got["result"]) == len(real["result"])
    _, tick, *_ = decode(
        ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"],
        bytes.fromhex(got["result"][2:]),
    )
    assert tick == -2  # as the sample (0.9998): 1.0001^-2 <= 0.99981 < 1.0001^-1


async def test_factory_get_pool_finds_each_pool_either_way_round(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """getPool(a, b, 100) and getPool(b, a, 100) give the pool; another fee tier none."""
    market = await start_market(scenario())
    sig = sel("uniswap_v3", "getPool(address,address,uint24)")
    calls = []
    for venue in UNI:
        pool = uni_pool(venue)
        a, b = token(pool["token0"])["address"], token(pool["token1"])["address"]
        calls += [
            (FACTORY, sig + encode(["address", "address", "uint24"], [a, b, 100])),
            (FACTORY, sig + encode(["address", "address", "uint24"], [b, a, 100])),
            (FACTORY, sig + encode(["address", "address", "uint24"], [a, b, 500])),
        ]
    results = [
        decode(["address"], rd)[0].lower() for _, rd in await aggregate3(http, market, calls)
    ]
    zero = "0x" + "00" * 20
    usdc_usdt, usde_usdt = (uni_pool(v)["address"] for v in UNI)
    assert results == [usdc_usdt, usdc_usdt, zero, usde_usdt, usde_usdt, zero]


async def test_chainlink_answers_like_the_sample_and_lags_behind_small_moves(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """decimals() is the sample's 8; latestRoundData keeps its round while USDC moves less than
    the 0.25 % threshold, and starts a new one in the first block past it."""
    path = {
        "segments": [
            {"kind": "calm", "duration": 24},
            {"kind": "calm", "duration": 36, "level": 0.998},
            {"kind": "calm", "duration": 600, "level": 0.99},
        ]
    }
    market = await start_market(scenario({"USDC": path}))
    start = clock.now()
    got = await post(http, market, sample("chainlink_decimals_request.json"))
    assert got == sample("chainlink_decimals_response.json")
    types = ["uint80", "int256", "uint256", "uint256", "uint80"]

    async def latest() -> tuple[int, int, int, int, int]:
        r = await post(http, market, sample("chainlink_latest_round_data_request.json"))
        assert len(r["result"]) == len(
            sample("chainlink_latest_round_data_response.json")["result"]
        )
        return tuple(decode(types, bytes.fromhex(r["result"][2:])))  # type: ignore[return-value]

    first = await latest()
    assert first[1] == 100_000_000 and start - 82_800 < first[3] < start
    assert first[0] >> 64 > 0  # a proxy round id: phase << 64 | round
    clock.advance(48)  # block 4, USDC at 0.998: 0.2 % off the answer
    assert await latest() == first
    clock.advance(24)  # block 6: 0.99, past the threshold since block 5 (t = 60)
    now = await latest()
    assert now[0] == first[0] + 1 and now[1] == 99_000_000
    assert now[3] == int(start + 60) and now[4] == now[0]


async def test_multicall_block_fields_are_the_blocks(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """getBlockNumber and getCurrentBlockTimestamp inside aggregate3 are the head block's."""
    market = await start_market(scenario())
    clock.advance(30)
    m = "multicall3"
    results = await aggregate3(
        http,
        market,
        [
            (MULTICALL, sel(m, "getBlockNumber()")),
            (MULTICALL, sel(m, "getCurrentBlockTimestamp()")),
        ],
    )
    block = (await post(http, market, request("eth_getBlockByNumber", ["latest", False])))["result"]
    assert uint(results[0][1]) == int(block["number"], 16) == GENESIS + 2
    assert uint(results[1][1]) == int(block["timestamp"], 16)


async def test_a_failed_sub_call_without_allow_failure_reverts_the_whole_call(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """allowFailure = false on coins(3) makes the eth_call revert with code 3 and Multicall3's
    reason, as Multicall3 does."""
    market = await start_market(scenario())
    call = (curve_pool("curve-3pool")["address"], False, by_index("curve", "coins(uint256)", 3))
    data = sel("multicall3", "aggregate3((address,bool,bytes)[])") + encode(
        ["(address,bool,bytes)[]"], [[call]]
    )
    got = await eth_call(http, market, MULTICALL, data)
    assert got["error"]["code"] == 3
    assert "Multicall3: call failed" in got["error"]["message"]
    assert got["error"]["data"].startswith(ref()["selectors"]["revert_payloads"]["Error(string)"])


# -- faults ------------------------------------------------------------------------------------


async def test_rate_limit_is_http_429_with_infuras_body_and_a_wait(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """Inside the window the node answers HTTP 429, the sample's -32005 body and Retry-After
    (the rest of the window); before and after, the block number."""
    market = await start_market(
        scenario(faults=[{"venue": "ethereum", "kind": "rate_limit", "start": 10, "end": 40}])
    )
    url, body = market.rpc_urls()["ethereum"], json.dumps(sample("eth_blockNumber_request.json"))
    clock.advance(15)
    async with http.post(url, data=body) as r:
        assert r.status == 429
        assert await r.json() == sample("error_rate_limit_infura_http429.json")
        assert r.headers["Retry-After"] == "25"
    clock.advance(25)
    assert "result" in await post(http, market, body)


async def test_rate_limit_in_body_is_a_200_with_32005_per_item(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Mode in_body: HTTP 200 and each batch item's own -32005 error, ids kept."""
    market = await start_market(
        scenario(
            faults=[
                {
                    "venue": "ethereum",
                    "kind": "rate_limit",
                    "mode": "in_body",
                    "start": 0,
                    "end": 40,
                }
            ]
        )
    )
    got = await post(
        http, market, [request("eth_blockNumber", [], 1), request("eth_chainId", [], 2)]
    )
    assert [(r["id"], r["error"]["code"]) for r in got] == [(1, -32005), (2, -32005)]


async def test_a_reverting_pool_fails_alone_inside_aggregate3(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """While the 3pool reverts, its sub-call has success = false and the others their data;
    a plain eth_call to it gets code 3 (or the legacy -32000 sample with mode legacy)."""
    faults = [{"venue": "curve-3pool", "kind": "revert", "start": 0, "end": 100}]
    market = await start_market(scenario(faults=faults))
    results = await aggregate3(
        http,
        market,
        [
            (curve_pool("curve-3pool")["address"], get_dy(1, 2, 10**6)),
            (uni_pool("univ3-usdc-usdt")["address"], sel("uniswap_v3", "slot0()")),
            (feed("USDC/USD"), sel("chainlink", "latestRoundData()")),
        ],
    )
    assert [ok for ok, _ in results] == [False, True, True]
    assert results[0][1] == b"" and len(results[1][1]) == 224 and len(results[2][1]) == 160
    plain = await post(http, market, sample("curve_3pool_get_dy_request.json"))
    assert plain["error"]["code"] == 3 and "revert" in plain["error"]["message"]
    legacy = await start_market(scenario(faults=[{**faults[0], "mode": "legacy"}]))
    got = await post(http, legacy, sample("curve_3pool_get_dy_request.json"))
    assert got == sample("error_execution_reverted_no_data_legacy.json")


async def test_an_address_without_code_answers_0x(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Under no_code (or with the pool disabled) eth_call returns "0x", aggregate3 success with
    empty data, eth_getCode "0x" and the factory no pool."""
    faults = [{"venue": "univ3-usdc-usdt", "kind": "no_code", "start": 0, "end": 100}]
    market = await start_market(
        scenario(faults=faults, venues={"curve-frax-usdc": {"enabled": False}})
    )
    pool = uni_pool("univ3-usdc-usdt")
    got = await post(http, market, sample("univ3_slot0_request.json"))
    assert got == {"jsonrpc": "2.0", "id": 1, "result": "0x"}
    frax = curve_pool("curve-frax-usdc")["address"]
    assert (await eth_call(http, market, frax, get_dy(0, 1, 10**18)))["result"] == "0x"
    sig = sel("uniswap_v3", "getPool(address,address,uint24)")
    args = encode(
        ["address", "address", "uint24"], [token("USDC")["address"], token("USDT")["address"], 100]
    )
    results = await aggregate3(
        http, market, [(pool["address"], sel("uniswap_v3", "slot0()")), (FACTORY, sig + args)]
    )
    assert results[0] == (True, b"")
    assert decode(["address"], results[1][1])[0] == "0x" + "00" * 20
    code = await post(http, market, request("eth_getCode", [pool["address"], "latest"]))
    assert code["result"] == "0x"


async def test_a_stale_node_stops_its_block_number(
    start_market: StartMarket, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """While stale the head stays at the block of the fault's start, its timestamp ageing and
    its prices from then; afterwards the node is back at the current block."""
    path = {
        "segments": [
            {"kind": "calm", "duration": 40},
            {"kind": "calm", "duration": 600, "level": 0.95},
        ]
    }
    faults = [{"venue": "ethereum", "kind": "stale", "start": 30, "end": 90}]
    market = await start_market(scenario({"USDC": path}, faults=faults))
    start = clock.now()
    clock.advance(60)
    assert (await post(http, market, request("eth_blockNumber", [])))["result"] == hex(GENESIS + 2)
    block = (await post(http, market, request("eth_getBlockByNumber", ["latest", False])))["result"]
    assert int(block["timestamp"], 16) == int(start + 24)
    dy = await post(http, market, sample("curve_3pool_get_dy_request.json"))
    assert int(dy["result"], 16) / 1e6 > 0.999  # USDC still at par in the frozen block
    clock.advance(40)
    assert (await post(http, market, request("eth_blockNumber", [])))["result"] == hex(GENESIS + 8)
    dy = await post(http, market, sample("curve_3pool_get_dy_request.json"))
    assert int(dy["result"], 16) / 1e6 == pytest.approx(0.95, abs=0.001)


async def test_invalid_params_fault_answers_like_the_sample(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Under invalid_params every call gets the sample's -32602 error."""
    faults = [{"venue": "ethereum", "kind": "invalid_params", "start": 0, "end": 100}]
    market = await start_market(scenario(faults=faults))
    got = await post(http, market, sample("curve_3pool_get_dy_request.json"))
    assert got == sample("error_invalid_params.json")


@pytest.mark.parametrize("mode", ["drop", "http500"])
async def test_the_node_down(
    start_market: StartMarket, http: aiohttp.ClientSession, mode: str
) -> None:
    """A down node drops the connection, or answers HTTP 500."""
    faults = [{"venue": "ethereum", "kind": "down", "mode": mode, "start": 0, "end": 100}]
    market = await start_market(scenario(faults=faults))
    url = market.rpc_urls()["ethereum"]
    body = json.dumps(sample("eth_blockNumber_request.json"))
    if mode == "drop":
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.post(url, data=body) as r:
                await r.read()
    else:
        async with http.post(url, data=body) as r:
            assert r.status == 500


async def test_bad_requests_get_geths_errors(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """Unparseable JSON -32700, an unknown method -32601, data without 0x -32602, a block the
    node does not have -32000."""
    market = await start_market(scenario())
    assert (await post(http, market, "{nope"))["error"]["code"] == -32700
    assert (await post(http, market, request("eth_sendTransaction", [])))["error"]["code"] == -32601
    bad = request("eth_call", [{"to": MULTICALL, "data": "82ad56cb"}, "latest"])
    assert (await post(http, market, bad))["error"]["code"] == -32602
    ahead = request("eth_call", [{"to": MULTICALL, "input": "0x42cbb15c"}, hex(GENESIS + 50)])
    assert (await post(http, market, ahead))["error"] == {
        "code": -32000,
        "message": "header not found",
    }


async def test_rpc_url_and_environment(
    start_market: StartMarket, http: aiohttp.ClientSession
) -> None:
    """rpc_urls() and DEPEG_CHAINS__ETHEREUM__RPC_URL name POST /ethereum; a scenario that
    disables the node serves neither."""
    market = await start_market(scenario())
    url = f"http://127.0.0.1:{market.port}/ethereum"
    assert market.rpc_urls() == {"ethereum": url}
    assert market.env_overrides()["DEPEG_CHAINS__ETHEREUM__RPC_URL"] == url
    off = await start_market(scenario(venues={"ethereum": {"enabled": False}}))
    assert off.rpc_urls() == {} and "DEPEG_CHAINS__ETHEREUM__RPC_URL" not in off.env_overrides()
    async with http.post(f"http://127.0.0.1:{off.port}/ethereum", data="{}") as r:
        assert r.status == 404


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"venue": "binance", "kind": "revert"}, "binance cannot have a revert fault"),
        ({"venue": "curve-3pool", "kind": "down"}, "curve-3pool cannot have a down fault"),
        ({"venue": "ethereum", "kind": "no_code"}, "ethereum cannot have a no_code fault"),
        ({"venue": "kraken", "kind": "rate_limit", "mode": "in_body"}, "in_body is the JSON-RPC"),
        ({"venue": "curve-4pool", "kind": "revert"}, "unknown venue 'curve-4pool'"),
    ],
)
def test_on_chain_faults_only_where_they_can_happen(fault: dict[str, Any], reason: str) -> None:
    """Node faults belong to ethereum, revert/no_code to a contract venue, not the other way."""
    with pytest.raises(ScenarioError, match=reason):
        parse({"scenario": {"duration": 60}, "faults": [{"start": 0, "end": 10, **fault}]})


# -- the two on-chain scenarios ----------------------------------------------------------------


def test_usde_dislocation_timeline() -> None:
    """Binance's USDE/USDT falls to ~0.65 while every USDe pool and the feed stay ≥ 0.994."""
    s = load_scenario(ROOT / "scenarios/usde-dislocation.toml")
    model = PriceModel(s)
    assert min(model.price_at("binance", "USDE", "USDT", t) for t in range(600)) < 0.66
    for venue in ("curve-usde-usdc", "univ3-usde-usdt", "chainlink", "okx", "bybit"):
        assert min(model.usd_price("USDE", venue, t) for t in range(600)) >= 0.994, venue


def test_onchain_all_fall_timeline() -> None:
    """USDe is past critical (≤ 0.97) at every exchange and pool from 70 s to 260 s."""
    s = load_scenario(ROOT / "scenarios/onchain-all-fall.toml")
    model = PriceModel(s)
    for venue in ("binance", "okx", "bybit", "kucoin", "curve-usde-usdc", "univ3-usde-usdt"):
        assert all(model.usd_price("USDE", venue, t) < 0.97 for t in range(70, 260)), venue


async def _usde_on_chain(
    http: aiohttp.ClientSession, market: SimulatedMarket
) -> tuple[float, float, float]:
    """USDe's price from the Curve NG pool (selling 1 USDe), Uniswap slot0, and Chainlink."""
    results = await aggregate3(
        http,
        market,
        [
            (curve_pool("curve-usde-usdc")["address"], get_dy(0, 1, 10**18)),
            (uni_pool("univ3-usde-usdt")["address"], sel("uniswap_v3", "slot0()")),
            (feed("USDe/USD"), sel("chainlink", "latestRoundData()")),
        ],
    )
    assert all(ok for ok, _ in results)
    sqrt_p = decode(["uint160"], results[1][1][:32])[0]
    answer = decode(["uint80", "int256", "uint256", "uint256", "uint80"], results[2][1])[1]
    return uint(results[0][1]) / 1e6, sqrt_p**2 / 2**192 * 1e12, answer / 1e8


async def test_usde_dislocation_pools_hold_while_binance_crashes(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """At the bottom of Binance's crash the pools' USDe (after fee) and the feed read ≥ 0.994."""
    market = SimulatedMarket(load_scenario(ROOT / "scenarios/usde-dislocation.toml"), clock)
    async with market:
        clock.advance(120)
        assert market.price_at("binance", "USDE", "USDT", 120) < 0.67
        assert all(p >= 0.994 for p in await _usde_on_chain(http, market))


async def test_onchain_all_fall_pools_fall_and_chainlink_follows(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """At 150 s the pools read USDe near 0.92 with Binance, and Chainlink has stepped down too."""
    market = SimulatedMarket(load_scenario(ROOT / "scenarios/onchain-all-fall.toml"), clock)
    async with market:
        clock.advance(150)
        curve, uni, oracle = await _usde_on_chain(http, market)
        assert market.price_at("binance", "USDE", "USDT", 150) < 0.93
        assert curve < 0.93 and uni < 0.93
        assert oracle < 0.93
