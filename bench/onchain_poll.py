"""Benchmark: what one on-chain poll costs, and what the chain source adds to the daemon's RSS.

Run: .venv/bin/python bench/onchain_poll.py [--pools 10] [--repeat 2000] [--seconds 60]

1. Per poll: the request of `--pools` pools (the simulator's six, repeated under other names
   up to the count) and four Chainlink feeds in ONE Multicall3 aggregate3 — its JSON body in
   bytes, the answer's size, and the time to decode it (parse_poll + split + every pool's parse
   + every feed's) and to build the request, medians over --repeat runs of a real answer from
   the simulated node.
2. The real daemon (`depeg-monitor run`, a subprocess) on the calm scenario, twice: without a
   chain, then with [chains.ethereum] and the pools (rpc_url through
   DEPEG_CHAINS__ETHEREUM__RPC_URL, as a user sets it); VmRSS after --seconds of running. A
   figure, not asserted: it includes the eth-abi import and the collector's state.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _stage as stage  # bench/ is sys.path[0] when run as a script
import aiohttp

from depeg_monitor.clock import ManualClock
from depeg_monitor.collect.chain import PoolVenue, pool_calls, pool_parse
from depeg_monitor.simulate import SimulatedMarket, load_scenario, parse_scenario
from depeg_monitor.simulate.chain import contracts
from depeg_monitor.venues import chainlink, curve, evm, uniswap_v3
from depeg_monitor.venues.contract import Response

ROOT = Path(__file__).resolve().parents[1]
MARKETS = {
    "curve-3pool": ("DAI/USDC", "USDT/USDC"),
    "curve-crvusd-usdc": ("CRVUSD/USDC",),
    "curve-usde-usdc": ("USDE/USDC",),
    "curve-frax-usdc": ("FRAX/USDC",),
    "univ3-usdc-usdt": ("USDC/USDT",),
    "univ3-usde-usdt": ("USDE/USDT",),
}


def _token(t: contracts.Token) -> evm.Token:
    return evm.Token(t.coin, t.address, t.decimals)


def six_pools() -> list[PoolVenue]:
    out: list[PoolVenue] = []
    for c in contracts.CURVE_POOLS:
        coins = tuple(_token(t) for t in c.tokens)
        out.append(curve.Pool(c.venue, "ethereum", c.address, coins, MARKETS[c.venue]))
    for u in contracts.UNISWAP_V3_POOLS:
        t0, t1 = (_token(t) for t in u.tokens)
        out.append(
            uniswap_v3.Pool(u.venue, "ethereum", u.address, t0, t1, u.fee, MARKETS[u.venue][0])
        )
    return out


def pools(n: int) -> list[PoolVenue]:
    base = six_pools()
    return [
        dataclasses.replace(base[i % len(base)], name=f"{base[i % len(base)].name}-{i}")
        for i in range(n)
    ]


def feeds() -> list[chainlink.Feed]:
    return [
        chainlink.Feed(
            f"chainlink-{f.coin.lower()}",
            "ethereum",
            f.address,
            f.coin,
            f.heartbeat,
            f.threshold_pct,
        )
        for f in contracts.FEEDS[:4]
    ]


def median_us(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


async def poll_cost(n: int, repeat: int) -> dict[str, float]:
    clock = ManualClock()
    market = SimulatedMarket(parse_scenario({"scenario": {"duration": 600}}), clock)
    await market.start()
    try:
        ps, fs = pools(n), feeds()
        lists = [pool_calls(p) for p in ps] + [chainlink.calls(f) for f in fs]
        calls = [c for cs in lists for c in cs]
        body = evm.poll_request(calls)
        url = market.rpc_urls()["ethereum"]
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as r:
            resp = Response(r.status, await r.text(), dict(r.headers))
        sizes = [len(cs) for cs in lists]

        def decode() -> None:
            poll = evm.parse_poll(resp, len(calls))
            shares = evm.split(poll.results, sizes)
            for p, share in zip(ps, shares, strict=False):
                pool_parse(p, share, poll.block, 0.0)
            for f, share in zip(fs, shares[len(ps) :], strict=True):
                chainlink.parse(f, share, poll.block, 0.0)

        decode()  # a real answer, every pool and feed readable
        return {
            "calls": float(len(calls)),
            "request_bytes": float(len(json.dumps(body))),
            "answer_bytes": float(len(resp.text)),
            "decode_us": median_us(decode, repeat),
            "build_us": median_us(lambda: evm.poll_request(calls), repeat),
        }
    finally:
        await market.stop()


class ChainStage(stage.Stage):
    """The stage, with the chain's rpc_url in the daemon's environment (never in the file)."""

    chain = False

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.chain:
            env |= {k: v for k, v in self.market.env_overrides().items() if "CHAINS" in k}
        return env


def pool_tables(n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in pools(n):
        if isinstance(p, curve.Pool):
            coins = [
                {"symbol": t.symbol, "address": t.address, "decimals": t.decimals} for t in p.coins
            ]
            out[p.name] = {
                "kind": "curve",
                "address": p.address,
                "coins": coins,
                "markets": list(p.markets),
            }
        else:
            coins = [
                {"symbol": t.symbol, "address": t.address, "decimals": t.decimals}
                for t in (p.token0, p.token1)
            ]
            out[p.name] = {
                "kind": "uniswap_v3",
                "address": p.address,
                "coins": coins,
                "fee": p.fee,
                "markets": [p.market],
            }
    return out


async def daemon_rss(seconds: float, n: int, chain: bool) -> float:
    scenario = load_scenario(ROOT / "scenarios/calm.toml")
    with tempfile.TemporaryDirectory(prefix="depeg-onchain-") as tmp:
        async with ChainStage(Path(tmp), scenario) as st:
            st.chain = chain
            cfg = stage.StageConfig(poll_interval=5.0, routes={"critical": ["discord"]})
            data = stage.build_config(
                cfg, st.market.base_urls(), st.health_port, st.twilio_base, st.market.stream_urls()
            )
            if chain:
                data["chains"] = {"ethereum": {"poll_interval": 12.0}}
                data["pools"] = pool_tables(n)
            path = Path(tmp) / "config.toml"
            path.write_text(stage.toml_dumps(data))
            daemon = await st.start_daemon(path)
            await asyncio.sleep(seconds)
            rss = rss_mib(daemon.pid)
            if chain:
                _, report = await st.health()
                checks = stage.health_checks(report)
                polled = [
                    k for k in checks if k.startswith("venue:curve") or k.startswith("venue:univ3")
                ]
                if len(polled) != n:
                    raise RuntimeError(f"expected {n} pool venues in /health, saw {len(polled)}")
            await daemon.terminate()
    return rss


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=10, help="pools in the poll (10)")
    parser.add_argument("--repeat", type=int, default=2000, help="decode runs (2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="daemon run, s (60)")
    parser.add_argument("--no-daemon", action="store_true", help="the per-poll figures only")
    args = parser.parse_args()
    c = asyncio.run(poll_cost(args.pools, args.repeat))
    print(
        f"one poll: {args.pools} pools + 4 Chainlink feeds, {c['calls']:.0f} calls + 2 block calls"
    )
    print(f"  request  {c['request_bytes']:.0f} bytes (JSON-RPC eth_call body)")
    print(f"  answer   {c['answer_bytes']:.0f} bytes")
    print(f"  build    {c['build_us']:.0f} µs (median of {args.repeat})")
    print(f"  decode   {c['decode_us']:.0f} µs (parse_poll + split + every parse; median)")
    if args.no_daemon:
        return 0
    without = asyncio.run(daemon_rss(args.seconds, args.pools, chain=False))
    with_chain = asyncio.run(daemon_rss(args.seconds, args.pools, chain=True))
    print(f"daemon RSS after {args.seconds:.0f} s (calm scenario, REST venues every 5 s)")
    print(f"  without a chain    {without:.1f} MiB")
    print(f"  with {args.pools} pools      {with_chain:.1f} MiB  ({with_chain - without:+.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
