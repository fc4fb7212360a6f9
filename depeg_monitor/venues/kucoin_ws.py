"""KuCoin spot stream (classic public): `/market/ticker:<SYM>`, behind a bullet-public token.

Before each connect, POST `/api/v1/bullet-public` on the REST base URL (token_path); from_token
reads `data.token` and `data.instanceServers[0]` (`endpoint`, `pingInterval` and `pingTimeout`
in ms) into Endpoint(url=f"{endpoint}?token=…", keepalive). The loop then calls
connections(Endpoint.url, spellings); where config sets a stream_url, it connects to
stream.rebased(Endpoint.url, stream_url) instead (the token's query kept). The simulator's
token answer may name a ws:// endpoint; it is used as it is.

On open KuCoin sends `{"id":"…","type":"welcome"}` → Alive (welcome=True: subscribe only
after it). Then `{"id":"k","type":"subscribe","topic":"/market/ticker:USDC-USDT,DAI-USDT",
"privateChannel":false,"response":true}`, k = 1, 2, … on each connection, at most 100 topics
a message and 400 a connection. `{"id":"k","type":"ack"}` → Acked((), ref="k")
(stream.resolve gives message k's symbols). `{"id":…,"type":"error","code":…,"data":"…"}` →
Refused(the symbols a `/market/ticker:` topic in it names, else (), ref=id); a token error
("token is expired") → VenueError(CLIENT_ERROR), to reconnect with a new token.

Frames: `{"type":"message","topic":"/market/ticker:USDC-USDT","subject":"trade.ticker",
"data":{"price","bestBid","bestAsk","time"}}` (strings; time in ms, the last trade's) →
Quote with price = the last trade (no volume on this topic). Client ping
`{"id":"n","type":"ping"}` every pingInterval → `{"id":"n","type":"pong"}` → Alive; dead
after pingInterval + pingTimeout without a sign of life. Connections live 24 h.
The stream spelling is the symbol (USDC-USDT), as in REST.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from depeg_monitor.venues.combinators import spelling
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.fields import envelope, text_of
from depeg_monitor.venues.frames_ws import (
    MS,
    batches,
    dumps,
    epoch,
    frame_object,
    name,
    obj,
    plan,
    ref,
    seq,
    stream_quote,
)
from depeg_monitor.venues.status import load_json, raise_for_status
from depeg_monitor.venues.stream import (
    Acked,
    Alive,
    Connection,
    Endpoint,
    Keepalive,
    Refused,
    StreamEvent,
    StreamSpec,
)

NAME = "kucoin"
URL = "wss://ws-api-spot.kucoin.com/"
TOKEN_PATH = "/api/v1/bullet-public"
TOPIC = "/market/ticker:"
PER_MESSAGE = 100
PER_CONNECTION = 400
NAMED = re.compile(r"/market/ticker:([A-Za-z0-9,-]+)")
# The current bullet-public example: ping every 18 s, a pong within 10 s.
PING_INTERVAL, PING_TIMEOUT = 18.0, 10.0

symbol = spelling("-")


def ping(n: int) -> str:
    return dumps({"id": str(n), "type": "ping"})


def keepalive(interval: float, pong_timeout: float) -> Keepalive:
    return Keepalive(ping=ping, interval=interval, timeout=interval + pong_timeout)


def subscribe(msg_id: str, symbols: Sequence[str]) -> str:
    return dumps(
        {
            "id": msg_id,
            "type": "subscribe",
            "topic": TOPIC + ",".join(symbols),
            "privateChannel": False,
            "response": True,
        }
    )


def connections(url: str, symbols: Sequence[str]) -> list[Connection]:
    return plan(
        url, batches(symbols, PER_CONNECTION), lambda run: batches(run, PER_MESSAGE), subscribe
    )


def _seconds(value: Any, what: str) -> float:
    """pingInterval/pingTimeout (ms) as seconds: finite, positive and at most a day."""
    t = epoch(value, MS)
    if t is None or not math.isfinite(t) or t > 86_400:
        raise VenueError(ErrorKind.MALFORMED, f"bullet-public {what} is not a sane time")
    return t


def from_token(resp: Response) -> Endpoint:
    """The bullet-public answer as the URL to connect to and the keepalive it sets."""
    env = envelope(load_json(resp))
    code, msg = text_of(env.get("code")), text_of(env.get("msg"))
    raise_for_status(resp, msg)
    if code != "200000":
        raise VenueError(ErrorKind.CLIENT_ERROR, f"bullet-public code {code} {msg}".strip())
    data = obj(env.get("data"), "data")
    token = name(data.get("token"))
    servers = seq(data.get("instanceServers"), "instanceServers")
    if token is None or not servers:
        raise VenueError(ErrorKind.MALFORMED, "bullet-public answer without a token or server")
    server = obj(servers[0], "instanceServers[0]")
    endpoint = name(server.get("endpoint"))
    if endpoint is None or not endpoint.startswith(("wss://", "ws://")):
        raise VenueError(ErrorKind.MALFORMED, "bullet-public endpoint is not a ws URL")
    sep = "&" if "?" in endpoint else "?"
    url = f"{endpoint}{sep}{urlencode({'token': token})}"
    interval = _seconds(server.get("pingInterval"), "pingInterval")
    return Endpoint(url, keepalive(interval, _seconds(server.get("pingTimeout"), "pingTimeout")))


def parse(text: str, keys: Mapping[str, str], received: float) -> list[StreamEvent]:
    frame = frame_object(text)
    kind = frame.get("type")
    if kind == "message":
        return _ticker(frame, keys, received)
    if kind in ("welcome", "pong"):
        return [Alive()]
    if kind == "ack":
        return [Acked((), ref(frame.get("id")))]
    if kind == "error":
        words = text_of(frame.get("data"), 200)
        reason = f"{text_of(frame.get('code'))} {words}".strip() or "error"
        if "token" in words.lower():
            raise VenueError(ErrorKind.CLIENT_ERROR, reason)
        named = tuple(s for t in NAMED.findall(words) for s in t.split(",") if s)
        return [Refused(named, reason, ref(frame.get("id")))]
    return []


def _ticker(frame: dict[str, Any], keys: Mapping[str, str], received: float) -> list[Any]:
    topic = name(frame.get("topic"))
    if topic is None or not topic.startswith(TOPIC):
        return []
    market = keys.get(topic[len(TOPIC) :])
    if market is None:
        return []
    data = obj(frame.get("data"), "data")
    q = stream_quote(
        NAME,
        market,
        received,
        last=data.get("price"),
        bid=data.get("bestBid"),
        ask=data.get("bestAsk"),
        ts_exchange=epoch(data.get("time"), MS),
    )
    if q is None:
        raise VenueError(ErrorKind.MALFORMED, "ticker without a price")
    return [q]


SPEC = StreamSpec(
    name=NAME,
    url=URL,
    symbol=symbol,
    connections=connections,
    parse=parse,
    keepalive=keepalive(PING_INTERVAL, PING_TIMEOUT),
    # A ticker frame is ~350 B: 64 KB is ample.
    max_frame=64 << 10,
    welcome=True,
    token_path=TOKEN_PATH,
    from_token=from_token,
    max_age=24 * 3600.0,
)
