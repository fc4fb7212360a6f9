"""A scripted exchange on 127.0.0.1 answering each venue's documented paths in real shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from depeg_monitor.clock import ManualClock
from depeg_monitor.collect.collector import VenueCollector
from depeg_monitor.collect.rules import CollectorRules
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.venues import VENUES

from ..payloads import MISSING, SHARED

START = 1_700_000_000.0
PEGS = {"USDT": 1.0, "USDC": 1.0, "DAI": 1.0}


# Reads of a missing payload during the current test. A read inside the scripted exchange's
# handler cannot skip the test itself (the client just sees a failed request), so the report
# hook below turns the failure it causes into the skip it stands for.
_missing_reads: list[str] = []


def shared(name: str) -> Any:
    """One of the shared example answers; the test is skipped without the folder."""
    if not SHARED.is_dir():
        _missing_reads.append(name)
        pytest.skip(MISSING)
    return json.loads((SHARED / name).read_text())


@pytest.fixture(autouse=True)
def _forget_missing_reads() -> None:
    _missing_reads.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed and _missing_reads:
        path, line = item.reportinfo()[:2]
        report.outcome = "skipped"
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {MISSING}")
    return report


def ms(t: float) -> int:
    return int(t * 1000)


def normal_answer(venue: str, price: float, now: float) -> tuple[str, str, Any, Any]:
    """(market, ticker path, ticker body, listing body) for one market of each venue."""
    p = f"{price:.6f}"
    if venue == "binance":
        row = shared("binance_ticker_24hr_symbols.json")[0]
        row = row | {"symbol": "USDCUSDT", "lastPrice": p, "closeTime": ms(now)}
        listing = {"symbols": [{"symbol": "USDCUSDT", "status": "TRADING"}]}
        return "USDC/USDT", "/api/v3/ticker/24hr", [row], listing
    if venue == "coinbase":
        body = shared("coinbase_ticker_stablecoin.json") | {"price": p, "time": _iso(now)}
        return "USDT/USD", "/products/USDT-USD/ticker", body, [{"id": "USDT-USD"}]
    if venue == "kraken":
        row = shared("kraken_ticker.json")["result"]["XXBTZUSD"] | {"c": [p, "1"]}
        listing = {
            "error": [],
            "result": {"USDTZUSD": {"altname": "USDTUSD", "wsname": "USDT/USD"}},
        }
        return "USDT/USD", "/0/public/Ticker", {"error": [], "result": {"USDTZUSD": row}}, listing
    if venue == "bitstamp":
        body = shared("bitstamp_ticker.json") | {"last": p, "timestamp": str(int(now))}
        listing = [{"market_symbol": "usdtusd", "name": "USDT/USD", "trading": "Enabled"}]
        return "USDT/USD", "/api/v2/ticker/usdtusd/", body, listing
    if venue == "okx":
        body = shared("okx_tickers.json")
        row = body["data"][0] | {
            "instType": "SPOT",
            "instId": "USDC-USDT",
            "last": p,
            "ts": str(ms(now)),
        }
        listing = {"code": "0", "msg": "", "data": [{"instId": "USDC-USDT", "state": "live"}]}
        return "USDC/USDT", "/api/v5/market/tickers", body | {"data": [row]}, listing
    if venue == "bybit":
        body = shared("bybit_tickers_spot.json")
        row = body["result"]["list"][0] | {"symbol": "USDCUSDT", "lastPrice": p}
        body = body | {"result": {"category": "spot", "list": [row]}, "time": ms(now)}
        listing = {"retCode": 0, "result": {"list": [{"symbol": "USDCUSDT", "status": "Trading"}]}}
        return "USDC/USDT", "/v5/market/tickers", body, listing
    if venue == "gemini":
        body = shared("gemini_pubticker.json") | {"last": p}
        return "USDT/USD", "/v1/pubticker/usdtusd", body, ["usdtusd"]
    if venue == "kucoin":
        body = shared("kucoin_all_tickers.json")
        row = body["data"]["ticker"][0] | {"symbol": "USDC-USDT", "last": p}
        body = body | {"data": {"time": ms(now), "ticker": [row]}}
        listing = {"code": "200000", "data": [{"symbol": "USDC-USDT", "enableTrading": True}]}
        return "USDC/USDT", "/api/v1/market/allTickers", body, listing
    if venue == "coingecko":
        row = shared("coingecko_simple_price.json")["bitcoin"]
        body = {"usd-coin": row | {"usd": price, "last_updated_at": int(now)}}
        return "USDC/USD", "/api/v3/simple/price", body, [{"id": "usd-coin", "symbol": "usdc"}]
    raise KeyError(venue)


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # real seconds before answering (timeouts)
    raw: str | None = None


class Exchange:
    """Scripted answers per path; the last answer of a script repeats. Records every request."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.port = 0
        # When set, each request is also stamped with this clock (a test's ManualClock).
        self.stamp: Callable[[], float] | None = None
        self.times: list[tuple[float, str]] = []
        # Answers that depend on the query (a batch naming a delisted market), per path.
        self.dynamic: dict[str, Callable[[dict[str, str]], Answer]] = {}

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def base_url(self, venue: str) -> str:
        return f"http://127.0.0.1:{self.port}/{venue}"

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.seen if p == path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path, dict(request.query)))
        if self.stamp is not None:
            self.times.append((self.stamp(), request.path))
        script = self.scripts.get(request.path)
        dynamic = self.dynamic.get(request.path)
        if dynamic is not None:
            answer = dynamic(dict(request.query))
        elif not script:
            return web.json_response({"message": "NotFound"}, status=404)
        else:
            answer = script.pop(0) if len(script) > 1 else script[0]
        if answer.delay:
            await asyncio.sleep(answer.delay)
        text = answer.raw if answer.raw is not None else json.dumps(answer.body)
        return web.Response(
            status=answer.status, text=text, headers=answer.headers, content_type="application/json"
        )


@pytest.fixture
async def exchange() -> AsyncIterator[Exchange]:
    ex = Exchange()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", ex.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ex.port = runner.addresses[0][1]
    yield ex
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@dataclass
class Rig:
    clock: ManualClock
    health: HealthRegistry
    metrics: Metrics
    received: list[Quote]
    make: Callable[..., VenueCollector]


@pytest.fixture
def rig(exchange: Exchange, session: aiohttp.ClientSession) -> Rig:
    clock = ManualClock(START)
    health = HealthRegistry()
    metrics = Metrics()
    received: list[Quote] = []

    def make(venue: str, markets: list[str], **settings: Any) -> VenueCollector:
        rules = CollectorRules(venue, exchange.base_url(venue), tuple(markets), PEGS, **settings)
        handle = health.component(Kind.VENUE, venue)
        return VenueCollector(
            VENUES[venue], rules, session, clock, handle, metrics, received.extend
        )

    return Rig(clock, health, metrics, received, make)
