"""A hostile venue against the real collector: whatever it sends, it only ever hurts itself."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from structlog.testing import capture_logs

from depeg_monitor.collect.collector import VenueCollector
from depeg_monitor.collect.rules import CollectorRules
from depeg_monitor.health.registry import Kind, VenueDetail
from depeg_monitor.venues import VENUES

from .conftest import PEGS, START, Answer, Exchange, Rig, normal_answer, shared

BINANCE_LISTING = "/binance/api/v3/exchangeInfo"
BINANCE_TICKER = "/binance/api/v3/ticker/24hr"


def serve(exchange: Exchange, venue: str, price: float = 0.9999, **row: Any) -> str:
    """A one-market venue's normal answer (`row` fields changed) and listing; returns the path."""
    _, path, body, listing = normal_answer(venue, price, START)
    body = body | row  # one-market venues answer an object
    exchange.script(f"/{venue}{path}", Answer(body=body))
    exchange.script(f"/{venue}{VENUES[venue].listing.path}", Answer(body=listing))
    return f"/{venue}{path}"


def binance_rows(symbols: list[str], price: float = 0.9999) -> list[dict[str, Any]]:
    row = shared("binance_ticker_24hr_symbols.json")[0]
    return [
        row | {"symbol": s, "lastPrice": f"{price:.4f}", "closeTime": int(START * 1000)}
        for s in symbols
    ]


class BinanceWithDelisting:
    """Binance as it really behaves: a batch naming one unknown symbol fails whole (-1121),
    and the listing (narrowed or not) knows only what trades."""

    def __init__(self, trading: set[str], listing_knows: set[str] | None = None) -> None:
        self.trading = trading
        self.listing_knows = listing_knows  # None: the listing tells the truth

    def ticker(self, query: dict[str, str]) -> Answer:
        asked = json.loads(query["symbols"])
        if any(s not in self.trading for s in asked):
            return Answer(400, body={"code": -1121, "msg": "Invalid symbol."})
        return Answer(body=binance_rows(asked))

    def listing(self, query: dict[str, str]) -> Answer:
        known = self.trading if self.listing_knows is None else self.listing_knows
        asked = json.loads(query["symbols"]) if "symbols" in query else sorted(known)
        if any(s not in known for s in asked):
            return Answer(400, body={"code": -1121, "msg": "Invalid symbol."})
        return Answer(body={"symbols": [{"symbol": s, "status": "TRADING"} for s in asked]})

    def install(self, exchange: Exchange) -> None:
        exchange.dynamic[BINANCE_TICKER] = self.ticker
        exchange.dynamic[BINANCE_LISTING] = self.listing


MARKETS = ["USDC/USDT", "FDUSD/USDT", "TUSD/USDT"]


async def test_one_delisted_market_never_darkens_a_batched_venue(
    exchange: Exchange, rig: Rig
) -> None:
    """Binance stops listing TUSD: in that same poll the other markets still get their prices,
    TUSD is set aside, and once Binance lists it again a later listing check brings it back."""
    venue = BinanceWithDelisting({"USDCUSDT", "FDUSDUSDT", "TUSDUSDT"})
    venue.install(exchange)
    c = rig.make("binance", MARKETS, max_age=10_000, listing_interval=3600)
    await c.start()
    assert (await c.poll_once()).error is None
    venue.trading.discard("TUSDUSDT")
    rig.clock.advance(61)
    result = await c.poll_once()
    assert sorted(q.coin for q in result.quotes) == ["FDUSD", "USDC"]
    assert "TUSD/USDT" in c.markets.set_aside
    state = rig.health.get(Kind.VENUE, "binance")
    assert state is not None and not state.failing
    assert state.detail == VenueDetail(quotes=2, set_aside=("TUSD/USDT",))
    assert "set aside: TUSD/USDT" in (state.note or "")  # /health: warn, with the reason
    venue.trading.add("TUSDUSDT")
    rig.clock.advance(301)  # a set-aside market is looked for again within minutes
    await c.poll_once()
    result = await c.poll_once()
    assert sorted(q.coin for q in result.quotes) == ["FDUSD", "TUSD", "USDC"]
    assert c.markets.set_aside == {}


async def test_a_batch_refused_while_the_listing_still_lists_everything_is_asked_one_by_one(
    exchange: Exchange, rig: Rig
) -> None:
    """If the listing cannot name the culprit, the poll asks market by market, so the others
    are priced in that same poll and only the refused market is set aside."""
    venue = BinanceWithDelisting(
        {"USDCUSDT", "FDUSDUSDT"}, listing_knows={"USDCUSDT", "FDUSDUSDT", "TUSDUSDT"}
    )
    venue.install(exchange)
    c = rig.make("binance", MARKETS, max_age=10_000)
    await c.start()
    result = await c.poll_once()
    assert sorted(q.coin for q in result.quotes) == ["FDUSD", "USDC"]
    assert set(c.markets.set_aside) == {"TUSD/USDT"}
    assert (await c.poll_once()).error is None


async def test_a_narrowed_listing_refused_for_one_symbol_is_read_symbol_by_symbol(
    exchange: Exchange, rig: Rig
) -> None:
    """At start-up Binance's exchangeInfo?symbols=[…] fails whole for one unknown symbol; the
    collector then asks per symbol and keeps the ones that trade."""
    BinanceWithDelisting({"USDCUSDT", "FDUSDUSDT"}).install(exchange)
    c = rig.make("binance", MARKETS, max_age=10_000)
    await c.start()
    assert set(c.markets.polled) == {"USDC/USDT", "FDUSD/USDT"} and set(c.markets.set_aside) == {
        "TUSD/USDT"
    }
    listing_queries = [q for p, q in exchange.seen if p == BINANCE_LISTING]
    assert all("symbols" in q for q in listing_queries)  # never the multi-megabyte full listing


async def test_kraken_batch_with_an_unknown_pair_keeps_the_other_pairs(
    exchange: Exchange, rig: Rig
) -> None:
    """Kraken answers HTTP 200 EQuery:Unknown asset pair for a whole pair=a,b request; the
    other pair still gets its price in the same poll."""
    row = shared("kraken_ticker.json")["result"]["XXBTZUSD"] | {"c": ["0.9998", "1"]}

    def ticker(query: dict[str, str]) -> Answer:
        pairs = query["pair"].split(",")
        if "DAIUSD" in pairs:
            return Answer(body=shared("kraken_error_unknown_pair.json"))
        return Answer(body={"error": [], "result": {"USDTZUSD": row}})

    exchange.dynamic["/kraken/0/public/Ticker"] = ticker
    listing = {
        "error": [],
        "result": {"USDTZUSD": {"altname": "USDTUSD", "wsname": "USDT/USD", "status": "online"}},
    }
    exchange.script("/kraken/0/public/AssetPairs", Answer(body=listing))
    # Both listed when the collector started (no listing read since): DAI is gone now.
    c = rig.make("kraken", ["USDT/USD", "DAI/USD"], max_age=10_000, poll_interval=2)
    result = await c.poll_once()
    assert [q.coin for q in result.quotes] == ["USDT"]
    assert set(c.markets.set_aside) == {"DAI/USD"}


async def test_one_404_for_a_listed_market_does_not_remove_it(exchange: Exchange, rig: Rig) -> None:
    """Coinbase answers one 404 for a product its listing still has: the market stays polled."""
    path = serve(exchange, "coinbase")
    good = exchange.scripts[path][0]
    exchange.script(path, Answer(404, body={"message": "NotFound"}), good)
    c = rig.make("coinbase", ["USDT/USD"], max_age=10_000)
    await c.start()
    rig.clock.advance(61)
    first = await c.poll_once()
    assert first.quotes == () and c.markets.set_aside == {}
    assert [q.coin for q in (await c.poll_once()).quotes] == ["USDT"]


async def test_nan_and_negative_volumes_are_forgotten_and_counted(
    exchange: Exchange, rig: Rig
) -> None:
    """Bitstamp's "volume": "NaN" and Coinbase's negative volume: the prices pass, the volumes
    become unknown, each is counted by reason in /metrics, and /health warns with the reason."""
    serve(exchange, "bitstamp", volume="NaN")
    serve(exchange, "coinbase", volume="-13779365.5")
    for venue, market, reason in (
        ("bitstamp", "USDT/USD", "volume_non_finite"),
        ("coinbase", "USDT/USD", "volume_negative"),
    ):
        c = rig.make(venue, [market], max_age=10_000)
        (quote,) = (await c.poll_once()).quotes
        assert quote.price == 0.9999 and quote.volume_base_24h is None
        assert rig.metrics.figures_dropped.labels(venue, reason)._value.get() == 1
        state = rig.health.get(Kind.VENUE, venue)
        assert state is not None and f"1 {reason} figures ignored" in (state.note or "")


async def test_a_far_future_timestamp_never_freezes_the_venue(exchange: Exchange, rig: Rig) -> None:
    """Coinbase says 9999-12-31 twice: both are dropped as 'future', and the next real quote
    (0.95, stamped now) is accepted, so a depeg is not hidden behind a frozen price."""
    path = serve(exchange, "coinbase")
    body = exchange.scripts[path][0].body
    future = Answer(body=body | {"price": "0.999", "time": "9999-12-31T23:59:59Z"})
    exchange.script(path, future, future, Answer(body=body | {"price": "0.95"}))
    c = rig.make("coinbase", ["USDT/USD"])
    assert (await c.poll_once()).quotes == ()
    assert (await c.poll_once()).quotes == ()
    (quote,) = (await c.poll_once()).quotes
    assert quote.price == 0.95
    assert rig.metrics.drops.labels("coinbase", "future")._value.get() == 2


async def test_a_poll_with_no_usable_quote_is_not_a_success(exchange: Exchange, rig: Rig) -> None:
    """A venue answering price 0 for every market shows as failing in /health, with the reason."""
    path = serve(exchange, "coinbase")
    exchange.script(path, Answer(body=exchange.scripts[path][0].body | {"price": "0"}))
    c = rig.make("coinbase", ["USDT/USD"])
    result = await c.poll_once()
    assert result.quotes == () and result.error is None
    state = rig.health.get(Kind.VENUE, "coinbase")
    assert state is not None and state.failing
    assert state.error == "no usable quotes: 1 non_positive dropped"


async def test_a_huge_retry_after_is_clamped_to_the_venues_longest_wait(
    exchange: Exchange, rig: Rig
) -> None:
    """OKX says Retry-After: 1000000000000: the venue pauses only for its documented maximum,
    /health says until when, and polling resumes after it."""
    market, path, body, _ = normal_answer("okx", 0.9999, START)
    exchange.script(
        f"/okx{path}",
        Answer(
            429,
            body={"msg": "Too Many Requests", "code": "50011"},
            headers={"Retry-After": "1000000000000"},
        ),
        Answer(body=body),
    )
    c = rig.make("okx", [market], max_age=10**7)
    with capture_logs() as logs:
        await c.poll_once()
    assert any(e["event"] == "wait_clamped" for e in logs)
    cap = VENUES["okx"].max_wait
    rig.clock.advance(cap - 1)
    paused = await c.poll_once()
    assert paused.skipped and "paused until" in (paused.error or "")
    state = rig.health.get(Kind.VENUE, "okx")
    assert state is not None and "paused until" in (state.error or "")
    rig.clock.advance(2)
    assert [q.coin for q in (await c.poll_once()).quotes] == ["USDC"]


async def test_no_request_goes_out_while_the_venue_has_said_to_wait(
    exchange: Exchange, rig: Rig
) -> None:
    """Two Coinbase products: one answers 429 Retry-After: 30 while the other fails with a 500;
    the failing one is not retried once the venue has asked to wait."""
    path = serve(exchange, "coinbase")
    exchange.script(
        path,
        Answer(429, body={"message": "Public rate limit exceeded"}, headers={"Retry-After": "30"}),
    )
    dai = "/coinbase/products/DAI-USD/ticker"
    exchange.script(
        dai, Answer(500, raw="busy", delay=0.05), Answer(body=exchange.scripts[path][0].body)
    )
    c = rig.make("coinbase", ["USDT/USD", "DAI/USD"], poll_interval=5)
    await c.poll_once()
    assert exchange.count(dai) == 1


async def test_a_buggy_parser_is_a_classified_failure_not_a_crash(
    exchange: Exchange, rig: Rig, session: Any
) -> None:
    """A venue module that raises TypeError on an answer (ticker or listing) yields a
    'malformed answer' poll and a listing that is simply unavailable, never a crash."""

    def broken(*_: Any) -> Any:
        raise TypeError("venue module bug")

    path = serve(exchange, "coinbase")
    spec = dataclasses.replace(VENUES["coinbase"], parse=broken, parse_listing=broken)
    rules = CollectorRules("coinbase", exchange.base_url("coinbase"), ("USDT/USD",), PEGS)
    handle = rig.health.component(Kind.VENUE, "coinbase")
    c = VenueCollector(spec, rules, session, rig.clock, handle, rig.metrics, rig.received.extend)
    await c.start()
    assert set(c.markets.polled) == {"USDT/USD"}  # listing unreadable: every market kept
    result = await c.poll_once()
    assert result.quotes == () and "malformed answer" in (result.error or "")
    assert "TypeError" in (result.error or "") and c.breaker.failures == 1
    assert exchange.count(path) >= 1


async def test_failures_never_push_a_venue_past_its_published_limit(
    exchange: Exchange, rig: Rig
) -> None:
    """Coinbase failing every request every way (500s, then 429s without a wait), with its
    listing re-read on every unknown answer: every request it receives was let out by the
    rate budget, and no 1-second window of those lets-out holds more than its published 10
    requests, retries and listing calls included."""
    exchange.stamp = rig.clock.monotonic  # the stand-in records each request it receives
    markets = [f"C{i}/USD" for i in range(8)]
    exchange.script("/coinbase/products", Answer(body=[{"id": f"C{i}-USD"} for i in range(8)]))
    for i in range(8):
        answers = [Answer(500, raw="x")] * 5 + [Answer(404, body={"message": "NotFound"})]
        exchange.script(f"/coinbase/products/C{i}-USD/ticker", *answers, Answer(500, raw="x"))
    c = rig.make("coinbase", markets, poll_interval=1, breaker_threshold=1000)
    # When each request leaves, on the test clock. Not when it arrives: the manual clock jumps
    # whenever any of the concurrent requests sleeps (a retry's backoff), so one still in
    # flight would be stamped later than it left, and two windows' worth would look like one.
    left: list[float] = []
    try_take = c.bucket.try_take

    def recording(cost: float) -> float:
        wait = try_take(cost)
        if wait == 0:
            left.extend([rig.clock.monotonic()] * round(cost))
        return wait

    c.bucket.try_take = recording  # type: ignore[method-assign]
    await c.start()
    for _ in range(40):
        await c.poll_once()
        rig.clock.advance(0.5)
    assert len(exchange.times) > 40
    assert len(left) == len(exchange.times)  # nothing reached the venue around the budget
    worst = max(sum(1 for t in left if s <= t < s + 1.0) for s in left)
    assert worst <= VENUES["coinbase"].rate_limit.limit


async def test_a_venue_down_for_ten_minutes_says_so_a_bounded_number_of_times(
    rig: Rig,
) -> None:
    """Ten minutes of an unreachable venue: the log says it is failing (with the host and why,
    in words) and once more later — not once per request — and 'recovered' once it answers."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = VenueCollector(
        VENUES["kraken"],
        CollectorRules("kraken", f"http://127.0.0.1:{port}", ("USDT/USD",), PEGS, poll_interval=2),
        rig.make("kraken", ["USDT/USD"])._session,
        rig.clock,
        rig.health.component(Kind.VENUE, "kraken"),
        rig.metrics,
        rig.received.extend,
    )
    with capture_logs() as logs:
        await c.start()
        began = rig.clock.monotonic()
        while rig.clock.monotonic() - began < 600:
            await c.poll_once()
            rig.clock.advance(2)
    said = [e for e in logs if e["log_level"] in ("warning", "error", "info")]
    failing = [e for e in said if e["event"] == "venue_failing"]
    assert len(failing) == 1
    assert failing[0]["reason"] == f"network error: connection refused by 127.0.0.1:{port}"
    assert len(said) <= 5, [e["event"] for e in said]
