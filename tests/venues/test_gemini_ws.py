"""Gemini's new stream API: bookTicker frames with nanosecond times, subscribes acked by id,
error answers, and the archived v1/v2 frames not read, from the shared frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from depeg_monitor.venues import gemini_ws
from depeg_monitor.venues.stream import Acked, Alive, Refused, resolve

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"btcusd": "BTC/USD", "usdcusd": "USDC/USD"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in gemini_ws.parse(t, KEYS, NOW)]


def test_book_ticker_with_nanosecond_time() -> None:
    """The docs' bookTicker: midpoint of b/a, E (ns, beyond a float's 53 bits) as seconds to
    the microsecond."""
    (q,) = parse_all("gemini_ws_bookticker_docs.json")
    assert (q.coin, q.quote_ccy, q.bid, q.ask) == ("BTC", "USD", 45000.5, 45001.0)
    assert q.price == 45000.75 and q.volume_base_24h is None
    assert q.ts_exchange == 1751508438600117161 / 10**9
    assert abs(q.ts_exchange - 1751508438.600117) < 1e-6


def test_error_answer_refuses_its_subscribe() -> None:
    """The documented error answer refuses the subscribe its id names."""
    (refused,) = parse_all("gemini_ws_error_docs.json")
    assert refused == Refused((), "-1002 Authentication required", "1")
    (conn,) = gemini_ws.connections(gemini_ws.URL, ["usdcusd"])
    assert resolve(refused, conn).symbols == ("usdcusd",)


def test_success_answer_acks_by_id() -> None:
    """{"id":"1","status":200,...} acks subscribe 1."""
    assert gemini_ws.parse('{"id":"1","status":200,"result":null}', KEYS, NOW) == [Acked((), "1")]


@pytest.mark.parametrize(
    "name",
    ["gemini_v1_multimarketdata_top_of_book_ccxt.json", "gemini_v2_l2_session_capture_2021.jsonl"],
)
def test_archived_feeds_are_not_read(name: str) -> None:
    """Frames of the archived v1/v2 feeds give nothing (this module speaks the new API)."""
    assert parse_all(name) == []


def test_subscribe_messages() -> None:
    """Lower-case <symbol>@bookTicker params, at most 100 a message, ids "1", "2", …."""
    symbols = [f"coin{i}usd" for i in range(150)]
    (conn,) = gemini_ws.connections("ws://127.0.0.1:1/gemini", symbols)
    msgs = [json.loads(m) for m in conn.subscribe]
    assert [len(m["params"]) for m in msgs] == [100, 50]
    assert msgs[0] == msgs[0] | {"id": "1", "method": "subscribe"}
    assert msgs[0]["params"][0] == "coin0usd@bookTicker"
    assert conn.acks["2"] == tuple(symbols[100:])


def test_pings_and_their_answers_are_keepalive() -> None:
    """The client pings by the API's `ping` method (a quiet book may send nothing for
    minutes); any answer to a ping id, even an error, is a sign of life, not an ack or a
    refused subscribe."""
    ka = gemini_ws.SPEC.keepalive
    assert ka.ping is not None and ka.interval < ka.timeout == 90.0
    assert json.loads(ka.ping(3)) == {"id": "ping-3", "method": "ping"}
    ok = '{"id":"ping-3","status":200,"result":{}}'
    unsupported = '{"id":"ping-3","status":400,"error":{"code":-1020,"msg":"Unsupported"}}'
    assert gemini_ws.parse(ok, KEYS, NOW) == [Alive()]
    assert gemini_ws.parse(unsupported, KEYS, NOW) == [Alive()]
