"""The alert rules: compiled once from the settings at the composition root, frozen.

Nothing in alerts/ reads settings: the policy gets AlertRules, the router parsed RouteRules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from depeg_monitor.model import Severity


@dataclass(frozen=True, slots=True)
class AlertRules:
    reminders: Mapping[Severity, float]  # seconds between reminders, per firing level
    reminder_backoff: float  # each further reminder at a level waits this many times longer …
    reminder_max: float  # … up to this long
    confirm_minor_hold: float  # a minor alerts only with context: held this long, …
    confirm_volume_spike: float  # … or volume this many times its baseline, …
    confirm_spread: float  # … or venues this far apart (or another coin deviating)
    dislocation_hold: float = 60.0  # a venue split must last this long before it is told


@dataclass(frozen=True, slots=True)
class RouteRule:
    """Channels that hear a severity between start and end (local time; may wrap midnight)."""

    channels: tuple[str, ...]
    start: time
    end: time | None  # None: the end of the day (24:00)
    weekdays_only: bool = False
