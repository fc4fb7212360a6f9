"""Routes and quiet hours on parsed rules: which channels hear a level at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from depeg_monitor.alerts.routing import Router, in_window
from depeg_monitor.alerts.rules import RouteRule
from depeg_monitor.model import Severity
from depeg_monitor.rules import routing

MI, MA, CR = Severity.MINOR, Severity.MAJOR, Severity.CRITICAL
UTC_ZONE = ZoneInfo("UTC")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """A moment in March 2023 (the 13th is a Monday, the 11th a Saturday), UTC."""
    return datetime(2023, 3, day, hh, mm, tzinfo=UTC)


def test_a_night_window_wraps_past_midnight() -> None:
    """A 22:00-06:00 route hears a depeg at 23:00 and at 05:59, not at 06:00 or at 21:59."""
    night = RouteRule(("sms",), time(22, 0), time(6, 0))
    assert in_window(night, at(13, 23)) and in_window(night, at(14, 5, 59))
    assert not in_window(night, at(14, 6)) and not in_window(night, at(13, 21, 59))


def test_a_window_to_24_00_runs_to_the_end_of_the_day() -> None:
    """An 18:00-24:00 route hears 23:59 but not 17:59; 00:00-24:00 hears every minute."""
    evening = RouteRule(("email",), time(18, 0), None)
    assert in_window(evening, at(13, 23, 59)) and not in_window(evening, at(13, 17, 59))
    always = RouteRule(("email",), time(0, 0), None)
    assert all(in_window(always, at(13, h, m)) for h in range(24) for m in (0, 59))


def test_weekdays_only_sleeps_through_the_weekend() -> None:
    """A weekdays-only business-hours route is silent on Saturday at 10:00, heard on Monday."""
    office = RouteRule(("discord",), time(9, 0), time(18, 0), weekdays_only=True)
    assert in_window(office, at(13, 10)) and not in_window(office, at(11, 10))


def test_router_says_why_nobody_hears() -> None:
    """A level with no route to a channel that exists is 'no_route'; one whose routes are all
    outside their hours is 'quiet_hours'; routes that apply add their channels once, in order."""
    routes = {
        MI: (RouteRule(("discord",), time(9, 0), time(18, 0), weekdays_only=True),),
        MA: (
            RouteRule(("discord", "email"), time(0, 0), None),
            RouteRule(("email", "sms"), time(8, 0), time(22, 0)),
        ),
        CR: (RouteRule(("pager",), time(0, 0), None),),
    }
    router = Router(routes, UTC_ZONE, {"discord", "email", "sms"})
    monday_10, saturday_10 = at(13, 10).timestamp(), at(11, 10).timestamp()
    assert router.channels(MI, saturday_10) == ((), "quiet_hours")
    assert router.channels(MI, monday_10) == (("discord",), None)
    assert router.channels(MA, monday_10) == (("discord", "email", "sms"), None)
    assert router.channels(CR, monday_10) == ((), "no_route")  # no pager channel exists


def test_a_channel_that_cannot_be_built_falls_out_of_its_routes() -> None:
    """With email missing, a daytime major still reaches SMS through the same route."""
    routes = {MA: (RouteRule(("email", "sms"), time(8, 0), time(22, 0)),)}
    router = Router(routes, UTC_ZONE, {"sms"})
    assert router.channels(MA, at(13, 10).timestamp()) == (("sms",), None)


def test_hours_are_read_in_the_configured_time_zone() -> None:
    """Business hours in Berlin: 08:30 UTC on a Monday is 09:30 there, so minor is heard."""
    office = {MI: (RouteRule(("discord",), time(9, 0), time(18, 0), weekdays_only=True),)}
    t = at(13, 8, 30).timestamp()
    assert Router(office, ZoneInfo("Europe/Berlin"), {"discord"}).channels(MI, t) == (
        ("discord",),
        None,
    )
    assert Router(office, UTC_ZONE, {"discord"}).channels(MI, t) == ((), "quiet_hours")


def test_without_configured_routes_the_defaults_apply(cfg: Any) -> None:
    """No [alerts.routes]: minor reaches Discord in office hours, major adds email by day,
    critical reaches every channel at 03:00 on a Saturday."""
    r = routing(cfg())
    router = Router(r.routes, r.timezone, {"discord", "email", "sms"})
    monday_10, saturday_03 = at(13, 10).timestamp(), at(11, 3).timestamp()
    assert router.channels(MI, monday_10) == (("discord",), None)
    assert router.channels(MI, saturday_03) == ((), "quiet_hours")
    assert router.channels(MA, monday_10) == (("discord", "email"), None)
    assert router.channels(MA, saturday_03) == (("discord",), None)
    assert router.channels(CR, saturday_03) == (("discord", "email", "sms"), None)
