"""OKX's stream: tickers pushes (strings, ms times, base and quote volume), one ack per arg,
60018 refusals, the 64008 notice and the text ping/pong, read from the shared frames."""

from __future__ import annotations

import json
from typing import Any

from depeg_monitor.venues import okx_ws
from depeg_monitor.venues.stream import Acked, Alive, Reconnect, Refused

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"BTC-USDT": "BTC/USDT"}


def parse_all(name: str, keys: dict[str, str] = KEYS) -> list[Any]:
    return [e for t in recv(name) for e in okx_ws.parse(t, keys, NOW)]


def test_capture_session() -> None:
    """The real session: an ack per arg, then the watched spot instrument's tickers as quotes
    (last, bid/ask, vol24h base, volCcy24h quote, ts ms); futures and swaps not watched."""
    events = parse_all("okx_ws_tickers_session_capture_2022.jsonl")
    assert events[:3] == [
        Acked(("BTC-USD-220527",)),
        Acked(("UNI-USD-SWAP",)),
        Acked(("BTC-USDT",)),
    ]
    quotes = events[3:]
    assert [(q.price, q.bid, q.ask, q.ts_exchange) for q in quotes] == [
        (30236.0, 30228.6, 30228.7, 1652459224.956),
        (30243.5, 30228.6, 30228.7, 1652459226.124),
        (30243.5, 30243.4, 30243.5, 1652459226.24),
    ]
    q = quotes[0]
    assert (q.coin, q.quote_ccy, q.volume_base_24h, q.volume_quote_24h) == (
        "BTC",
        "USDT",
        17602.13085371,
        525802090.62716611,
    )


def test_docs_ack_and_unknown_instrument() -> None:
    """The docs' ack names its instrument; the real 60018 refuses the instrument it names."""
    assert parse_all("okx_ws_subscribe_ack_docs.json") == [Acked(("BTC-USDT",))]
    assert parse_all("okx_ws_error_60018_2023.json") == [
        Refused(("LTC-USD",), "60018 channel:tickers,instId:LTC-USD doesn't exist")
    ]


def test_service_upgrade_notice_asks_for_a_reconnect() -> None:
    """The real 64008 notice is a Reconnect with OKX's words."""
    (event,) = parse_all("okx_ws_notice_64008_2025.json")
    assert isinstance(event, Reconnect) and event.reason.startswith("64008 The connection")


def test_text_pong_is_alive() -> None:
    """The text 'pong' (not JSON) answering our text 'ping' is Alive."""
    assert parse_all("okx_ws_ping_pong_docs.jsonl") == [Alive()]
    ka = okx_ws.SPEC.keepalive
    assert (
        ka.ping is not None and ka.ping(3) == "ping" and (ka.interval, ka.timeout) == (20.0, 30.0)
    )


def test_subscribe_split_at_64_kb() -> None:
    """3,000 instruments go in messages of at most 64 KB, every one once, each under its id."""
    symbols = [f"COIN{i}-USDT" for i in range(3000)]
    (conn,) = okx_ws.connections(okx_ws.URL, symbols)
    assert len(conn.subscribe) > 1
    seen = []
    for i, text in enumerate(conn.subscribe, start=1):
        msg = json.loads(text)
        assert len(text.encode()) <= 64_000 and msg["op"] == "subscribe" and msg["id"] == str(i)
        assert all(a["channel"] == "tickers" for a in msg["args"])
        assert tuple(a["instId"] for a in msg["args"]) == conn.acks[str(i)]
        seen += conn.acks[str(i)]
    assert seen == symbols
