"""Chainlink price feeds: the calls of a poll and their answer as an OracleReading. No I/O; the
calls go into one Multicall3 poll (evm.py).

An oracle is a lagging reference, not a market (README §5.3): it updates only when the price
moves past the feed's deviation threshold or its heartbeat elapses, so it is context for an
alert ("Chainlink USDC/USD 0.9990, updated 3 h ago; market 0.9612") and not a Quote for the
aggregate. A reading is stale when the poll's block is more than heartbeat + HEARTBEAT_SLACK
after the feed's updatedAt (the docs allow "a slight delay for the latest round to get
onchain").

Reads `latestRoundData()` and `decimals()` each poll; a feed whose decimals() differ from the
configured decimals is refused (the wrong address), not rescaled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from depeg_monitor.venues import evm
from depeg_monitor.venues.contract import ErrorKind, VenueError
from depeg_monitor.venues.evm import Block, Call, Result

# Selectors (reference.json "selectors" → "chainlink"; tests check them against it).
LATEST_ROUND_DATA = bytes.fromhex("feaf968c")  # latestRoundData()
DECIMALS = bytes.fromhex("313ce567")  # decimals()

ROUND_TYPES = ("uint80", "int256", "uint256", "uint256", "uint80")
# A new round's transaction lands some blocks after its heartbeat is due; 10 min is ~50
# blocks of slack (lst-peg-monitor allows 2 h on a 24 h heartbeat, README §5.2).
HEARTBEAT_SLACK = 600.0


@dataclass(frozen=True, slots=True)
class Feed:
    """A Chainlink feed as configuration data (values from reference.json "chainlink_feeds").

    name: how the reading is named ("chainlink-usdc-usd"); chain: the [chains.X] it is read
    on; address: the feed's proxy (never the aggregator behind it, which changes); coin /
    quote_ccy: what the answer prices ("USDC" in "USD"); decimals: the answer's scale (8 for
    the USD feeds); heartbeat: seconds between forced updates; threshold_pct: the deviation
    that forces an update, in percent (context for "the oracle would have to move").
    """

    name: str
    chain: str
    address: str
    coin: str
    heartbeat: float
    threshold_pct: float
    quote_ccy: str = "USD"
    decimals: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", evm.address(self.address))
        if not self.heartbeat > 0 or not self.threshold_pct > 0:
            raise ValueError(f"{self.name}: heartbeat and threshold_pct must be positive")
        if not 0 <= self.decimals <= 77:
            raise ValueError(f"{self.name}: decimals {self.decimals} out of range")


@dataclass(frozen=True, slots=True)
class OracleReading:
    """A feed's latest answer as read at one block: a reference value, not a market price."""

    feed: str
    coin: str
    quote_ccy: str
    value: float  # the answer, scaled by the feed's decimals
    round_id: int
    updated_at: float  # when the answer was written on chain (UTC epoch seconds)
    block_number: int
    block_timestamp: float
    heartbeat: float
    threshold_pct: float
    ts_received: float
    # The answer of the round before this one, as the reader saw it (None until it has seen
    # a new round): what an update moved from.
    previous: float | None = None

    @property
    def age(self) -> float:
        """Seconds from the answer's update to the block it was read at."""
        return self.block_timestamp - self.updated_at

    @property
    def stale(self) -> bool:
        """Older than the heartbeat (plus slack) allows: the feed has stopped updating."""
        return self.age > self.heartbeat + HEARTBEAT_SLACK

    def lag(self, price: float) -> float:
        """How far a market price is from the oracle, as a fraction of the oracle's value."""
        return (price - self.value) / self.value


def calls(feed: Feed) -> list[Call]:
    """A poll's calls: latestRoundData(), decimals()."""
    return [Call(feed.address, LATEST_ROUND_DATA), Call(feed.address, DECIMALS)]


def parse(feed: Feed, results: Sequence[Result], block: Block, received: float) -> OracleReading:
    """The answers to calls(feed) as an OracleReading; VenueError (for this feed only) if a
    call failed, the decimals differ from the config, or the round is not a usable price
    (answer ≤ 0, never updated, updated after the block read)."""
    evm.check_count(results, 2, feed.name)
    round_id, answer, _started, updated_at, _answered = evm.values(
        results[0], ROUND_TYPES, f"{feed.name} latestRoundData"
    )
    (decimals,) = evm.values(results[1], ["uint8"], f"{feed.name} decimals")
    if decimals != feed.decimals:
        raise VenueError(
            ErrorKind.UNKNOWN_MARKET,
            f"{feed.name}: {decimals} decimals on chain, configured {feed.decimals}",
        )
    if updated_at == 0:
        raise VenueError(ErrorKind.MALFORMED, f"{feed.name}: round {round_id} never updated")
    if updated_at > block.timestamp:
        raise VenueError(ErrorKind.MALFORMED, f"{feed.name}: updated after the block read")
    value = evm.ratio(answer, 10**decimals, f"{feed.name} answer")
    return OracleReading(
        feed=feed.name,
        coin=feed.coin,
        quote_ccy=feed.quote_ccy,
        value=value,
        round_id=int(round_id),
        updated_at=float(updated_at),
        block_number=block.number,
        block_timestamp=block.timestamp,
        heartbeat=feed.heartbeat,
        threshold_pct=feed.threshold_pct,
        ts_received=received,
    )
