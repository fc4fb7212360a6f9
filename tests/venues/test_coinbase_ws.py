"""Coinbase's stream: ticker frames (last trade, stale-able bid/ask, ISO time), cumulative
subscriptions acks, whole-subscribe refusals and heartbeats, read from the shared frames."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from depeg_monitor.model import Quote
from depeg_monitor.venues import coinbase_ws
from depeg_monitor.venues.stream import Acked, Alive, Refused

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"BAND-GBP": "BAND/GBP", "BTC-USDT": "BTC/USDT"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in coinbase_ws.parse(t, KEYS, NOW)]


def test_capture_session() -> None:
    """The real session: the subscriptions acks list the ticker channel's products (none in the
    first, level2-only one) and the watched product's tickers are quotes at the last trade."""
    events = parse_all("coinbase_ws_ticker_session_capture_2021.jsonl")
    acks = [e for e in events if isinstance(e, Acked)]
    assert len(acks) == 2 and all(len(a.symbols) == 10 and "BAND-GBP" in a.symbols for a in acks)
    quotes = [e for e in events if isinstance(e, Quote)]
    assert len(quotes) + len(acks) == len(events)
    assert [(q.price, q.bid, q.ask) for q in quotes] == [
        (14.7775, 14.755, 14.806),
        (14.7646, 14.7646, 14.7906),
    ]
    q = quotes[0]
    assert (q.coin, q.quote_ccy, q.volume_base_24h, q.volume_quote_24h) == (
        "BAND",
        "GBP",
        94381.28,
        None,
    )
    t = datetime(2021, 4, 17, 16, 43, 30, 244075, tzinfo=UTC).timestamp()
    assert q.ts_exchange == t and q.ts_received == NOW


def test_ccxt_ticker_with_sizes() -> None:
    """A 2023 ticker (with best_bid_size/best_ask_size) reads the same fields."""
    (q,) = parse_all("coinbase_ws_ticker_ccxt_2023.json")
    assert (q.coin, q.price, q.bid, q.ask) == ("BTC", 22345.67, 22345.67, 22349.68)
    assert q.ts_exchange == datetime(2023, 3, 4, 3, 37, 20, 799258, tzinfo=UTC).timestamp()


def test_heartbeat_is_a_sign_of_life() -> None:
    """A heartbeat frame is Alive, whatever product it names."""
    assert parse_all("coinbase_ws_heartbeat_docs.jsonl") == [Alive()]


def test_errors_refuse_the_whole_subscribe_unless_a_product_is_named() -> None:
    """The real 'Failed to subscribe' errors name no product: the whole subscribe is refused;
    a reason naming one refuses that product."""
    assert parse_all("coinbase_ws_error_invalid_product_id_2017.json") == [
        Refused((), "Invalid product ID provided")
    ]
    assert parse_all("coinbase_ws_error_not_valid_product_2023.json") == [
        Refused((), "is not a valid product")
    ]
    named = (
        '{"type":"error","message":"Failed to subscribe","reason":"FOO-USD is not a valid product"}'
    )
    assert coinbase_ws.parse(named, KEYS, NOW) == [
        Refused(("FOO-USD",), "FOO-USD is not a valid product")
    ]


def test_one_subscribe_for_every_product() -> None:
    """One connection, one subscribe naming every product on the ticker and heartbeat channels."""
    (conn,) = coinbase_ws.connections(coinbase_ws.URL, ["USDT-USD", "DAI-USD"])
    assert json.loads(conn.subscribe[0]) == {
        "type": "subscribe",
        "product_ids": ["USDT-USD", "DAI-USD"],
        "channels": ["ticker", "heartbeat"],
    }
    assert conn.url == coinbase_ws.URL and conn.symbols == ("USDT-USD", "DAI-USD")
    assert coinbase_ws.connections(coinbase_ws.URL, []) == []


def test_heartbeats_are_the_keepalive() -> None:
    """No client ping: a connection without a frame for 30 s is dead."""
    ka = coinbase_ws.SPEC.keepalive
    assert ka.ping is None and ka.timeout == 30.0
