"""config.validate on settings built in code: who hears what, at which hours, said quietly."""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

import pytest

from depeg_monitor.config import Settings
from depeg_monitor.config.routes import routing
from depeg_monitor.config.validate import check
from depeg_monitor.model import Severity

BASE: dict[str, Any] = {
    "coins": {"USDC": {}},
    "venues": {"kraken": {"markets": ["USDC/USD"]}, "bitstamp": {"markets": ["USDC/USD"]}},
}


def settings(**sections: Any) -> Settings:
    return Settings(**{**BASE, **sections})


def where(s: Settings, env: dict[str, str] | None = None) -> dict[str, tuple[bool, str]]:
    """problem place → (is a warning, reason)."""
    return {p.where: (p.warning, p.reason) for p in check(s, env or {}).problems}


def test_a_channel_s_own_severities_route_it_at_any_hour() -> None:
    """severities = ["critical"] adds the channel to critical at any hour, after the routes."""
    s = settings(
        channels={"pager": {"type": "console", "severities": "critical"}, "discord": {}},
    )
    r = routing(s).routes
    own = r[Severity.CRITICAL][-1]
    assert (own.channels, own.start, own.end, own.weekdays_only) == (
        ("pager",),
        time(0, 0),
        None,
        False,
    )
    assert all("pager" not in rule.channels for rule in r[Severity.MINOR])


def test_critical_reaching_someone_only_in_office_hours_is_a_warning_naming_the_gaps() -> None:
    """A critical route 09:00-18:00 on weekdays leaves nights and weekends uncovered: said."""
    s = settings(
        channels={"console": {"type": "console"}},
        alerts={"routes": {"critical": [{"channels": ["console"], "hours": "09:00-18:00"}]}},
    )
    warning, reason = where(s)["alerts.routes.critical"]
    assert warning
    assert "Mon 00:00–09:00" in reason and "Mon 18:00–24:00" in reason and "UTC" in reason


def test_weekend_gaps_are_named_too() -> None:
    """weekdays_only on the only critical route leaves the whole weekend uncovered."""
    s = settings(
        channels={"console": {"type": "console"}},
        alerts={
            "routes": {"critical": [{"channels": ["console"], "weekdays_only": True}]},
        },
    )
    reason = where(s)["alerts.routes.critical"][1]
    assert "Sat 00:00–24:00" in reason and "Mon" not in reason


def test_a_night_route_that_wraps_midnight_covers_the_night() -> None:
    """Two routes, 08:00-20:00 and 20:00-08:00, cover every hour: no warning."""
    routes = [
        {"channels": ["console"], "hours": "08:00-20:00"},
        {"channels": ["console"], "hours": "20:00-08:00"},
    ]
    s = settings(channels={"console": {"type": "console"}}, alerts={"routes": {"critical": routes}})
    assert "alerts.routes.critical" not in where(s)


def test_a_channel_used_only_as_a_fallback_is_not_in_no_route() -> None:
    """A fallback is reached when its channel fails: no 'in no route' warning for it."""
    s = settings(
        channels={
            "console": {"type": "console", "severities": ["critical"], "fallback": ["backup"]},
            "backup": {"type": "console"},
        },
    )
    assert "channels.backup" not in where(s)


def test_a_console_channel_counts_as_deliverable() -> None:
    """Only a console channel, for critical: the monitor may run (alerts go to the log)."""
    s = settings(channels={"log": {"type": "console", "severities": ["critical"]}})
    assert check(s, {}).errors == []


def test_apprise_never_logs_the_url_it_could_not_read(caplog: pytest.LogCaptureFixture) -> None:
    """apprise's own 'Unsupported URL: …' line (with the token) is not emitted while a
    configuration is checked; the check's own words name only the variable and scheme."""
    caplog.set_level(logging.DEBUG, logger="apprise")
    secret = "WEBHOOKTOKEN5511"
    s = settings(
        channels={
            "console": {"type": "console", "severities": ["critical"]},
            "discord": {"url": f"https//discord.com/api/webhooks/1/{secret}"},
            "chat": {"url": f"nosuchservice://{secret}"},
        }
    )
    found = check(s, {}).problems
    assert secret not in caplog.text
    assert all(secret not in p.reason and secret not in p.where for p in found)
    assert logging.getLogger("apprise").level == logging.DEBUG  # put back as it was
