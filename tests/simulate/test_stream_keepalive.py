"""Each venue's keepalive, as its simulated stream plays it: pings, pongs, heartbeats, idle cuts."""

from __future__ import annotations

from depeg_monitor.simulate.streams import StreamTiming

from ..waiting import eventually
from .conftest import Connect, StartStreams
from .streaming import DAI_DROP, TEST_TIMING, real, real_frames, shape_problems


async def test_binance_pings_and_closes_a_client_that_never_pongs(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Binance sends WebSocket pings; a client that never pongs is closed, one that does stays."""
    market = await stream_market(DAI_DROP)
    answering = await connect(market, "binance")  # aiohttp answers pings by itself
    silent = await connect(market, "binance", autoping=False)
    await silent.wait_closed("the server to drop a client that never pongs")
    assert silent.pings >= 1
    assert not answering.closed  # older than the one dropped, and still open


async def test_coinbase_heartbeats_every_product_on_the_channel(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Coinbase sends a heartbeat per product subscribed to the heartbeat channel, repeatedly."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "coinbase")
    await client.send({"type": "subscribe", "product_ids": ["DAI-USD"], "channels": ["heartbeat"]})
    first = await client.wait_for(lambda f: f["type"] == "heartbeat", "a heartbeat")
    assert shape_problems(real_frames("coinbase_ws_heartbeat_docs.jsonl")[0], first) == []
    assert first["product_id"] == "DAI-USD"
    await client.wait_for(lambda f: f["type"] == "heartbeat", "another", after=client.mark())


async def test_coinbase_closes_a_connection_that_does_not_subscribe(
    stream_market: StartStreams, connect: Connect
) -> None:
    """A Coinbase client that has not subscribed within the deadline is disconnected."""
    market = await stream_market(DAI_DROP, StreamTiming(subscribe_within=0.3))
    client = await connect(market, "coinbase")
    await client.wait_closed("the 5 s (here 0.3 s) subscribe deadline")


async def test_kraken_answers_ping_and_heartbeats_when_idle(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Kraken answers ping with pong echoing req_id, and sends heartbeats once subscribed."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "kraken")
    await client.send({"method": "ping", "req_id": 42})
    pong = await client.wait_for(lambda f: f.get("method") == "pong", "the pong")
    assert pong["req_id"] == 42
    assert shape_problems(real("kraken_v2_pong_nautilus.json"), pong) == []
    assert not client.matching(lambda f: f["channel"] == "heartbeat")  # none before subscribing
    params = {"channel": "ticker", "symbol": ["DAI/USD"]}
    await client.send({"method": "subscribe", "params": params})
    beat = await client.wait_for(lambda f: f.get("channel") == "heartbeat", "a heartbeat")
    assert beat == real("kraken_v2_heartbeat_docs.json")


async def test_bitstamp_answers_its_heartbeat(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Bitstamp answers bts:heartbeat with its success frame."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "bitstamp")
    await client.send({"event": "bts:heartbeat"})
    reply = await client.wait_for(lambda f: f["event"] == "bts:heartbeat", "the answer")
    assert reply == {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}


async def test_okx_answers_text_ping_and_cuts_an_idle_connection(
    stream_market: StartStreams, connect: Connect
) -> None:
    """OKX answers the text ping with the text pong, and closes a connection that goes quiet."""
    market = await stream_market(DAI_DROP, StreamTiming(idle_timeout=0.5))
    client = await connect(market, "okx")
    await client.send("ping")
    assert (
        await client.wait_for(lambda f: f == "pong", "the pong")
        == real_frames("okx_ws_ping_pong_docs.jsonl")[0]
    )
    await client.wait_closed("the idle cut (30 s, here 0.5 s)")


async def test_bybit_answers_ping(stream_market: StartStreams, connect: Connect) -> None:
    """Bybit spot answers op ping with the documented pong."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "bybit")
    await client.send({"req_id": "100001", "op": "ping"})
    pong = await client.wait_for(lambda f: f["ret_msg"] == "pong", "the pong")
    assert shape_problems(real_frames("bybit_ws_ping_pong_spot_docs.jsonl")[0], pong) == []
    assert pong["op"] == "ping" and pong["success"] is True


async def test_kucoin_answers_ping_and_cuts_a_silent_client(
    stream_market: StartStreams, connect: Connect
) -> None:
    """KuCoin answers ping with pong of the same id, and cuts a client silent past its rules."""
    timing = StreamTiming(kucoin_ping_interval=0.3, kucoin_ping_timeout=0.3)
    market = await stream_market(DAI_DROP, timing)
    client = await connect(market, "kucoin")
    await client.send({"id": "1545910590801", "type": "ping"})
    pong = await client.wait_for(lambda f: f["type"] == "pong", "the pong")
    assert pong == real_frames("kucoin_ws_protocol_docs.jsonl")[1]
    await client.wait_closed("the cut after pingInterval + pingTimeout of silence")


async def test_gemini_answers_websocket_pings(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Gemini's stream answers a client's WebSocket ping with a pong."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "gemini", autoping=False)
    await client.ws.ping(b"hi")
    await eventually(lambda: client.pongs >= 1, what="a pong")


def test_scaled_timing_shortens_every_rule_but_the_tick() -> None:
    """StreamTiming.scaled multiplies every duration except the publishing tick."""
    t = StreamTiming().scaled(0.05)
    assert t.ping_interval == 1.0 and t.pong_timeout == 3.0 and t.tick == 0.02
    assert TEST_TIMING.tick == 0.02
