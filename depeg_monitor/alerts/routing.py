"""Routes and quiet hours: which channels hear a severity at a given moment (data, not code)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time
from zoneinfo import ZoneInfo

from depeg_monitor.config import RouteSettings, Settings
from depeg_monitor.model import Severity

# Used when [alerts.routes] is empty: minor → Discord in business hours; major → Discord, and
# email in the daytime; critical → everything at any hour.
DEFAULT_ROUTES: dict[str, list[RouteSettings]] = {
    "minor": [RouteSettings(channels=["discord"], hours="09:00-18:00", weekdays_only=True)],
    "major": [
        RouteSettings(channels=["discord"]),
        RouteSettings(channels=["email"], hours="08:00-22:00"),
    ],
    "critical": [RouteSettings(channels=["discord", "email", "sms"])],
}


def _parse_hhmm(text: str) -> time | None:
    """'24:00' means end of day and comes back as None."""
    hh, mm = (int(p) for p in text.split(":"))
    return None if hh == 24 else time(hh, mm)


def in_window(route: RouteSettings, local: datetime) -> bool:
    """Whether local time falls inside the route's hours (a window may wrap past midnight)."""
    if route.weekdays_only and local.weekday() >= 5:
        return False
    start_s, end_s = route.hours.split("-")
    start, end = _parse_hhmm(start_s) or time(0, 0), _parse_hhmm(end_s)
    t = local.time()
    if end is None:
        return t >= start
    if start <= end:
        return start <= t < end
    return t >= start or t < end


class Router:
    """Resolves a severity and a moment to channel names that exist in settings.channels.

    available narrows that to the channels that could actually be built (a channel whose
    secret is missing is left out, so routes fall through to the ones that work).
    """

    def __init__(self, settings: Settings, available: Collection[str] | None = None) -> None:
        self._routes = settings.alerts.routes or DEFAULT_ROUTES
        self._tz = ZoneInfo(settings.alerts.timezone)
        self._known = set(settings.channels)
        if available is not None:
            self._known &= set(available)

    def channels(self, severity: Severity, now: float) -> tuple[tuple[str, ...], str | None]:
        """(channels, why none) — why is 'quiet_hours' or 'no_route' when nothing applies."""
        routes = self._routes.get(severity.label, [])
        known = [r for r in routes if any(c in self._known for c in r.channels)]
        if not known:
            return (), "no_route"
        local = datetime.fromtimestamp(now, self._tz)
        out: list[str] = []
        for r in known:
            if in_window(r, local):
                out.extend(c for c in r.channels if c in self._known and c not in out)
        return tuple(out), (None if out else "quiet_hours")
