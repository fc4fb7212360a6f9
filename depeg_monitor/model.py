"""The values that flow through the monitor, one direction, as frozen dataclasses.

venues → Quote → aggregate → Snapshot → classify → Assessment → alerts → Alert → notify.
Timestamps are UTC epoch seconds (float): cheap on the hot path, converted at the edges.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from depeg_monitor.frozen import fast_init


class Severity(enum.IntEnum):
    """How far a coin has left its peg; ordered so comparisons mean 'worse than'."""

    NONE = 0
    MINOR = 1
    MAJOR = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


@fast_init
@dataclass(frozen=True, slots=True)
class Quote:
    """One venue's answer for one market, already parsed and unit-normalised."""

    venue: str
    coin: str  # base asset, e.g. "USDC"
    quote_ccy: str  # "USD", "USDT", "USDC", ...
    price: float  # last trade price, in quote_ccy
    bid: float | None
    ask: float | None
    volume_base_24h: float | None  # 24h volume in base-asset units
    volume_quote_24h: float | None  # 24h volume in quote_ccy units, where the venue gives it
    ts_exchange: float | None  # when the venue says the data is from; None if it doesn't say
    ts_received: float  # when we received it
    depth_usd: float | None = None  # an on-chain pool's USD depth (balances, in-range liquidity)

    @property
    def ts(self) -> float:
        """The best timestamp we have for this price: the venue's, but never later than receipt
        (a clock ahead of ours, or a hostile venue, must not make a price look fresh)."""
        t = self.ts_exchange
        return t if t is not None and t < self.ts_received else self.ts_received


@fast_init
@dataclass(frozen=True, slots=True)
class VenuePrice:
    """A venue's USD price for a coin as used by the aggregate."""

    venue: str
    quote_ccy: str
    price_usd: float
    weight: float  # effective weight (volume × venue weight) used in the average


@fast_init
@dataclass(frozen=True, slots=True)
class DroppedQuote:
    """A quote left out of an aggregate, and why (stale, outlier, no_reference, ...)."""

    venue: str
    quote_ccy: str
    reason: str
    price: float | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class OracleMove:
    """The oracle's latest round crossed one of the coin's thresholds from the round before:
    what lending protocols act on. level: the band the new answer is in (NONE: inside minor);
    previous: the band of the answer it replaced."""

    level: Severity
    previous: Severity
    value: float
    updated_at: float  # when the round was written on chain (epoch seconds)


@fast_init
@dataclass(frozen=True, slots=True)
class OracleContext:
    """An oracle's latest answer beside the market: a lagging reference, never a price.

    lag is (market - oracle) / oracle, signed: the market's distance from what lenders see."""

    feed: str  # e.g. "chainlink-usdc-usd"
    coin: str
    quote_ccy: str  # what the answer is in ("USD")
    value: float
    age: float  # seconds from the answer's update to the cycle
    market: float  # the coin's aggregate USD price it is compared with
    lag: float
    moved: OracleMove | None = None  # its latest round crossed a threshold


@fast_init
@dataclass(frozen=True, slots=True)
class SnapshotContext:
    """What surrounds a price: spread, volume, speed, and whether others move too."""

    spread: float | None = None  # (dearest - cheapest) / price
    cheapest_venue: str | None = None
    dearest_venue: str | None = None
    arbitrage_net: float | None = None  # spread minus configured round-trip fees
    volume_usd_24h: float | None = None
    volume_spike: float | None = None  # volume / rolling baseline
    velocity_per_min: float | None = None  # change in deviation per minute (fraction)
    volatility: float | None = None  # rolling std-dev of deviation (fraction)
    correlated: tuple[str, ...] = ()  # other coins deviating beyond minor in the same cycle
    oracles: tuple[OracleContext, ...] = ()  # fresh oracle readings for the coin (context)


@fast_init
@dataclass(frozen=True, slots=True)
class Dislocation:
    """Fresh venues split farther apart than the cluster band: the aggregate follows the cluster
    holding most of the coin's liquidity, and these venues are the rest (never averaged in)."""

    venues: tuple[VenuePrice, ...]  # the venues outside the followed cluster
    price: float  # the most liquid of those clusters' USD price (liquidity-weighted)
    followed_price: float  # the followed cluster's USD price (the aggregate)
    gap: float  # (price - followed_price) / followed_price, signed
    arbitrage_net: float  # abs(gap) minus the configured round-trip fee


@fast_init
@dataclass(frozen=True, slots=True)
class QuoteCoinMove:
    """Every coin quoted in one stablecoin moved by about the same ratio at once, and their
    USD markets did not: the quote coin moved, not them (context for the quote coin's alert)."""

    quote_ccy: str  # e.g. "USDT"
    implied_rate: float  # the quote coin's USD rate the cross-section implies
    coins: tuple[str, ...]  # the coins whose quotes in it moved together


@fast_init
@dataclass(frozen=True, slots=True)
class Snapshot:
    """One coin's aggregate for one cycle. price is None when the quorum was not met.

    used holds the venues the price is made of (the followed cluster when venues disagree);
    a dislocation, when present, holds the others. Every fresh quote is in one of the two or,
    rejected as an outlier within the followed cluster, in dropped.
    """

    coin: str
    ts: float
    peg: float
    price: float | None
    deviation: float | None  # (price - peg) / peg, signed
    used: tuple[VenuePrice, ...]
    dropped: tuple[DroppedQuote, ...]
    context: SnapshotContext = field(default_factory=SnapshotContext)
    dislocation: Dislocation | None = None
    quote_coin_moves: tuple[QuoteCoinMove, ...] = ()  # moves attributed away from this coin

    @property
    def has_price(self) -> bool:
        return self.price is not None


# --- what the classifier found: facts, put into words by alerts/render.py ------------------


@fast_init
@dataclass(frozen=True, slots=True)
class InsufficientData:
    """No price this cycle: fewer fresh venues than the coin needs.

    The quotes left out, and why, are the snapshot's own `dropped`."""

    agreeing: int  # distinct fresh venues, followed or dislocated (what the quorum counts)
    needed: int  # the coin's min_venues


@fast_init
@dataclass(frozen=True, slots=True)
class SideIgnored:
    """The deviation is on a side the coin's settings switch off: it counts as none."""

    side: Literal["premium", "discount"]


@fast_init
@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds in force this cycle: the coin's levels after volatility widening."""

    levels: tuple[float, float, float]  # minor, major, critical (fractions of the peg)
    widened: float  # the factor widening applied to major's threshold (1.0: none)

    def of(self, severity: Severity) -> float:
        """The threshold of MINOR, MAJOR or CRITICAL."""
        return self.levels[severity - 1]


@fast_init
@dataclass(frozen=True, slots=True)
class Pending:
    """The deviation reaches a level above the current one, but has not held it long enough."""

    level: Severity
    held: float  # seconds at or beyond the level so far
    needed: float  # the level's hold time


@fast_init
@dataclass(frozen=True, slots=True)
class Clearing:
    """The deviation is back inside the current level's clear band, not yet for long enough."""

    level: Severity  # the level that is clearing
    band: float  # clear_ratio × the level's threshold (fraction of the peg)
    held: float  # seconds inside the band so far
    needed: float  # clear_hold


@fast_init
@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """The aggregate alone reaches a level that too few venues confirm: it counts only as high
    as the venues do (a lone venue far from the rest is a dislocation, not a depeg)."""

    level: Severity  # the level the aggregate alone reaches
    venues: int  # venues beyond that level, on the aggregate's side
    needed: int  # confirm_venues (or every venue, if fewer)


Fact = InsufficientData | SideIgnored | Thresholds | Pending | Clearing | Unconfirmed
_F = TypeVar("_F", InsufficientData, SideIgnored, Thresholds, Pending, Clearing, Unconfirmed)


@fast_init
@dataclass(frozen=True, slots=True)
class Assessment:
    """The classifier's verdict for one coin at one moment.

    severity is the confirmed level after persistence and hysteresis; raw_severity is what the
    deviation alone says right now. held_for is how long severity has been in force (seconds).
    facts say why, as data (at most one of each kind); alerts/render.py puts them into words.
    """

    coin: str
    ts: float
    severity: Severity
    raw_severity: Severity
    deviation: float | None
    held_for: float
    facts: tuple[Fact, ...]
    snapshot: Snapshot

    def fact(self, kind: type[_F]) -> _F | None:
        """The fact of that kind, if the classifier reported one."""
        return next((f for f in self.facts if isinstance(f, kind)), None)


class AlertKind(enum.Enum):
    """Why a notification goes out (carried into the message and the history)."""

    FIRST = "first"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    DISLOCATION = "dislocation"  # one venue far from the rest: not a depeg, routed like minor
    MONITOR_DEGRADED = "monitor_degraded"
    MONITOR_RECOVERED = "monitor_recovered"
    TEST = "test"


@fast_init
@dataclass(frozen=True, slots=True)
class AlertItem:
    """One coin's part of an alert."""

    coin: str
    severity: Severity
    kind: AlertKind
    assessment: Assessment | None
    # A resolution: the episode's worst deviation (signed) and when the episode began.
    peak_deviation: float | None = None
    since: float | None = None
    # Someone acknowledged the coin's episode: said by the next message heard (see policy).
    acknowledged: Ack | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Alert:
    """A decision to notify: one or more coins (grouped per cycle) and the channels to use."""

    id: str
    ts: float
    severity: Severity
    kind: AlertKind
    items: tuple[AlertItem, ...]
    channels: tuple[str, ...]
    suppressed: str | None = None  # reason if recorded but not sent (silenced, quiet hours)
    note: str = ""  # free text for monitor/test alerts (what degraded, who asked for a test)

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(i.coin for i in self.items)


@fast_init
@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """One coin's part of one recorded alert, as the alert history keeps it: a fact, not state.

    A restart folds these, oldest first, through the alert policy's own transition function
    (alerts.policy.fold), so the store never interprets them.
    """

    coin: str
    ts: float  # the alert's time
    kind: AlertKind  # first, escalated, reminder or resolved
    severity: Severity  # the level the notice named (a resolution: the episode's peak)
    suppressed: str | None  # why it was recorded but not sent (silenced, quiet_hours, ...)
    channels: tuple[str, ...]  # the channels that heard it (none when suppressed)
    deviation: float | None = None  # the coin's deviation the notice named (signed)


@fast_init
@dataclass(frozen=True, slots=True)
class Message:
    """An alert in words: what the alerts table stores and every channel shapes for itself."""

    title: str  # also the email subject; starts with an emoji
    body: str  # plain text, readable as-is in Discord, email and a log


class DeliveryStatus(enum.Enum):
    """Where one alert's delivery to one channel stands (stored as its value)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


@fast_init
@dataclass(frozen=True, slots=True)
class Silence:
    """A person's 'I know, stop telling me' for one coin (or all) over a time window."""

    id: int
    coin: str | None  # None: every coin
    starts_at: float
    ends_at: float
    reason: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, coin: str, now: float) -> bool:
        return self.active(now) and (self.coin is None or self.coin == coin.upper())


@fast_init
@dataclass(frozen=True, slots=True)
class Ack:
    """A person's "I've seen it" for one coin's episode: no reminders up to `severity` (the
    episode's peak when acknowledged) until it escalates past it or resolves."""

    id: int
    coin: str
    since: float  # the episode it acknowledges, by when that episode began
    severity: Severity
    by: str
    reason: str  # may be empty
    at: float  # when it was acknowledged
