"""Hostile frames: whatever a venue streams, its frame parser raises only VenueError or gives
sane events — quotes of the watched markets with finite, positive figures.

Each venue's real frames (../shared/exchange-apis/websocket) are mutated by hypothesis with the
REST fuzzing's hostile values (NaN/inf strings, 400-digit and 5,000-digit integers, nesting
10,000 deep, wrong types, huge strings), keys deleted, values wrapped in or unwrapped from
lists, the JSON cut short or replaced by plain text; and every single hostile change at every
path is swept. Bybit has no real orderbook.1 frame in the shared files: its seed is built from
the documented fields. The runs are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depeg_monitor.model import Quote
from depeg_monitor.venues import kucoin_ws
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.stream import Acked, Alive, Reconnect, Refused, StreamSpec
from depeg_monitor.venues.streams import STREAMS

from ..payloads import SHARED, skip_without_shared
from .test_fuzz import (
    FUZZ,
    HOSTILE,
    PLAIN_TEXT,
    drop,
    dumps,
    get,
    hostile_values,
    mutate,
    paths,
    put,
)

skip_without_shared()  # every fuzz run starts from the shared frames

NOW = 1_700_000_000.0
WS = SHARED / "websocket"


def frames(name: str) -> list[Any]:
    """The decoded frames a shared file holds as received (a .json file is one frame)."""
    path = WS / name
    if path.suffix == ".json":
        return [json.loads(path.read_text())]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r["frame"] for r in rows if r["dir"] == "recv" and "frame" in r]


def of(*names: str) -> list[Any]:
    return [f for n in names for f in frames(n)]


@dataclass(frozen=True)
class Seeds:
    """One venue's starting frames and the markets watched (stream key → market)."""

    keys: Mapping[str, str]
    frames: list[Any]
    texts: tuple[str, ...] = ()  # non-JSON frames the venue sends (OKX's pong)


def _bybit_book() -> dict[str, Any]:
    data = {"s": "USDCUSDT", "b": [["0.9998", "120000"]], "a": [["0.9999", "95000"]], "u": 1}
    return {
        "topic": "orderbook.1.USDCUSDT",
        "ts": 1_700_000_000_000,
        "type": "snapshot",
        "data": data | {"seq": 7},
        "cts": 1_699_999_999_000,
    }


SEEDS: dict[str, Callable[[], Seeds]] = {
    "binance": lambda: Seeds(
        {"BNBUSDT": "BNB/USDT", "NKNUSDT": "NKN/USDT"},
        of(
            "binance_ws_bookticker_docs.json",
            "binance_ws_bookticker_combined_capture_2021.jsonl",
            "binance_ws_subscribe_ack_docs.jsonl",
            "binance_ws_error_too_many_parameters_docs.json",
            "binance_ws_server_shutdown_combined_docs.json",
        ),
    ),
    "coinbase": lambda: Seeds(
        {"BTC-USDT": "BTC/USDT", "BAND-GBP": "BAND/GBP"},
        of(
            "coinbase_ws_ticker_ccxt_2023.json",
            "coinbase_ws_ticker_session_capture_2021.jsonl",
            "coinbase_ws_heartbeat_docs.jsonl",
            "coinbase_ws_error_invalid_product_id_2017.json",
        ),
    ),
    "kraken": lambda: Seeds(
        {"BTC/USD": "BTC/USD"},
        of(
            "kraken_v2_ticker_snapshot_ccxt.json",
            "kraken_v2_ticker_snapshot_nautilus.json",
            "kraken_v2_subscribe_ack_nautilus.json",
            "kraken_v2_error_pair_not_supported_2026.json",
            "kraken_v2_heartbeat_docs.json",
            "kraken_v2_status_ccxt.json",
            "kraken_v2_pong_nautilus.json",
        ),
    ),
    "bitstamp": lambda: Seeds(
        {"btcusd": "BTC/USD", "usdtusd": "USDT/USD"},
        of(
            "bitstamp_ws_order_book_crypto_crawler.json",
            "bitstamp_ws_request_reconnect_hummingbot.json",
            "bitstamp_ws_error_unauthorized_ccxt.json",
            "bitstamp_ws_session_capture_2022.jsonl",
        ),
    ),
    "okx": lambda: Seeds(
        {"BTC-USDT": "BTC/USDT"},
        of(
            "okx_ws_tickers_session_capture_2022.jsonl",
            "okx_ws_subscribe_ack_docs.json",
            "okx_ws_error_60018_2023.json",
            "okx_ws_notice_64008_2025.json",
        ),
        ("pong",),
    ),
    "bybit": lambda: Seeds(
        {"USDCUSDT": "USDC/USDT"},
        [
            _bybit_book(),
            *of(
                "bybit_ws_subscribe_ack_spot_docs.json",
                "bybit_ws_error_args_size_2023.json",
                "bybit_ws_ping_pong_spot_docs.jsonl",
            ),
        ],
    ),
    "gemini": lambda: Seeds(
        {"btcusd": "BTC/USD"},
        of("gemini_ws_bookticker_docs.json", "gemini_ws_error_docs.json"),
    ),
    "kucoin": lambda: Seeds(
        {"BTC-USDT": "BTC/USDT", "SNX-BTC": "SNX/BTC"},
        of(
            "kucoin_ws_ticker_ccxt_2021.json",
            "kucoin_ws_ticker_session_capture_2021.jsonl",
            "kucoin_ws_error_ccxt.json",
            "kucoin_ws_protocol_docs.jsonl",
        ),
    ),
}


def test_every_stream_has_seeds() -> None:
    """A venue added to the stream registry is fuzzed too (its seeds are written here)."""
    assert set(SEEDS) == set(STREAMS)


# ----------------------------------------------------------------------------- properties


def assert_sane_event(spec: StreamSpec, event: Any, keys: Mapping[str, str]) -> None:
    """An event of the contract's kinds; a quote of a watched market whose figures are floats,
    finite, positive (volumes non-negative) or None, stamped with the receipt time."""
    if isinstance(event, Quote):
        assert event.venue == spec.name
        assert f"{event.coin}/{event.quote_ccy}" in keys.values()
        assert type(event.price) is float and math.isfinite(event.price) and event.price > 0
        for side in (event.bid, event.ask, event.ts_exchange):
            assert side is None or (type(side) is float and math.isfinite(side) and side > 0)
        for volume in (event.volume_base_24h, event.volume_quote_24h):
            assert volume is None or (
                type(volume) is float and math.isfinite(volume) and volume >= 0
            )
        assert event.ts_received == NOW
    elif isinstance(event, Acked | Refused):
        assert isinstance(event.symbols, tuple)
        assert all(isinstance(s, str) and s for s in event.symbols)
        assert event.ref is None or isinstance(event.ref, str)
        if isinstance(event, Refused):
            assert isinstance(event.reason, str) and len(event.reason) <= 400
    elif isinstance(event, Reconnect):
        assert isinstance(event.reason, str)
    else:
        assert isinstance(event, Alive), event


def assert_classified(e: VenueError) -> None:
    """A refusal names its kind and its text is safe to show."""
    assert isinstance(e.kind, ErrorKind) and isinstance(str(e), str)


def assert_parses_sanely(spec: StreamSpec, text: str, keys: Mapping[str, str]) -> None:
    try:
        events = spec.parse(text, keys, NOW)
    except VenueError as e:
        assert_classified(e)
        return
    assert isinstance(events, list)
    for event in events:
        assert_sane_event(spec, event, keys)


def hostile_text(data: st.DataObject, seeds: Seeds) -> str:
    """A seed frame with a few hostile changes, possibly cut short, or plain text."""
    kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "cut", "text", "value"]))
    if kind == "text":
        return data.draw(
            st.one_of(st.sampled_from([*PLAIN_TEXT, *seeds.texts, "ping"]), st.text(max_size=40))
        )
    if kind == "value":
        return dumps(data.draw(hostile_values, label="frame"))
    value = data.draw(st.sampled_from(seeds.frames), label="seed")
    for _ in range(data.draw(st.integers(0, 4), label="changes")):
        value = mutate(data, value)
    text = dumps(value)
    if kind == "cut":
        text = text[: data.draw(st.integers(0, max(0, len(text) - 1)), label="cut")]
    return text


@pytest.mark.parametrize("venue", list(SEEDS))
@FUZZ
@given(data=st.data())
def test_frame_parse_raises_only_venue_errors(venue: str, data: st.DataObject) -> None:
    """Any frame gives sane events or a VenueError — never another exception."""
    seeds = SEEDS[venue]()
    assert_parses_sanely(STREAMS[venue], hostile_text(data, seeds), seeds.keys)


@pytest.mark.parametrize("venue", list(SEEDS))
def test_seeds_parse_as_they_are(venue: str) -> None:
    """Unmutated, the seeds parse without error (Bitstamp's channel-less bts:error aside, a
    client error by design) and give at least one quote, so the fuzzing starts from frames
    the parser prices rather than from noise."""
    spec, seeds = STREAMS[venue], SEEDS[venue]()
    quotes, refusals = 0, []
    for frame in seeds.frames:
        try:
            events = spec.parse(dumps(frame), seeds.keys, NOW)
        except VenueError as e:
            refusals.append(e.kind)
            continue
        for event in events:
            assert_sane_event(spec, event, seeds.keys)
        quotes += sum(isinstance(e, Quote) for e in events)
    assert quotes
    assert refusals == ([ErrorKind.CLIENT_ERROR] if venue == "bitstamp" else [])


def _sweep(seeds: list[Any]) -> list[tuple[str, Any]]:
    """(what was done, frame) for every single change: each HOSTILE value at each path, and
    each non-root item deleted and wrapped in a list."""
    out: list[tuple[str, Any]] = []
    for seed in seeds:
        for path in paths(seed):
            out += [(f"{path} = {str(v)[:30]!r}", put(seed, path, v)) for v in HOSTILE]
            if path:
                out.append((f"del {path}", drop(seed, path)))
                out.append((f"wrap {path}", put(seed, path, [get(seed, path)])))
    return out


@pytest.mark.parametrize("venue", list(SEEDS))
def test_every_single_hostile_change_is_handled(venue: str) -> None:
    """Each hostile value put at each path of each seed frame (and each key deleted or wrapped)
    parses to sane events or raises VenueError: a systematic sweep of what the random fuzzing
    reaches only by chance."""
    spec, seeds = STREAMS[venue], SEEDS[venue]()
    failures: list[str] = []
    for what, frame in _sweep(seeds.frames):
        try:
            assert_parses_sanely(spec, dumps(frame), seeds.keys)
        except Exception as e:  # the failure being looked for
            failures.append(f"{what}: {type(e).__name__}: {str(e)[:80]}")
    assert not failures, f"{len(failures)} failures, e.g.:\n" + "\n".join(failures[:10])


def _bullet() -> Any:
    return json.loads((WS / "kucoin_bullet_public_response_sdk.json").read_text())


def assert_sane_endpoint(resp: Response) -> None:
    try:
        endpoint = kucoin_ws.from_token(resp)
    except VenueError as e:
        assert_classified(e)
        return
    assert endpoint.url.startswith(("ws://", "wss://")) and "token=" in endpoint.url
    ka = endpoint.keepalive
    assert math.isfinite(ka.interval) and 0 < ka.interval < ka.timeout and math.isfinite(ka.timeout)


@FUZZ
@given(data=st.data())
def test_kucoin_token_answer_raises_only_venue_errors(data: st.DataObject) -> None:
    """Any bullet-public answer gives a ws URL with a token and a finite keepalive, or a
    VenueError."""
    status = data.draw(st.sampled_from([200, 200, 200, 400, 429, 500]))
    value = _bullet()
    for _ in range(data.draw(st.integers(0, 4))):
        value = mutate(data, value)
    assert_sane_endpoint(Response(status, dumps(value)))


def test_every_single_hostile_change_to_the_token_answer_is_handled() -> None:
    """The sweep of single hostile changes, for the bullet-public answer."""
    failures = []
    for what, body in _sweep([_bullet()]):
        try:
            assert_sane_endpoint(Response(200, dumps(body)))
        except Exception as e:  # the failure being looked for
            failures.append(f"{what}: {type(e).__name__}: {str(e)[:80]}")
    assert not failures, f"{len(failures)} failures, e.g.:\n" + "\n".join(failures[:10])
