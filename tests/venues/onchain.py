"""The on-chain samples in ../shared/exchange-apis/onchain, and the pools they describe.

Without the folder a test that needs them is skipped, naming the path it looked for.
Pools, tokens and feeds are built from reference.json, never copied into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from eth_abi.abi import encode

from depeg_monitor.venues import chainlink, curve, evm, uniswap_v3
from depeg_monitor.venues.contract import Response
from depeg_monitor.venues.evm import Block, Result, Token

from ..payloads import SHARED

ONCHAIN = SHARED / "onchain"
MISSING = f"shared on-chain samples not found at {ONCHAIN.resolve()}"
# The samples' block: 24,000,000 at 2026-01-10T00:00:00Z (README §6.2).
BLOCK = Block(24_000_000, 1_768_003_200.0)
NOW = BLOCK.timestamp + 3.0


def skip_without_onchain() -> None:
    if not ONCHAIN.is_dir():
        pytest.skip(MISSING, allow_module_level=True)


def sample(name: str) -> Any:
    skip_without_onchain()
    return json.loads((ONCHAIN / name).read_text())


def response(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    skip_without_onchain()
    return Response(status, (ONCHAIN / name).read_text(), headers or {})


def result(name: str) -> Result:
    """A single eth_call sample answer as the Result a poll would hold for that call."""
    return Result(True, evm.result_of(response(name)))


def batch_results(name: str) -> dict[int, Result]:
    """A JSON-RPC batch sample's answers by id (they come out of order on purpose)."""
    return {
        item["id"]: Result(True, evm.hex_bytes(item["result"], "result")) for item in sample(name)
    }


def reference() -> Any:
    return sample("reference.json")


def token(symbol: str) -> Token:
    t = reference()["tokens"][symbol]
    return Token(symbol, t["address"], t["decimals"])


def word(n: int) -> Result:
    """A successful sub-call returning one uint256 (negative: int256, two's complement)."""
    return Result(True, (n % (1 << 256)).to_bytes(32, "big"))


REVERT = Result(False, b"")


def aggregate3_answer(results: Sequence[Result], request_id: int = 1) -> Response:
    """The JSON-RPC answer to an aggregate3 eth_call returning these results."""
    data = encode(["(bool,bytes)[]"], [[(r.success, r.data) for r in results]])
    return Response(
        200, json.dumps({"jsonrpc": "2.0", "id": request_id, "result": "0x" + data.hex()})
    )


# --- the reference's pools and feeds as configured venues --------------------------------


def three_pool(markets: tuple[str, ...] = ("USDC/USDT",), trade_size: float = 1.0) -> curve.Pool:
    p = reference()["curve_pools"]["3pool"]
    coins = tuple(token(s) for s in p["coins"])
    return curve.Pool("curve-3pool", "ethereum", p["address"], coins, markets, trade_size)


def usde_usdc(trade_size: float = 1.0) -> curve.Pool:
    p = reference()["curve_pools"]["USDe/USDC"]
    coins = tuple(token(s) for s in p["coins"])
    return curve.Pool(
        "curve-usde-usdc",
        "ethereum",
        p["address"],
        coins,
        ("USDe/USDC",),
        trade_size,
        price_oracle="price_oracle(uint256)",
    )


def crvusd_usdc(trade_size: float = 1.0) -> curve.Pool:
    p = reference()["curve_pools"]["crvUSD/USDC"]
    coins = tuple(token(s) for s in p["coins"])
    return curve.Pool(
        "curve-crvusd-usdc",
        "ethereum",
        p["address"],
        coins,
        ("crvUSD/USDC",),
        trade_size,
        price_oracle="price_oracle()",
    )


def usdc_usdt_v3(market: str = "USDC/USDT", trade_size: float | None = None) -> uniswap_v3.Pool:
    p = reference()["uniswap_v3"]["pools"]["USDC/USDT 0.01%"]
    return uniswap_v3.Pool(
        "uniswap-v3-usdc-usdt",
        "ethereum",
        p["address"],
        token(p["token0"]),
        token(p["token1"]),
        p["fee"],
        market,
        trade_size,
    )


def usde_usdt_v3() -> uniswap_v3.Pool:
    p = reference()["uniswap_v3"]["pools"]["USDe/USDT 0.01%"]
    return uniswap_v3.Pool(
        "uniswap-v3-usde-usdt",
        "ethereum",
        p["address"],
        token(p["token0"]),
        token(p["token1"]),
        p["fee"],
        "USDe/USDT",
    )


def usdc_feed() -> chainlink.Feed:
    f = reference()["chainlink_feeds"]["USDC/USD"]
    return chainlink.Feed(
        "chainlink-usdc-usd",
        "ethereum",
        f["proxy"],
        "USDC",
        f["heartbeat"],
        f["threshold_pct"],
        decimals=f["decimals"],
    )
