"""The alert-decision stage a replay drives: the daemon's AlertPolicy, or a plain fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from depeg_monitor.config import Settings
from depeg_monitor.model import Alert, AlertItem, AlertKind, Assessment, Severity


class DecisionStage(Protocol):
    def decide(self, assessments: Sequence[Assessment], now: float) -> list[Alert]:
        """Alerts to send this cycle (pure in its inputs and its own state)."""


class TransitionReporter:
    """Fallback when AlertPolicy is unavailable: one alert per confirmed onset, escalation and
    resolution (no cooldowns, reminders, routing or minor confirmation; downgrades are silent)."""

    name = "transition-reporter"

    def __init__(self) -> None:
        self._last: dict[str, Severity] = {}
        self._count = 0

    def decide(self, assessments: Sequence[Assessment], now: float) -> list[Alert]:
        alerts: list[Alert] = []
        for a in assessments:
            if a.deviation is None:
                continue
            before = self._last.get(a.coin, Severity.NONE)
            self._last[a.coin] = a.severity
            if a.severity == before or Severity.NONE < a.severity < before:
                continue
            if a.severity == Severity.NONE:
                kind, shown = AlertKind.RESOLVED, before
            else:
                kind = AlertKind.FIRST if before == Severity.NONE else AlertKind.ESCALATED
                shown = a.severity
            self._count += 1
            item = AlertItem(a.coin, shown, kind, a)
            alerts.append(Alert(f"replay-{self._count}", now, shown, kind, (item,), ()))
        return alerts


def default_stage(settings: Settings) -> tuple[DecisionStage, str]:
    """AlertPolicy when the alerts package provides it, else the TransitionReporter."""
    try:
        from depeg_monitor.alerts.policy import AlertPolicy
        from depeg_monitor.alerts.routing import Router
        from depeg_monitor.rules import alert_rules, routing
    except ImportError:
        return TransitionReporter(), TransitionReporter.name
    routes = routing(settings)
    router = Router(routes.routes, routes.timezone, settings.channels)
    return AlertPolicy(alert_rules(settings), router), "AlertPolicy"
