"""Bitstamp's stream: order_book pushes as midpoint quotes with µs times, one subscribe per
channel, acks by channel, request_reconnect and errors, read from the shared frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from depeg_monitor.venues import bitstamp_ws
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.stream import Acked, Alive, Reconnect, Refused

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"btcusd": "BTC/USD", "usdtusd": "USDT/USD", "ethusd": "ETH/USD"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in bitstamp_ws.parse(t, KEYS, NOW)]


def test_order_book_push_is_a_midpoint_quote_with_microsecond_time() -> None:
    """The real order_book frame: best bid and ask, their midpoint, microtimestamp as seconds."""
    (q,) = parse_all("bitstamp_ws_order_book_crypto_crawler.json")
    assert (q.coin, q.quote_ccy, q.bid, q.ask) == ("BTC", "USD", 31524.5, 31535.44)
    assert q.price == pytest.approx((31524.5 + 31535.44) / 2)
    assert q.ts_exchange == 1653978373.164007 and q.ts_received == NOW
    assert (q.volume_base_24h, q.volume_quote_24h) == (None, None)


def test_session_capture_channels_not_subscribed_are_ignored() -> None:
    """In the real session only diff_order_book_ and live_trades_ channels appear (which this
    module does not subscribe to): their acks and frames give nothing."""
    assert parse_all("bitstamp_ws_session_capture_2022.jsonl") == []


def test_ack_names_the_pair() -> None:
    """bts:subscription_succeeded on order_book_<pair> acks that pair."""
    text = '{"event":"bts:subscription_succeeded","channel":"order_book_usdcusd","data":{}}'
    assert bitstamp_ws.parse(text, KEYS, NOW) == [Acked(("usdcusd",))]


def test_request_reconnect() -> None:
    """bts:request_reconnect is a routine Reconnect."""
    assert parse_all("bitstamp_ws_request_reconnect_hummingbot.json") == [
        Reconnect("bts:request_reconnect")
    ]


def test_errors() -> None:
    """A bts:error naming no channel (the real 4009) is a connection-level client error; one
    naming an order_book channel refuses that pair."""
    (text,) = recv("bitstamp_ws_error_unauthorized_ccxt.json")
    with pytest.raises(VenueError) as e:
        bitstamp_ws.parse(text, KEYS, NOW)
    assert e.value.kind is ErrorKind.CLIENT_ERROR and "4009" in str(e.value)
    named = '{"event":"bts:error","channel":"order_book_nopeusd","data":{"code":1,"message":"Bad"}}'
    assert bitstamp_ws.parse(named, KEYS, NOW) == [Refused(("nopeusd",), "1 Bad")]


def test_empty_side_gives_no_quote_and_heartbeat_answer_is_alive() -> None:
    """A one-sided book has no midpoint (no quote); the heartbeat answer is Alive."""
    book = {"microtimestamp": "1", "bids": [], "asks": [["1.0", "5"]]}
    one_sided = json.dumps({"event": "data", "channel": "order_book_usdtusd", "data": book})
    assert bitstamp_ws.parse(one_sided, KEYS, NOW) == []
    beat = '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'
    assert bitstamp_ws.parse(beat, KEYS, NOW) == [Alive()]


def test_one_subscribe_per_market_and_heartbeat_ping() -> None:
    """Each market gets its own bts:subscribe on order_book_<pair>; the client heartbeat is
    {"event":"bts:heartbeat"} every 30 s."""
    (conn,) = bitstamp_ws.connections(bitstamp_ws.URL, ["usdcusd", "usdtusd"])
    assert [json.loads(m) for m in conn.subscribe] == [
        {"event": "bts:subscribe", "data": {"channel": "order_book_usdcusd"}},
        {"event": "bts:subscribe", "data": {"channel": "order_book_usdtusd"}},
    ]
    ka = bitstamp_ws.SPEC.keepalive
    assert ka.ping is not None and json.loads(ka.ping(1)) == {"event": "bts:heartbeat"}
    assert ka.interval == 30.0
    assert bitstamp_ws.SPEC.symbol("USDC/USD") == "usdcusd"
