"""The monitor watching itself: a MONITOR_DEGRADED alert when /health has failed for a grace
period, and MONITOR_RECOVERED when it passes again. The daemon hands them to the notifier.

The alert's note holds one line per failing check in plain words ("DAI: no price for 120s",
"every venue is failing"); the renderer turns it into a short title and a body.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from depeg_monitor.alerts.render import duration
from depeg_monitor.health.evaluate import Check, HealthReport, Status
from depeg_monitor.model import Alert, AlertKind, Severity

# A failing report must persist this long before it alerts (start-up, a short blip).
DEFAULT_GRACE = 60.0

# Checks named after a single component get their name said plainly; board-wide checks
# ("venues", "notifiers") say everything in their output.
_SUBJECT = {"db": "database", "aggregator": "main loop", "notifier:outbox": "alert delivery"}
_BOARD_WIDE = frozenset({"venues", "notifiers"})
_KIND_SUBJECT = {"coin": "{}", "venue": "{}", "notifier": "channel {}"}
# Causes before their effects: every venue down explains every coin without a price.
_ORDER = ("venues", "notifiers", "aggregator", "db", "notifier", "venue", "coin")


def _subject(name: str) -> str:
    """'coin:DAI' → 'DAI', 'notifier:sms' → 'channel sms', 'db' → 'database'."""
    if name in _SUBJECT:
        return _SUBJECT[name]
    kind, _, of = name.partition(":")
    template = _KIND_SUBJECT.get(kind)
    return template.format(of) if template and of else name


def problem(name: str, check: Check) -> str:
    """One check as one line a person reads: 'DAI: no price for 120s'."""
    what = " ".join((check.output or check.status).split())  # a driver's error may span lines
    if name in _BOARD_WIDE:
        return what
    subject = _subject(name)
    if what.lower().startswith(subject.lower()):
        return what  # "main loop stalled for 70s" names its subject already
    return f"{subject}: {what}"


def _rank(name: str) -> tuple[int, str]:
    kind = name.partition(":")[0]
    for i, first in enumerate(_ORDER):
        if name == first or kind == first:
            return i, name
    return len(_ORDER), name


def problems(report: HealthReport, status: Status = "fail") -> list[str]:
    """The checks at status, each as one plain line, causes first."""
    names = sorted((n for n, c in report.checks.items() if c.status == status), key=_rank)
    return [problem(n, report.checks[n]) for n in names]


class SelfWatch:
    def __init__(self, channels: Sequence[str], grace: float = DEFAULT_GRACE) -> None:
        """channels: who hears 'degraded'/'recovered' ([health] alert_channels, or all)."""
        self._channels = tuple(channels)
        self._grace = grace
        self._failing_since: float | None = None
        self.degraded = False
        self.problems: tuple[str, ...] = ()  # the failing checks when it degraded, in words

    def retarget(self, channels: Sequence[str]) -> None:
        """Who hears it from now on (config reload: the set of channels changed)."""
        self._channels = tuple(channels)

    def observe(self, report: HealthReport, now: float) -> Alert | None:
        if report.status == "fail":
            if self._failing_since is None:
                self._failing_since = now
            if not self.degraded and now - self._failing_since >= self._grace:
                self.degraded = True
                self.problems = tuple(problems(report))
                note = "\n".join(self.problems)
                return self._alert(AlertKind.MONITOR_DEGRADED, Severity.MAJOR, now, note)
            return None
        since, self._failing_since = self._failing_since, None
        if self.degraded:
            self.degraded = False
            failed_for = now - since if since is not None else 0.0
            note = f"No check is failing now; /health had failed for {duration(failed_for)}."
            return self._alert(AlertKind.MONITOR_RECOVERED, Severity.NONE, now, note)
        return None

    def _alert(self, kind: AlertKind, severity: Severity, now: float, note: str) -> Alert:
        return Alert(
            id=str(uuid.uuid4()),
            ts=now,
            severity=severity,
            kind=kind,
            items=(),
            channels=self._channels,
            note=note,
        )
