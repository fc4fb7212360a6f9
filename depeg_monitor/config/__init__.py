"""Configuration: a TOML file, overridden by DEPEG_<SECTION>__<KEY> environment variables.

Secrets (webhook URLs, SMTP passwords, DB passwords) come from the environment, or from
files in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) named like the variable.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from depeg_monitor.config.alerting import AlertSettings, ChannelSettings, RouteSettings
from depeg_monitor.config.detection import AggregationSettings, ClassificationSettings
from depeg_monitor.config.storage import DatabaseSettings, HealthSettings, LoggingSettings
from depeg_monitor.config.venues import CoinSettings, CoinThresholds, VenueSettings

__all__ = [
    "AggregationSettings",
    "AlertSettings",
    "ChannelSettings",
    "ClassificationSettings",
    "CoinSettings",
    "CoinThresholds",
    "ConfigError",
    "DatabaseSettings",
    "HealthSettings",
    "LoggingSettings",
    "RouteSettings",
    "Settings",
    "VenueSettings",
    "load_settings",
]

ENV_PREFIX = "DEPEG_"


class ConfigError(Exception):
    """The configuration cannot be used; .problems holds (dotted path, reason) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {reason}" for path, reason in problems)
        super().__init__(f"invalid configuration in {source}:\n{lines}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        frozen=True,  # compiled into rules once at the root; nothing may change it later
    )

    coins: dict[str, CoinSettings] = Field(default_factory=dict)
    venues: dict[str, VenueSettings] = Field(default_factory=dict)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    aggregation: AggregationSettings = Field(default_factory=AggregationSettings)
    classification: ClassificationSettings = Field(default_factory=ClassificationSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    health: HealthSettings = Field(default_factory=HealthSettings)

    @field_validator("coins", mode="before")
    @classmethod
    def _coin_symbols_upper(cls, v: Any) -> Any:
        # Environment variable names lose their case; coin symbols are upper-case.
        if isinstance(v, dict):
            return {str(k).upper(): val for k, val in v.items()}
        return v

    @field_validator("venues", "channels", mode="before")
    @classmethod
    def _names_lower(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k).lower(): val for k, val in v.items()}
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file (init kwargs hold the parsed TOML).
        return (env_settings, file_secret_settings, init_settings)

    def thresholds_for(self, coin: str) -> CoinThresholds:
        c = self.coins.get(coin)
        return c.thresholds if c and c.thresholds else self.classification.thresholds


def _credentials_env() -> dict[str, str]:
    """systemd credentials named DEPEG_... become environment overrides."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return {}
    out: dict[str, str] = {}
    for path in Path(directory).iterdir():
        name = path.name
        if path.is_file() and (name.upper().startswith(ENV_PREFIX) or name.startswith("TWILIO_")):
            out[name] = path.read_text().strip()
    return out


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_settings(path: str | Path | None = None) -> Settings:
    """Load the TOML at path (or $DEPEG_CONFIG), apply the environment; raise ConfigError."""
    if path is None:
        path = os.environ.get("DEPEG_CONFIG")
    data: dict[str, Any] = {}
    source = "environment"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(source, [("(file)", "no such file")]) from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(source, [("(file)", f"not valid TOML: {e}")]) from None
    for key, value in _credentials_env().items():
        os.environ.setdefault(key, value)
    try:
        return Settings(**data)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False, include_input=False):
            reason = err["msg"]
            if err["type"] == "extra_forbidden":
                reason = "unknown setting"
            problems.append((_dotted(err["loc"]), reason))
        raise ConfigError(source, problems) from None
