"""Ethereum JSON-RPC over the simulated chain: the methods a price reader needs, as geth answers.

Pure apart from the Chain's caches: `answer(chain, body, t, fault)` takes the request body and
scenario time and gives the JSON to send (HTTP 200). Shapes follow
../shared/exchange-apis/onchain/ (README §6 and its samples): hex quantities without leading
zeros, `id` echoed as sent, batches answered item by item (an empty batch gets one -32600),
reverts as code 3 (or -32000 under a `revert` fault with mode "legacy").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError

from depeg_monitor.simulate.chain.contracts import CHAIN_ID, NODE
from depeg_monitor.simulate.chain.evm import ERROR_SELECTOR, Chain
from depeg_monitor.simulate.scenario import Fault, Scenario

# Error objects verbatim from the shared samples (their sources in the onchain README).
INFURA_RATE_LIMIT = {"code": -32005, "message": "project ID request rate exceeded"}
LIMIT_EXCEEDED = {"code": -32005, "message": "Limit exceeded"}  # EIP-1474's -32005, in a 200
INVALID_PARAMS = {
    "code": -32602,
    "message": "invalid argument 0: json: cannot unmarshal hex string without 0x prefix "
    "into Go value of type common.Hash",
}
INVALID_REQUEST = {"code": -32600, "message": "Invalid Request"}
PARSE_ERROR = {"code": -32700, "message": "parse error"}

# Illustrative header fields of every block (those of the eth_getBlockByNumber sample).
BLOCK_FIELDS = {
    "baseFeePerGas": "0x1298be00",
    "gasLimit": "0x2aea540",
    "gasUsed": "0x145b58e",
    "miner": "0x" + "95" * 20,
}
FAKE_CODE = "0x6080604052348015600f57600080fd5b50"  # what eth_getCode shows for a contract

_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]*)")
_DATA = re.compile(r"0x([0-9a-fA-F]{2})*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TAGS = frozenset({"latest", "pending", "safe", "finalized"})


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


def quantity(n: int) -> str:
    return hex(n)


def node_fault(scenario: Scenario, t: float) -> Fault | None:
    """The node's fault that changes how it answers at t (down, rate_limit, invalid_params);
    a stale head is the Chain's business."""
    for f in scenario.faults:
        if f.venue == NODE and f.kind != "stale" and f.active(t):
            return f
    return None


def request_id(body: bytes) -> Any:
    """The id of a single request (None for a batch or an unreadable body)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("id") if isinstance(parsed, dict) else None


def answer(chain: Chain, body: bytes, t: float, fault: Fault | None = None) -> Any:
    """The JSON answer to one POST body at scenario time t."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return error(None, PARSE_ERROR)
    if isinstance(parsed, list):
        if not parsed:
            return {"jsonrpc": "2.0", "error": INVALID_REQUEST, "id": None}
        return [_one(chain, item, t, fault) for item in parsed]
    return _one(chain, parsed, t, fault)


def error(id_: Any, err: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "error": err}


def _one(chain: Chain, item: Any, t: float, fault: Fault | None) -> dict[str, Any]:
    if not isinstance(item, dict):
        return error(None, INVALID_REQUEST)
    id_, method, params = item.get("id"), item.get("method"), item.get("params", [])
    if item.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return error(id_, INVALID_REQUEST)
    if fault is not None and fault.kind == "invalid_params":
        return error(id_, INVALID_PARAMS)
    if fault is not None and fault.kind == "rate_limit":  # mode "in_body"
        return error(id_, LIMIT_EXCEEDED)
    fn = METHODS.get(method)
    if fn is None:
        return error(
            id_, {"code": -32601, "message": f"the method {method} does not exist/is not available"}
        )
    if not isinstance(params, list):
        return error(id_, {"code": -32602, "message": "non-array args"})
    try:
        return {"jsonrpc": "2.0", "id": id_, "result": fn(chain, params, t)}
    except RpcError as e:
        return error(id_, e.error)


# -- methods -----------------------------------------------------------------------------------


def _block_number(chain: Chain, params: list[Any], t: float) -> Any:
    return quantity(chain.number(chain.head(t)))


def _chain_id(chain: Chain, params: list[Any], t: float) -> Any:
    return quantity(CHAIN_ID)


def _net_version(chain: Chain, params: list[Any], t: float) -> Any:
    return str(CHAIN_ID)


def _get_block(chain: Chain, params: list[Any], t: float) -> Any:
    if len(params) != 2 or not isinstance(params[1], bool):
        raise RpcError(-32602, f"missing value for required argument {len(params)}")
    index = _block(chain, params[0], t, 0)
    if index is None:
        return None
    n = chain.number(index)
    txs = [] if params[1] else [_hash(f"tx:{n}:{k}") for k in range(2)]
    return {
        "number": quantity(n),
        "hash": _hash(f"block:{n}"),
        "parentHash": _hash(f"block:{n - 1}"),
        "timestamp": quantity(chain.timestamp(index)),
        **BLOCK_FIELDS,
        "transactions": txs,
    }


def _get_code(chain: Chain, params: list[Any], t: float) -> Any:
    if not params:
        raise RpcError(-32602, "missing value for required argument 0")
    address = _address(params[0], 0)
    index = _block(chain, params[1] if len(params) > 1 else "latest", t, 1)
    if index is None:
        raise RpcError(-32000, "header not found")
    return FAKE_CODE if chain.has_code(address, index) else "0x"


def _call(chain: Chain, params: list[Any], t: float) -> Any:
    if not params or not isinstance(params[0], dict):
        raise RpcError(-32602, "missing value for required argument 0")
    tx = params[0]
    if "to" not in tx:
        raise RpcError(-32602, "invalid argument 0: missing 'to'")
    to = _address(tx["to"], 0)
    data, inp = tx.get("data"), tx.get("input")
    if data is not None and inp is not None and data != inp:
        raise RpcError(
            -32602,
            'both "data" and "input" are set and not equal. Please use "input" to pass '
            "transaction call data",
        )
    calldata = _bytes(inp if inp is not None else data if data is not None else "0x")
    index = _block(chain, params[1] if len(params) > 1 else "latest", t, 1)
    if index is None:
        raise RpcError(-32000, "header not found")
    out = chain.call(to, calldata, index)
    if out.ok:
        return "0x" + out.data.hex()
    if out.legacy:
        raise RpcError(-32000, "execution reverted")  # geth before 2025-03
    message = "execution reverted"
    if out.data[:4] == ERROR_SELECTOR:
        try:
            (reason,) = decode(["string"], out.data[4:])
            message += f": {reason}"
        except DecodingError:
            pass
    raise RpcError(3, message, "0x" + out.data.hex() if out.data else None)


METHODS: dict[str, Callable[[Chain, list[Any], float], Any]] = {
    "eth_blockNumber": _block_number,
    "eth_chainId": _chain_id,
    "net_version": _net_version,
    "eth_getBlockByNumber": _get_block,
    "eth_getCode": _get_code,
    "eth_call": _call,
}


# -- arguments ---------------------------------------------------------------------------------


def _block(chain: Chain, tag: Any, t: float, position: int) -> int | None:
    """A block tag or number as a block index; None for a block the node does not have."""
    head = chain.head(t)
    if tag in _TAGS:
        return head
    if tag == "earliest":
        return 0
    if not isinstance(tag, str) or not _QUANTITY.fullmatch(tag):
        raise RpcError(-32602, f"invalid argument {position}: hex string without 0x prefix")
    index = int(tag, 16) - chain.number(0)
    return index if 0 <= index <= head else None


def _address(x: Any, position: int) -> str:
    if not isinstance(x, str) or not _ADDRESS.fullmatch(x):
        raise RpcError(
            -32602,
            f"invalid argument {position}: json: cannot unmarshal hex string without 0x prefix "
            "into Go struct field TransactionArgs.to of type common.Address",
        )
    return x.lower()


def _bytes(x: Any) -> bytes:
    if not isinstance(x, str) or not _DATA.fullmatch(x):
        raise RpcError(
            -32602,
            "invalid argument 0: json: cannot unmarshal hex string without 0x prefix into Go "
            "struct field TransactionArgs.data of type hexutil.Bytes",
        )
    return bytes.fromhex(x[2:])


def _hash(seed: str) -> str:
    return "0x" + hashlib.sha256(seed.encode()).hexdigest()
