"""Settings for alert policy (who hears what, when) and the delivery channels."""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from depeg_monitor.config.fields import Names, Severities


class ChannelSettings(BaseModel):
    """A named delivery channel: an apprise URL, Twilio SMS, or the console (demo)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: Literal["apprise", "twilio", "console"] = "apprise"
    # apprise URL (discord://…, mailtos://…); secret: set it with DEPEG_CHANNELS__<NAME>__URL.
    url: SecretStr | None = None
    # Twilio: sender and recipients; credentials from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN.
    from_number: str | None = None
    to_numbers: Names = Field(default_factory=list)
    # Twilio API base URL, for a local stand-in in tests; None: Twilio's own.
    api_base: str | None = None
    fallback: Names = Field(default_factory=list, description="Used when this one fails.")
    # One send may take this long: the library's own connect/read timeouts are set from it, so
    # a slow receiver is never retried while its first request is still in flight.
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds one delivery attempt may take.")
    # Severities this channel hears at any hour, besides the [alerts.routes] naming it: so a
    # channel defined in the environment alone can be routed there too
    # (DEPEG_CHANNELS__PAGER__SEVERITIES=critical).
    severities: Severities = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        if self.type == "twilio" and not self.to_numbers:
            raise ValueError("a twilio channel needs to_numbers")
        return self


def parse_hours(text: str) -> tuple[time, time | None]:
    """'09:00-18:00' → (09:00, 18:00); an end of '24:00' is None (the end of the day).

    Raises ValueError saying what is wrong with the value.
    """
    start_s, sep, end_s = text.strip().partition("-")
    if not sep:
        raise ValueError(f"hours {text!r} must look like HH:MM-HH:MM, e.g. 09:00-18:00")

    def one(part: str, end: bool) -> time | None:
        hh, colon, mm = part.strip().partition(":")
        if not (colon and hh.isdigit() and mm.isdigit() and len(mm) == 2):
            raise ValueError(f"hours {text!r}: {part.strip()!r} is not HH:MM")
        h, m = int(hh), int(mm)
        if end and (h, m) == (24, 0):
            return None
        if not (0 <= h <= 23 and 0 <= m <= 59):
            raise ValueError(f"hours {text!r}: {part.strip()!r} is not a time of day (00:00–23:59)")
        return time(h, m)

    start = one(start_s, end=False)
    assert start is not None
    return start, one(end_s, end=True)


class RouteSettings(BaseModel):
    """Which channels hear a severity, and at which hours (local time of [alerts] timezone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: Names
    hours: str = "00:00-24:00"
    weekdays_only: bool = False

    @field_validator("hours")
    @classmethod
    def _hours_parse(cls, v: str) -> str:
        parse_hours(v)
        return v.strip()


class MaxAge(BaseModel):
    """How long a delivery of each severity is worth retrying, in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    minor: float = Field(3600.0, gt=0)
    major: float = Field(4 * 3600.0, gt=0)
    critical: float = Field(24 * 3600.0, gt=0, description="A late page still matters.")

    @model_validator(mode="before")
    @classmethod
    def _one_for_all(cls, v: object) -> object:
        # outbox_max_age = 3600 (or DEPEG_ALERTS__OUTBOX_MAX_AGE=3600): every severity.
        if isinstance(v, int | float | str) and not isinstance(v, bool):
            return {"minor": v, "major": v, "critical": v}
        return v


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    timezone: str = "UTC"
    reminder_critical: float = Field(900.0, gt=0, description="Seconds between reminders.")
    reminder_major: float = Field(3600.0, gt=0)
    reminder_minor: float = Field(14_400.0, gt=0)
    # Each further reminder at the same level waits reminder_backoff times longer, up to
    # reminder_max (1.0: a fixed interval).
    reminder_backoff: float = Field(2.0, ge=1.0)
    reminder_max: float = Field(14_400.0, gt=0)
    # A minor deviation alerts only with supporting context: these are its tests.
    confirm_minor_hold: float = Field(600.0, ge=0)
    confirm_volume_spike: float = Field(3.0, gt=1)
    confirm_spread: float = Field(0.01, gt=0)
    # A venue far from the rest (a dislocation: not a depeg) is told, routed like minor, once it
    # has lasted this long; again after reminder_minor while it lasts.
    dislocation_hold: float = Field(60.0, ge=0)
    routes: dict[str, list[RouteSettings]] = Field(default_factory=dict)
    # A critical a channel has not taken after this many seconds also goes to the channel's
    # fallbacks; the channel itself keeps being retried.
    delivery_deadline: float = Field(
        120.0, gt=0, description="Seconds before a critical also goes to fallbacks."
    )
    # A delivery is retried (capped exponential backoff with jitter, across restarts) until the
    # channel takes it or it is this old; one number sets every severity.
    outbox_max_age: MaxAge = Field(default_factory=lambda: MaxAge())

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name like Europe/Berlin)") from None
        return v

    @field_validator("routes")
    @classmethod
    def _severity_keys(cls, v: dict[str, list[RouteSettings]]) -> dict[str, list[RouteSettings]]:
        unknown = sorted(set(v) - {"minor", "major", "critical"})
        if unknown:
            raise ValueError(f"routes are keyed by minor/major/critical, not {', '.join(unknown)}")
        return v
