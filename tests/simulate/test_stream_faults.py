"""Stream faults: each observable on the venue's WebSocket inside its window, REST unaffected."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import ScenarioError, SimulatedMarket, parse_scenario

from .conftest import Connect, StartStreams
from .streaming import DAI_DROP, Client, passes, real, shape_problems


def _with(*faults: dict[str, Any]) -> dict[str, Any]:
    return {**DAI_DROP, "faults": list(faults)}


async def _okx(market: SimulatedMarket, connect: Connect, *inst: str) -> Client:
    client = await connect(market, "okx")
    args = [{"channel": "tickers", "instId": i} for i in inst or ("DAI-USDT",)]
    await client.send({"op": "subscribe", "args": args})
    await client.wait_for(lambda f: "data" in f, "the first tickers push")
    return client


async def _kraken(market: SimulatedMarket, connect: Connect, *symbols: str) -> Client:
    client = await connect(market, "kraken")
    params = {"channel": "ticker", "symbol": list(symbols or ("DAI/USD",))}
    await client.send({"method": "subscribe", "params": params})
    await client.wait_for(lambda f: f["channel"] == "ticker", "the first snapshot")
    return client


async def _refused(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        ws = await http.ws_connect(url)
    except aiohttp.ClientError:
        return True
    await ws.close()
    return False


def test_stream_faults_are_checked_against_the_venue() -> None:
    """A stream fault needs a venue that streams, and a reconnect one that can ask for it."""
    with pytest.raises(ScenarioError, match="no stream"):
        parse_scenario(_with({"venue": "coingecko", "kind": "stream_drop", "start": 0, "end": 1}))
    with pytest.raises(ScenarioError, match="sends no request to reconnect"):
        parse_scenario(
            _with({"venue": "coinbase", "kind": "stream_reconnect", "start": 0, "end": 1})
        )
    with pytest.raises(ScenarioError, match="mode"):
        parse_scenario(
            _with(
                {"venue": "okx", "kind": "stream_malformed", "mode": "html", "start": 0, "end": 1}
            )
        )
    s = parse_scenario(
        _with(
            {"venue": "okx", "kind": "stream_drop", "start": 0, "end": 1},
            {"venue": "okx", "kind": "stream_malformed", "start": 0, "end": 1},
        )
    )
    assert [f.mode for f in s.faults] == ["abort", "truncated"]


async def test_stream_drop_cuts_open_connections_and_refuses_new_ones_in_its_window(
    stream_market: StartStreams, connect: Connect, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    """stream_drop aborts the venue's connections at its start, refuses upgrades while it
    lasts, and the stream opens again after it; REST answers throughout."""
    market = await stream_market(
        _with({"venue": "okx", "kind": "stream_drop", "start": 5, "end": 30})
    )
    client = await _okx(market, connect)
    clock.advance(6)
    await client.wait_closed("the drop")
    assert client.ws.close_code != 1001  # aborted, no close frame
    assert await _refused(http, market.stream_urls()["okx"])
    async with http.get(market.base_urls()["okx"] + "/api/v5/market/ticker?instId=DAI-USDT") as r:
        assert r.status == 200
    clock.advance(30)
    await _okx(market, connect)


async def test_stream_drop_close_sends_going_away(
    stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """stream_drop with mode close ends the connection with a 1001 close frame."""
    fault = {"venue": "kraken", "kind": "stream_drop", "mode": "close", "start": 5, "end": 30}
    market = await stream_market(_with(fault))
    client = await _kraken(market, connect)
    clock.advance(6)
    await client.wait_closed("the close")
    assert client.ws.close_code == 1001


async def test_venue_down_takes_its_stream_down_too(
    stream_market: StartStreams, connect: Connect, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    """A venue `down` (REST) also closes its stream and refuses new ones until it is back."""
    market = await stream_market(
        _with({"venue": "bitstamp", "kind": "down", "start": 5, "end": 30})
    )
    client = await connect(market, "bitstamp")
    await client.send({"event": "bts:subscribe", "data": {"channel": "order_book_daiusd"}})
    await client.wait_for(lambda f: f["event"] == "data", "a book")
    clock.advance(6)
    await client.wait_closed("the venue going down")
    assert await _refused(http, market.stream_urls()["bitstamp"])
    clock.advance(30)
    assert not await _refused(http, market.stream_urls()["bitstamp"])


async def test_rest_faults_leave_the_stream_alone(
    stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """A rate limit on OKX's REST does not stop its stream from publishing a new price."""
    market = await stream_market(
        _with({"venue": "okx", "kind": "rate_limit", "start": 0, "end": 60})
    )
    client = await _okx(market, connect)
    clock.advance(20)
    await client.wait_for(
        lambda f: float(f["data"][0]["bidPx"]) < 0.95, "the new price despite the REST fault"
    )


async def test_mute_pings_stops_answering_keepalives_in_its_window(
    stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """stream_mute_pings leaves pings unanswered and heartbeats unsent while prices still flow."""
    fault = {"venue": "kraken", "kind": "stream_mute_pings", "start": 5, "end": 30}
    market = await stream_market(_with(fault))
    client = await _kraken(market, connect)
    await client.wait_for(lambda f: f["channel"] == "heartbeat", "a heartbeat before the fault")
    clock.advance(6)
    await passes(market, 2)
    mark = client.mark()
    await client.send({"method": "ping", "req_id": 7})
    await passes(market, 30)  # 0.6 s: three heartbeat intervals
    assert not client.matching(lambda f: f.get("method") == "pong", after=mark)
    assert not client.matching(lambda f: f.get("channel") == "heartbeat", after=mark)
    clock.advance(10)  # DAI moves meanwhile: data is not muted
    await client.wait_for(lambda f: f["channel"] == "ticker" and f["data"][0]["bid"] < 0.95, "data")
    clock.advance(20)  # past the window
    await client.send({"method": "ping", "req_id": 8})
    await client.wait_for(lambda f: f.get("req_id") == 8, "the pong after the window")


async def test_mute_pings_stops_binance_pings(
    stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """While Binance's stream is muted it sends no WebSocket pings (a dead-looking socket)."""
    fault = {"venue": "binance", "kind": "stream_mute_pings", "start": 5, "end": 30}
    market = await stream_market(_with(fault))
    client = await connect(market, "binance", autoping=False)
    clock.advance(6)
    await passes(market, 2)
    before = client.pings
    await passes(market, 40)  # 0.8 s: more than two ping intervals
    assert client.pings == before


async def test_silent_market_sends_nothing_while_rest_answers(
    stream_market: StartStreams,
    connect: Connect,
    clock: ManualClock,
    http: aiohttp.ClientSession,
) -> None:
    """stream_silent quiets one market's updates while the others stream and REST shows it."""
    fault = {"venue": "kraken", "kind": "stream_silent", "markets": ["DAI/USD"], "start": 5}
    market = await stream_market(_with({**fault, "end": 30}))
    client = await _kraken(market, connect, "DAI/USD", "USDT/USD")
    clock.advance(20)  # DAI is at 0.90
    await passes(market, 10)
    assert not client.matching(
        lambda f: f["data"][0]["symbol"] == "DAI/USD" and f["data"][0]["bid"] < 0.95
    )
    async with http.get(market.base_urls()["kraken"] + "/0/public/Ticker?pair=DAIUSD") as r:
        body = await r.json()
    assert float(next(iter(body["result"].values()))["b"][0]) < 0.95
    clock.advance(15)  # the window is over
    await client.wait_for(
        lambda f: f["data"][0]["symbol"] == "DAI/USD" and f["data"][0]["bid"] < 0.95,
        "DAI's price once the market speaks again",
    )


@pytest.mark.parametrize("mode", ["truncated", "binary", "oversized"])
async def test_malformed_frame_is_sent_in_its_window(
    mode: str, stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """stream_malformed sends a frame the client cannot read: cut JSON, binary, or > 64 KiB."""
    fault = {"venue": "okx", "kind": "stream_malformed", "mode": mode, "start": 5, "end": 30}
    market = await stream_market(_with(fault))
    client = await _okx(market, connect)
    mark = client.mark()
    clock.advance(6)
    if mode == "truncated":
        bad = await client.wait_for(lambda f: isinstance(f, str), "a cut frame", after=mark)
        assert bad.startswith('{"arg"') and not bad.endswith("}")
    elif mode == "binary":
        await client.wait_for(lambda f: isinstance(f, bytes), "a binary frame", after=mark)
    else:
        big = await client.wait_for(lambda f: "pad" in f, "an oversized frame", after=mark)
        assert len(big["pad"]) >= 1 << 20


@pytest.mark.parametrize(
    ("venue", "subscribe", "is_notice", "real_file"),
    [
        (
            "bitstamp",
            {"event": "bts:subscribe", "data": {"channel": "order_book_daiusd"}},
            lambda f: f["event"] == "bts:request_reconnect",
            "bitstamp_ws_request_reconnect_hummingbot.json",
        ),
        (
            "okx",
            {"op": "subscribe", "args": [{"channel": "tickers", "instId": "DAI-USDT"}]},
            lambda f: f["event"] == "notice",
            "okx_ws_notice_64008_2025.json",
        ),
        (
            "binance",
            {"method": "SUBSCRIBE", "params": ["daiusdt@bookTicker"], "id": 1},
            lambda f: f["e"] == "serverShutdown",
            "binance_ws_server_shutdown_combined_docs.json",
        ),
    ],
)
async def test_reconnect_notice_then_close_at_the_windows_end(
    venue: str,
    subscribe: dict[str, Any],
    is_notice: Any,
    real_file: str,
    stream_market: StartStreams,
    connect: Connect,
    clock: ManualClock,
) -> None:
    """stream_reconnect sends the venue's own notice to connections open at its start, none to
    those opened later, and closes the notified ones when the window ends."""
    market = await stream_market(
        _with({"venue": venue, "kind": "stream_reconnect", "start": 5, "end": 30})
    )
    old = await connect(market, venue)
    await old.send(subscribe)
    clock.advance(6)
    notice = await old.wait_for(is_notice, "the notice")
    example = real(real_file)
    unwrapped = example["data"] if "stream" in example else example  # Binance's combined form
    assert shape_problems(unwrapped, notice) == []
    new = await connect(market, venue)
    await new.send(subscribe)
    await passes(market, 5)
    assert not new.matching(is_notice)
    clock.advance(30)
    await old.wait_closed("the notified connection to be closed")
    assert old.ws.close_code == 1001
    await passes(market, 5)
    assert not new.closed
