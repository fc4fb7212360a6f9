"""Settings for the database, retention, logging and the health endpoint."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


def default_state_dir() -> Path:
    """systemd's StateDirectory when run as a service, ./data otherwise."""
    return Path(os.environ.get("STATE_DIRECTORY", "data").split(":")[0])


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: a SQLite file in the state directory. A password belongs in DEPEG_DATABASE__URL.
    url: SecretStr | None = None
    batch_size: int = Field(500, ge=1, description="Rows per write batch.")
    flush_interval: float = Field(2.0, gt=0, description="Seconds between batch flushes.")
    buffer_max: int = Field(100_000, ge=100, description="Price rows held while the DB is down.")
    quotes_retention_days: float = Field(7.0, gt=0)
    minute_retention_days: float = Field(90.0, gt=0)
    hour_retention_days: float = Field(3650.0, gt=0)
    retention_hour_utc: int = Field(3, ge=0, le=23, description="When the daily job runs.")

    def resolved_url(self) -> str:
        if self.url is not None:
            return self.url.get_secret_value()
        return f"sqlite+aiosqlite:///{default_state_dir() / 'depeg-monitor.db'}"


class LoggingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field("info", pattern="(?i)^(debug|info|warning|error)$")
    format: str = Field("auto", pattern="^(auto|json|console)$")


class HealthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
    # /health must have failed this long before "monitor degraded" is sent (seconds).
    degraded_after: float = Field(60.0, ge=0)
    # Channels that hear "monitor degraded" / "recovered"; empty: every configured channel.
    alert_channels: list[str] = Field(default_factory=list)
