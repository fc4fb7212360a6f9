"""Each venue's simulated stream: subscribe and ack, frames of the real shape, prices that move
with the scenario clock, unknown symbols refused (or silently acked) as the venue does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from depeg_monitor.clock import ManualClock
from depeg_monitor.simulate import SimulatedMarket
from depeg_monitor.simulate.defaults import RECONNECT_NOTICE_VENUES, STREAM_VENUES
from depeg_monitor.simulate.streams import STREAMS

from .conftest import Connect, StartStreams
from .streaming import DAI_DROP, passes, real, real_frames, shape_problems

Frame = Any


@dataclass(frozen=True)
class Venue:
    """How a client speaks to one venue's stream, and the real frames to compare with."""

    name: str
    quote: str  # DAI is quoted in this at the venue
    spell: Callable[[str, str], str]  # (base, quote) → the stream's spelling
    subscribe: Callable[[list[str]], list[Frame]]  # spellings → the frames that subscribe
    is_ack: Callable[[Frame], bool]
    real_ack: Callable[[], Frame] | None
    is_update: Callable[[Frame], bool]
    bid: Callable[[Frame], float]
    real_update: Callable[[], Frame] | None


def _recv(name: str, i: int, pred: Callable[[Any], bool] = lambda f: True) -> Callable[[], Any]:
    return lambda: [f for f in real_frames(name) if pred(f)][i]


VENUES = [
    Venue(
        "binance",
        "USDT",
        lambda b, q: f"{b}{q}".lower(),
        lambda s: [{"method": "SUBSCRIBE", "params": [f"{x}@bookTicker" for x in s], "id": 1}],
        lambda f: f == {"result": None, "id": 1},
        _recv("binance_ws_subscribe_ack_docs.jsonl", 0),
        lambda f: "u" in f and "b" in f,
        lambda f: float(f["b"]),
        lambda: real("binance_ws_bookticker_docs.json"),
    ),
    Venue(
        "coinbase",
        "USD",
        lambda b, q: f"{b}-{q}",
        lambda s: [{"type": "subscribe", "product_ids": s, "channels": ["ticker", "heartbeat"]}],
        lambda f: f["type"] == "subscriptions",
        _recv("coinbase_ws_ticker_session_capture_2021.jsonl", 0),
        lambda f: f["type"] == "ticker",
        lambda f: float(f["best_bid"]),
        lambda: real("coinbase_ws_ticker_ccxt_2023.json"),
    ),
    Venue(
        "kraken",
        "USD",
        lambda b, q: f"{b}/{q}",
        lambda s: [
            {"method": "subscribe", "params": {"channel": "ticker", "symbol": s}, "req_id": 1}
        ],
        lambda f: f["method"] == "subscribe" and f["success"] is True,
        lambda: real("kraken_v2_subscribe_ack_nautilus.json"),
        lambda f: f["channel"] == "ticker",
        lambda f: float(f["data"][0]["bid"]),
        lambda: real("kraken_v2_ticker_snapshot_nautilus.json"),
    ),
    Venue(
        "bitstamp",
        "USD",
        lambda b, q: f"{b}{q}".lower(),
        lambda s: [{"event": "bts:subscribe", "data": {"channel": f"order_book_{x}"}} for x in s],
        lambda f: f["event"] == "bts:subscription_succeeded",
        _recv("bitstamp_ws_session_capture_2022.jsonl", 0),
        lambda f: f["event"] == "data",
        lambda f: float(f["data"]["bids"][0][0]),
        lambda: real("bitstamp_ws_order_book_crypto_crawler.json"),
    ),
    Venue(
        "okx",
        "USDT",
        lambda b, q: f"{b}-{q}",
        lambda s: [
            {
                "id": "1512",
                "op": "subscribe",
                "args": [{"channel": "tickers", "instId": x} for x in s],
            }
        ],
        lambda f: f["event"] == "subscribe",
        lambda: real("okx_ws_subscribe_ack_docs.json"),
        lambda f: "data" in f and f["arg"]["channel"] == "tickers",
        lambda f: float(f["data"][0]["bidPx"]),
        _recv("okx_ws_tickers_session_capture_2022.jsonl", 0, lambda f: "data" in f),
    ),
    Venue(
        "bybit",
        "USDT",
        lambda b, q: f"{b}{q}",
        lambda s: [{"req_id": "10001", "op": "subscribe", "args": [f"orderbook.1.{x}" for x in s]}],
        lambda f: f["op"] == "subscribe" and f["success"] is True,
        lambda: real("bybit_ws_subscribe_ack_spot_docs.json"),
        lambda f: f["topic"].startswith("orderbook.1."),
        lambda f: float(f["data"]["b"][0][0]),
        None,  # no real orderbook.1 frame is shared; its fields are checked by name below
    ),
    Venue(
        "gemini",
        "USD",
        lambda b, q: f"{b}{q}".lower(),
        lambda s: [{"id": "1", "method": "subscribe", "params": [f"{x}@bookTicker" for x in s]}],
        lambda f: f == {"id": "1", "status": 200, "result": None},
        None,
        lambda f: "E" in f and "b" in f,
        lambda f: float(f["b"]),
        lambda: real("gemini_ws_bookticker_docs.json"),
    ),
    Venue(
        "kucoin",
        "USDT",
        lambda b, q: f"{b}-{q}",
        lambda s: [
            {
                "id": 1,
                "type": "subscribe",
                "topic": "/market/ticker:" + ",".join(s),
                "response": True,
            }
        ],
        lambda f: f["type"] == "ack",
        _recv("kucoin_ws_ticker_session_capture_2021.jsonl", 0, lambda f: f["type"] == "ack"),
        lambda f: f["type"] == "message",
        lambda f: float(f["data"]["bestBid"]),
        lambda: real("kucoin_ws_ticker_ccxt_2021.json"),
    ),
]
BY_NAME = {v.name: v for v in VENUES}
venues = pytest.mark.parametrize("v", VENUES, ids=[v.name for v in VENUES])


async def _subscribed(market: SimulatedMarket, connect: Connect, v: Venue, *names: str) -> Any:
    client = await connect(market, v.name)
    for frame in v.subscribe(list(names)):
        await client.send(frame)
    return client


def test_every_streaming_venue_has_a_stream() -> None:
    """The simulator streams for every venue with a public WebSocket (not CoinGecko)."""
    assert set(STREAMS) == set(STREAM_VENUES) == set(BY_NAME)
    assert {v for v, s in STREAMS.items() if s.reconnect_notice} == set(RECONNECT_NOTICE_VENUES)


async def test_stream_urls_and_env_point_at_each_venues_ws(
    stream_market: StartStreams,
) -> None:
    """stream_urls() names ws://127.0.0.1:PORT/<venue>/ws and env_overrides() exports them."""
    market = await stream_market(DAI_DROP)
    urls = market.stream_urls()
    assert set(urls) == set(STREAM_VENUES)
    assert urls["kraken"] == f"ws://127.0.0.1:{market.port}/kraken/ws"
    env = market.env_overrides()
    assert env["DEPEG_VENUES__OKX__STREAM_URL"] == urls["okx"]
    assert env["DEPEG_VENUES__OKX__BASE_URL"] == f"http://127.0.0.1:{market.port}/okx"
    assert "DEPEG_VENUES__COINGECKO__STREAM_URL" not in env


@venues
async def test_subscribe_is_acked_in_the_venues_shape(
    v: Venue, stream_market: StartStreams, connect: Connect
) -> None:
    """A subscribe to a listed market gets the venue's ack, with the real ack's fields."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, v, v.spell("DAI", v.quote))
    ack = await client.wait_for(v.is_ack, f"{v.name}'s ack")
    if v.real_ack is not None:
        assert shape_problems(v.real_ack(), ack) == []


@venues
async def test_first_update_has_the_real_frame_shape(
    v: Venue, stream_market: StartStreams, connect: Connect
) -> None:
    """The first update after subscribing has the real frame's fields and types, at REST's bid."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, v, v.spell("DAI", v.quote))
    frame = await client.wait_for(v.is_update, f"{v.name}'s first update")
    if v.real_update is not None:
        assert shape_problems(v.real_update(), frame) == []
    tick = market.prices.tick(v.name, f"DAI/{v.quote}", market.scenario_time())
    assert v.bid(frame) == pytest.approx(tick.bid, abs=1e-5)


async def test_bybit_orderbook_frame_has_the_documented_fields(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Bybit's orderbook.1 frame carries topic, type snapshot, ts, cts and data s/b/a/u/seq."""
    market = await stream_market(DAI_DROP)
    v = BY_NAME["bybit"]
    client = await _subscribed(market, connect, v, "DAIUSDT")
    f = await client.wait_for(v.is_update, "an orderbook.1 frame")
    assert f["topic"] == "orderbook.1.DAIUSDT" and f["type"] == "snapshot"
    assert isinstance(f["ts"], int) and isinstance(f["cts"], int)
    assert f["data"]["s"] == "DAIUSDT"
    assert all(isinstance(x, str) for x in f["data"]["b"][0] + f["data"]["a"][0])
    assert isinstance(f["data"]["u"], int) and isinstance(f["data"]["seq"], int)


@venues
async def test_a_price_change_reaches_the_subscribed_client(
    v: Venue, stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """When the scenario moves DAI, the subscriber gets a frame at the new price, and the
    market records when it first published it."""
    seen: list[Any] = []
    market = await stream_market(DAI_DROP, on_publish=seen.append)
    client = await _subscribed(market, connect, v, v.spell("DAI", v.quote))
    await client.wait_for(v.is_update, "the first update")
    clock.advance(20)  # DAI at 0.90
    frame = await client.wait_for(
        lambda f: v.is_update(f) and v.bid(f) < 0.95, "an update at the new price"
    )
    tick = market.prices.tick(v.name, f"DAI/{v.quote}", market.scenario_time())
    assert v.bid(frame) == pytest.approx(tick.bid, abs=1e-5)
    pub = market.first_publication(v.name, f"DAI/{v.quote}", lambda p: p.bid < 0.95)
    assert pub is not None and pub.bid == pytest.approx(tick.bid, abs=1e-5)
    assert pub.t == pytest.approx(20.0) and pub.wall > 0
    assert pub in seen


@venues
async def test_an_unchanged_price_is_not_sent_again(
    v: Venue, stream_market: StartStreams, connect: Connect
) -> None:
    """With the price still, a client gets one update per market (Bybit re-pushes it, same u)."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, v, v.spell("DAI", v.quote))
    await client.wait_for(v.is_update, "the first update")
    if v.name == "bybit":
        await client.wait_for(v.is_update, "a re-push", after=client.mark())
        updates = client.matching(v.is_update)
        assert len({u["data"]["u"] for u in updates}) == 1
        return
    await passes(market, 10)
    assert len(client.matching(v.is_update)) == 1


async def test_kraken_sends_a_snapshot_then_updates(
    stream_market: StartStreams, connect: Connect, clock: ManualClock
) -> None:
    """Kraken's first ticker frame of a symbol is type snapshot, the next ones type update."""
    market = await stream_market(DAI_DROP)
    v = BY_NAME["kraken"]
    client = await _subscribed(market, connect, v, "DAI/USD")
    first = await client.wait_for(v.is_update, "the snapshot")
    assert first["type"] == "snapshot"
    clock.advance(20)
    later = await client.wait_for(lambda f: v.is_update(f) and v.bid(f) < 0.95, "an update")
    assert later["type"] == "update"
    assert isinstance(later["data"][0]["bid"], float)  # numbers, not strings


async def test_coinbase_ack_lists_every_subscription_of_the_connection(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Coinbase's subscriptions frame is cumulative: a second subscribe lists both products."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "coinbase")
    await client.send({"type": "subscribe", "product_ids": ["DAI-USD"], "channels": ["ticker"]})
    await client.wait_for(lambda f: f["type"] == "subscriptions", "the first ack")
    mark = client.mark()
    await client.send({"type": "subscribe", "product_ids": ["USDT-USD"], "channels": ["ticker"]})
    ack = await client.wait_for(lambda f: f["type"] == "subscriptions", "the second", after=mark)
    assert ack["channels"] == [{"name": "ticker", "product_ids": ["DAI-USD", "USDT-USD"]}]


async def test_kraken_acks_once_per_symbol(stream_market: StartStreams, connect: Connect) -> None:
    """Kraken answers a subscribe of two symbols with one ack each, result.symbol a string."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, BY_NAME["kraken"], "DAI/USD", "USDC/USD")
    await client.wait_for(lambda f: len(client.matching(BY_NAME["kraken"].is_ack)) == 2, "acks")
    symbols = {a["result"]["symbol"] for a in client.matching(BY_NAME["kraken"].is_ack)}
    assert symbols == {"DAI/USD", "USDC/USD"}


async def test_okx_acks_once_per_arg(stream_market: StartStreams, connect: Connect) -> None:
    """OKX answers a subscribe of two instIds with one subscribe event each, with connId."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, BY_NAME["okx"], "DAI-USDT", "USDC-USDT")
    await client.wait_for(lambda f: len(client.matching(BY_NAME["okx"].is_ack)) == 2, "acks")
    acks = client.matching(BY_NAME["okx"].is_ack)
    assert {a["arg"]["instId"] for a in acks} == {"DAI-USDT", "USDC-USDT"}
    assert all(isinstance(a["connId"], str) for a in acks)


# -- unknown symbols ---------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["binance", "bitstamp"])
async def test_silent_venues_ack_an_unknown_symbol_and_send_nothing(
    venue: str, stream_market: StartStreams, connect: Connect
) -> None:
    """Binance and Bitstamp acknowledge a pair they do not list, then stay silent on it."""
    market = await stream_market(DAI_DROP)
    v = BY_NAME[venue]
    client = await _subscribed(
        market, connect, v, v.spell("NOPE", v.quote), v.spell("DAI", v.quote)
    )
    await client.wait_for(v.is_update, "the listed pair's update")
    await passes(market, 10)
    assert client.matching(v.is_ack)
    assert len(client.matching(v.is_update)) == 1  # the listed one only


async def test_coinbase_refuses_a_whole_subscribe_for_one_bad_product(
    stream_market: StartStreams, connect: Connect
) -> None:
    """One unknown product fails Coinbase's whole subscribe, with the real error's fields."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, BY_NAME["coinbase"], "DAI-USD", "XXX-USD")
    error = await client.wait_for(lambda f: f["type"] == "error", "the error")
    assert error["reason"] == "XXX-USD is not a valid product"
    assert shape_problems(real("coinbase_ws_error_not_valid_product_2023.json"), error) == []
    assert not client.matching(BY_NAME["coinbase"].is_update)
    assert not client.matching(BY_NAME["coinbase"].is_ack)


async def test_kraken_refuses_only_the_unknown_symbol(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Kraken refuses an unlisted symbol in its own frame and subscribes the listed one."""
    market = await stream_market(DAI_DROP)
    v = BY_NAME["kraken"]
    client = await _subscribed(market, connect, v, "XBT/EUR", "DAI/USD")
    error = await client.wait_for(lambda f: f["success"] is False, "the refusal")
    assert error["error"] == "Currency pair not supported XBT/EUR"
    assert shape_problems(real("kraken_v2_error_pair_not_supported_2026.json"), error) == []
    await client.wait_for(v.is_update, "DAI/USD's snapshot")


async def test_okx_refuses_an_unknown_instid_with_60018(
    stream_market: StartStreams, connect: Connect
) -> None:
    """OKX answers an unknown instId with error 60018 in the real frame's shape."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, BY_NAME["okx"], "LTC-USD")
    error = await client.wait_for(lambda f: f["event"] == "error", "the error")
    assert error["code"] == "60018"
    assert shape_problems(real("okx_ws_error_60018_2023.json"), error) == []


async def test_bybit_refuses_more_than_ten_args(
    stream_market: StartStreams, connect: Connect
) -> None:
    """Bybit spot refuses a subscribe of more than 10 args as the real venue does."""
    market = await stream_market(DAI_DROP)
    client = await _subscribed(market, connect, BY_NAME["bybit"], *(["DAIUSDT"] * 11))
    error = await client.wait_for(lambda f: f["success"] is False, "the refusal")
    assert error["ret_msg"] == "args size >10"
    assert shape_problems(real("bybit_ws_error_args_size_2023.json"), error) == []


@pytest.mark.parametrize(
    ("venue", "refused"),
    [
        ("bybit", lambda f: f["success"] is False and "Invalid symbol" in f["ret_msg"]),
        ("gemini", lambda f: f["status"] == 400 and f["error"]["code"] == -1013),
        ("kucoin", lambda f: f["type"] == "error" and f["code"] == 404),
    ],
)
async def test_other_venues_refuse_an_unknown_symbol(
    venue: str, refused: Callable[[Any], bool], stream_market: StartStreams, connect: Connect
) -> None:
    """Bybit, Gemini and KuCoin answer an unlisted symbol with an error and send no data."""
    market = await stream_market(DAI_DROP)
    v = BY_NAME[venue]
    client = await _subscribed(market, connect, v, v.spell("NOPE", v.quote))
    await client.wait_for(refused, "the refusal")
    assert not client.matching(v.is_update)


async def test_kucoin_bullet_gives_the_endpoint_and_ping_rules(
    stream_market: StartStreams, http: Any
) -> None:
    """POST bullet-public answers like the real one, pointing at this market's KuCoin ws."""
    market = await stream_market(DAI_DROP)
    async with http.post(market.base_urls()["kucoin"] + "/api/v1/bullet-public") as r:
        body = await r.json()
    assert shape_problems(real("kucoin_bullet_public_response_sdk.json"), body) == []
    server = body["data"]["instanceServers"][0]
    assert server["endpoint"] == market.stream_urls()["kucoin"]
    assert server["pingInterval"] == 18000 and server["pingTimeout"] == 10000


async def test_kucoin_welcomes_with_the_connect_id(
    stream_market: StartStreams, connect: Connect
) -> None:
    """KuCoin's first frame is the welcome, its id the connectId the client chose."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "kucoin")
    welcome = await client.wait_for(lambda f: f["type"] == "welcome", "the welcome")
    assert welcome == {"id": "test-client", "type": "welcome"}
    assert client.frames[0] == welcome


async def test_kucoin_refuses_a_token_it_did_not_issue(
    stream_market: StartStreams, connect: Connect
) -> None:
    """A KuCoin connection without an issued token gets an error frame and is closed."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "kucoin", url=market.stream_urls()["kucoin"] + "?token=forged")
    await client.wait_for(lambda f: f["type"] == "error", "the token error")
    await client.wait_closed()
    assert not client.matching(lambda f: f["type"] == "welcome")


async def test_kraken_sends_status_on_open(stream_market: StartStreams, connect: Connect) -> None:
    """Kraken's first frame is the status frame of the real shape, connection_id a u64."""
    market = await stream_market(DAI_DROP)
    client = await connect(market, "kraken")
    status = await client.wait_for(lambda f: f["channel"] == "status", "the status")
    assert shape_problems(real("kraken_v2_status_ccxt.json"), status) == []
    assert status["data"][0]["connection_id"] > 2**63 - 1
