"""Chainlink: latestRoundData + decimals → an OracleReading with its age and heartbeat
staleness; against the shared samples and README §5's worked numbers."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode

from depeg_monitor.venues import chainlink, evm
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.evm import Block, Result

from .onchain import BLOCK, NOW, REVERT, reference, result, sample, usdc_feed, word

UPDATED = 1_767_985_183


def _round(answer: int, updated_at: int = UPDATED, round_id: int = (8 << 64) | 1234) -> Result:
    types = list(chainlink.ROUND_TYPES)
    return Result(True, encode(types, [round_id, answer, updated_at, updated_at, round_id]))


def test_requests_are_the_samples() -> None:
    latest, decimals = chainlink.calls(usdc_feed())
    assert evm.eth_call(latest.target, latest.data) == sample(
        "chainlink_latest_round_data_request.json"
    )
    assert evm.eth_call(decimals.target, decimals.data) == sample("chainlink_decimals_request.json")


def test_sample_reading() -> None:
    """answer 99985000 / 1e8 = 0.99985; updated 18017 s (5 h 17 s) before the block."""
    results = [
        result("chainlink_latest_round_data_response.json"),
        result("chainlink_decimals_response.json"),
    ]
    r = chainlink.parse(usdc_feed(), results, BLOCK, NOW)
    assert (r.feed, r.coin, r.quote_ccy, r.value) == ("chainlink-usdc-usd", "USDC", "USD", 0.99985)
    assert r.round_id >> 64 == 8 and r.round_id & (2**64 - 1) == 1234  # phase 8, round 1234
    assert (r.updated_at, r.age, r.block_number) == (UPDATED, 18_017, BLOCK.number)
    assert r.heartbeat == reference()["chainlink_feeds"]["USDC/USD"]["heartbeat"] == 82_800
    assert not r.stale
    assert r.lag(0.9612) == pytest.approx(-0.0386, abs=1e-4)  # "oracle lags 3.8 %"


def test_stale_past_the_heartbeat() -> None:
    feed = usdc_feed()
    within = Block(BLOCK.number, UPDATED + feed.heartbeat + chainlink.HEARTBEAT_SLACK)
    past = Block(BLOCK.number, within.timestamp + 1)
    assert not chainlink.parse(feed, [_round(99_985_000), word(8)], within, NOW).stale
    assert chainlink.parse(feed, [_round(99_985_000), word(8)], past, NOW).stale


@pytest.mark.parametrize(
    ("results", "kind"),
    [
        ([_round(99_985_000), word(18)], ErrorKind.UNKNOWN_MARKET),  # not the configured feed
        ([_round(0), word(8)], ErrorKind.MALFORMED),
        ([_round(-1), word(8)], ErrorKind.MALFORMED),  # answer is signed
        ([_round(99_985_000, updated_at=0), word(8)], ErrorKind.MALFORMED),
        ([_round(99_985_000, updated_at=int(BLOCK.timestamp) + 1), word(8)], ErrorKind.MALFORMED),
        ([REVERT, word(8)], ErrorKind.CLIENT_ERROR),
        ([Result(True, b""), word(8)], ErrorKind.UNKNOWN_MARKET),
        ([Result(True, b"\xff" * 64), word(8)], ErrorKind.MALFORMED),
    ],
)
def test_bad_rounds_raise(results: list[Result], kind: ErrorKind) -> None:
    with pytest.raises(VenueError) as e:
        chainlink.parse(usdc_feed(), results, BLOCK, NOW)
    assert e.value.kind is kind


def test_feed_config_is_checked() -> None:
    feed = usdc_feed()
    with pytest.raises(ValueError, match="heartbeat"):
        chainlink.Feed("x", "ethereum", feed.address, "USDC", 0, 0.25)
