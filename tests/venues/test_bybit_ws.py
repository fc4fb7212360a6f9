"""Bybit's spot stream: orderbook.1 frames as midpoint quotes, subscribes of ≤ 10 args acked
by req_id, refusals, and the JSON ping/pong, from the shared frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from depeg_monitor.venues import bybit_ws
from depeg_monitor.venues.stream import Acked, Alive, Refused, resolve

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"BTCUSDT": "BTC/USDT", "USDCUSDT": "USDC/USDT"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in bybit_ws.parse(t, KEYS, NOW)]


def book(b: list[list[str]], a: list[list[str]], ts: Any = 1673853746003) -> str:
    data = {"s": "USDCUSDT", "b": b, "a": a, "u": 7, "seq": 9}
    frame = {"topic": "orderbook.1.USDCUSDT", "ts": ts, "type": "snapshot", "data": data}
    return json.dumps(frame | {"cts": 1673853745000})


def test_orderbook_1_is_a_midpoint_quote_stamped_with_ts() -> None:
    """A level-1 frame gives the best bid/ask, their midpoint, and ts (ms, string or number)."""
    (q,) = bybit_ws.parse(book([["0.9998", "1000"]], [["1.0000", "2000"]]), KEYS, NOW)
    assert (q.coin, q.quote_ccy, q.bid, q.ask) == ("USDC", "USDT", 0.9998, 1.0)
    assert q.price == pytest.approx(0.9999) and q.ts_exchange == 1673853746.003
    (q,) = bybit_ws.parse(book([["0.9998", "1"]], [["1.0", "1"]], "1673853746003"), KEYS, NOW)
    assert q.ts_exchange == 1673853746.003


def test_one_sided_delta_gives_no_quote() -> None:
    """A frame with one side empty cannot be priced statelessly: no quote."""
    assert bybit_ws.parse(book([], [["1.0", "5"]]), KEYS, NOW) == []


def test_ticker_topic_is_not_read() -> None:
    """The spot tickers topic (no bid/ask) is not the stream: its real frame gives nothing."""
    assert parse_all("bybit_ws_spot_ticker_docs.json") == []


def test_ack_by_req_id_and_refusals() -> None:
    """The docs' ack names its request by req_id; the real 'args size >10' names no request
    and refuses the connection's subscribe; an invalid symbol is refused by name."""
    (ack,) = parse_all("bybit_ws_subscribe_ack_spot_docs.json")
    assert ack == Acked((), "10001")
    (conn,) = bybit_ws.connections(bybit_ws.URL, ["USDCUSDT"])
    assert resolve(Acked((), "1"), conn) == Acked(("USDCUSDT",), "1")
    assert parse_all("bybit_ws_error_args_size_2023.json") == [Refused((), "args size >10")]
    msg = "Invalid symbol :[orderbook.1.NOPEUSDT]"
    bad = json.dumps({"success": False, "ret_msg": msg, "op": "subscribe", "req_id": "2"})
    assert bybit_ws.parse(bad, KEYS, NOW) == [Refused(("NOPEUSDT",), msg, "2")]


def test_pong_is_alive() -> None:
    """The spot pong ({"op":"ping","ret_msg":"pong"}) is Alive; the ping is {"op":"ping"}."""
    assert parse_all("bybit_ws_ping_pong_spot_docs.jsonl") == [Alive()]
    ka = bybit_ws.SPEC.keepalive
    assert ka.ping is not None and json.loads(ka.ping(4))["op"] == "ping" and ka.interval == 20.0


def test_subscribes_of_at_most_ten_args() -> None:
    """25 symbols: one connection, messages of 10, 10 and 5 orderbook.1 args, req_id 1..3."""
    symbols = [f"COIN{i}USDT" for i in range(25)]
    (conn,) = bybit_ws.connections(bybit_ws.URL, symbols)
    msgs = [json.loads(m) for m in conn.subscribe]
    assert [len(m["args"]) for m in msgs] == [10, 10, 5]
    assert [m["req_id"] for m in msgs] == ["1", "2", "3"]
    assert msgs[0]["op"] == "subscribe" and msgs[0]["args"][0] == "orderbook.1.COIN0USDT"
    assert sum((conn.acks[m["req_id"]] for m in msgs), ()) == tuple(symbols)


def test_connections_split_at_21000_characters_of_args() -> None:
    """1,500 topics of 24 characters (36,000) need two connections of ≤ 21,000 characters."""
    symbols = [f"COIN{i:04d}USDT" for i in range(1500)]
    conns = bybit_ws.connections(bybit_ws.URL, symbols)
    assert len(conns) == 2
    for conn in conns:
        assert sum(len("orderbook.1." + s) for s in conn.symbols) <= 21_000
    assert conns[0].symbols + conns[1].symbols == tuple(symbols)
