"""[alerts.routes] and each channel's own severities, compiled to parsed route rules.

Kept apart from depeg_monitor.rules (which re-exports it) so that check-config can compile the
routes it checks without importing the collectors, the store and their libraries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from depeg_monitor.alerts.rules import RouteRule
from depeg_monitor.config.alerting import RouteSettings, parse_hours
from depeg_monitor.config.settings import Settings
from depeg_monitor.model import Severity

# Used when [alerts.routes] is empty: minor → Discord in business hours; major → Discord, and
# email in the daytime; critical → everything at any hour. Names no channel defines are
# left to the Router (it only sends to channels that exist).
DEFAULT_ROUTES: dict[str, list[RouteSettings]] = {
    "minor": [RouteSettings(channels=["discord"], hours="09:00-18:00", weekdays_only=True)],
    "major": [
        RouteSettings(channels=["discord"]),
        RouteSettings(channels=["email"], hours="08:00-22:00"),
    ],
    "critical": [RouteSettings(channels=["discord", "email", "sms"])],
}


@dataclass(frozen=True, slots=True)
class Routing:
    """The routes, parsed: severity → rules, in the [alerts] time zone."""

    routes: Mapping[Severity, tuple[RouteRule, ...]]
    timezone: ZoneInfo


def routing(settings: Settings) -> Routing:
    """[alerts.routes] (or DEFAULT_ROUTES when there are none), then for each severity one
    route at any hour to the channels that list it in their own `severities` — so a channel
    defined in the environment alone can be routed from the environment too
    (DEPEG_CHANNELS__PAGER__SEVERITIES=critical)."""
    configured = settings.alerts.routes or DEFAULT_ROUTES
    routes: dict[Severity, list[RouteRule]] = {}
    for label, rs in configured.items():
        out = routes.setdefault(Severity.parse(label), [])
        for r in rs:
            start, end = parse_hours(r.hours)
            out.append(RouteRule(tuple(r.channels), start, end, r.weekdays_only))
    for severity in (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL):
        own = tuple(n for n, c in settings.channels.items() if severity.label in c.severities)
        if own:
            routes.setdefault(severity, []).append(RouteRule(own, time(0, 0), None))
    return Routing(
        {sev: tuple(rs) for sev, rs in routes.items()}, ZoneInfo(settings.alerts.timezone)
    )
