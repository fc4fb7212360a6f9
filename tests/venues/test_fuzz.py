"""Hostile answers: whatever a venue sends, its parsers raise only VenueError or return sane quotes.

Each venue's real payloads (../shared/exchange-apis) and documented listing shapes are mutated
by hypothesis: any value at any path replaced by a hostile one (NaN/inf strings, 400-digit
integers, nesting 10,000 deep, wrong types, huge strings), keys deleted, values wrapped in or
unwrapped from lists, the JSON cut short or replaced by plain text, under any status and with
hostile wait headers. The runs are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depeg_monitor.collect.quality import QualityFilter, QualityRules
from depeg_monitor.model import Quote
from depeg_monitor.venues import VENUES
from depeg_monitor.venues.contract import ErrorKind, Request, Response, VenueError, VenueSpec

from ..payloads import SHARED, skip_without_shared

skip_without_shared()  # every fuzz run starts from the shared payloads

NOW = 1_700_000_000.0
# Coins of the seeded markets that have a peg (their pairs get the price-band check).
PEGGED = ("USDT", "USDC", "DAI", "FDUSD", "PYUSD", "TUSD", "USDE", "FRAX", "USDS", "RLUSD")
EXAMPLES = 100  # per venue and parser: 1,800 random examples
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load(name: str) -> Any:
    return json.loads((SHARED / name).read_text())


def ms(t: float) -> int:
    return int(t * 1000)


# ----------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seeds:
    """One venue's starting answers: the markets asked for (response key → market) and
    real ticker, error and listing bodies that name them."""

    keys: Mapping[str, str]
    tickers: list[Any]
    errors: list[Any]
    listings: list[Any]


def _binance() -> Seeds:
    rows = load("binance_ticker_24hr_symbols.json")
    usdc = rows[0] | {"symbol": "USDCUSDT", "lastPrice": "0.9998", "closeTime": ms(NOW)}
    fdusd = rows[-1] | {"symbol": "FDUSDUSDT", "lastPrice": "0.9985", "closeTime": ms(NOW)}
    mini = load("binance_ticker_24hr_mini_symbols.json")[0] | {"symbol": "USDCUSDT"}
    single = load("binance_ticker_24hr.json") | {"symbol": "USDCUSDT"}
    info = {
        "timezone": "UTC",
        "serverTime": ms(NOW),
        "rateLimits": [load("binance_ratelimit_request_weight.json")],
        "exchangeFilters": [],
        "symbols": [
            {"symbol": "USDCUSDT", "status": "TRADING", "baseAsset": "USDC", "quoteAsset": "USDT"},
            {"symbol": "FDUSDUSDT", "status": "BREAK", "baseAsset": "FDUSD", "quoteAsset": "USDT"},
        ],
    }
    return Seeds(
        {"USDCUSDT": "USDC/USDT", "FDUSDUSDT": "FDUSD/USDT"},
        [[usdc, fdusd], [mini], single],
        [load(f"binance_error_{n}.json") for n in ("invalid_symbol", "429", "418", "451_geo")],
        [info],
    )


def _coinbase() -> Seeds:
    products = [
        {"id": "USDT-USD", "base_currency": "USDT", "quote_currency": "USD", "status": "online"},
        {"id": "DAI-USD", "status": "delisted", "trading_disabled": True},
    ]
    return Seeds(
        {"USDT-USD": "USDT/USD"},
        [load(f"coinbase_{n}.json") for n in ("ticker_stablecoin", "ticker", "ticker_legacy_docs")],
        [load("coinbase_error_429.json"), load("coinbase_error_unknown_product.json")],
        [products],
    )


def _kraken() -> Seeds:
    row = load("kraken_ticker.json")["result"]["XXBTZUSD"] | {"c": ["0.9999", "10"]}
    pairs = {
        "error": [],
        "result": {
            "USDTZUSD": {"altname": "USDTUSD", "wsname": "USDT/USD", "status": "online"},
            "USDCUSD": {"altname": "USDCUSD", "wsname": "USDC/USD", "status": "cancel_only"},
        },
    }
    return Seeds(
        {"USDTZUSD": "USDT/USD"},
        [{"error": [], "result": {"USDTZUSD": row, "XXBTZUSD": row}}],
        [load("kraken_error_rate_limit.json"), load("kraken_error_unknown_pair.json")],
        [pairs],
    )


def _bitstamp() -> Seeds:
    refused = {
        "status": "error",
        "reason": "Request rejected due to exceeded rate limit",
        "response_code": "400.002",
    }
    markets = [
        {"name": "USDT/USD", "market_symbol": "usdtusd", "trading": "Enabled"},
        {"name": "DAI/USD", "url_symbol": "daiusd", "trading": "Disabled"},
    ]
    return Seeds(
        {"usdtusd": "USDT/USD"},
        [load("bitstamp_ticker.json"), load("bitstamp_ticker_ccxt.json")],
        [refused],
        [markets],
    )


def _okx() -> Seeds:
    body = load("okx_tickers.json")
    spot = body["data"][0] | {"instType": "SPOT", "instId": "USDC-USDT", "ts": str(ms(NOW))}
    one = load("okx_ticker.json")
    instruments = {
        "code": "0",
        "msg": "",
        "data": [
            {"instType": "SPOT", "instId": "USDC-USDT", "state": "live"},
            {"instType": "SPOT", "instId": "TUSD-USDT", "state": "suspend"},
        ],
    }
    return Seeds(
        {"USDC-USDT": "USDC/USDT"},
        [body | {"data": [*body["data"], spot]}, one | {"data": [one["data"][0] | spot]}],
        [load("okx_error_429.json"), load("okx_error_unknown_instrument.json")],
        [instruments],
    )


def _bybit() -> Seeds:
    body = load("bybit_tickers_spot.json")
    row = body["result"]["list"][0] | {"symbol": "USDCUSDT", "lastPrice": "1.0001"}
    body["result"]["list"].append(row)
    body["time"] = ms(NOW)
    too_many = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": ms(NOW)}
    instruments = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"category": "spot", "list": [{"symbol": "USDCUSDT", "status": "Trading"}]},
        "time": ms(NOW),
    }
    return Seeds(
        {"USDCUSDT": "USDC/USDT"},
        [body],
        [load("bybit_error_unknown_symbol.json"), too_many],
        [instruments],
    )


def _gemini() -> Seeds:
    body = load("gemini_pubticker.json")
    body["volume"] = {"USDT": "2000000", "USD": "1999800", "timestamp": ms(NOW)}
    limited = {"result": "error", "reason": "RateLimit", "message": "Requests were made too fast"}
    return Seeds(
        {"usdtusd": "USDT/USD"},
        [body],
        [load("gemini_error_invalid_symbol.json"), limited],
        [["btcusd", "usdtusd"]],
    )


def _kucoin() -> Seeds:
    body = load("kucoin_all_tickers.json")
    row = body["data"]["ticker"][0] | {"symbol": "USDC-USDT", "symbolName": "USDC-USDT"}
    body["data"]["ticker"].append(row)
    symbols = {
        "code": "200000",
        "data": [
            {"symbol": "USDC-USDT", "enableTrading": True},
            {"symbol": "TUSD-USDT", "enableTrading": False},
        ],
    }
    unsupported = {"msg": "Unsupported trading pair.", "code": "400100"}
    return Seeds(
        {"USDC-USDT": "USDC/USDT"},
        [body],
        [load("kucoin_error_429.json"), unsupported],
        [symbols],
    )


def _coingecko() -> Seeds:
    row = load("coingecko_simple_price.json")["bitcoin"] | {"usd": 0.9991}
    return Seeds(
        {"tether": "USDT/USD", "usd-coin": "USDC/USD"},
        [{"tether": row, "usd-coin": row | {"usd": 1.0002}}],
        [load("coingecko_error_429.json")],
        [[{"id": "tether", "symbol": "usdt", "name": "Tether"}, {"id": "usd-coin"}]],
    )


SEEDS: dict[str, Callable[[], Seeds]] = {
    "binance": _binance,
    "coinbase": _coinbase,
    "kraken": _kraken,
    "bitstamp": _bitstamp,
    "okx": _okx,
    "bybit": _bybit,
    "gemini": _gemini,
    "kucoin": _kucoin,
    "coingecko": _coingecko,
}


def test_every_venue_has_seeds() -> None:
    """A venue added to the registry is fuzzed too (its seeds are written here)."""
    assert set(SEEDS) == set(VENUES)


# ----------------------------------------------------------------------------- hostile values


class Raw(str):
    """JSON text spliced in as is: what json.dumps cannot (or will not) write."""


DEEP_LIST = Raw("[" * 10_000 + "]" * 10_000)
DEEP_OBJECT = Raw('{"a":' * 10_000 + "1" + "}" * 10_000)
TOO_MANY_DIGITS = Raw("9" * 5_000)  # beyond int()'s 4,300-digit limit
HOSTILE: list[Any] = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "-inf",
    "1e400",
    "-1e400",
    "-1",
    "-0.5",
    "0",
    "",
    " ",
    "1_000",
    "0x1A",
    "9" * 400,
    10**400,
    -(10**400),
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -0.5,
    0,
    1e308,
    None,
    True,
    False,
    "x" * 100_000,
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00",
    [],
    {},
    [None],
    {"": None},
    DEEP_LIST,
    DEEP_OBJECT,
    TOO_MANY_DIGITS,
]
# Mostly the listed values (each chosen on purpose), sometimes anything of the usual types.
hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(HOSTILE),
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
)


def dumps(value: Any) -> str:
    """JSON text of value, Raw pieces spliced in verbatim (NaN/Infinity literals allowed)."""
    raws: list[str] = []

    def mark(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(str(v))
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = json.dumps(mark(value))
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), raw, 1)
    return text


Path_ = tuple[str | int, ...]


def paths(value: Any, here: Path_ = ()) -> list[Path_]:
    """Every path into value (the root included)."""
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*here, i))
    return out


def get(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def put(value: Any, path: Path_, new: Any) -> Any:
    """value with the item at path replaced by new (copies along the path only)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: put(value[head], rest, new)}
    items = list(value)
    items[head] = put(items[head], rest, new)  # type: ignore[index]
    return items


def drop(value: Any, path: Path_) -> Any:
    """value without the item at path (path is not the root)."""
    parent, last = get(value, path[:-1]), path[-1]
    if isinstance(parent, dict):
        trimmed: Any = {k: v for k, v in parent.items() if k != last}
    else:
        trimmed = [v for i, v in enumerate(parent) if i != last]
    return put(value, path[:-1], trimmed)


def mutate(data: st.DataObject, value: Any) -> Any:
    """One hostile change somewhere in value."""
    path = data.draw(st.sampled_from(paths(value)), label="path")
    here = get(value, path)
    ops = ["replace", "wrap"]
    if path:
        ops.append("delete")
    if isinstance(here, list | dict) and here:
        ops.append("unwrap")
    op = data.draw(st.sampled_from(ops), label="op")
    if op == "replace":
        return put(value, path, data.draw(hostile_values, label="value"))
    if op == "delete":
        return drop(value, path)
    if op == "wrap":
        return put(value, path, [here])
    inner = list(here.values()) if isinstance(here, dict) else here
    return put(value, path, data.draw(st.sampled_from(inner), label="unwrapped"))


STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 418, 429, 451, 500, 502, 503, 520]
WAIT_HEADERS = [
    "Retry-After",
    "retry-after",
    "gw-ratelimit-reset",
    "X-Bapi-Limit-Reset-Timestamp",
    "x-bapi-limit-reset-timestamp",
]
WAIT_VALUES = [
    "0",
    "1",
    "40",
    "1500",
    "-1",
    "-0.5",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "1e308",
    "abc",
    "",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    str(ms(NOW) + 1500),
    str(ms(NOW) - 1500),
    "9" * 400,
]
headers = st.dictionaries(
    st.sampled_from(WAIT_HEADERS),
    st.one_of(st.sampled_from(WAIT_VALUES), st.text(max_size=12)),
    max_size=3,
)
PLAIN_TEXT = ["", "<html><body>502 Bad Gateway</body></html>", "null", "[]", "{}", "Forbidden"]


def hostile_body(data: st.DataObject, seeds: list[Any]) -> str:
    """A seed answer with a few hostile changes, possibly cut short, or plain text."""
    kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "cut", "text", "value"]))
    if kind == "text":
        return data.draw(st.one_of(st.sampled_from(PLAIN_TEXT), st.text(max_size=40)))
    if kind == "value":  # the whole body one hostile value (10,000 deep, a bare number, ...)
        return dumps(data.draw(hostile_values, label="body"))
    value = data.draw(st.sampled_from(seeds), label="seed")
    for _ in range(data.draw(st.integers(0, 4), label="changes")):
        value = mutate(data, value)
    text = dumps(value)
    if kind == "cut":
        text = text[: data.draw(st.integers(0, max(0, len(text) - 1)), label="cut")]
    return text


def hostile_response(data: st.DataObject, seeds: list[Any]) -> Response:
    body = hostile_body(data, seeds)
    return Response(data.draw(st.sampled_from(STATUSES)), body, data.draw(headers))


# ----------------------------------------------------------------------------- properties


def assert_classified(e: VenueError) -> None:
    """A refusal names its kind, and a wait only as a finite, non-negative number."""
    assert isinstance(e.kind, ErrorKind)
    assert isinstance(str(e), str)
    wait = e.retry_after
    if wait is not None:
        assert isinstance(wait, int | float) and not isinstance(wait, bool)
        assert math.isfinite(wait) and wait >= 0, wait


OPTIONAL_FIGURES = ("bid", "ask", "volume_base_24h", "volume_quote_24h", "ts_exchange")


def assert_sane_quote(spec: VenueSpec, q: Quote, keys: Mapping[str, str]) -> None:
    assert isinstance(q, Quote)
    for name in ("venue", "coin", "quote_ccy"):
        value = getattr(q, name)
        assert isinstance(value, str) and value, name
    assert q.venue == spec.name
    assert f"{q.coin}/{q.quote_ccy}" in keys.values()  # never a market we did not ask for
    assert type(q.price) is float
    for name in OPTIONAL_FIGURES:
        value = getattr(q, name)
        assert value is None or type(value) is float, (name, value)
    assert q.ts_received == NOW
    assert_edge_passes_only_sane_figures(q)


EDGE = QualityRules(band=(0.5, 2.0), max_age=120.0, pegs=dict.fromkeys(PEGGED, 1.0))


def assert_edge_passes_only_sane_figures(q: Quote) -> None:
    """Through the collector's quality filter, what passes has a finite in-band price, finite
    non-negative volumes, positive book sides and a finite time no later than receipt; what
    does not pass is dropped with a reason."""
    verdict = QualityFilter(EDGE).check(q, NOW)
    good = verdict.quote
    if good is None:
        assert verdict.dropped
        return
    assert math.isfinite(good.price)
    if good.coin in PEGGED and good.quote_ccy in ("USD", *PEGGED):
        assert 0.5 <= good.price <= 2.0
    for v in (good.volume_base_24h, good.volume_quote_24h):
        assert v is None or (math.isfinite(v) and 0 <= v <= EDGE.max_volume)
    for v in (good.bid, good.ask):
        assert v is None or (math.isfinite(v) and v > 0)
    if good.ts_exchange is not None:
        assert math.isfinite(good.ts_exchange) and good.ts_exchange <= q.ts_received


def requests_for(spec: VenueSpec, keys: Mapping[str, str]) -> list[Request]:
    """The venue's own requests for the seeded markets (per-market venues: one each)."""
    spellings = [spec.symbol(m) for m in keys.values()]
    return spec.requests(spellings)


@pytest.mark.parametrize("venue", list(SEEDS))
@FUZZ
@given(data=st.data())
def test_ticker_parse_raises_only_venue_errors(venue: str, data: st.DataObject) -> None:
    """Any status, headers and body give quotes of the asked-for markets with float figures,
    or a VenueError with a sane wait — never another exception the collector cannot handle."""
    spec, seeds = VENUES[venue], SEEDS[venue]()
    req = data.draw(st.sampled_from(requests_for(spec, seeds.keys)), label="request")
    resp = hostile_response(data, seeds.tickers + seeds.errors)
    try:
        quotes = spec.parse(req, resp, seeds.keys, NOW)
    except VenueError as e:
        assert_classified(e)
        return
    assert isinstance(quotes, list)
    for q in quotes:
        assert_sane_quote(spec, q, seeds.keys)


@pytest.mark.parametrize("venue", list(SEEDS))
@FUZZ
@given(data=st.data())
def test_listing_parse_raises_only_venue_errors(venue: str, data: st.DataObject) -> None:
    """Any listing answer gives a {spelling: key} map of non-empty strings, or a VenueError."""
    spec, seeds = VENUES[venue], SEEDS[venue]()
    resp = hostile_response(data, seeds.listings + seeds.errors)
    try:
        listed = spec.parse_listing(resp)
    except VenueError as e:
        assert_classified(e)
        return
    assert isinstance(listed, dict)
    for spelled, key in listed.items():
        assert isinstance(spelled, str) and spelled
        assert isinstance(key, str) and key


@pytest.mark.parametrize("venue", list(SEEDS))
def test_seeds_parse_as_they_are(venue: str) -> None:
    """Unmutated, every seed ticker yields a quote and every seed listing lists a market, so
    the fuzzing starts from answers the parsers accept rather than from noise."""
    spec, seeds = VENUES[venue], SEEDS[venue]()
    reqs = requests_for(spec, seeds.keys)
    for body in seeds.tickers:
        quotes = [
            q for r in reqs for q in spec.parse(r, Response(200, dumps(body)), seeds.keys, NOW)
        ]
        assert quotes, body
        for q in quotes:
            assert_sane_quote(spec, q, seeds.keys)
    for body in seeds.listings:
        assert spec.parse_listing(Response(200, dumps(body)))


def _sweep(seeds: list[Any]) -> list[tuple[str, Any]]:
    """(what was done, body) for every single change: each HOSTILE value at each path, and
    each non-root item deleted and wrapped in a list."""
    out: list[tuple[str, Any]] = []
    for seed in seeds:
        for path in paths(seed):
            out += [(f"{path} = {describe(v)}", put(seed, path, v)) for v in HOSTILE]
            if path:
                out.append((f"del {path}", drop(seed, path)))
                out.append((f"wrap {path}", put(seed, path, [get(seed, path)])))
    return out


def describe(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else f"{type(v).__name__} ({len(text)} chars)"


@pytest.mark.parametrize("status", [200, 429])
@pytest.mark.parametrize("venue", list(SEEDS))
def test_every_single_hostile_change_is_handled(venue: str, status: int) -> None:
    """Each hostile value put at each path of each seed answer (and each key deleted or
    wrapped) parses or raises VenueError, under the usual statuses: a systematic sweep of
    what the random fuzzing above reaches only by chance."""
    spec, seeds = VENUES[venue], SEEDS[venue]()
    reqs = requests_for(spec, seeds.keys)
    failures: list[str] = []

    def attempt(what: str, run: Callable[[], Any], check: Callable[[Any], None]) -> None:
        try:
            result = run()
        except VenueError as e:
            assert_classified(e)
            return
        except Exception as e:  # the failure being looked for
            failures.append(f"{what}: {type(e).__name__}: {str(e)[:80]}")
            return
        check(result)

    def sane_quotes(quotes: Any) -> None:
        for q in quotes:
            assert_sane_quote(spec, q, seeds.keys)

    def sane_listing(listed: Any) -> None:
        assert all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in listed.items())

    for what, body in _sweep(seeds.tickers + seeds.errors):
        resp = Response(status, dumps(body))
        for req in reqs:
            attempt(f"parse {what}", partial(spec.parse, req, resp, seeds.keys, NOW), sane_quotes)
    for what, body in _sweep(seeds.listings + seeds.errors):
        resp = Response(status, dumps(body))
        attempt(f"listing {what}", partial(spec.parse_listing, resp), sane_listing)
    assert not failures, f"{len(failures)} failures, e.g.:\n" + "\n".join(failures[:10])
