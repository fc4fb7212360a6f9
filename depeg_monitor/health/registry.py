"""The health board: each part of the monitor reports through its own typed handle.

Every long-lived part gets one `Component` handle for its one line on the board (Home
Assistant's update coordinator: one `last_update_success` per poller) and reports only through
it: a venue's collector, the aggregator, the database writer, the outbox, each channel. What
/health and the health history show is read from here by `health/evaluate.py`, which
dispatches on the component's kind, never on a name prefix.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from depeg_monitor.mask import mask_personal


class Kind(enum.Enum):
    """What a component is; evaluate.py judges each kind by its own rule."""

    VENUE = "venue"
    AGGREGATOR = "aggregator"
    DATABASE = "db"
    OUTBOX = "outbox"
    CHANNEL = "notifier"
    TASK = "task"
    STREAM = "stream"
    ORACLE = "oracle"  # a Chainlink feed: context for alerts, never a venue


@dataclass(frozen=True, slots=True)
class OnChain:
    """Where an on-chain venue or feed last read: its chain and block (None: no block read
    yet), and for a feed its answer and when that was written on chain."""

    chain: str
    block: int | None = None
    block_ts: float | None = None  # the block's timestamp (epoch seconds)
    value: float | None = None  # a feed's answer
    updated_at: float | None = None  # a feed's updatedAt (epoch seconds)
    market: str | None = None  # a feed's pair, "USDC/USD"


@dataclass(frozen=True, slots=True)
class VenueDetail:
    quotes: int = 0  # usable quotes in the last poll
    set_aside: tuple[str, ...] = ()  # configured markets not polled now (unlisted, refused)
    onchain: OnChain | None = None  # a pool: its chain and last block


@dataclass(frozen=True, slots=True)
class StoreDetail:
    dropped: int = 0  # history rows lost to a full buffer since start
    lasting: bool = False  # the failure will not cure itself (wrong password, no database)


@dataclass(frozen=True, slots=True)
class OutboxDetail:
    waiting: int = 0  # alert-history writes waiting for the database


@dataclass(frozen=True, slots=True)
class ChannelDetail:
    pending: int = 0  # deliveries this channel has not taken yet
    oldest: float | None = None  # when the oldest of them was recorded (epoch seconds)


@dataclass(frozen=True, slots=True)
class StreamDetail:
    connections: int = 0
    connected: int = 0
    confirmed: int = 0  # subscriptions the venue acknowledged
    subscribed: int = 0  # subscriptions asked for
    last_frame: float | None = None  # epoch seconds of the last frame received
    reconnects_hour: int = 0
    fallback: bool = True  # the venue's REST polls at its normal interval
    silent: tuple[str, ...] = ()  # markets with no update since subscribing (too long)
    refused: tuple[str, ...] = ()  # markets the venue refused to stream


Detail = VenueDetail | StoreDetail | OutboxDetail | ChannelDetail | StreamDetail | OnChain | None


@dataclass(slots=True)
class ComponentState:
    kind: Kind
    name: str  # the venue or channel ("" for the singletons)
    last_ok: float | None = None
    last_error: float | None = None
    error: str | None = None  # last error text, free of secrets and personal data
    note: str | None = None  # works, but not fully (figures ignored, markets set aside): warn
    consecutive_failures: int = 0
    detail: Detail = None

    @property
    def key(self) -> str:
        """The component's name in /health: 'venue:binance', 'db', 'notifier:sms', …"""
        if self.kind is Kind.OUTBOX:
            return "notifier:outbox"
        if self.kind is Kind.TASK:
            return self.name  # 'retention', 'writer', …: the task's own name
        return f"{self.kind.value}:{self.name}" if self.name else self.kind.value

    @property
    def failing(self) -> bool:
        return self.error is not None and (
            self.last_ok is None or (self.last_error or 0) >= self.last_ok
        )


class Component:
    """One part's handle on the board: the only way that part reports."""

    __slots__ = ("state",)

    def __init__(self, state: ComponentState) -> None:
        self.state = state

    def ok(self, now: float, note: str | None = None, detail: Detail = None) -> None:
        """It did its job; `note` says what it had to leave out (shown as warn)."""
        st = self.state
        st.last_ok = now
        st.error = None
        st.note = None if note is None else mask_personal(note)
        st.consecutive_failures = 0
        if detail is not None:
            st.detail = detail

    def describe(self, detail: Detail) -> None:
        """New figures (what waits, say) without a verdict on how the part is doing."""
        self.state.detail = detail

    def error(self, now: float, error: str, detail: Detail = None) -> None:
        st = self.state
        st.last_error = now
        # The one way into /health and the health history: no phone number or address passes.
        st.error = mask_personal(error)
        st.consecutive_failures += 1
        if detail is not None:
            st.detail = detail


@dataclass
class HealthRegistry:
    """A plain in-memory board of components, in the order they were made known."""

    _states: dict[tuple[Kind, str], ComponentState] = field(default_factory=dict)

    def component(self, kind: Kind, name: str = "") -> Component:
        """The handle for (kind, name); known from now on, so /health can say 'never'."""
        st = self._states.get((kind, name))
        if st is None:
            st = self._states[(kind, name)] = ComponentState(kind, name)
        return Component(st)

    def get(self, kind: Kind, name: str = "") -> ComponentState | None:
        return self._states.get((kind, name))

    def all(self) -> list[ComponentState]:
        return list(self._states.values())
