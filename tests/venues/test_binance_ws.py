"""Binance's stream: bookTicker frames, SUBSCRIBE split at 200 params / 4 KB / 1,024 streams,
acks by id, errors and the serverShutdown notice, read from the shared real frames."""

from __future__ import annotations

import json

import pytest

from depeg_monitor.venues import binance_ws
from depeg_monitor.venues.stream import Acked, Reconnect, Refused, resolve

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"NKNUSDT": "NKN/USDT", "BNBUSDT": "BNB/USDT"}


def test_capture_book_tickers_are_midpoint_quotes_without_time() -> None:
    """Each real bookTicker (in the combined wrapper) is a quote at the bid/ask midpoint with
    no exchange time and no volume."""
    quotes = [
        e
        for t in recv("binance_ws_bookticker_combined_capture_2021.jsonl")
        for e in binance_ws.parse(t, KEYS, NOW)
    ]
    assert [(q.bid, q.ask) for q in quotes] == [
        (0.3521, 0.3526),
        (0.3521, 0.3525),
        (0.3521, 0.3524),
        (0.3521, 0.3524),
    ]
    q = quotes[0]
    assert (q.venue, q.coin, q.quote_ccy) == ("binance", "NKN", "USDT")
    assert q.price == pytest.approx(0.35235)
    assert (q.ts_exchange, q.ts_received, q.volume_base_24h, q.volume_quote_24h) == (
        None,
        NOW,
        None,
        None,
    )


def test_docs_book_ticker_bare_frame() -> None:
    """The docs' bare bookTicker frame (the raw /ws form) parses the same way."""
    (text,) = recv("binance_ws_bookticker_docs.json")
    (q,) = binance_ws.parse(text, KEYS, NOW)
    assert (q.coin, q.bid, q.ask) == ("BNB", 25.3519, 25.3652)
    assert q.price == pytest.approx((25.3519 + 25.3652) / 2)


def test_frames_of_markets_not_watched_are_ignored() -> None:
    """A bookTicker for a symbol not in keys gives nothing."""
    (text,) = recv("binance_ws_bookticker_docs.json")
    assert binance_ws.parse(text, {"USDCUSDT": "USDC/USDT"}, NOW) == []


def test_ack_names_its_subscribe_by_id() -> None:
    """{"result":null,"id":1} is Acked((), ref "1"), which resolve maps to message 1's symbols."""
    (text,) = recv("binance_ws_subscribe_ack_docs.jsonl")
    (ack,) = binance_ws.parse(text, KEYS, NOW)
    assert ack == Acked((), "1")
    (conn,) = binance_ws.connections(binance_ws.URL, ["USDCUSDT", "FDUSDUSDT"])
    assert resolve(ack, conn) == Acked(("USDCUSDT", "FDUSDUSDT"), "1")


def test_control_error_is_refused() -> None:
    """The documented {"code","msg"} error refuses the subscribe, with Binance's words."""
    (text,) = recv("binance_ws_error_too_many_parameters_docs.json")
    assert binance_ws.parse(text, KEYS, NOW) == [
        Refused((), "2 Invalid request: too many parameters")
    ]
    wrapped = '{"error":{"code":2,"msg":"Invalid request"},"id":3}'
    assert binance_ws.parse(wrapped, KEYS, NOW) == [Refused((), "2 Invalid request", "3")]


def test_server_shutdown_asks_for_a_reconnect() -> None:
    """serverShutdown (under !serverShutdown) is a routine Reconnect, bare or wrapped."""
    (text,) = recv("binance_ws_server_shutdown_combined_docs.json")
    assert binance_ws.parse(text, KEYS, NOW) == [Reconnect("serverShutdown")]
    bare = json.dumps(json.loads(text)["data"])
    assert binance_ws.parse(bare, KEYS, NOW) == [Reconnect("serverShutdown")]


@pytest.mark.parametrize(
    "name", ["binance_ws_miniticker_docs.json", "binance_ws_ticker_24hr_docs.json"]
)
def test_other_events_are_ignored(name: str) -> None:
    """Events of streams not subscribed (ticker, miniTicker) give nothing."""
    (text,) = recv(name)
    assert binance_ws.parse(text, {"BNBBTC": "BNB/BTC"}, NOW) == []


def test_subscribe_message_shape() -> None:
    """One SUBSCRIBE on the endpoint names lower-case <symbol>@bookTicker streams, id 1."""
    (conn,) = binance_ws.connections("ws://127.0.0.1:8080/binance/ws", ["USDCUSDT"])
    assert conn.url == "ws://127.0.0.1:8080/binance/ws"
    assert json.loads(conn.subscribe[0]) == {
        "method": "SUBSCRIBE",
        "params": ["usdcusdt@bookTicker"],
        "id": 1,
    }
    assert conn.symbols == ("USDCUSDT",) and conn.acks == {"1": ("USDCUSDT",)}


def test_subscribes_split_at_the_caps() -> None:
    """1,100 symbols: two connections (1,024 + 76), messages of ≤ 200 params and ≤ 4 KB,
    every symbol once, in order, each message's symbols under its id."""
    symbols = [f"COIN{i}USDT" for i in range(1100)]
    conns = binance_ws.connections(binance_ws.URL, symbols)
    assert [len(c.symbols) for c in conns] == [1024, 76]
    seen = []
    for conn in conns:
        for i, text in enumerate(conn.subscribe, start=1):
            msg = json.loads(text)
            assert len(msg["params"]) <= 200 and len(text.encode()) <= 4000
            assert msg["id"] == i
            assert [p.upper().removesuffix("@BOOKTICKER") for p in msg["params"]] == list(
                conn.acks[str(i)]
            )
            seen += conn.acks[str(i)]
    assert seen == symbols


def test_keepalive_and_age() -> None:
    """The server pings (no client ping), dead after 60 s; connections are renewed at 24 h."""
    ka = binance_ws.SPEC.keepalive
    assert (ka.ping, ka.interval, ka.timeout) == (None, 20.0, 60.0)
    assert binance_ws.SPEC.max_age == 24 * 3600
