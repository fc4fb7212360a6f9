"""The chain collector against the simulator's JSON-RPC node on 127.0.0.1: one aggregate3 per
poll, prices per pool type, one pool's revert hurting that pool alone, a stale block, a 429's
wait, and a pool without code set aside at start-up and verified again later."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from depeg_monitor.clock import ManualClock
from depeg_monitor.collect.chain import ChainCollector, ChainRules, PoolVenue
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.simulate import SimulatedMarket, parse_scenario
from depeg_monitor.simulate.chain import contracts
from depeg_monitor.venues import chainlink, curve, uniswap_v3
from depeg_monitor.venues.evm import Token

MARKETS = {
    "curve-3pool": ("DAI/USDC", "USDT/USDC"),
    "curve-crvusd-usdc": ("CRVUSD/USDC",),
    "curve-usde-usdc": ("USDE/USDC",),
    "curve-frax-usdc": ("FRAX/USDC",),
    "univ3-usdc-usdt": ("USDC/USDT",),
    "univ3-usde-usdt": ("USDE/USDT",),
}
PEGS = {c: 1.0 for c in ("USDC", "USDT", "DAI", "USDE", "FRAX", "CRVUSD")}


def _token(t: contracts.Token) -> Token:
    return Token(t.coin, t.address, t.decimals)


def sim_pools() -> tuple[PoolVenue, ...]:
    """Every pool the simulator serves, configured as a user would (names = its venues)."""
    out: list[PoolVenue] = []
    for c in contracts.CURVE_POOLS:
        tokens = tuple(_token(t) for t in c.tokens)
        out.append(curve.Pool(c.venue, "ethereum", c.address, tokens, MARKETS[c.venue]))
    for u in contracts.UNISWAP_V3_POOLS:
        t0, t1 = (_token(t) for t in u.tokens)
        out.append(
            uniswap_v3.Pool(u.venue, "ethereum", u.address, t0, t1, u.fee, MARKETS[u.venue][0])
        )
    return tuple(out)


def sim_feeds() -> tuple[chainlink.Feed, ...]:
    return tuple(
        chainlink.Feed(
            f"chainlink-{f.coin.lower()}-usd",
            "ethereum",
            f.address,
            f.coin,
            f.heartbeat,
            f.threshold_pct,
        )
        for f in contracts.FEEDS[:4]
    )


def chain_rules(market: SimulatedMarket, **changes: Any) -> ChainRules:
    return ChainRules(
        chain="ethereum",
        rpc_url=market.rpc_urls()["ethereum"],
        pools=sim_pools(),
        feeds=sim_feeds(),
        pegs=PEGS,
        **changes,
    )


def scenario(
    coins: dict[str, Any] | None = None, faults: list[dict[str, Any]] | None = None
) -> Any:
    return parse_scenario(
        {"scenario": {"duration": 600, "noise": 0.0}, "coins": coins or {}, "faults": faults or []}
    )


def level(x: float) -> dict[str, Any]:
    return {"segments": [{"kind": "calm", "duration": 600, "level": x}]}


Setup = Callable[..., Awaitable[tuple[SimulatedMarket, ChainCollector, list[Quote]]]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)


@pytest.fixture
async def setup(clock: ManualClock) -> AsyncIterator[Setup]:
    markets: list[SimulatedMarket] = []
    async with aiohttp.ClientSession() as session:

        async def start(
            coins: dict[str, Any] | None = None,
            faults: list[dict[str, Any]] | None = None,
            **changes: Any,
        ) -> tuple[SimulatedMarket, ChainCollector, list[Quote]]:
            market = SimulatedMarket(scenario(coins, faults), clock)
            await market.start()
            markets.append(market)
            sent: list[Quote] = []
            registry = HealthRegistry()
            c = ChainCollector(
                chain_rules(market, **changes), session, clock, registry, Metrics(), sent.extend
            )
            return market, c, sent

        yield start
        for m in markets:
            await m.stop()


def by_venue(quotes: tuple[Quote, ...]) -> dict[tuple[str, str], Quote]:
    return {(q.venue, q.coin): q for q in quotes}


async def test_prices_per_pool_type_and_direction_in_one_eth_call(setup: Setup) -> None:
    """USDe at 0.97 reads 0.97 from the Curve NG pool (18/6 decimals, in USDC) and from the
    Uniswap pool (18/6, in USDT), DAI and USDT at par from 3pool; every quote carries its
    pool's USD depth and the block's time; the poll is ONE request; Chainlink is context."""
    market, c, _ = await setup({"USDE": level(0.97)})
    await c.start()
    assert c.verified == set(MARKETS) and not c.set_aside
    before = market.requests["ethereum"]
    poll = await c.poll_once()
    assert market.requests["ethereum"] == before + 1
    assert poll.block is not None and not poll.errors
    q = by_venue(poll.quotes)
    assert q["curve-usde-usdc", "USDE"].price == pytest.approx(0.97, abs=0.003)
    assert q["curve-usde-usdc", "USDE"].quote_ccy == "USDC"
    assert q["univ3-usde-usdt", "USDE"].price == pytest.approx(0.97, abs=0.002)
    assert q["univ3-usde-usdt", "USDE"].quote_ccy == "USDT"
    assert q["curve-3pool", "DAI"].price == pytest.approx(1.0, abs=0.002)
    assert q["curve-3pool", "USDT"].price == pytest.approx(1.0, abs=0.002)
    assert q["univ3-usdc-usdt", "USDC"].price == pytest.approx(1.0, abs=0.002)
    assert q["curve-frax-usdc", "FRAX"].price == pytest.approx(1.0, abs=0.002)
    assert q["curve-crvusd-usdc", "CRVUSD"].price == pytest.approx(1.0, abs=0.002)
    for quote in poll.quotes:
        assert quote.depth_usd is not None and quote.depth_usd > 1e6
        assert quote.volume_base_24h is None and quote.ts_exchange == poll.block.timestamp
        bid, ask = quote.bid, quote.ask
        if bid is not None and ask is not None:
            assert bid <= quote.price <= ask
    assert set(c.readings) == {f.name for f in sim_feeds()}
    assert c.readings["chainlink-usdc-usd"].value == pytest.approx(1.0, abs=0.003)
    assert not any(c.health[name].state.failing for name in MARKETS)


async def test_a_reverted_sub_call_leaves_the_other_pools_intact(
    setup: Setup, clock: ManualClock
) -> None:
    faults = [{"venue": "curve-3pool", "kind": "revert", "start": 5, "end": 600}]
    _, c, _ = await setup(faults=faults)
    await c.start()  # verified at t = 0, before the fault
    clock.advance(20)
    poll = await c.poll_once()
    venues = {q.venue for q in poll.quotes}
    assert venues == set(MARKETS) - {"curve-3pool"}
    assert set(poll.errors) == {"curve-3pool"}
    assert "reverted" in poll.errors["curve-3pool"]
    state = c.health["curve-3pool"].state
    assert state.failing and "reverted" in (state.error or "") and "block" in (state.error or "")
    assert not c.health["curve-usde-usdc"].state.failing


async def test_a_stale_block_drops_every_pools_quotes_with_the_reason(
    setup: Setup, clock: ManualClock
) -> None:
    faults = [{"venue": "ethereum", "kind": "stale", "start": 10, "end": 300}]
    _, c, _ = await setup(faults=faults)
    await c.start()
    assert (await c.poll_once()).quotes
    clock.advance(100)
    poll = await c.poll_once()
    assert poll.quotes == () and poll.block is not None
    for name in MARKETS:
        why = c.health[name].state.error or ""
        assert "quotes dropped as stale" in why and f"block {poll.block.number}" in why, why
        assert "max_block_age 60s" in why
    clock.advance(250)
    assert (await c.poll_once()).quotes  # the node caught up


async def test_a_429_is_honoured_with_its_wait(setup: Setup, clock: ManualClock) -> None:
    """The node answers 429 with Retry-After: no request goes out until the wait is over,
    every pool's /health says until when, and polling resumes after it."""
    faults = [{"venue": "ethereum", "kind": "rate_limit", "start": 0, "end": 30}]
    market, c, _ = await setup(faults=faults)
    await c.start()  # refused: pools stay unverified, to be verified before the first poll
    assert not c.verified and c.pause.active()
    asked = market.requests["ethereum"]
    assert asked == 1  # a 429 is not retried within the poll: its wait is honoured
    clock.advance(10)
    poll = await c.poll_once()
    assert poll.skipped and poll.quotes == ()
    assert market.requests["ethereum"] == asked
    why = c.health["curve-3pool"].state.error or ""
    assert "paused until" in why and "rate-limited" in why
    clock.advance(25)
    poll = await c.poll_once()
    assert poll.quotes and c.verified == set(MARKETS)


async def test_an_address_without_code_is_set_aside_at_start_up(setup: Setup) -> None:
    faults = [{"venue": "univ3-usde-usdt", "kind": "no_code", "start": 0, "end": 600}]
    _, c, _ = await setup(faults=faults)
    with capture_logs() as logs:
        await c.start()
    assert set(c.set_aside) == {"univ3-usde-usdt"}
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["pools_set_aside"]
    poll = await c.poll_once()
    assert {q.venue for q in poll.quotes} == set(MARKETS) - {"univ3-usde-usdt"}
    why = c.health["univ3-usde-usdt"].state.error or ""
    assert why.startswith("set aside, failed verification") and "getPool" in why, why
    assert "verified again every 300s" in why


async def test_a_pool_set_aside_at_start_up_is_verified_again_and_polled(
    setup: Setup, clock: ManualClock
) -> None:
    """A node wrong about one pool at start-up (no code there for 200 s) costs that pool one
    re-check interval, not the daemon's lifetime: a re-check while still wrong keeps it aside
    without a second warning, the first one after the node is right brings it back, polled
    and passing, while the other pools were polled all along."""
    faults = [{"venue": "univ3-usde-usdt", "kind": "no_code", "start": 0, "end": 200}]
    market, c, _ = await setup(faults=faults, poll_interval=12.0)
    with capture_logs() as logs:
        await c.start()
        assert set(c.set_aside) == {"univ3-usde-usdt"}
        clock.advance(150)
        asked = market.requests["ethereum"]
        poll = await c.poll_once()
        assert market.requests["ethereum"] == asked + 1  # not due: the poll alone
        assert "univ3-usde-usdt" not in {q.venue for q in poll.quotes}
        clock.advance(160)  # 310 s: due, and the node is right again
        poll = await c.poll_once()
        assert market.requests["ethereum"] == asked + 3  # the poll, then the re-check
        assert "univ3-usde-usdt" not in {q.venue for q in poll.quotes}
        assert not c.set_aside and "univ3-usde-usdt" in c.verified
        clock.advance(12)
        poll = await c.poll_once()
    assert {q.venue for q in poll.quotes} == set(MARKETS)
    assert not poll.errors and not c.health["univ3-usde-usdt"].state.failing
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["pools_set_aside"]


async def test_a_pool_still_wrong_at_its_re_check_stays_aside_quietly(
    setup: Setup, clock: ManualClock
) -> None:
    """While the node keeps answering wrongly for a pool, each re-check (every 300 s) keeps it
    set aside with its reason in /health; the warning was said once."""
    faults = [{"venue": "univ3-usde-usdt", "kind": "no_code", "start": 0, "end": 600}]
    market, c, _ = await setup(faults=faults)
    with capture_logs() as logs:
        await c.start()
        for step, requests in ((301, 2), (290, 1)):  # due at 300 s, then at 601 s
            clock.advance(step)
            asked = market.requests["ethereum"]
            poll = await c.poll_once()
            assert market.requests["ethereum"] == asked + requests  # the poll (+ the re-check)
            assert "univ3-usde-usdt" in poll.errors
    assert set(c.set_aside) == {"univ3-usde-usdt"} and "univ3-usde-usdt" not in c.verified
    assert "getPool" in (c.health["univ3-usde-usdt"].state.error or "")
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["pools_set_aside"]


async def test_the_rpc_url_never_shows_in_errors(setup: Setup, clock: ManualClock) -> None:
    """A node that refuses connections is named by host and port only: the path (where a
    provider puts its API key) never reaches /health or the log."""
    _, c, _ = await setup()
    c._url = "http://127.0.0.1:1/v3/SECRET-KEY"
    with capture_logs() as logs:
        await c.start()
        await c.poll_once()
    why = c.health["curve-3pool"].state.error or ""
    assert "refused" in why and "SECRET-KEY" not in why
    assert all("SECRET-KEY" not in str(e) for e in logs)


async def test_a_new_chainlink_round_carries_the_answer_it_moved_from(
    setup: Setup, clock: ManualClock
) -> None:
    """USDC steps to 0.975 at t = 60: the USDC/USD feed's next round is read with the answer
    of the round before it (what detection judges a threshold crossing by); the same round
    read again keeps it; a first reading has none."""
    step = {
        "segments": [
            {"kind": "calm", "duration": 60},
            {"kind": "move", "to": 0.975, "duration": 1},
            {"kind": "hold", "duration": 539},
        ]
    }
    _, c, _ = await setup({"USDC": step})
    await c.start()
    await c.poll_once()
    first = c.readings["chainlink-usdc-usd"]
    assert first.previous is None and first.value == pytest.approx(1.0, abs=0.003)
    clock.advance(100)
    await c.poll_once()
    moved = c.readings["chainlink-usdc-usd"]
    assert moved.round_id != first.round_id and moved.value == pytest.approx(0.975, abs=0.001)
    assert moved.previous == first.value
    clock.advance(12)
    await c.poll_once()
    again = c.readings["chainlink-usdc-usd"]
    assert again.round_id == moved.round_id and again.previous == first.value
