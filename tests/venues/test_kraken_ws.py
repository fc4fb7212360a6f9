"""Kraken's v2 stream: ticker snapshots in JSON numbers, optional RFC 3339 times, acks and
refusals per symbol, heartbeat/status/pong as signs of life, read from the shared frames."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from depeg_monitor.venues import kraken_ws
from depeg_monitor.venues.contract import VenueError
from depeg_monitor.venues.stream import Acked, Alive, Refused, resolve

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"BTC/USD": "BTC/USD", "USDC/USD": "USDC/USD"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in kraken_ws.parse(t, KEYS, NOW)]


def test_snapshot_without_timestamp() -> None:
    """ccxt's real snapshot (numbers, no timestamp): price = last, 24 h base volume, no time."""
    (q,) = parse_all("kraken_v2_ticker_snapshot_ccxt.json")
    assert (q.coin, q.quote_ccy, q.price, q.bid, q.ask) == (
        "BTC",
        "USD",
        108359.8,
        108359.8,
        108359.9,
    )
    assert (q.volume_base_24h, q.volume_quote_24h, q.ts_exchange) == (2158.32346723, None, None)


def test_snapshot_with_rfc3339_timestamp() -> None:
    """A snapshot carrying timestamp has it as the exchange time, to the microsecond."""
    (q,) = parse_all("kraken_v2_ticker_snapshot_nautilus.json")
    assert q.price == 105899.4 and q.ts_received == NOW
    assert q.ts_exchange == datetime(2022, 12, 25, 9, 30, 59, 123456, tzinfo=UTC).timestamp()


def test_ack_and_refusal_name_their_symbol() -> None:
    """Kraken acks each symbol on its own; a rejection names the pair it refuses."""
    assert parse_all("kraken_v2_subscribe_ack_nautilus.json") == [Acked(("BTC/USD",))]
    assert parse_all("kraken_v2_error_pair_not_supported_2026.json") == [
        Refused(("XBT/EUR",), "Currency pair not supported XBT/EUR")
    ]


def test_rejection_without_a_symbol_names_its_request() -> None:
    """A rejection naming no symbol refers to its req_id, resolved to that request's symbols."""
    text = '{"method":"subscribe","success":false,"error":"Subscription name invalid","req_id":1}'
    (refused,) = kraken_ws.parse(text, KEYS, NOW)
    (conn,) = kraken_ws.connections(kraken_ws.URL, ["USDC/USD", "USDT/USD"])
    assert resolve(refused, conn) == Refused(
        ("USDC/USD", "USDT/USD"), "Subscription name invalid", "1"
    )


@pytest.mark.parametrize(
    "name",
    ["kraken_v2_heartbeat_docs.json", "kraken_v2_status_ccxt.json", "kraken_v2_pong_nautilus.json"],
)
def test_signs_of_life(name: str) -> None:
    """heartbeat, status (with its u64 connection_id) and pong frames are Alive."""
    assert parse_all(name) == [Alive()]


def test_v1_frames_are_not_read_as_v2() -> None:
    """The v1 capture's array frames are malformed for v2 and its event objects are ignored."""
    for text in recv("kraken_v1_ticker_session_capture_2021.jsonl"):
        if text.startswith("["):
            with pytest.raises(VenueError):
                kraken_ws.parse(text, {"WAVES/EUR": "WAVES/EUR", "XMR/USD": "XMR/USD"}, NOW)
        else:
            assert kraken_ws.parse(text, KEYS, NOW) == []


def test_subscribe_and_ping_messages() -> None:
    """One subscribe lists every symbol on the ticker channel (bbo updates, snapshot), req_id 1;
    the ping is the documented {"method":"ping","req_id":n}."""
    (conn,) = kraken_ws.connections("ws://127.0.0.1:1/kraken/v2", ["USDC/USD", "USDT/USD"])
    assert conn.url == "ws://127.0.0.1:1/kraken/v2"
    assert json.loads(conn.subscribe[0]) == {
        "method": "subscribe",
        "params": {
            "channel": "ticker",
            "symbol": ["USDC/USD", "USDT/USD"],
            "event_trigger": "bbo",
            "snapshot": True,
        },
        "req_id": 1,
    }
    ka = kraken_ws.SPEC.keepalive
    assert ka.ping is not None and json.loads(ka.ping(7)) == {"method": "ping", "req_id": 7}
    assert (ka.interval, ka.timeout) == (30.0, 45.0)
    assert kraken_ws.SPEC.symbol("USDC/USD") == "USDC/USD"
