"""One venue's collector rules: compiled from [venues.X] (and the coins' pegs) at the root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StreamRules:
    """A venue's stream, where it has one and it is on."""

    url: str  # the WebSocket endpoint
    poll_interval: float = 30.0  # REST polls while the stream is healthy
    silent_after: float = 120.0  # a subscribed market silent this long is reported
    connect_timeout: float = 10.0  # to open the socket (and to read a token, KuCoin)
    ack_timeout: float = 10.0  # subscriptions unconfirmed this long: the connection is reopened
    max_backoff: float = 60.0  # longest wait between reconnects after failures
    reconcile_band: float = 0.005  # a streamed price this far from a fresh REST one is reported


@dataclass(frozen=True, slots=True)
class CollectorRules:
    venue: str
    base_url: str  # everything before the documented path
    markets: tuple[str, ...]  # BASE/QUOTE
    pegs: Mapping[str, float]  # coin → USD peg: the expected price of a pair (quality band)
    poll_interval: float = 10.0
    timeout: float = 5.0  # seconds for one request, the whole body included
    max_age: float = 120.0  # older answers are stale
    price_band: tuple[float, float] = (0.5, 2.0)  # allowed price / expected price
    max_clock_skew: float = 5.0  # a timestamp later than receipt + this is from the future
    listing_interval: float = 3600.0  # seconds between listing checks
    max_body: int | None = None  # None: the venue's own cap
    breaker_threshold: int = 5  # failed polls in a row before the venue is backed off …
    breaker_max_backoff: float = 300.0  # … for at most this long
    # Retry a network error (DNS, refused) within the poll; a one-shot command does not.
    retry_network: bool = True
    # market → the venue's spelling where it is not the venue's own rule (CoinGecko's coin ids)
    symbol_overrides: Mapping[str, str] = field(default_factory=dict)
    stream: StreamRules | None = None  # None: polling only
