"""Configuration: a TOML file, overridden by DEPEG_<SECTION>__<KEY> environment variables.

Secrets (webhook URLs, SMTP passwords, DB passwords) come from the environment, or from
files in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) named like the variable.
load_settings reads and checks the schema (every command); config.validate checks what
running needs on top (check-config, run).
"""

from __future__ import annotations

from depeg_monitor.config.alerting import AlertSettings, ChannelSettings, RouteSettings
from depeg_monitor.config.detection import AggregationSettings, ClassificationSettings
from depeg_monitor.config.load import load_settings
from depeg_monitor.config.problems import ConfigError, Problem
from depeg_monitor.config.settings import ENV_PREFIX, Origin, Settings
from depeg_monitor.config.storage import DatabaseSettings, HealthSettings, LoggingSettings
from depeg_monitor.config.venues import CoinSettings, CoinThresholds, VenueSettings

__all__ = [
    "ENV_PREFIX",
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
    "Origin",
    "Problem",
    "RouteSettings",
    "Settings",
    "VenueSettings",
    "load_settings",
]
