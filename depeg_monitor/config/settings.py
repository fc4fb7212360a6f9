"""The Settings model: every section, frozen, and where its values came from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from depeg_monitor.config.alerting import AlertSettings, ChannelSettings
from depeg_monitor.config.chains import ChainSettings, OracleSettings, PoolSettings
from depeg_monitor.config.detection import AggregationSettings, ClassificationSettings
from depeg_monitor.config.ha import HaSettings
from depeg_monitor.config.storage import DatabaseSettings, HealthSettings, LoggingSettings
from depeg_monitor.config.venues import CoinSettings, CoinThresholds, VenueSettings

ENV_PREFIX = "DEPEG_"


@dataclass(frozen=True)
class Origin:
    """Where loaded settings came from, for messages that name the file or the variable.

    variables maps a lower-cased setting path, e.g. ('venues', 'binance', 'poll_interval'),
    to what set it: 'DEPEG_VENUES__BINANCE__POLL_INTERVAL', or a credential file.
    file_keys holds the lower-cased paths of the values written in the TOML file.
    environ is what the channels read beyond the settings (Twilio's TWILIO_ACCOUNT_SID and
    TWILIO_AUTH_TOKEN): the environment, plus credentials — never written to os.environ.
    """

    path: Path | None = None
    given_by: str = ""  # "--config", "$DEPEG_CONFIG", or "" when no file was named
    variables: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    file_keys: frozenset[tuple[str, ...]] = frozenset()
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def source(self) -> str:
        """'config.toml and the environment', or 'the environment; no configuration file'."""
        if self.path is None:
            return "the environment; no configuration file"
        return f"{self.path} and the environment" if self.variables else str(self.path)

    def where(self, loc: tuple[str | int, ...]) -> str:
        """The dotted path, led by the variable that set it (or that set a value beneath)."""
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        low = tuple(str(p).lower() for p in loc)
        for n in range(len(low), 0, -1):
            var = self.variables.get(low[:n])
            if var is not None:
                return f"{var} ({dotted})"
        below = sorted(v for p, v in self.variables.items() if p[: len(low)] == low)
        if not below:
            return dotted
        named = ", ".join(below[:3]) + (", …" if len(below) > 3 else "")
        in_file = any(k[: len(low)] == low for k in self.file_keys)
        return f"{dotted} (from {self.path} and {named})" if in_file else f"{dotted} ({named})"

    def from_file(self, *loc: str) -> bool:
        """Whether the TOML file itself holds the value at loc."""
        return tuple(p.lower() for p in loc) in self.file_keys


def _merge(low: Any, high: Any) -> Any:
    if isinstance(low, dict) and isinstance(high, dict):
        return {**low, **{k: _merge(low.get(k), v) for k, v in high.items()}}
    return high


def _fold(value: Any, norm: Callable[[str], str]) -> Any:
    """Keys normalised (coin symbols upper, names lower); keys that become equal are merged,
    the later one winning — the sources' merge puts a higher-priority source's keys later
    ([coins.USDC] in the file, DEPEG_COINS__USDC__… spelled usdc by the environment)."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = norm(str(k))
        out[key] = _merge(out[key], v) if key in out else v
    return out


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
    chains: dict[str, ChainSettings] = Field(default_factory=dict)
    pools: dict[str, PoolSettings] = Field(default_factory=dict)
    oracles: dict[str, OracleSettings] = Field(default_factory=dict)
    ha: HaSettings = Field(default_factory=HaSettings)

    _origin: Origin = PrivateAttr(default_factory=Origin)

    @field_validator("coins", mode="before")
    @classmethod
    def _coin_symbols_upper(cls, v: Any) -> Any:
        # Environment variable names lose their case; coin symbols are upper-case.
        return _fold(v, str.upper)

    @field_validator("venues", "channels", "chains", "pools", "oracles", mode="before")
    @classmethod
    def _names_lower(cls, v: Any) -> Any:
        return _fold(v, str.lower)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Settings(...) is exactly its arguments. The file, the environment and credentials
        # are read by config.load, which hands its own sources to the constructor.
        return (init_settings,)

    @property
    def origin(self) -> Origin:
        return self._origin

    @property
    def environment(self) -> Mapping[str, str]:
        """What the channel builder reads besides the settings (Twilio's credentials)."""
        return self._origin.environ

    def thresholds_for(self, coin: str) -> CoinThresholds:
        c = self.coins.get(coin)
        return c.thresholds if c and c.thresholds else self.classification.thresholds
