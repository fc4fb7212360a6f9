"""Settings → rules, once, at the composition root.

The validated Settings are compiled here into the small frozen rule values each stage takes
(Alertmanager's NewRoute → RouteOpts; structlog's processors compile their options in
__init__). Nothing below the root reads settings: detect/ gets DetectionRules, alerts/ gets
AlertRules and parsed routes. The daemon, replay and the commands call compile_rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from depeg_monitor.alerts.rules import AlertRules, RouteRule
from depeg_monitor.config import Settings
from depeg_monitor.config.alerting import RouteSettings, parse_hours
from depeg_monitor.detect.rules import (
    AggregationRules,
    ClassifyRules,
    CoinRules,
    DetectionRules,
    Levels,
)
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


@dataclass(frozen=True, slots=True)
class Routing:
    """The routes, parsed: severity → rules, in the [alerts] time zone."""

    routes: Mapping[Severity, tuple[RouteRule, ...]]
    timezone: ZoneInfo


def detection_rules(settings: Settings) -> DetectionRules:
    agg, cls = settings.aggregation, settings.classification
    coins = tuple(
        CoinRules(
            coin=name,
            peg=c.peg,
            levels=_levels(settings, name),
            # A coin listed on one venue only (e.g. an aggregator) may lower its own quorum.
            min_venues=c.min_venues if c.min_venues is not None else agg.min_venues,
            alert_on_discount=c.alert_on_discount,
            alert_on_premium=c.alert_on_premium,
        )
        for name, c in settings.coins.items()
    )
    return DetectionRules(
        coins=coins,
        aggregation=AggregationRules(
            max_quote_age=agg.max_quote_age,
            outlier_mad_k=agg.outlier_mad_k,
            outlier_min_band=agg.outlier_min_band,
            arbitrage_fee=agg.arbitrage_fee,
            reference_quotes=frozenset(agg.reference_quotes),
            baseline_window=agg.baseline_window,
            volatility_window=agg.volatility_window,
            venue_weights={name: v.weight for name, v in settings.venues.items()},
        ),
        classify=ClassifyRules(
            holds=(cls.hold_minor, cls.hold_major, cls.hold_critical),
            clear_ratio=cls.clear_ratio,
            clear_hold=cls.clear_hold,
            volatility_widen_max=cls.volatility_widen_max,
        ),
    )


def _levels(settings: Settings, coin: str) -> Levels:
    t = settings.thresholds_for(coin)
    return Levels(t.minor, t.major, t.critical)


def alert_rules(settings: Settings) -> AlertRules:
    a = settings.alerts
    return AlertRules(
        reminders={
            Severity.MINOR: a.reminder_minor,
            Severity.MAJOR: a.reminder_major,
            Severity.CRITICAL: a.reminder_critical,
        },
        reminder_backoff=a.reminder_backoff,
        reminder_max=a.reminder_max,
        confirm_minor_hold=a.confirm_minor_hold,
        confirm_volume_spike=a.confirm_volume_spike,
        confirm_spread=a.confirm_spread,
    )


def routing(settings: Settings) -> Routing:
    configured = settings.alerts.routes or DEFAULT_ROUTES
    routes: dict[Severity, tuple[RouteRule, ...]] = {}
    for label, rs in configured.items():
        out = []
        for r in rs:
            start, end = parse_hours(r.hours)
            out.append(RouteRule(tuple(r.channels), start, end, r.weekdays_only))
        routes[Severity.parse(label)] = tuple(out)
    return Routing(routes, ZoneInfo(settings.alerts.timezone))
