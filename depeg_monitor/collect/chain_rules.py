"""One chain source's rules, compiled from [chains.X] with its [pools.*] and [oracles.*].

Apart from collect/chain.py so that compiling rules never imports the ABI library (eth-abi,
~10 MiB of the daemon's memory): a daemon with no chain configured does not load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from depeg_monitor.venues.chainlink import Feed
    from depeg_monitor.venues.curve import Pool as CurvePool
    from depeg_monitor.venues.uniswap_v3 import Pool as UniswapPool

PoolVenue: TypeAlias = "CurvePool | UniswapPool"


@dataclass(frozen=True, slots=True)
class ChainRules:
    """One chain's source, compiled from [chains.X] with its [pools.*] and [oracles.*]."""

    chain: str
    rpc_url: str = field(repr=False)  # a secret: never logged, never in an error
    pools: tuple[PoolVenue, ...]
    feeds: tuple[Feed, ...] = ()
    pegs: dict[str, float] = field(default_factory=dict)  # coin → USD peg (quality band)
    timeout: float = 10.0
    requests_per_second: float = 5.0
    poll_interval: float = 12.0
    max_block_age: float = 60.0
    price_band: tuple[float, float] = (0.5, 2.0)
    max_clock_skew: float = 5.0
    breaker_threshold: int = 5
    breaker_max_backoff: float = 300.0
    max_body: int = 1 << 20
    retry_network: bool = True
