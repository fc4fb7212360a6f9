"""KuCoin's stream: the bullet-public token read into an endpoint and keepalive, welcome, ticker
messages, acks by id, errors, pong, and topics split at 100 a message / 400 a connection."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from depeg_monitor.venues import kucoin_ws
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.stream import Acked, Alive, Refused, rebased, resolve

from ..payloads import ws_frames as recv

NOW = 1_700_000_000.0
KEYS = {"BTC-USDT": "BTC/USDT", "SNX-BTC": "SNX/BTC", "BCHSV-USDT": "BCHSV/USDT"}


def parse_all(name: str) -> list[Any]:
    return [e for t in recv(name) for e in kucoin_ws.parse(t, KEYS, NOW)]


def test_bullet_public_answer() -> None:
    """The SDK's bullet-public answer: the endpoint with ?token=, ping every 18 s, dead after
    18 + 10 s without a sign of life."""
    (text,) = recv("kucoin_bullet_public_response_sdk.json")
    endpoint = kucoin_ws.from_token(Response(200, text))
    token = json.loads(text)["data"]["token"]
    assert endpoint.url.startswith("wss://ws-api-spot.kucoin.com/?token=")
    assert parse_qs(urlsplit(endpoint.url).query) == {"token": [token]}
    ka = endpoint.keepalive
    assert (ka.interval, ka.timeout) == (18.0, 28.0)
    assert ka.ping is not None and json.loads(ka.ping(5)) == {"id": "5", "type": "ping"}


def test_simulator_endpoint_and_stream_url_override() -> None:
    """A ws:// endpoint is used as it is; a configured stream_url takes its place, token kept."""
    body = {
        "code": "200000",
        "data": {
            "token": "t0k=n",
            "instanceServers": [
                {
                    "endpoint": "ws://127.0.0.1:9000/kucoin/ws",
                    "pingInterval": 50000,
                    "pingTimeout": 10000,
                }
            ],
        },
    }
    endpoint = kucoin_ws.from_token(Response(200, json.dumps(body)))
    assert endpoint.url == "ws://127.0.0.1:9000/kucoin/ws?token=t0k%3Dn"
    assert endpoint.keepalive.interval == 50.0
    assert rebased(endpoint.url, "ws://10.0.0.1:1/k") == "ws://10.0.0.1:1/k?token=t0k%3Dn"


def test_bullet_public_refusals() -> None:
    """A non-200000 code is a client error; an answer without a token is malformed."""
    with pytest.raises(VenueError) as e:
        kucoin_ws.from_token(Response(200, '{"code":"400100","msg":"bad"}'))
    assert e.value.kind is ErrorKind.CLIENT_ERROR
    with pytest.raises(VenueError) as e:
        kucoin_ws.from_token(Response(200, '{"code":"200000","data":{"instanceServers":[]}}'))
    assert e.value.kind is ErrorKind.MALFORMED


def test_capture_session() -> None:
    """The real session: welcome is Alive, the ack names subscribe 1, the watched tickers are
    quotes at the last trade with its ms time."""
    events = parse_all("kucoin_ws_ticker_session_capture_2021.jsonl")
    assert events[:2] == [Alive(), Acked((), "1")]
    snx, bchsv = events[2:]
    assert (snx.coin, snx.quote_ccy, snx.price, snx.bid, snx.ask) == (
        "SNX",
        "BTC",
        0.00028676,
        0.00028678,
        0.00028717,
    )
    assert snx.ts_exchange == 1619378326.323 and snx.ts_received == NOW
    assert (bchsv.price, bchsv.volume_base_24h) == (243.65, None)


def test_ccxt_ticker_and_topics_not_subscribed() -> None:
    """ccxt's ticker reads the same; snapshot and level1 topics (not subscribed) give nothing."""
    (q,) = parse_all("kucoin_ws_ticker_ccxt_2021.json")
    assert (q.price, q.bid, q.ask, q.ts_exchange) == (62162.9, 62162.9, 62163.0, 1634641987.564)
    assert parse_all("kucoin_ws_market_snapshot_ccxt.json") == []
    assert parse_all("kucoin_ws_level1_sdk.json") == []


def test_welcome_pong_and_errors() -> None:
    """Welcome and pong are Alive; the real 415 error refuses subscribe 1; an error naming a
    topic refuses its symbols; a token error is a client error (reconnect with a new token)."""
    assert parse_all("kucoin_ws_protocol_docs.jsonl") == [Alive(), Alive()]
    (refused,) = parse_all("kucoin_ws_error_ccxt.json")
    assert refused == Refused((), "415 type is not supported", "1")
    (conn,) = kucoin_ws.connections("ws://x", ["USDC-USDT"])
    assert resolve(refused, conn).symbols == ("USDC-USDT",)
    named = '{"id":"2","type":"error","code":404,"data":"topic /market/ticker:NOPE-USDT not found"}'
    assert kucoin_ws.parse(named, KEYS, NOW) == [
        Refused(("NOPE-USDT",), "404 topic /market/ticker:NOPE-USDT not found", "2")
    ]
    with pytest.raises(VenueError) as e:
        kucoin_ws.parse('{"id":"x","type":"error","code":401,"data":"token is expired"}', KEYS, NOW)
    assert e.value.kind is ErrorKind.CLIENT_ERROR


def test_topics_split_at_100_a_message_and_400_a_connection() -> None:
    """450 symbols: a connection of 400 (four messages of 100) and one of 50."""
    symbols = [f"C{i}-USDT" for i in range(450)]
    conns = kucoin_ws.connections("ws://x?token=t", symbols)
    assert [len(c.symbols) for c in conns] == [400, 50]
    msgs = [json.loads(m) for m in conns[0].subscribe]
    assert [m["id"] for m in msgs] == ["1", "2", "3", "4"]
    assert msgs[0] == {
        "id": "1",
        "type": "subscribe",
        "topic": "/market/ticker:" + ",".join(symbols[:100]),
        "privateChannel": False,
        "response": True,
    }
    assert conns[1].acks == {"1": tuple(symbols[400:])}
    spec = kucoin_ws.SPEC
    assert spec.welcome and spec.token_path == "/api/v1/bullet-public" and spec.max_age == 86400
