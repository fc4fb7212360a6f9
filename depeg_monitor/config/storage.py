"""Settings for the database, retention, logging and the health endpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from depeg_monitor.config.fields import Names

DB_FILE = "depeg-monitor.db"


def state_dir(environ: Mapping[str, str], config_file: Path | None) -> Path:
    """Where the default SQLite file lives: systemd's $STATE_DIRECTORY when run as a service,
    else data/ next to the configuration file — so every command finds the daemon's database
    from any directory — else ./data."""
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    if given:
        return Path(given)
    if config_file is not None:
        # abspath, not resolve(): data/ sits beside the file as named, even through a symlink.
        return Path(os.path.abspath(config_file)).parent / "data"
    return Path("data")


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # None: a SQLite file in the state directory. A password belongs in DEPEG_DATABASE__URL.
    url: SecretStr | None = None
    # Set by the loader (state_dir above); None: worked out from os.environ and ./data.
    _state_dir: Path | None = PrivateAttr(None)
    batch_size: int = Field(500, ge=1, description="Rows per write batch.")
    flush_interval: float = Field(2.0, gt=0, description="Seconds between batch flushes.")
    buffer_max: int = Field(100_000, ge=100, description="Price rows held while the DB is down.")
    quotes_retention_days: float = Field(7.0, gt=0)
    minute_retention_days: float = Field(90.0, gt=0)
    hour_retention_days: float = Field(3650.0, gt=0)
    retention_hour_utc: int = Field(3, ge=0, le=23, description="When the daily job runs.")

    def default_file(self) -> Path:
        """The SQLite file used when no url is set."""
        where = self._state_dir if self._state_dir is not None else state_dir(os.environ, None)
        return where / DB_FILE

    def resolved_url(self) -> str:
        if self.url is not None:
            return self.url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.default_file()}"


class LoggingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field("info", pattern="(?i)^(debug|info|warning|error)$")
    format: str = Field("auto", pattern="^(auto|json|console)$")


class HealthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # No fresh aggregate for a monitored coin for this long → fail.
    stale_after: float = Field(120.0, gt=0)
    # The main loop not completing a cycle for this long → fail.
    stall_after: float = Field(60.0, gt=0)
    history_interval: float = Field(60.0, gt=0, description="Seconds between health rows.")
    heartbeat_url: SecretStr | None = None  # pinged while healthy (healthchecks.io, Uptime Robot)
    heartbeat_interval: float = Field(60.0, gt=0)
    # Whoever sends `Authorization: Bearer <token>` sees the detailed /health (a secret); without
    # it only local callers do, and the rest (a reverse proxy's) get the public view.
    token: SecretStr | None = Field(None, min_length=16)
    # /health must have failed this long before "monitor degraded" is sent (seconds).
    degraded_after: float = Field(60.0, ge=0)
    # Channels that hear "monitor degraded" / "recovered"; empty: every configured channel.
    alert_channels: Names = Field(default_factory=list)
