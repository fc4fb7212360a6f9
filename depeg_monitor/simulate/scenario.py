"""The scenario file: what the simulated market shows, over scenario time (see scenarios/README).

A scenario is parsed once into frozen pydantic models; a bad file raises ScenarioError that
names every problem by its dotted path, the way ConfigError does for the configuration.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from depeg_monitor.simulate.chain.contracts import CHAIN_VENUES, CONTRACT_VENUES, NODE
from depeg_monitor.simulate.defaults import (
    DEFAULT_MARKETS,
    RECONNECT_NOTICE_VENUES,
    STREAM_VENUES,
    VENUE_NAMES,
)


class ScenarioError(Exception):
    """The scenario cannot be used; .problems holds (dotted path, reason) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {reason}" for path, reason in problems)
        super().__init__(f"invalid scenario {source}:\n{lines}")


Lag = Annotated[float, Field(ge=0)]  # scenario seconds a market trails the paths


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Frozen):
    """One piece of a price path, following the previous one in time.

    calm: back at `level` (default the peg) and stays; hold: stays where it is;
    move: straight line to `to`; recover: straight line back to the peg.
    """

    kind: Literal["calm", "hold", "move", "recover"]
    duration: float = Field(ge=0)
    to: float | None = Field(None, gt=0)
    level: float | None = Field(None, gt=0)
    noise: float | None = Field(None, ge=0, lt=0.5)

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Segment:
        if self.kind == "move" and self.to is None:
            raise ValueError("a move segment needs `to` (the level it moves to)")
        if self.kind != "move" and self.to is not None:
            raise ValueError(f"`to` belongs to move segments, not {self.kind}")
        if self.kind != "calm" and self.level is not None:
            raise ValueError(f"`level` belongs to calm segments, not {self.kind}")
        return self


class PathSpec(_Frozen):
    """A USD price path; on a venue override, unset fields fall back to the coin's own."""

    noise: float | None = Field(None, ge=0, lt=0.5)  # ± fraction, changes every scenario second
    offset: float | None = None  # constant USD added to the level (a venue's basis)
    lag: float | None = Field(None, ge=0)  # scenario seconds this venue trails the path
    segments: tuple[Segment, ...] | None = None


class CoinSpec(PathSpec):
    peg: float = Field(1.0, gt=0)
    venues: dict[str, PathSpec] = Field(default_factory=dict)


class VenueSpec(_Frozen):
    enabled: bool = True
    markets: tuple[str, ...] | None = None  # None: the markets of config.example.toml
    volume: float = Field(5_000_000.0, ge=0)  # 24h base volume of each market
    volumes: dict[str, float] = Field(default_factory=dict)  # per market, overrides volume
    spread: float = Field(0.0002, ge=0, lt=0.5)  # (ask - bid) / price
    lag: float = Field(0.0, ge=0)  # scenario seconds behind every path (aggregators)
    # Per market, scenario seconds it trails the paths at this venue (overrides the scenario's
    # own `lags` for that market).
    lags: dict[str, Lag] = Field(default_factory=dict)
    # Pools only: USD of each coin in the pool at the peg (default: the pool's own in
    # chain/contracts.py); balances and Uniswap liquidity scale with it.
    depth: float | None = Field(None, gt=0)

    @field_validator("markets")
    @classmethod
    def _markets_are_pairs(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if v is None else tuple(_pair(m) for m in v)

    @field_validator("volumes", "lags")
    @classmethod
    def _keys_are_pairs(cls, v: dict[str, float]) -> dict[str, float]:
        return {_pair(m): x for m, x in v.items()}


FaultKind = Literal[
    "down",
    "rate_limit",
    "garbage",
    "wild_print",
    "stale",
    "poison",
    "delisted",
    "stream_drop",
    "stream_mute_pings",
    "stream_silent",
    "stream_malformed",
    "stream_reconnect",
    "invalid_params",
    "revert",
    "no_code",
]
# Faults of a venue's WebSocket only: its REST endpoints answer as usual meanwhile.
STREAM_FAULTS = frozenset(
    {"stream_drop", "stream_mute_pings", "stream_silent", "stream_malformed", "stream_reconnect"}
)
# What each on-chain venue can suffer: the node, and a contract (a pool or the Chainlink feeds).
NODE_FAULTS = frozenset({"down", "rate_limit", "stale", "invalid_params"})
CONTRACT_FAULTS = frozenset({"revert", "no_code"})
# Poisons that spoil fields of the venue's real answer, and those that replace the whole body.
FIELD_POISONS = ("nan_volume", "negative_volume", "future_timestamp", "zero_price", "huge_number")
BODY_POISONS = ("deep_nesting", "gzip_bomb", "endless_body")
_MODES: dict[str, tuple[str, ...]] = {
    "down": ("drop", "http500", "hang"),
    "garbage": ("malformed", "missing_fields", "html"),
    "poison": FIELD_POISONS + BODY_POISONS,
    "rate_limit": ("", "in_body"),
    "wild_print": ("",),
    "stale": ("",),
    "delisted": ("",),
    "stream_drop": ("abort", "close"),
    "stream_mute_pings": ("",),
    "stream_silent": ("",),
    "stream_malformed": ("truncated", "binary", "oversized"),
    "stream_reconnect": ("",),
    "invalid_params": ("",),
    "revert": ("", "legacy"),
    "no_code": ("",),
}


class Fault(_Frozen):
    """Something going wrong at one venue between `start` and `end` (scenario seconds)."""

    venue: str
    kind: FaultKind
    start: float = Field(ge=0)
    end: float
    mode: str = ""  # down: drop|http500|hang; garbage: malformed|…; poison: nan_volume|…
    # wild_print, poison, stream_silent, stream_malformed: which markets (default all of the
    # venue's); delisted: required
    markets: tuple[str, ...] = ()
    price: float | None = Field(None, gt=0)  # wild_print: the printed price, in quote currency
    ban_after: int = Field(3, ge=1)  # rate_limit at binance: 429s before the 418 ban
    # rate_limit: the wait sent instead of the rest of the window (seconds; any float, even
    # 1e12 or inf), or the header text as it is ("NaN", "-5", "soon") — for clamping tests.
    retry_after: float | None = None
    retry_after_text: str | None = None
    age: float = Field(30.0, gt=0)  # stale: how old (scenario seconds) the served data is

    @field_validator("markets")
    @classmethod
    def _markets_are_pairs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_pair(m) for m in v)

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("mode"):
            defaults = {
                "down": "drop",
                "garbage": "malformed",
                "stream_drop": "abort",
                "stream_malformed": "truncated",
            }
            data = {**data, "mode": defaults.get(str(data.get("kind")), "")}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Fault:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.mode not in _MODES[self.kind]:
            raise ValueError(
                f"mode {self.mode!r} is not one of {_MODES[self.kind]} for {self.kind}"
            )
        if self.kind == "wild_print" and self.price is None:
            raise ValueError("a wild_print needs `price` (in the market's quote currency)")
        if self.kind == "delisted" and not self.markets:
            raise ValueError("a delisted fault needs `markets` (the markets taken off)")
        if self.kind in STREAM_FAULTS and self.venue in VENUE_NAMES:
            if self.venue not in STREAM_VENUES:
                raise ValueError(f"{self.venue} has no stream for a {self.kind} fault")
            if self.kind == "stream_reconnect" and self.venue not in RECONNECT_NOTICE_VENUES:
                raise ValueError(
                    f"{self.venue} sends no request to reconnect (those that do: "
                    f"{', '.join(RECONNECT_NOTICE_VENUES)})"
                )
        self._fits_the_venue()
        overrides = (self.retry_after is not None, self.retry_after_text is not None)
        if any(overrides) and self.kind != "rate_limit":
            raise ValueError("`retry_after` / `retry_after_text` belong to rate_limit faults")
        if all(overrides):
            raise ValueError("give `retry_after` or `retry_after_text`, not both")
        return self

    def _fits_the_venue(self) -> None:
        """On-chain faults only where they can happen: the node's at "ethereum", a revert or
        no_code at a contract venue; an exchange's faults at an exchange."""
        if self.venue == NODE:
            allowed = NODE_FAULTS
        elif self.venue in CONTRACT_VENUES:
            allowed = CONTRACT_FAULTS
        else:
            allowed = frozenset(_MODES) - (CONTRACT_FAULTS | {"invalid_params"})
        known = self.venue in CHAIN_VENUES or self.venue in VENUE_NAMES
        if known and self.kind not in allowed:
            raise ValueError(
                f"{self.venue} cannot have a {self.kind} fault "
                f"(its kinds: {', '.join(sorted(allowed))})"
            )
        if self.mode == "in_body" and self.venue != NODE:
            raise ValueError("rate_limit mode in_body is the JSON-RPC node's (ethereum)")
        if self.markets and self.venue in CHAIN_VENUES:
            raise ValueError("`markets` belong to an exchange's faults")

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def covers(self, market: str) -> bool:
        """Whether this fault touches `market` (no `markets`: every market of the venue)."""
        return not self.markets or market in self.markets


class VolumeSpike(_Frozen):
    """Multiply the trading rate by `factor` between start and end (scenario seconds): the
    24 h volumes served climb while it lasts (see PriceModel.volume_at)."""

    start: float = Field(ge=0)
    end: float
    factor: float = Field(gt=0)
    venue: str | None = None  # None: every venue
    coin: str | None = None  # None: every coin

    @field_validator("coin")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v


class ScenarioInfo(_Frozen):
    name: str = "unnamed"
    description: str = ""
    duration: float = Field(gt=0)  # scenario seconds
    time_scale: float = Field(1.0, gt=0)  # scenario seconds per wall-clock second
    seed: int = 0
    noise: float = Field(0.0002, ge=0, lt=0.5)  # default ± noise of every path
    onchain: bool = False  # the demo watches the simulated pools and feeds too


class Scenario(_Frozen):
    scenario: ScenarioInfo
    coins: dict[str, CoinSpec] = Field(default_factory=dict)
    venues: dict[str, VenueSpec] = Field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    volume_spikes: tuple[VolumeSpike, ...] = ()
    # Per market, scenario seconds it trails the paths at every venue listing it: e.g.
    # {"USDT/USD" = 4}, the USD markets of USDT one 4 s poll behind the USDT-quoted pairs.
    lags: dict[str, Lag] = Field(default_factory=dict)

    @field_validator("lags")
    @classmethod
    def _lag_keys_are_pairs(cls, v: dict[str, float]) -> dict[str, float]:
        return {_pair(m): x for m, x in v.items()}

    @field_validator("coins", mode="before")
    @classmethod
    def _coins_upper(cls, v: object) -> object:
        return {str(k).upper(): c for k, c in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _names_are_known(self) -> Scenario:
        known = (*VENUE_NAMES, *CHAIN_VENUES)
        problems = [f"unknown venue {v!r}" for v in self.venues if v not in known]
        problems += [
            f"coin {c}: unknown venue {v!r}"
            for c, spec in self.coins.items()
            for v in spec.venues
            if v not in known
        ]
        problems += [
            f"fault {f.kind} at {f.start:g}s: unknown venue {f.venue!r}"
            for f in self.faults
            if f.venue not in known
        ]
        for f in self.faults:
            if f.venue in VENUE_NAMES:
                listed = set(self.markets(f.venue))
                problems += [
                    f"fault {f.kind} at {f.start:g}s: {f.venue} does not list {m}"
                    for m in f.markets
                    if m not in listed
                ]
        if problems:
            raise ValueError("; ".join(problems) + f" (venues: {', '.join(known)})")
        return self

    @property
    def time_scale(self) -> float:
        return self.scenario.time_scale

    @property
    def duration(self) -> float:
        return self.scenario.duration

    def venue(self, name: str) -> VenueSpec:
        return self.venues.get(name) or VenueSpec()

    def enabled_venues(self) -> tuple[str, ...]:
        """Venues served: every known venue unless the scenario disables it."""
        return tuple(v for v in VENUE_NAMES if self.venue(v).enabled)

    @property
    def plays_onchain(self) -> bool:
        """Whether the scenario is about on-chain venues (`onchain = true`, or a pool, the
        feeds or the node given figures, a path or faults): the demo then watches the simulated
        pools and feeds."""
        if not self.chain_enabled:
            return False
        named = {
            *self.venues,
            *(v for c in self.coins.values() for v in c.venues),
            *(f.venue for f in self.faults),
        }
        return self.scenario.onchain or bool(named & set(CHAIN_VENUES))

    @property
    def chain_enabled(self) -> bool:
        """Whether the JSON-RPC node (POST /ethereum) is served."""
        return self.venue(NODE).enabled

    def markets(self, venue: str) -> tuple[str, ...]:
        spec = self.venue(venue)
        return spec.markets if spec.markets is not None else DEFAULT_MARKETS[venue]

    def market_lag(self, venue: str, market: str) -> float:
        """Scenario seconds `market` (BASE/QUOTE) trails the paths at `venue`: both of its
        coins are read that much earlier, on top of any coin or venue lag."""
        own = self.venue(venue).lags.get(market)
        return own if own is not None else self.lags.get(market, 0.0)

    def with_time_scale(self, time_scale: float) -> Scenario:
        """The same scenario played faster (>1) or slower (<1)."""
        info = self.scenario.model_copy(update={"time_scale": time_scale})
        return self.model_copy(update={"scenario": info})


def _pair(market: str) -> str:
    base, sep, quote = market.strip().upper().partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"market {market!r} must look like BASE/QUOTE, e.g. USDC/USDT")
    return f"{base}/{quote}"


def parse_scenario(data: dict[str, object], source: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        problems = [
            (".".join(str(p) for p in err["loc"]) or "(top level)", err["msg"])
            for err in e.errors()
        ]
        raise ScenarioError(source, problems) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario TOML file; any problem raises ScenarioError."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ScenarioError(str(p), [("(file)", e.strerror or str(e))]) from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(str(p), [("(toml)", str(e))]) from None
    return parse_scenario(data, str(p))
