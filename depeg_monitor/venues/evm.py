"""Ethereum JSON-RPC and Multicall3 for one on-chain poll: build the request, read the answer.

A poll is one `eth_call` to Multicall3 `aggregate3((address,bool,bytes)[])` carrying every
pool's and feed's sub-calls (allowFailure on each: one broken pool never blanks the others)
plus Multicall3's own getCurrentBlockTimestamp() and getBlockNumber(), so every on-chain
quote of a cycle is from the same block and that block's age is known.

No I/O here. The answer comes in as the same `Response` the REST venues parse, and every
failure is a classified VenueError (../shared/exchange-apis/onchain/README.md §6.4):

- HTTP 429, code -32005, or a rate-limit message: RATE_LIMITED, waiting for Retry-After if
  sent, else RATE_LIMIT_WAIT.
- HTTP 402 / code -33000 (a provider's daily quota): BANNED (nothing works until it resets).
- code 3, or a message saying "revert" (older geth -32000, OpenEthereum -32015): a
  contract-level failure, CLIENT_ERROR — every node gives the same answer, so no retry.
- -32700/-32600/-32601/-32602/-32004/-32006 (bad request, method, params): CLIENT_ERROR.
- other codes (-32603, -32000 "header not found", a pruned node, ...) and 5xx: SERVER_ERROR.
- `"0x"` from an address with no code (wrong address or wrong chain): UNKNOWN_MARKET.

Inside aggregate3 a sub-call's failure is data, not an exception: `returned()` turns one
sub-call's Result into its bytes or the VenueError of that call alone (a revert with its
decoded reason, or empty return data: no code at the target).

ABI work is eth-abi's (encoding Multicall3's dynamic types by hand is error-prone).
Addresses are handled as lower-case hex throughout (no checksum, so no keccak backend).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from depeg_monitor.venues.contract import ErrorKind, Response, VenueError
from depeg_monitor.venues.fields import envelope, text_of
from depeg_monitor.venues.status import load_json, raise_for_status, retry_after

# Multicall3: the same address on 250+ chains (mds1/multicall README.md, deployments.json).
MULTICALL3 = "0xca11bde05977b3631167028862be2a173976ca11"

# Selectors: the first 4 bytes of keccak-256 of each signature (reference.json "selectors";
# tests/venues/test_evm.py checks them against it).
AGGREGATE3 = bytes.fromhex("82ad56cb")  # aggregate3((address,bool,bytes)[])
GET_BLOCK_NUMBER = bytes.fromhex("42cbb15c")  # getBlockNumber()
GET_CURRENT_BLOCK_TIMESTAMP = bytes.fromhex("0f28c97d")  # getCurrentBlockTimestamp()
ERC20_DECIMALS = bytes.fromhex("313ce567")  # decimals()
ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)

# The two Multicall3 calls appended to every poll, after the venues' own calls.
BLOCK_CALLS = 2

# A rate-limited provider that names no wait. Providers limit requests per second (README
# §6.4, §7), so one second would clear the window; public keyless endpoints are shared per
# IP and publish no numbers, so 5 s lets a busy window pass without hammering it and is still
# well inside any sensible poll interval.
RATE_LIMIT_WAIT = 5.0

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_RATE_TEXTS = ("rate limit", "rate exceeded", "too many requests", "limit exceeded", "capacity")
_REVERT_TEXTS = ("revert", "vm execution error", "vm exception")
_CLIENT_CODES = {-32700, -32600, -32601, -32602, -32004, -32006}
_MAX_TIMESTAMP = 1 << 40  # ~36,000 years of seconds: beyond it a "timestamp" is garbage


def address(text: str) -> str:
    """A 20-byte address as lower-case 0x-hex; ValueError for anything else (config time)."""
    if not isinstance(text, str) or not _ADDRESS.fullmatch(text):
        raise ValueError(f"not an address: {str(text)[:50]!r}")
    return text.lower()


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 as configured: the monitor's name for it, its address and its decimals."""

    symbol: str  # the coin as the monitor names it ("USDC")
    address: str  # 0x + 40 hex; stored lower-case
    decimals: int  # from the reference (or the token's decimals(), verified at start-up)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", address(self.address))
        if not 0 <= self.decimals <= 77:  # 10**77 is the largest power of ten in a uint256
            raise ValueError(f"{self.symbol}: decimals {self.decimals} out of range")

    def units(self, amount: float) -> int:
        """`amount` whole tokens in base units (1 USDC = 1_000_000)."""
        return int(Fraction(str(amount)) * 10**self.decimals)


@dataclass(frozen=True, slots=True)
class Call:
    """One sub-call of a poll: the contract and its calldata (selector + arguments)."""

    target: str  # lower-case 0x-hex address
    data: bytes
    allow_failure: bool = True


@dataclass(frozen=True, slots=True)
class Result:
    """One sub-call's outcome: returnData on success, the revert data on failure."""

    success: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class Block:
    """The block a poll read: its number and timestamp (UTC epoch seconds)."""

    number: int
    timestamp: float

    def age(self, now: float) -> float:
        """Seconds since the block was made (negative if this host's clock is behind)."""
        return now - self.timestamp


@dataclass(frozen=True, slots=True)
class Poll:
    """A decoded aggregate3 answer: the block, and each venue sub-call's Result in order."""

    block: Block
    results: tuple[Result, ...]


def call(target: str, selector: bytes, types: Sequence[str] = (), args: Sequence[Any] = ()) -> Call:
    """The Call of `selector(args)` on `target`, arguments ABI-encoded by eth-abi."""
    return Call(address(target), selector + (abi_encode(list(types), list(args)) if types else b""))


def encode_aggregate3(calls: Sequence[Call]) -> bytes:
    """aggregate3's calldata for these calls, in order."""
    rows = [(bytes.fromhex(c.target[2:]), c.allow_failure, c.data) for c in calls]
    return AGGREGATE3 + abi_encode(["(address,bool,bytes)[]"], [rows])


def decode_aggregate3(data: bytes) -> list[Result]:
    """aggregate3's return data as (success, returnData) per call; MALFORMED if it isn't."""
    (rows,) = decode(["(bool,bytes)[]"], data, "aggregate3 answer")
    return [Result(bool(ok), bytes(out)) for ok, out in rows]


def quantity(n: int) -> str:
    """A JSON-RPC hex quantity (no leading zeros)."""
    return hex(n)


def eth_call(
    to: str, data: bytes, block: int | str = "latest", request_id: int = 1
) -> dict[str, Any]:
    """The JSON-RPC body of one eth_call (`data`, the field every client accepts, README §6.1)."""
    tag = quantity(block) if isinstance(block, int) else block
    params = [{"to": address(to), "data": "0x" + data.hex()}, tag]
    return {"jsonrpc": "2.0", "id": request_id, "method": "eth_call", "params": params}


def poll_request(
    calls: Sequence[Call],
    block: int | str = "latest",
    request_id: int = 1,
    multicall: str = MULTICALL3,
) -> dict[str, Any]:
    """The one eth_call of a poll: `calls`, then the block's timestamp and number."""
    stamp = [
        Call(address(multicall), GET_CURRENT_BLOCK_TIMESTAMP, allow_failure=False),
        Call(address(multicall), GET_BLOCK_NUMBER, allow_failure=False),
    ]
    return eth_call(multicall, encode_aggregate3([*calls, *stamp]), block, request_id)


def parse_poll(resp: Response, calls: int, request_id: int | None = None) -> Poll:
    """The answer to poll_request() for `calls` venue calls: their Results and the block."""
    results = decode_aggregate3(result_of(resp, request_id))
    if len(results) != calls + BLOCK_CALLS:
        raise VenueError(
            ErrorKind.MALFORMED,
            f"aggregate3 answered {len(results)} calls of {calls + BLOCK_CALLS}",
        )
    timestamp = uint(results[-2], "block timestamp")
    number = uint(results[-1], "block number")
    if not 0 < timestamp < _MAX_TIMESTAMP:
        raise VenueError(ErrorKind.MALFORMED, f"block timestamp {timestamp} is not a time")
    return Poll(Block(number, float(timestamp)), tuple(results[:calls]))


def split(results: Sequence[Result], sizes: Sequence[int]) -> list[tuple[Result, ...]]:
    """The poll's results cut back into each venue's share (the sizes of their call lists)."""
    if sum(sizes) != len(results):
        raise VenueError(ErrorKind.MALFORMED, f"{len(results)} results for {sum(sizes)} calls")
    out, start = [], 0
    for n in sizes:
        out.append(tuple(results[start : start + n]))
        start += n
    return out


# --- block height and time outside a poll (eth_blockNumber, eth_getBlockByNumber) --------


def block_number_request(request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "eth_blockNumber", "params": []}


def latest_block_request(request_id: int = 1) -> dict[str, Any]:
    params = ["latest", False]
    return {"jsonrpc": "2.0", "id": request_id, "method": "eth_getBlockByNumber", "params": params}


def parse_block_number(resp: Response, request_id: int | None = None) -> int:
    return hex_quantity(_result(resp, request_id), "block number")


def parse_block(resp: Response, request_id: int | None = None) -> Block:
    """eth_getBlockByNumber's block object as (number, timestamp); null (no such block) is
    a server error: the node is behind the block asked for."""
    obj = _result(resp, request_id)
    if obj is None:
        raise VenueError(ErrorKind.SERVER_ERROR, "no such block")
    block = envelope(obj)
    timestamp = hex_quantity(block.get("timestamp"), "block timestamp")
    if not 0 < timestamp < _MAX_TIMESTAMP:
        raise VenueError(ErrorKind.MALFORMED, f"block timestamp {timestamp} is not a time")
    return Block(hex_quantity(block.get("number"), "block number"), float(timestamp))


# --- the JSON-RPC envelope ---------------------------------------------------------------


def result_of(resp: Response, request_id: int | None = None) -> bytes:
    """An eth_call's return data; `"0x"` (an address without code) is UNKNOWN_MARKET."""
    data = hex_bytes(_result(resp, request_id), "result")
    if not data:
        raise VenueError(ErrorKind.UNKNOWN_MARKET, 'no contract at the address ("0x")')
    return data


def _result(resp: Response, request_id: int | None) -> Any:
    """The `result` member of a single JSON-RPC answer, any error classified first."""
    payload = load_json(resp, RATE_LIMIT_WAIT)
    env = envelope(payload)
    if env.get("error") is not None:
        err = classify(resp, env["error"])
        if resp.status == 429 and err.kind is not ErrorKind.RATE_LIMITED:
            err = _rate_limited(resp, err.detail)
        raise err
    raise_for_status(resp, wait=RATE_LIMIT_WAIT)
    if isinstance(payload, list):
        raise VenueError(ErrorKind.MALFORMED, "a batch answer to a single call")
    if not env:
        raise VenueError(ErrorKind.MALFORMED, "answer is not a JSON-RPC object")
    if request_id is not None and env.get("id") != request_id:
        raise VenueError(ErrorKind.MALFORMED, f"answer id {text_of(env.get('id'))!r} mismatched")
    if "result" not in env:
        raise VenueError(ErrorKind.MALFORMED, "neither result nor error")
    return env["result"]


def classify(resp: Response, error: Any) -> VenueError:
    """The VenueError of a JSON-RPC error object (README §6.4)."""
    err = envelope(error)
    code = err.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = _printable(text_of(err.get("message")))
    low = message.lower()
    detail = f"{code} {message}".strip() if code is not None else message or "unreadable error"
    if code in (-32005, 429) or (any(t in low for t in _RATE_TEXTS) and "gas" not in low):
        return _rate_limited(resp, detail)
    if code == -33000 or resp.status == 402:
        return VenueError(ErrorKind.BANNED, f"{detail} (provider quota; resets at 00:00 UTC)")
    if code in (3, -32015) or any(t in low for t in _REVERT_TEXTS):
        data = err.get("data")
        reason = revert_reason(hex_bytes(data, "revert data")) if isinstance(data, str) else ""
        return VenueError(ErrorKind.CLIENT_ERROR, f"{detail}" + (f" ({reason})" if reason else ""))
    if code in _CLIENT_CODES:
        return VenueError(ErrorKind.CLIENT_ERROR, detail)
    if "timeout" in low or "timed out" in low:
        return VenueError(ErrorKind.TIMEOUT, detail)
    if code is None and not message:
        return VenueError(ErrorKind.MALFORMED, "unreadable error object")
    return VenueError(ErrorKind.SERVER_ERROR, detail)


def _rate_limited(resp: Response, detail: str) -> VenueError:
    wait = retry_after(resp)
    return VenueError(ErrorKind.RATE_LIMITED, detail, wait if wait is not None else RATE_LIMIT_WAIT)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


# --- reading values ----------------------------------------------------------------------


def hex_bytes(value: Any, what: str) -> bytes:
    """A 0x-prefixed hex string as bytes; MALFORMED otherwise."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not hex") from None


def hex_quantity(value: Any, what: str) -> int:
    """A JSON-RPC hex quantity ("0x16e3600") as an int; MALFORMED otherwise."""
    if not isinstance(value, str) or not value.startswith("0x") or not 2 < len(value) <= 66:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not a hex quantity")
    try:
        return int(value[2:], 16)
    except ValueError:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not a hex quantity") from None


def decode(types: Sequence[str], data: bytes, what: str) -> tuple[Any, ...]:
    """eth-abi's decoding of `data`; any failure of hostile bytes is MALFORMED."""
    try:
        return tuple(abi_decode(list(types), data))
    except Exception as e:  # eth-abi raises its own DecodingError family, and more on garbage
        raise VenueError(
            ErrorKind.MALFORMED, f"{what} does not decode ({type(e).__name__})"
        ) from None


def revert_reason(data: bytes) -> str:
    """A revert's data in words: Error(string)'s text, Panic's code, or a custom error's id."""
    if not data:
        return ""
    if data[:4] == ERROR_STRING:
        try:
            (text,) = abi_decode(["string"], data[4:])
        except Exception:  # a garbled reason is still a revert
            return "undecodable reason"
        return _printable(str(text)[:120])
    if data[:4] == PANIC and len(data) >= 36:
        return f"panic 0x{int.from_bytes(data[4:36], 'big'):x}"[:40]
    return f"error 0x{data[:4].hex()}"


def returned(result: Result, what: str) -> bytes:
    """One sub-call's return data, or the VenueError of that call: a revert (its reason) or
    no data at all (no contract at the target: the wrong address, or the wrong chain)."""
    if not result.success:
        reason = revert_reason(result.data)
        return _fail(ErrorKind.CLIENT_ERROR, f"{what} reverted" + (f": {reason}" if reason else ""))
    if not result.data:
        return _fail(ErrorKind.UNKNOWN_MARKET, f"{what}: no contract at the address (empty answer)")
    return result.data


def _fail(kind: ErrorKind, detail: str) -> bytes:
    raise VenueError(kind, detail)


def values(result: Result, types: Sequence[str], what: str) -> tuple[Any, ...]:
    """One sub-call's return values, decoded."""
    return decode(types, returned(result, what), what)


def uint(result: Result, what: str) -> int:
    """One sub-call's single uint256."""
    (n,) = values(result, ["uint256"], what)
    return int(n)


def ratio(num: int, den: int, what: str) -> float:
    """num/den as a finite, positive float; MALFORMED otherwise (zero, overflow, ...)."""
    if num <= 0 or den <= 0:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is not positive")
    try:
        value = float(Fraction(num, den))
    except OverflowError:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is out of range") from None
    if not math.isfinite(value) or value <= 0:
        raise VenueError(ErrorKind.MALFORMED, f"{what} is out of range")
    return value


def check_count(results: Sequence[Result], expected: int, what: str) -> None:
    """A venue's share of a poll must be exactly its calls' results."""
    if len(results) != expected:
        raise VenueError(
            ErrorKind.MALFORMED, f"{what}: {len(results)} results for {expected} calls"
        )


def decimals_call(token: Token) -> Call:
    """The token's ERC-20 decimals(), to verify the configured figure at start-up."""
    return Call(token.address, ERC20_DECIMALS)


def check_decimals(token: Token, result: Result, where: str) -> None:
    """The token's decimals() must match the configured decimals (kcolbchain's DAI ÷ 1e12)."""
    got = uint(result, f"{where}: {token.symbol} decimals()")
    if got != token.decimals:
        raise VenueError(
            ErrorKind.UNKNOWN_MARKET,
            f"{where}: {token.symbol} has {got} decimals on chain, configured {token.decimals}",
        )
