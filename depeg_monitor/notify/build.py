"""Channels from the settings: each one built, or skipped saying what to set.

Each kind's module is imported here, but apprise and the Twilio SDK only when a channel of
that kind is built, so `depeg-monitor --version` and a console-only daemon never load them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog

from depeg_monitor.notify.apprise_channel import AppriseChannel
from depeg_monitor.notify.channel import Channel
from depeg_monitor.notify.console import ConsoleChannel
from depeg_monitor.notify.twilio_sms import TwilioChannel

if TYPE_CHECKING:
    from depeg_monitor.config import ChannelSettings, Settings

log = structlog.get_logger(__name__)


def _build_one(name: str, cfg: ChannelSettings, env: Mapping[str, str]) -> Channel:
    """One channel, or ValueError saying what is missing (never the secret itself)."""
    if cfg.type == "console":
        return ConsoleChannel(name, cfg.timeout)
    if cfg.type == "twilio":
        sid, token = env.get("TWILIO_ACCOUNT_SID", ""), env.get("TWILIO_AUTH_TOKEN", "")
        missing = [
            k for k, v in (("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token)) if not v
        ]
        if missing:
            raise ValueError(f"not configured: set {' and '.join(missing)}")
        return TwilioChannel(name, cfg, sid, token)
    if cfg.url is None:
        raise ValueError(f"not configured: set DEPEG_CHANNELS__{name.upper()}__URL")
    return AppriseChannel(name, cfg.url.get_secret_value(), cfg.timeout)


def build_channels_report(
    settings: Settings, env: Mapping[str, str] | None = None
) -> tuple[dict[str, Channel], dict[str, str]]:
    """(usable channels, channel → why it was skipped)."""
    env = os.environ if env is None else env
    channels: dict[str, Channel] = {}
    skipped: dict[str, str] = {}
    for name, cfg in settings.channels.items():
        try:
            channels[name] = _build_one(name, cfg, env)
        except ValueError as e:
            skipped[name] = str(e)
    return channels, skipped


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every usable channel; each one skipped gets a single warning naming what to set."""
    channels, skipped = build_channels_report(settings)
    for name, why in skipped.items():
        log.warning("channel_skipped", channel=name, reason=why)
    return channels
