"""Logging for a one-shot command: to stderr, and only what its own output does not say."""

from __future__ import annotations

from depeg_monitor.config import Settings
from depeg_monitor.logsetup import configure_logging, settings_secrets

_ORDER = ("debug", "info", "warning", "error")


def quiet_logging(settings: Settings, floor: str = "warning") -> None:
    """Configure logging to stderr at the configured level, but nothing below `floor`: the
    command prints what happened itself (an upgraded schema, a venue that failed), and a log
    line saying it again — once per request, for a venue — would bury that."""
    configured = settings.logging.level.lower()
    level = max(configured, floor, key=_ORDER.index)
    configure_logging(
        settings.logging.model_copy(update={"level": level}),
        to_stderr=True,
        secrets=settings_secrets(settings),
    )
