"""Settings for exchanges and the coins they quote."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from depeg_monitor.config.fields import FloatPair, Names


class CoinThresholds(BaseModel):
    """Deviation from peg (fraction: 0.005 = 0.5 %) at which each severity begins."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    minor: float = Field(0.005, gt=0)
    major: float = Field(0.015, gt=0)
    critical: float = Field(0.03, gt=0)

    @field_validator("minor", "major", "critical")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if v >= 1:
            # 1.5 meant as 1.5 %: say so, rather than only "less than 1".
            raise ValueError(
                f"{v:g} is not a fraction below 1: thresholds are fractions of the peg, "
                f"0.015 is 1.5 % (did you mean {v / 100:g}?)"
            )
        return v

    @model_validator(mode="after")
    def _ordered(self) -> CoinThresholds:
        if not self.minor < self.major < self.critical:
            raise ValueError(
                "thresholds must satisfy minor < major < critical, got "
                f"minor {self.minor:g}, major {self.major:g}, critical {self.critical:g}"
            )
        return self


class CoinSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    peg: float = Field(1.0, gt=0, description="The value the coin is meant to hold, in USD.")
    thresholds: CoinThresholds | None = None  # None: the [classification] defaults
    alert_on_discount: bool = True
    alert_on_premium: bool = True
    coingecko_id: str | None = None
    # Fresh, agreeing venues needed for a price; None: [aggregation] min_venues.
    min_venues: int | None = Field(None, ge=1)


class VenueSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    # Everything before the documented path, e.g. https://api.binance.com; None: the venue's own.
    base_url: str | None = None
    poll_interval: float = Field(10.0, gt=0, description="Seconds between polls.")
    timeout: float = Field(5.0, gt=0, description="Seconds for one HTTP request.")
    # Markets as BASE/QUOTE, e.g. "USDC/USDT"; the venue module spells them its own way.
    markets: Names = Field(default_factory=list)
    weight: float = Field(1.0, ge=0, description="Multiplies this venue's volume weight.")
    # For a venue that reports no 24 h volume (an on-chain pool, a book-only feed): the USD
    # figure its quotes count as instead, in the average and when venues split and the price
    # follows the most liquid. None: such a quote counts for nothing when venues split.
    liquidity_usd: float | None = Field(None, gt=0, description="USD liquidity if no volume.")
    max_age: float = Field(120.0, gt=0, description="Drop answers older than this (seconds).")
    # A price outside [low, high] × its expected value (coin peg / quote peg) is absurd: dropped.
    price_band: FloatPair = (0.5, 2.0)
    # Consecutive failed polls before the circuit opens and the venue is backed off.
    breaker_threshold: int = Field(5, ge=1)
    breaker_max_backoff: float = Field(300.0, gt=0, description="Longest back-off (seconds).")
    # A quote stamped later than receipt + this is from a broken clock (or a hostile venue):
    # dropped, and it never moves the market's regression watermark.
    max_clock_skew: float = Field(5.0, ge=0, description="Seconds a venue's clock may lead ours.")
    # The listing is checked again this often: relisted markets come back, halted ones go.
    listing_interval: float = Field(3600.0, gt=0, description="Seconds between listing checks.")
    # Largest decompressed answer (bytes); None: the venue's own cap, sized from its real answers.
    max_body: int | None = Field(None, ge=1024)
    # Venues with a public WebSocket stream their markets: a price reaches the monitor as it
    # changes. Polling goes on as the safety net (and for 24 h volume), every
    # stream_poll_interval while the stream is healthy, every poll_interval when it is not.
    stream: bool = Field(True, description="Stream where the venue has a WebSocket.")
    stream_url: str | None = None  # the WebSocket endpoint; None: the venue's own
    stream_poll_interval: float = Field(
        30.0, gt=0, description="Seconds between polls while the stream is healthy."
    )
    # A subscribed market with no update since subscribing for this long is reported, and
    # the venue is polled at poll_interval again (a symbol the venue acks and never sends).
    stream_silent_after: float = Field(
        120.0, gt=0, description="Seconds a subscribed market may stay silent."
    )
    # A streamed price this far (a fraction) from the venue's own REST answer of the same
    # moment is reported: REST is the stream's reconciler.
    stream_reconcile_band: float = Field(
        0.005, gt=0, lt=1, description="Streamed vs polled price gap that is reported."
    )

    @field_validator("markets")
    @classmethod
    def _markets_are_pairs(cls, v: list[str]) -> list[str]:
        out = []
        for m in v:
            base, sep, quote = m.strip().upper().partition("/")
            if not sep or not base or not quote:
                raise ValueError(f"market {m!r} must look like BASE/QUOTE, e.g. USDC/USDT")
            out.append(f"{base}/{quote}")
        return out

    @field_validator("price_band")
    @classmethod
    def _band_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        low, high = v
        if not 0 < low < 1 < high:
            raise ValueError("price_band must be [low, high] with 0 < low < 1 < high")
        return v

    @field_validator("base_url")
    @classmethod
    def _url_is_http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return v.rstrip("/") if v else v
