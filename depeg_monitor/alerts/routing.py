"""Routes and quiet hours: which channels hear a severity at a given moment (data, not code).

The routes arrive parsed (RouteRule, compiled once at the root from [alerts.routes] or the
built-in defaults in depeg_monitor.rules): nothing here reads settings or parses "09:00-18:00".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from depeg_monitor.alerts.rules import RouteRule
from depeg_monitor.model import Severity


def in_window(rule: RouteRule, local: datetime) -> bool:
    """Whether local time falls inside the rule's hours (a window may wrap past midnight)."""
    if rule.weekdays_only and local.weekday() >= 5:
        return False
    t, start, end = local.time(), rule.start, rule.end
    if end is None:  # up to the end of the day (24:00)
        return t >= start
    if start <= end:
        return start <= t < end
    return t >= start or t < end


class Router:
    """Resolves a severity and a moment to channel names.

    channels is the set of channel names that exist and could be built (a channel whose secret
    is missing is left out by the caller, so routes fall through to the ones that work).
    """

    def __init__(
        self,
        routes: Mapping[Severity, tuple[RouteRule, ...]],
        timezone: ZoneInfo,
        channels: Collection[str],
    ) -> None:
        self._routes = dict(routes)
        self._tz = timezone
        self._known = frozenset(channels)

    def channels(self, severity: Severity, now: float) -> tuple[tuple[str, ...], str | None]:
        """(channels, why none) — why is 'quiet_hours' or 'no_route' when nothing applies."""
        known = [
            r for r in self._routes.get(severity, ()) if any(c in self._known for c in r.channels)
        ]
        if not known:
            return (), "no_route"
        local = datetime.fromtimestamp(now, self._tz)
        out: list[str] = []
        for r in known:
            if in_window(r, local):
                out.extend(c for c in r.channels if c in self._known and c not in out)
        return tuple(out), (None if out else "quiet_hours")
