"""The monitor watching itself: a MONITOR_DEGRADED alert when /health has failed for a grace
period, and MONITOR_RECOVERED when it passes again. The daemon hands them to the notifier."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from depeg_monitor.health.evaluate import HealthReport
from depeg_monitor.model import Alert, AlertKind, Severity

# A failing report must persist this long before it alerts (start-up, a short blip).
DEFAULT_GRACE = 60.0


class SelfWatch:
    def __init__(self, channels: Sequence[str], grace: float = DEFAULT_GRACE) -> None:
        """channels: who hears 'degraded'/'recovered' ([health] alert_channels, or all)."""
        self._channels = tuple(channels)
        self._grace = grace
        self._failing_since: float | None = None
        self.degraded = False
        self.reason: str | None = None  # the failing checks, for the message

    def observe(self, report: HealthReport, now: float) -> Alert | None:
        if report.status == "fail":
            if self._failing_since is None:
                self._failing_since = now
            if not self.degraded and now - self._failing_since >= self._grace:
                self.degraded = True
                self.reason = ", ".join(
                    f"{n}: {report.checks[n].output}" for n in sorted(report.failing())
                )
                return self._alert(AlertKind.MONITOR_DEGRADED, Severity.MAJOR, now)
            return None
        self._failing_since = None
        if self.degraded:
            self.degraded = False
            return self._alert(AlertKind.MONITOR_RECOVERED, Severity.NONE, now)
        return None

    def _alert(self, kind: AlertKind, severity: Severity, now: float) -> Alert:
        return Alert(
            id=str(uuid.uuid4()),
            ts=now,
            severity=severity,
            kind=kind,
            items=(),
            channels=self._channels,
            note=(self.reason or "") if kind == AlertKind.MONITOR_DEGRADED else "",
        )
