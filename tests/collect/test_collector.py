"""VenueCollector against a scripted exchange on 127.0.0.1, for every venue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

from depeg_monitor.health.registry import Kind, VenueDetail
from depeg_monitor.venues import VENUES

from .conftest import START, Answer, Exchange, Rig, normal_answer

ALL = sorted(VENUES)


def serve_normal(exchange: Exchange, venue: str, price: float = 0.9999) -> tuple[str, str]:
    market, path, body, listing = normal_answer(venue, price, START)
    exchange.script(f"/{venue}{path}", Answer(body=body))
    exchange.script(f"/{venue}{VENUES[venue].listing.path}", Answer(body=listing))
    return market, f"/{venue}{path}"


@pytest.mark.parametrize("venue", ALL)
async def test_normal_answer_becomes_a_quote(exchange: Exchange, rig: Rig, venue: str) -> None:
    """After the listing check, one poll yields the market's price and reports health ok."""
    market, _ = serve_normal(exchange, venue)
    c = rig.make(venue, [market])
    await c.start()
    result = await c.poll_once()
    assert result.error is None
    (q,) = result.quotes
    assert (f"{q.coin}/{q.quote_ccy}", q.price, q.venue) == (market, 0.9999, venue)
    state = rig.health.get(Kind.VENUE, venue)
    assert state is not None and not state.failing and state.detail == VenueDetail(quotes=1)


@pytest.mark.parametrize("venue", ALL)
async def test_5xx_is_retried_within_the_poll(exchange: Exchange, rig: Rig, venue: str) -> None:
    """A 503 followed by a good answer still gives the quote in the same poll."""
    market, path = serve_normal(exchange, venue)
    good = exchange.scripts[path][0]
    exchange.script(path, Answer(503, raw="<html>busy</html>"), good)
    result = await rig.make(venue, [market]).poll_once()
    assert [q.price for q in result.quotes] == [0.9999]
    assert exchange.count(path) == 2


@pytest.mark.parametrize("venue", ALL)
async def test_persistent_5xx_fails_the_poll_cleanly(
    exchange: Exchange, rig: Rig, venue: str
) -> None:
    """A venue that keeps answering 500 gives no quotes, a 'server error' reason, health error."""
    market, path = serve_normal(exchange, venue)
    exchange.script(path, Answer(500, raw="oops"))
    result = await rig.make(venue, [market]).poll_once()
    assert result.quotes == () and result.error is not None and "server error" in result.error
    state = rig.health.get(Kind.VENUE, venue)
    assert state is not None and state.failing and "server error" in (state.error or "")
    assert exchange.base_url(venue) not in (state.error or "")


@pytest.mark.parametrize("venue", ALL)
async def test_timeout_is_classified(exchange: Exchange, rig: Rig, venue: str) -> None:
    """An answer slower than the venue's timeout is reported as a timeout, not a crash."""
    market, path = serve_normal(exchange, venue)
    exchange.script(path, Answer(delay=0.3, body={}))
    c = rig.make(venue, [market], timeout=0.05, poll_interval=0.5)
    result = await c.poll_once()
    assert result.quotes == () and result.error is not None and "timeout" in result.error


@pytest.mark.parametrize("venue", ALL)
async def test_rate_limit_pauses_the_venue_for_retry_after(
    exchange: Exchange, rig: Rig, venue: str
) -> None:
    """A 429 with Retry-After: 30 stops polling that venue for 30 s, then it resumes."""
    market, path = serve_normal(exchange, venue)
    good = exchange.scripts[path][0]
    exchange.script(path, Answer(429, body={}, headers={"Retry-After": "30"}), good)
    c = rig.make(venue, [market])
    first = await c.poll_once()
    assert first.error is not None and "rate-limited" in first.error
    rig.clock.advance(20)
    paused = await c.poll_once()
    assert paused.skipped and exchange.count(path) == 1
    rig.clock.advance(11)
    # the quote's own timestamp is START; keep it fresh for the staleness check
    resumed = await c.poll_once()
    assert not resumed.skipped and exchange.count(path) == 2


async def test_bybit_403_bans_for_ten_minutes(exchange: Exchange, rig: Rig) -> None:
    """Bybit's 403 'access too frequent' pauses Bybit for 600 s."""
    market, path = serve_normal(exchange, "bybit")
    exchange.script(path, Answer(403, raw="access too frequent"))
    c = rig.make("bybit", [market])
    await c.poll_once()
    rig.clock.advance(599)
    assert (await c.poll_once()).skipped
    rig.clock.advance(2)
    assert not (await c.poll_once()).skipped


async def test_listing_drops_missing_markets_with_one_warning(exchange: Exchange, rig: Rig) -> None:
    """Markets the venue does not list are dropped with a single warning naming them."""
    serve_normal(exchange, "binance")
    c = rig.make("binance", ["USDC/USDT", "PYUSD/USDT", "FRAX/USDT"])
    with capture_logs() as logs:
        await c.start()
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["venue"] == "binance"
    assert warnings[0]["markets"] == ["PYUSD/USDT", "FRAX/USDT"]
    result = await c.poll_once()
    assert [q.coin for q in result.quotes] == ["USDC"]
    (_, query) = exchange.seen[-1]
    assert query["symbols"] == '["USDCUSDT"]'


async def test_listing_failure_keeps_every_market(exchange: Exchange, rig: Rig) -> None:
    """If the listing call fails, all markets are kept and Kraken's canonical keys still match."""
    market, _ = serve_normal(exchange, "kraken")
    exchange.script("/kraken/0/public/AssetPairs", Answer(502, raw="bad gateway"))
    c = rig.make("kraken", [market, "DAI/USD"], poll_interval=2)
    await c.start()
    assert set(c.markets.polled) == {"USDT/USD", "DAI/USD"}
    result = await c.poll_once()
    assert [q.coin for q in result.quotes] == ["USDT"]


async def test_quality_drops_are_counted_by_reason(exchange: Exchange, rig: Rig) -> None:
    """Absurd, stale and backwards-in-time OKX answers are dropped and counted per reason."""
    market, path = serve_normal(exchange, "okx")
    fresh = exchange.scripts[path][0].body

    def answer(price: str, ts: float) -> Answer:
        row = fresh["data"][0] | {"last": price, "ts": str(int(ts * 1000))}
        return Answer(body=fresh | {"data": [row]})

    exchange.script(
        path,
        answer("0.9990", START),  # good
        answer("0.9995", START - 5),  # older than the last: an OKX regression
        answer("3.5", START + 1),  # absurd for a USD-pegged pair
        answer("0.9991", START - 1000),  # stale (max_age 120)
        answer("0", START + 2),  # zero
    )
    c = rig.make("okx", [market])
    prices = [[q.price for q in (await c.poll_once()).quotes] for _ in range(5)]
    assert prices == [[0.999], [], [], [], []]
    for reason in ("regression", "absurd", "stale", "non_positive"):
        assert rig.metrics.drops.labels("okx", reason)._value.get() == 1


async def test_unknown_product_is_dropped_others_continue(exchange: Exchange, rig: Rig) -> None:
    """Coinbase 404 for one product drops that market; the others keep their quotes."""
    market, _ = serve_normal(exchange, "coinbase")
    c = rig.make("coinbase", [market, "NOPE/USD"])
    first = await c.poll_once()
    assert [q.coin for q in first.quotes] == ["USDT"] and "unknown market" in (first.error or "")
    assert set(c.markets.polled) == {"USDT/USD"}
    assert (await c.poll_once()).error is None


async def test_interval_is_stretched_to_the_rate_limit(exchange: Exchange, rig: Rig) -> None:
    """A poll interval the documented limit cannot sustain is stretched, with a warning."""
    markets = [f"C{i}/USD" for i in range(30)]
    c = rig.make("coinbase", markets, poll_interval=1)
    exchange.script("/coinbase/products", Answer(body=[{"id": f"C{i}-USD"} for i in range(30)]))
    with capture_logs() as logs:
        await c.start()
    assert c.interval > 1 and c.interval * c.bucket.rate >= 30
    assert any(e["event"] == "poll_interval_stretched" for e in logs)


async def test_failing_venue_never_stops_the_others(exchange: Exchange, rig: Rig) -> None:
    """With Kraken down for good, Binance's loop keeps delivering quotes to the sink."""
    serve_normal(exchange, "binance")
    exchange.script("/kraken/0/public/Ticker", Answer(500, raw="down"))
    good = rig.make("binance", ["USDC/USDT"], max_age=10_000)
    bad = rig.make("kraken", ["USDT/USD"], max_age=10_000)
    stop = asyncio.Event()

    def sink(quotes: Any) -> None:
        rig.received.extend(quotes)
        if len(rig.received) >= 5:
            stop.set()

    good._sink = sink
    await asyncio.wait_for(asyncio.gather(good.run(stop), bad.run(stop)), timeout=20)
    assert len(rig.received) >= 5 and {q.venue for q in rig.received} == {"binance"}
    kraken = rig.health.get(Kind.VENUE, "kraken")
    assert kraken is not None and kraken.failing and kraken.consecutive_failures >= 1


async def test_breaker_opens_after_repeated_failures(exchange: Exchange, rig: Rig) -> None:
    """After breaker_threshold failed polls the venue is skipped until the back-off passes."""
    market, path = serve_normal(exchange, "gemini")
    exchange.script(path, Answer(500, raw="down"))
    c = rig.make("gemini", [market], breaker_threshold=2, poll_interval=1)
    await c.poll_once()
    await c.poll_once()
    asked = exchange.count(path)
    skipped = await c.poll_once()
    assert skipped.skipped and "circuit open" in (skipped.error or "")
    assert exchange.count(path) == asked
    rig.clock.advance(1.5)
    exchange.script(path, Answer(body=normal_answer("gemini", 1.0, START)[2]))
    assert (await c.poll_once()).quotes and c.breaker.failures == 0


def _value(metric: Any) -> float:
    return float(metric._value.get())
