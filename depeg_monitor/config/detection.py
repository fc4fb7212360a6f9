"""Settings for aggregation (one price per coin) and classification (how bad)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from depeg_monitor.config.fields import Names
from depeg_monitor.config.venues import CoinThresholds


class AggregationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Counted over every fresh venue: the followed cluster and any standing apart from it (two
    # venues that split still give a price, the liquid one's, and a dislocation).
    min_venues: int = Field(2, ge=1, description="Fresh venues needed for a price.")
    max_quote_age: float = Field(60.0, gt=0, description="Seconds before a quote is stale.")
    outlier_mad_k: float = Field(
        5.0, gt=0, description="Drop quotes of the followed cluster this many MADs away."
    )
    outlier_min_band: float = Field(
        0.002, ge=0, description="Never call a quote an outlier within this fraction of median."
    )
    # Venues whose prices leave a gap wider than this fraction between them are different
    # markets: the price follows the cluster with most liquidity, the rest are a dislocation.
    # 2 %: real calm markets never part that far (0.6 % at most between minute closes of
    # Kraken and Binance.US in March 2023 before SVB, 0.22 % between the Uniswap v3 pool and
    # Binance over four years of hourly closes outside the UST, FTX and SVB weeks), while a thin
    # venue's wild print (3-11 % there) and a stressed venue (3-4.7 % in those weeks) do.
    cluster_band: float = Field(0.02, gt=0, lt=1, description="Gap that splits venues apart.")
    arbitrage_fee: float = Field(0.002, ge=0, description="Round-trip fees for the arb hint.")
    reference_quotes: Names = Field(
        default_factory=lambda: ["USDT", "USDC"],
        description="Quote currencies converted to USD through a reference rate of their time.",
    )
    # A quote is converted only with its quote coin's USD markets observed within this many
    # seconds of it (each market's nearest observation, older or newer); otherwise it waits for
    # the next reference or is left out ("reference_lag"). 2.5 s: half of a 5 s poll, so every
    # quote finds one from any USD venue polling at least every 5 s, waiting at most 2.5 s.
    reference_tolerance: float = Field(
        2.5, gt=0, description="Seconds a quote and its reference may be apart."
    )
    # When at least this many coins quoted in one stablecoin move together by at least
    # quote_move_min against their USD prices, the stablecoin moved: those quotes are left out
    # for them this cycle ("quote_coin_moved"), and the snapshots carry the move.
    quote_move_coins: int = Field(3, ge=2, description="Coins that must move together.")
    quote_move_min: float = Field(
        0.005, gt=0, lt=1, description="Smallest move attributed to the quote coin."
    )
    baseline_window: float = Field(
        86_400.0, gt=0, description="Typical volume measured over this much past (seconds)."
    )
    volume_window: float = Field(
        300.0, gt=0, description="Recent volume: traded over this many seconds."
    )
    volume_warmup: float = Field(
        3_600.0, ge=0, description="Seconds of volume readings before a spike figure."
    )
    volatility_window: float = Field(3_600.0, gt=0, description="Volatility window (seconds).")


class ClassificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    thresholds: CoinThresholds = Field(default_factory=CoinThresholds)
    # How long a level must hold before it fires (seconds); critical fastest.
    hold_minor: float = Field(120.0, ge=0)
    hold_major: float = Field(30.0, ge=0)
    hold_critical: float = Field(0.0, ge=0)
    # A level clears only after the deviation stays below clear_ratio × its threshold this long.
    clear_ratio: float = Field(0.7, gt=0, lt=1)
    clear_hold: float = Field(300.0, ge=0)
    # In a noisy market minor/major thresholds widen, by at most this factor.
    volatility_widen_max: float = Field(1.5, ge=1)
    # Besides its seconds, a level must be seen in this many cycles; where one cycle is longer
    # than the hold (hourly data), the cycles alone count.
    hold_cycles_minor: int = Field(1, ge=1)
    hold_cycles_major: int = Field(1, ge=1)
    hold_cycles_critical: int = Field(1, ge=1)
    # Major and critical need this many venues beyond the level (every venue, if fewer): a lone
    # venue far from the rest is a dislocation, not a depeg.
    confirm_venues: int = Field(2, ge=1)
