"""The alert-decision stage a replay drives: the daemon's AlertPolicy, or a plain one.

TransitionReporter shows what the classifier alone would say — one alert per confirmed onset,
escalation and resolution — so a replay can separate detection from the policy's cooldowns,
reminders, routing and minor confirmation.
"""

from __future__ import annotations

from collections.abc import Sequence

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.config import Settings
from depeg_monitor.model import Ack, Alert, AlertItem, AlertKind, Assessment, Severity, Silence
from depeg_monitor.rules import alert_rules, routing


class TransitionReporter:
    """One alert per confirmed onset, escalation and resolution (no cooldowns, reminders,
    routing or minor confirmation; downgrades are silent)."""

    def __init__(self) -> None:
        self._last: dict[str, Severity] = {}
        self._count = 0

    def decide(
        self,
        assessments: Sequence[Assessment],
        now: float,
        silences: Sequence[Silence] = (),
        acks: Sequence[Ack] = (),
    ) -> list[Alert]:
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


def policy_for(settings: Settings) -> AlertPolicy:
    """The daemon's AlertPolicy with the manifest's rules and routes (every channel counts as
    configured: a replay sends nothing, it shows who would have heard)."""
    routes = routing(settings)
    router = Router(routes.routes, routes.timezone, settings.channels)
    return AlertPolicy(alert_rules(settings), router)
