"""The simulated node's pools and feeds as the [chains] / [pools] / [oracles] tables a user
writes, for the demo (and tests) to watch them: every pool with a market on the coins
configured, every feed of the coins asked for."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from depeg_monitor.simulate.chain.contracts import (
    CURVE_POOLS,
    FEEDS,
    NODE,
    UNISWAP_V3_POOLS,
    Token,
)

# Curve pools are read in USDC where they hold it (the reference's quote coin).
CURVE_QUOTE = "USDC"


def _coins(tokens: tuple[Token, ...]) -> list[dict[str, Any]]:
    return [{"symbol": t.coin, "address": t.address, "decimals": t.decimals} for t in tokens]


def pool_tables(coins: Collection[str], only: Collection[str] | None = None) -> dict[str, Any]:
    """[pools.X] for each simulated pool (or those `only` names) with a market whose two
    coins are both in `coins`; a pool with none is left out."""
    out: dict[str, Any] = {}
    for c in CURVE_POOLS:
        held = [t.coin for t in c.tokens]
        markets = [
            f"{x}/{CURVE_QUOTE}"
            for x in held
            if x != CURVE_QUOTE and CURVE_QUOTE in held and {x, CURVE_QUOTE} <= set(coins)
        ]
        if markets and (only is None or c.venue in only):
            out[c.venue] = {
                "kind": "curve",
                "address": c.address,
                "coins": _coins(c.tokens),
                "markets": markets,
            }
    for u in UNISWAP_V3_POOLS:
        t0, t1 = u.tokens
        if {t0.coin, t1.coin} <= set(coins) and (only is None or u.venue in only):
            out[u.venue] = {
                "kind": "uniswap_v3",
                "address": u.address,
                "coins": _coins(u.tokens),
                "fee": u.fee,
                "markets": [f"{t0.coin}/{t1.coin}"],
            }
    return out


def oracle_tables(coins: Collection[str]) -> dict[str, Any]:
    """[oracles.chainlink-<coin>-usd] for each simulated feed of a coin in `coins`."""
    return {
        f"chainlink-{f.coin.lower()}-usd": {
            "address": f.address,
            "coin": f.coin,
            "heartbeat": f.heartbeat,
            "threshold_pct": f.threshold_pct,
            "decimals": f.decimals,
        }
        for f in FEEDS
        if f.coin in coins
    }


def chain_sections(
    rpc_url: str,
    coins: Collection[str],
    feeds: Collection[str],
    poll_interval: float = 12.0,
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """{"chains", "pools", "oracles"} watching the simulated node at `rpc_url`: the pools
    for `coins` (or those `only` names), the Chainlink feeds for `feeds`."""
    return {
        "chains": {NODE: {"rpc_url": rpc_url, "poll_interval": poll_interval}},
        "pools": pool_tables(coins, only),
        "oracles": oracle_tables(feeds),
    }
