"""Ethereum JSON-RPC and Multicall3: the one eth_call of a poll, its answer, and its errors,
against the shared on-chain samples (../shared/exchange-apis/onchain)."""

from __future__ import annotations

import json

import pytest
from eth_abi.abi import encode

from depeg_monitor.venues import chainlink, curve, evm, uniswap_v3
from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.evm import Call, Result

from ..payloads import SHARED, skip_without_shared
from .onchain import (
    BLOCK,
    NOW,
    REVERT,
    aggregate3_answer,
    reference,
    response,
    result,
    sample,
    three_pool,
    usdc_feed,
    usdc_usdt_v3,
    word,
)

SELECTORS = [
    ("multicall3", "aggregate3((address,bool,bytes)[])", evm.AGGREGATE3),
    ("multicall3", "getBlockNumber()", evm.GET_BLOCK_NUMBER),
    ("multicall3", "getCurrentBlockTimestamp()", evm.GET_CURRENT_BLOCK_TIMESTAMP),
    ("erc20", "decimals()", evm.ERC20_DECIMALS),
    ("revert_payloads", "Error(string)", evm.ERROR_STRING),
    ("revert_payloads", "Panic(uint256)", evm.PANIC),
    ("curve", "get_dy(int128,int128,uint256)", curve.GET_DY),
    ("curve", "coins(uint256)", curve.COINS["uint256"]),
    ("curve", "coins(int128)", curve.COINS["int128"]),
    ("curve", "balances(uint256)", curve.BALANCES["uint256"]),
    ("curve", "balances(int128)", curve.BALANCES["int128"]),
    ("curve", "price_oracle()", curve.PRICE_ORACLE["price_oracle()"]),
    ("curve", "price_oracle(uint256)", curve.PRICE_ORACLE["price_oracle(uint256)"]),
    ("uniswap_v3", "slot0()", uniswap_v3.SLOT0),
    ("uniswap_v3", "liquidity()", uniswap_v3.LIQUIDITY),
    ("uniswap_v3", "token0()", uniswap_v3.TOKEN0),
    ("uniswap_v3", "token1()", uniswap_v3.TOKEN1),
    ("uniswap_v3", "fee()", uniswap_v3.FEE),
    ("uniswap_v3", "getPool(address,address,uint24)", uniswap_v3.GET_POOL),
    (
        "uniswap_v3",
        "quoteExactInputSingle((address,address,uint256,uint24,uint160))",
        uniswap_v3.QUOTE_EXACT_INPUT_SINGLE,
    ),
    ("chainlink", "latestRoundData()", chainlink.LATEST_ROUND_DATA),
    ("chainlink", "decimals()", chainlink.DECIMALS),
]


@pytest.mark.parametrize(("group", "signature", "selector"), SELECTORS)
def test_selectors_are_the_references(group: str, signature: str, selector: bytes) -> None:
    """Every selector in code is reference.json's keccak of the signature its comment names."""
    assert "0x" + selector.hex() == reference()["selectors"][group][signature]


def test_addresses_are_the_references() -> None:
    ref = reference()
    assert ref["multicall3"]["address"] == evm.MULTICALL3
    assert ref["uniswap_v3"]["factory"]["address"] == uniswap_v3.FACTORY
    assert ref["uniswap_v3"]["quoter_v2"]["address"] == uniswap_v3.QUOTER_V2


def _sample_calls() -> list[Call]:
    """The five calls of multicall3_aggregate3_request.json, built by the venue modules."""
    pool, v3, feed = three_pool(trade_size=1.0), usdc_usdt_v3(), usdc_feed()
    return [
        curve.calls(pool)[0],  # get_dy(1, 2, 1e6)
        uniswap_v3.calls(v3)[0],  # slot0()
        chainlink.calls(feed)[0],  # latestRoundData()
        curve.verify_calls(pool)[3],  # coins(3): reverts
        Call(evm.MULTICALL3, evm.GET_CURRENT_BLOCK_TIMESTAMP, allow_failure=False),
    ]


def test_aggregate3_request_is_byte_identical_to_the_sample() -> None:
    body = evm.eth_call(evm.MULTICALL3, evm.encode_aggregate3(_sample_calls()), 0x16E3600)
    assert body == sample("multicall3_aggregate3_request.json")


def test_aggregate3_answer_decodes_per_call() -> None:
    """README §6.5: [(True, 999800), (True, slot0), (True, latestRoundData), (False, b""),
    (True, 1768003200)]."""
    got = evm.decode_aggregate3(evm.result_of(response("multicall3_aggregate3_response.json")))
    assert [(r.success, len(r.data)) for r in got] == [
        (True, 32),
        (True, 224),
        (True, 160),
        (False, 0),
        (True, 32),
    ]
    assert evm.uint(got[0], "get_dy") == 999_800
    assert evm.uint(got[4], "timestamp") == 1_768_003_200


def test_the_sample_round_prices_every_venue_but_the_reverted_one() -> None:
    """One eth_call: the reverted coins(3) fails alone; 3pool, Uniswap and Chainlink read."""
    got = evm.decode_aggregate3(evm.result_of(response("multicall3_aggregate3_response.json")))
    assert evm.uint(got[0], "get_dy") / 1e6 == 0.9998
    (q,) = uniswap_v3.parse(usdc_usdt_v3(), [got[1], word(10**15)], BLOCK, NOW)
    assert q.price == pytest.approx(0.9998, abs=1e-6)
    reading = chainlink.parse(usdc_feed(), [got[2], word(8)], BLOCK, NOW)
    assert reading.age == 1_768_003_200 - 1_767_985_183 == 18_017
    with pytest.raises(VenueError) as e:
        evm.returned(got[3], "coins(3)")
    assert e.value.kind is ErrorKind.CLIENT_ERROR and not e.value.kind.retryable


def test_poll_carries_every_call_and_the_block() -> None:
    """poll_request: the venues' calls, then getCurrentBlockTimestamp and getBlockNumber, all
    in one eth_call to Multicall3; parse_poll gives back the block and the venues' results."""
    pool = three_pool()
    calls = curve.calls(pool)
    body = evm.poll_request(calls, block="latest", request_id=7)
    assert body["method"] == "eth_call" and body["params"][1] == "latest"
    assert body["params"][0]["to"] == evm.MULTICALL3
    data = evm.hex_bytes(body["params"][0]["data"], "data")
    assert data[:4] == evm.AGGREGATE3
    (rows,) = evm.decode(["(address,bool,bytes)[]"], data[4:], "request")
    assert [(t, ok, bytes(d)) for t, ok, d in rows[:-2]] == [
        (c.target, True, c.data) for c in calls
    ]
    assert [(t, ok, bytes(d)) for t, ok, d in rows[-2:]] == [
        (evm.MULTICALL3, False, evm.GET_CURRENT_BLOCK_TIMESTAMP),
        (evm.MULTICALL3, False, evm.GET_BLOCK_NUMBER),
    ]
    answers = [word(999_800), word(1_000_100), word(1), word(2), word(3)]
    poll = evm.parse_poll(
        aggregate3_answer([*answers, word(1_768_003_200), word(24_000_000)], 7), len(calls), 7
    )
    assert poll.block == BLOCK and poll.results == tuple(answers)
    assert poll.block.age(NOW) == 3.0


def test_a_failed_sub_call_leaves_the_other_venues_intact() -> None:
    """Three venues in one poll; Uniswap's slot0 reverts: Curve and Chainlink still read, and
    only the Uniswap parse raises (for that pool alone, not retryable)."""
    pool, v3, feed = three_pool(), usdc_usdt_v3(), usdc_feed()
    groups = [curve.calls(pool), uniswap_v3.calls(v3), chainlink.calls(feed)]
    answers = [
        [word(999_800), word(1_000_100), word(60 * 10**24), word(61 * 10**12), word(88 * 10**12)],
        [Result(False, bytes.fromhex("08c379a0") + encode(["string"], ["LOK"])), word(10**15)],
        [result("chainlink_latest_round_data_response.json"), word(8)],
    ]
    flat = [r for g in answers for r in g]
    poll = evm.parse_poll(
        aggregate3_answer([*flat, word(1_768_003_200), word(24_000_000)]),
        sum(map(len, groups)),
    )
    mine, theirs, feeds = evm.split(poll.results, [len(g) for g in groups])
    (q,) = curve.parse(pool, mine, poll.block, NOW)
    assert q.bid == 0.9998 and q.depth_usd == pytest.approx(209e6)
    assert chainlink.parse(feed, feeds, poll.block, NOW).value == 0.99985
    with pytest.raises(VenueError) as e:
        uniswap_v3.parse(v3, theirs, poll.block, NOW)
    assert e.value.kind is ErrorKind.CLIENT_ERROR and "LOK" in str(e.value)


def test_poll_of_the_wrong_size_is_malformed() -> None:
    with pytest.raises(VenueError) as e:
        evm.parse_poll(aggregate3_answer([word(1), word(1_768_003_200), word(1)]), 2)
    assert e.value.kind is ErrorKind.MALFORMED


def test_a_garbage_block_timestamp_is_malformed() -> None:
    with pytest.raises(VenueError) as e:
        evm.parse_poll(aggregate3_answer([word(2**255), word(1)]), 0)
    assert e.value.kind is ErrorKind.MALFORMED


def test_a_stale_block_shows_its_age() -> None:
    """The block's time is in the poll itself: a node stuck an hour behind shows 3600 s."""
    poll = evm.parse_poll(aggregate3_answer([word(1_768_003_200), word(24_000_000)]), 0)
    assert poll.block.age(BLOCK.timestamp + 3600) == 3600


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("error_rate_limit_infura_http429.json", 429, ErrorKind.RATE_LIMITED),
        ("error_rate_limit_infura_http429.json", 200, ErrorKind.RATE_LIMITED),
        ("error_execution_reverted_reason.json", 200, ErrorKind.CLIENT_ERROR),
        ("error_execution_reverted_no_data_legacy.json", 200, ErrorKind.CLIENT_ERROR),
        ("error_invalid_params.json", 200, ErrorKind.CLIENT_ERROR),
        ("error_invalid_params.json", 400, ErrorKind.CLIENT_ERROR),
        ("error_batch_empty_invalid_request.json", 200, ErrorKind.CLIENT_ERROR),
    ],
)
def test_error_samples_are_classified(name: str, status: int, kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as e:
        evm.result_of(response(name, status))
    assert e.value.kind is kind


def test_rate_limit_waits() -> None:
    """429 / -32005: Retry-After when sent, else RATE_LIMIT_WAIT."""
    with pytest.raises(VenueError) as e:
        evm.result_of(response("error_rate_limit_infura_http429.json", 429))
    assert e.value.retry_after == evm.RATE_LIMIT_WAIT and "-32005" in str(e.value)
    with pytest.raises(VenueError) as e:
        evm.result_of(response("error_rate_limit_infura_http429.json", 429, {"retry-after": "7"}))
    assert e.value.retry_after == 7.0
    with pytest.raises(VenueError) as e:
        evm.result_of(Response(429, "<html>Too Many Requests</html>"))
    assert e.value.kind is ErrorKind.RATE_LIMITED and e.value.retry_after == evm.RATE_LIMIT_WAIT


def test_revert_reason_is_decoded() -> None:
    with pytest.raises(VenueError) as e:
        evm.result_of(response("error_execution_reverted_reason.json"))
    assert "user error" in str(e.value) and not e.value.kind.retryable


def _error(code: object, message: str, status: int = 200) -> Response:
    body = {"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}}
    return Response(status, json.dumps(body))


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        (-32000, "header not found", 200, ErrorKind.SERVER_ERROR),
        (-32000, "missing trie node abc (path )", 200, ErrorKind.SERVER_ERROR),
        (-32603, "internal error", 500, ErrorKind.SERVER_ERROR),
        (-32015, "VM execution error.", 200, ErrorKind.CLIENT_ERROR),
        (-32000, "VM Exception while processing transaction: revert", 200, ErrorKind.CLIENT_ERROR),
        (-32601, "Method not found", 200, ErrorKind.CLIENT_ERROR),
        (-33000, "Payment Required", 402, ErrorKind.BANNED),
        (-32005, "Limit exceeded", 200, ErrorKind.RATE_LIMITED),
        (429, "Too many requests", 200, ErrorKind.RATE_LIMITED),
        (-32000, "request timed out", 200, ErrorKind.TIMEOUT),
        (-32000, "gas required exceeds allowance (50000000)", 200, ErrorKind.SERVER_ERROR),
        ("x", "", 200, ErrorKind.MALFORMED),
    ],
)
def test_error_codes_of_the_table(code: object, message: str, status: int, kind: ErrorKind) -> None:
    """README §6.4's table, and the geth/Ganache/OpenEthereum revert spellings."""
    with pytest.raises(VenueError) as e:
        evm.result_of(_error(code, message, status))
    assert e.value.kind is kind


def test_gateway_down_is_a_server_error() -> None:
    with pytest.raises(VenueError) as e:
        evm.result_of(Response(503, "<html>Service Unavailable</html>"))
    assert e.value.kind is ErrorKind.SERVER_ERROR and e.value.kind.retryable


def test_an_address_without_code_answers_0x() -> None:
    """eth_call to an address with no code succeeds with "0x": not zero, an unknown market
    (wrong address or wrong chain); inside aggregate3 it is an empty success."""
    with pytest.raises(VenueError) as e:
        evm.result_of(Response(200, (evm_shared("eth_call_response_docs_example.json"))))
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET and not e.value.kind.retryable
    with pytest.raises(VenueError) as e:
        evm.returned(Result(True, b""), "slot0")
    assert e.value.kind is ErrorKind.UNKNOWN_MARKET


def evm_shared(name: str) -> str:
    """A sample from the exchange-apis folder itself (the older generic eth_call example)."""
    skip_without_shared()
    return (SHARED / name).read_text()


@pytest.mark.parametrize(
    "body",
    [
        '{"jsonrpc": "2.0", "id": 1, "result": "f4178"}',
        '{"jsonrpc": "2.0", "id": 1, "result": "0xabc"}',
        '{"jsonrpc": "2.0", "id": 1, "result": 12}',
        '{"jsonrpc": "2.0", "id": 1}',
        '{"jsonrpc": "2.0", "id": 2, "result": "0x00"}',
        '[{"jsonrpc": "2.0", "id": 1, "result": "0x00"}]',
        "not json",
        "[]",
    ],
)
def test_garbage_answers_are_malformed(body: str) -> None:
    with pytest.raises(VenueError) as e:
        evm.result_of(Response(200, body), request_id=1)
    assert e.value.kind is ErrorKind.MALFORMED


def test_sub_call_reverts_name_their_reason() -> None:
    error = Result(False, evm.ERROR_STRING + encode(["string"], ["index out of range"]))
    panic = Result(False, evm.PANIC + encode(["uint256"], [0x32]))
    custom = Result(False, bytes.fromhex("deadbeef"))
    assert "index out of range" in _detail(error)
    assert "panic 0x32" in _detail(panic)
    assert "0xdeadbeef" in _detail(custom)
    assert "reverted" in _detail(REVERT)


def _detail(r: Result) -> str:
    with pytest.raises(VenueError) as e:
        evm.returned(r, "call")
    assert e.value.kind is ErrorKind.CLIENT_ERROR
    return str(e.value)


# --- block height and time ---------------------------------------------------------------------


def test_block_number_and_block_samples() -> None:
    assert evm.block_number_request() == sample("eth_blockNumber_request.json")
    assert evm.parse_block_number(response("eth_blockNumber_response.json"), 1) == 24_000_000
    assert evm.latest_block_request() == sample("eth_getBlockByNumber_request.json")
    assert evm.parse_block(response("eth_getBlockByNumber_response.json")) == BLOCK


def test_no_such_block_is_a_server_error() -> None:
    with pytest.raises(VenueError) as e:
        evm.parse_block(Response(200, '{"jsonrpc": "2.0", "id": 1, "result": null}'))
    assert e.value.kind is ErrorKind.SERVER_ERROR


def test_addresses_are_checked_and_lowered() -> None:
    assert evm.address("0xA0b86991c6218b36c1d19d4a2e9eB0cE3606eB48") == (
        "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
    )
    for bad in ("0x123", "a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "0x" + "g" * 40):
        with pytest.raises(ValueError, match="not an address"):
            evm.address(bad)
