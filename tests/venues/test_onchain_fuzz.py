"""Hostile on-chain answers: whatever a node or a contract sends, the on-chain parsers raise only
VenueError or return sane values (finite, positive prices; finite, non-negative depth).

Fuzzed: the JSON-RPC envelope (any JSON, any text, any status, hostile Retry-After), the
aggregate3 answer (the shared sample's bytes flipped, cut short, extended), and every venue
parser's sub-call results (success flags, empty data, words at the integer edges, random
bytes, too few or too many results). The runs are derandomized, so CI sees the same examples
every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depeg_monitor.model import Quote
from depeg_monitor.venues import chainlink, curve, evm, uniswap_v3
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.evm import Block, Result

from .onchain import (
    BLOCK,
    NOW,
    ONCHAIN,
    aggregate3_answer,
    crvusd_usdc,
    skip_without_onchain,
    three_pool,
    usdc_feed,
    usdc_usdt_v3,
    usde_usdc,
    usde_usdt_v3,
)

skip_without_onchain()  # the pools and the seeds come from the shared samples

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EDGES = [0, 1, 2, 8, 18, 10**6, 10**18, 2**96, 2**128 - 1, 2**159, 2**160, 2**255, 2**256 - 1]
uint256 = st.one_of(st.sampled_from(EDGES), st.integers(0, 2**256 - 1))
word_bytes = uint256.map(lambda n: n.to_bytes(32, "big"))
data = st.one_of(
    st.just(b""),
    st.lists(word_bytes, min_size=1, max_size=8).map(b"".join),
    st.binary(max_size=300),
)
results_of = st.builds(Result, st.booleans() | st.just(True), data)
blocks = st.builds(
    Block, st.integers(0, 2**64), st.floats(1.0, 2e9, allow_nan=False, allow_infinity=False)
)


def _results(n: int) -> st.SearchStrategy[list[Result]]:
    """Mostly n results (the venue's call count), sometimes one too few or too many."""
    return st.one_of(
        st.lists(results_of, min_size=n, max_size=n),
        st.lists(results_of, min_size=max(0, n - 1), max_size=n + 1),
    )


def _sane_quote(q: Quote) -> None:
    assert math.isfinite(q.price) and q.price > 0
    for side in (q.bid, q.ask):
        assert side is None or (math.isfinite(side) and side > 0)
    assert q.depth_usd is None or (math.isfinite(q.depth_usd) and q.depth_usd >= 0)


def _only_venue_errors(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except VenueError as e:
        error = e
    assert isinstance(error.kind, ErrorKind)
    return None


POOLS: list[Any] = [three_pool(("USDC/USDT", "DAI/USDC")), usde_usdc(), crvusd_usdc()]
V3_POOLS = [usdc_usdt_v3(), usdc_usdt_v3("USDT/USDC", trade_size=1000.0), usde_usdt_v3()]


@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p.name)
@FUZZ
@given(st.data())
def test_curve_parse(pool: curve.Pool, draw: st.DataObject) -> None:
    results = draw.draw(_results(len(curve.calls(pool))))
    quotes = _only_venue_errors(lambda: curve.parse(pool, results, draw.draw(blocks), NOW))
    for q in quotes or []:
        _sane_quote(q)


@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p.name)
@FUZZ
@given(st.data())
def test_curve_verify_and_oracle(pool: curve.Pool, draw: st.DataObject) -> None:
    results = draw.draw(_results(len(curve.verify_calls(pool))))
    _only_venue_errors(lambda: curve.verify(pool, results))
    if pool.price_oracle is not None:
        market = pool.markets[0]
        price = _only_venue_errors(lambda: curve.oracle_price(pool, market, draw.draw(results_of)))
        assert price is None or (math.isfinite(price) and price > 0)


@pytest.mark.parametrize("pool", V3_POOLS, ids=lambda p: f"{p.name}-{p.market}")
@FUZZ
@given(st.data())
def test_uniswap_v3_parse(pool: uniswap_v3.Pool, draw: st.DataObject) -> None:
    results = draw.draw(_results(len(uniswap_v3.calls(pool))))
    quotes = _only_venue_errors(lambda: uniswap_v3.parse(pool, results, draw.draw(blocks), NOW))
    for q in quotes or []:
        _sane_quote(q)


@FUZZ
@given(st.data())
def test_uniswap_v3_slot0_words(draw: st.DataObject) -> None:
    """slot0 built from edge words in every field (a real-shaped answer with hostile values)."""
    slot0 = Result(True, b"".join(draw.draw(st.lists(word_bytes, min_size=7, max_size=7))))
    liquidity = Result(True, draw.draw(word_bytes))
    quotes = _only_venue_errors(
        lambda: uniswap_v3.parse(usde_usdt_v3(), [slot0, liquidity], BLOCK, NOW)
    )
    for q in quotes or []:
        _sane_quote(q)


@pytest.mark.parametrize("pool", V3_POOLS[:1], ids=lambda p: p.name)
@FUZZ
@given(st.data())
def test_uniswap_v3_verify(pool: uniswap_v3.Pool, draw: st.DataObject) -> None:
    results = draw.draw(_results(len(uniswap_v3.verify_calls(pool))))
    _only_venue_errors(lambda: uniswap_v3.verify(pool, results))


@FUZZ
@given(st.data())
def test_chainlink_parse(draw: st.DataObject) -> None:
    results = draw.draw(_results(2))
    reading = _only_venue_errors(
        lambda: chainlink.parse(usdc_feed(), results, draw.draw(blocks), NOW)
    )
    if reading is not None:
        assert math.isfinite(reading.value) and reading.value > 0
        assert reading.age >= 0 and isinstance(reading.stale, bool)


# --- the envelope and the aggregate3 answer ----------------------------------------------------

SAMPLE = json.loads((ONCHAIN / "multicall3_aggregate3_response.json").read_text())["result"]
# The sample's three venue results (get_dy, slot0, latestRoundData) with the block calls'.
_VENUES = evm.decode_aggregate3(evm.hex_bytes(SAMPLE, "sample"))[:3]
_STAMP = [Result(True, w.to_bytes(32, "big")) for w in (1_768_003_200, 24_000_000)]
SEED = json.loads(aggregate3_answer([*_VENUES, *_STAMP]).text)["result"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["0x", "0x00", SAMPLE, SAMPLE[:-2], "0x" + "ff" * 64]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
error_objects = st.fixed_dictionaries(
    {},
    optional={
        "code": st.sampled_from([3, -32000, -32005, -32015, -32602, -33000, 429])
        | st.integers()
        | json_values,
        "message": st.sampled_from(["execution reverted", "Limit exceeded", "x" * 500])
        | json_values,
        "data": st.sampled_from(["0x08c379a0", "0x4e487b71" + "00" * 31, "0xzz"]) | json_values,
    },
)


def _mutated(hexdata: str, draw: st.DataObject) -> str:
    raw = bytearray(bytes.fromhex(hexdata[2:]))
    for _ in range(draw.draw(st.integers(0, 4))):
        i = draw.draw(st.integers(0, len(raw) - 1))
        raw[i] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(raw) + 64))
    tail = draw.draw(st.binary(max_size=64))
    return "0x" + (bytes(raw[:cut]) + tail).hex()


envelopes = st.one_of(
    st.builds(lambda r: {"jsonrpc": "2.0", "id": 1, "result": r}, json_values),
    st.builds(lambda e: {"jsonrpc": "2.0", "id": 1, "error": e}, error_objects | json_values),
    json_values,
)
statuses = st.sampled_from([200, 200, 400, 402, 404, 429, 500, 502, 503])
headers = st.dictionaries(
    st.sampled_from(["Retry-After", "retry-after", "Content-Type"]),
    st.sampled_from(["1", "-5", "nan", "inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", ""]),
    max_size=2,
)


def _check_poll(resp: Response, calls: int) -> None:
    try:
        poll = evm.parse_poll(resp, calls, request_id=1)
    except VenueError as e:
        error = e
    else:
        assert len(poll.results) == calls and 0 < poll.block.timestamp < 2**40
        return
    if error.kind is ErrorKind.RATE_LIMITED:
        wait = error.retry_after
        assert wait is not None and math.isfinite(wait) and wait >= 0


def test_the_seed_parses() -> None:
    poll = evm.parse_poll(Response(200, json.dumps({"id": 1, "result": SEED})), 3, 1)
    assert poll.block == BLOCK and poll.results == tuple(_VENUES)


@FUZZ
@given(st.data())
def test_poll_answers_mutated(draw: st.DataObject) -> None:
    """The shared sample's venue results in a poll answer, bytes flipped, cut short or
    extended."""
    body = {"jsonrpc": "2.0", "id": 1, "result": _mutated(SEED, draw)}
    _check_poll(Response(draw.draw(statuses), json.dumps(body), draw.draw(headers)), 3)


@FUZZ
@given(envelopes, statuses, headers)
def test_poll_envelopes(body: Any, status: int, hdrs: dict[str, str]) -> None:
    _check_poll(Response(status, json.dumps(body), hdrs), 3)


@FUZZ
@given(st.text(max_size=200) | st.sampled_from(["", "[" * 10_000, '{"result": 1e999}']), statuses)
def test_poll_text(text: str, status: int) -> None:
    _check_poll(Response(status, text), 3)


@FUZZ
@given(envelopes, statuses)
def test_block_answers(body: Any, status: int) -> None:
    resp = Response(status, json.dumps(body))
    _only_venue_errors(lambda: evm.parse_block(resp))
    _only_venue_errors(lambda: evm.parse_block_number(resp))


@FUZZ
@given(st.lists(results_of, max_size=6), st.lists(st.integers(0, 4), max_size=4))
def test_split_and_returned(results: Sequence[Result], sizes: list[int]) -> None:
    _only_venue_errors(lambda: evm.split(results, sizes))
    for r in results:
        _only_venue_errors(lambda r=r: evm.uint(r, "x"))  # type: ignore[misc]
