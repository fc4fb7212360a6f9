"""`depeg-monitor quotes` against venues served by a local aiohttp server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from depeg_monitor.cli import main
from depeg_monitor.commands.quotes import poll_all
from depeg_monitor.config import load_settings

SHARED = Path(__file__).parents[2] / ".." / "shared" / "exchange-apis"


def shared(name: str) -> Any:
    return json.loads((SHARED / name).read_text())


def routes() -> dict[str, tuple[int, Any]]:
    now = time.time()
    binance_row = shared("binance_ticker_24hr_symbols.json")[0]
    kraken_row = shared("kraken_ticker.json")["result"]["XXBTZUSD"]
    return {
        "/binance/api/v3/exchangeInfo": (200, {"symbols": [
            {"symbol": "USDCUSDT", "status": "TRADING"},
            {"symbol": "FDUSDUSDT", "status": "TRADING"}]}),
        "/binance/api/v3/ticker/24hr": (200, [
            binance_row | {"symbol": "USDCUSDT", "lastPrice": "0.99980000",
                           "closeTime": int(now * 1000)},
            binance_row | {"symbol": "FDUSDUSDT", "lastPrice": "0.99710000",
                           "closeTime": int(now * 1000)}]),
        "/kraken/0/public/AssetPairs": (200, {"error": [], "result": {
            "USDTZUSD": {"altname": "USDTUSD", "wsname": "USDT/USD"},
            "USDCUSD": {"altname": "USDCUSD", "wsname": "USDC/USD"}}}),
        "/kraken/0/public/Ticker": (200, {"error": [], "result": {
            "USDTZUSD": kraken_row | {"c": ["1.00020", "5"]},
            "USDCUSD": kraken_row | {"c": ["0.99990", "5"]}}}),
        "/okx/api/v5/public/instruments": (200, shared("okx_error_429.json")),
        "/okx/api/v5/market/tickers": (429, shared("okx_error_429.json")),
    }  # fmt: skip


@pytest.fixture
def venues_server() -> Iterator[int]:
    """A local exchange on 127.0.0.1 in its own thread (the command runs its own loop)."""
    with serve(routes()) as port:
        yield port


@contextmanager
def serve(table: dict[str, tuple[int, Any]]) -> Iterator[int]:
    """Answer each path in table with its (status, JSON body); 404 for the rest."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def handle(request: web.Request) -> web.Response:
        status, body = table.get(request.path, (404, {"message": "NotFound"}))
        return web.json_response(body, status=status, headers={"Retry-After": "30"})

    async def run() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        state["port"] = runner.addresses[0][1]
        state["stop"] = stop = asyncio.Event()
        ready.set()
        await stop.wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run(),))
    thread.start()
    ready.wait(10)
    yield int(state["port"])
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(10)
    loop.close()


def test_prints_a_coin_by_venue_table_and_failures(
    venues_server: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prices appear per coin and venue with their quote currency; OKX's 429 is named."""
    base = f"http://127.0.0.1:{venues_server}"
    config = tmp_path / "config.toml"
    config.write_text(f"""
[coins.USDT]
[coins.USDC]
[coins.FDUSD]
[venues.binance]
base_url = "{base}/binance"
markets = ["USDC/USDT", "FDUSD/USDT"]
[venues.kraken]
base_url = "{base}/kraken"
markets = ["USDT/USD", "USDC/USD"]
[venues.okx]
base_url = "{base}/okx"
markets = ["USDC/USDT"]
""")
    code = main(["quotes", "--config", str(config)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    header = out[0].split()
    assert header == ["coin", "binance", "kraken"]
    rows = {line.split()[0]: line.split()[1:] for line in out[1:4]}
    assert rows["USDC"] == ["0.9998", "USDT", "0.9999", "USD"]
    assert rows["USDT"] == ["-", "1.0002", "USD"]
    assert rows["FDUSD"] == ["0.9971", "USDT", "-"]
    problems = "\n".join(out[out.index("problems:") :])
    assert "okx" in problems and "rate-limited" in problems and base not in problems


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A market that is not BASE/QUOTE is reported by its dotted path, exit code 2."""
    config = tmp_path / "bad.toml"
    config.write_text('[venues.binance]\nmarkets = ["USDCUSDT"]\n')
    with pytest.raises(SystemExit) as e:
        main(["quotes", "--config", str(config)])
    assert e.value.code == 2
    assert "venues.binance.markets" in capsys.readouterr().err


def test_exchange_error_text_cannot_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kraken's error text with a screen clear and a forged line prints escaped, on one line."""
    table = routes()
    table["/kraken/0/public/Ticker"] = (
        200,
        {"error": ["EGeneral:Invalid arguments\x1b[2J\r\nFAKE LINE  usdc 1.0000\u202e"]},
    )
    with serve(table) as port:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[coins.USDC]
[venues.binance]
base_url = "http://127.0.0.1:{port}/binance"
markets = ["USDC/USDT"]
[venues.kraken]
base_url = "http://127.0.0.1:{port}/kraken"
markets = ["USDC/USD"]
""")
        assert main(["quotes", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert not any(line.startswith("FAKE LINE") for line in lines)
    kraken = [line for line in lines if line.strip().startswith("kraken")]
    assert len(kraken) == 1
    assert "EGeneral:Invalid arguments\\x1b[2J\\r\\nFAKE LINE  usdc 1.0000\\u202e" in kraken[0]


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_venues_are_reported_at_once_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every venue refusing the connection: exit 1, one line per venue saying so, nothing on
    stderr — and no retrying until the deadline, which would read 'no answer within'."""
    base = f"http://127.0.0.1:{closed_port()}"
    config = tmp_path / "config.toml"
    # An hour between polls: were a refused connection retried within the poll, only the
    # command's own deadline would end it.
    config.write_text(f"""
[coins.USDC]
[coins.USDT]
[venues.binance]
base_url = "{base}/binance"
markets = ["USDC/USDT"]
poll_interval = 3600
[venues.kraken]
base_url = "{base}/kraken"
markets = ["USDC/USD", "USDT/USD"]
poll_interval = 3600
[venues.coingecko]
base_url = "{base}/coingecko"
markets = ["USDC/USD"]
poll_interval = 3600
""")
    assert main(["quotes", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out.splitlines()
    problems = out[out.index("problems:") + 1 :]
    assert sorted(line.split()[0] for line in problems) == ["binance", "coingecko", "kraken"]
    for line in problems:
        assert "connection refused by 127.0.0.1:" in line, line
        assert "no answer within" not in line


async def test_a_venue_that_never_answers_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    """A venue that accepts the connection and then says nothing is reported as silent once
    the command's deadline passes, however long its own timeout and retries would take."""
    hung = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await hung.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    config = tmp_path / "config.toml"
    config.write_text(f"""
[coins.USDC]
[venues.kraken]
base_url = "http://127.0.0.1:{port}/kraken"
markets = ["USDC/USD"]
timeout = 600
""")
    try:
        [result] = await poll_all(load_settings(config), deadline=0.5)
    finally:
        hung.set()
        await runner.cleanup()
    assert result.venue == "kraken" and result.quotes == ()
    assert result.error == "no answer within 0.5s"


@pytest.mark.parametrize(
    "argv", [["quotes", "--config", "{cfg}"], ["--config", "{cfg}", "quotes"]], ids=str
)
def test_quotes_takes_config_before_or_after_the_command(
    venues_server: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """`--config X quotes` polls the venues X names, as `quotes --config X` does."""
    config = tmp_path / "config.toml"
    config.write_text(f"""
[coins.USDC]
[venues.kraken]
base_url = "http://127.0.0.1:{venues_server}/kraken"
markets = ["USDC/USD"]
""")
    assert main([a.format(cfg=config) for a in argv]) == 0
    assert "0.9999 USD" in capsys.readouterr().out


async def test_stream_shows_each_streaming_venues_live_updates_and_its_state(
    tmp_path: Path,
) -> None:
    """`quotes --stream` prints updates from every streaming venue of the simulated market as
    they arrive, then each stream's confirmed subscriptions."""
    from depeg_monitor.clock import SystemClock
    from depeg_monitor.commands.demo import demo_settings
    from depeg_monitor.commands.quotes import stream_all
    from depeg_monitor.simulate import SimulatedMarket, load_scenario

    repo = Path(__file__).parents[2]
    market = SimulatedMarket(load_scenario(repo / "scenarios" / "calm.toml"), SystemClock())
    await market.start()
    try:
        settings = demo_settings(
            load_settings(repo / "config.example.toml"),
            market.base_urls(),
            1.0,
            tmp_path,
            market.stream_urls(),
        )
        shown: list[str] = []
        streaming = set(market.stream_urls())
        states = await stream_all(settings, 2.0, shown.append)
    finally:
        await market.stop()
    assert {line.split()[1] for line in shown} == streaming
    assert all(" bid " in line and " ask " in line for line in shown)
    assert len(states) == len(streaming)
    for line in states:
        confirmed, _, asked = line.split()[1].partition("/")
        assert confirmed == asked and "subscriptions confirmed" in line, line


async def test_pools_are_venues_of_the_table_with_their_block() -> None:
    """With [chains.ethereum] and its pools configured, `quotes` polls the chain once too: a
    column per pool and a line with the block's number and age."""
    from depeg_monitor.clock import SystemClock
    from depeg_monitor.commands.quotes import poll_chains, render
    from depeg_monitor.simulate import SimulatedMarket, parse_scenario
    from depeg_monitor.simulate.chain.config import pool_tables

    from ..test_daemon import tweak
    from ..test_daemon_onchain import POOLS

    pools = pool_tables({"USDC", "USDT", "DAI", "USDE"}, only=POOLS)

    market = SimulatedMarket(parse_scenario({"scenario": {"duration": 600}}), SystemClock())
    await market.start()
    try:
        settings = tweak(
            load_settings(None, {}),
            coins={"USDE": {}},
            chains={"ethereum": {"rpc_url": market.rpc_urls()["ethereum"]}},
            pools=pools,
        )
        results, blocks = await poll_chains(settings)
        assert {r.venue for r in results if r.quotes} == set(POOLS)
        table = "\n".join(render(results) + blocks)
        assert "curve-usde-usdc" in table and "USDE" in table
        assert blocks[1] == "on-chain:" and blocks[2].startswith("  ethereum: block ")
        assert blocks[2].endswith("s old")
    finally:
        await market.stop()
