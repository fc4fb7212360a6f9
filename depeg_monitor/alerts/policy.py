"""Alert policy: assessments in, alerts out, through small pure stages with injected time.

confirm → cooldown/escalation → silences → quiet hours & routing → grouping (Alertmanager
style: each stage is one decision; a stage filters by returning fewer items). The only state
is one CoinState per coin, exported and restored so a restart neither re-alerts nor forgets.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from depeg_monitor.alerts.routing import Router
from depeg_monitor.alerts.rules import AlertRules
from depeg_monitor.alerts.silences import silenced_by
from depeg_monitor.model import Alert, AlertItem, AlertKind, Assessment, Severity, Silence

# Among items of one group, the headline kind: an escalation matters more than a reminder.
_KIND_RANK = {AlertKind.ESCALATED: 3, AlertKind.FIRST: 2, AlertKind.REMINDER: 1}


@dataclass(frozen=True, slots=True)
class CoinState:
    """What the policy remembers about one coin's open episode."""

    severity: Severity  # level firing now (NONE: closed)
    since: float  # when the episode began
    notified: Severity  # highest level someone has heard; NONE while every send was held
    last_notified: float | None
    heard: tuple[str, ...]  # channels that heard this episode (they get the 'resolved')
    reminders: int = 0  # reminders sent at the current level (each waits longer: backoff)


CLOSED = CoinState(Severity.NONE, 0.0, Severity.NONE, None, ())


@dataclass(frozen=True, slots=True)
class Decision:
    """One coin's way through the stages."""

    coin: str
    severity: Severity
    kind: AlertKind
    assessment: Assessment
    retry: bool = False  # re-trying a held first notice: if held again, record nothing
    channels: tuple[str, ...] = ()
    suppressed: str | None = None


# --- stages -------------------------------------------------------------------------------


def confirm(a: Assessment, state: CoinState, rules: AlertRules) -> Severity:
    """A minor deviation opens an episode only with supporting context."""
    if a.severity != Severity.MINOR or state.severity > Severity.NONE:
        return a.severity
    ctx = a.snapshot.context
    supported = (
        a.held_for >= rules.confirm_minor_hold
        or (ctx.volume_spike is not None and ctx.volume_spike >= rules.confirm_volume_spike)
        or bool(ctx.correlated)
        or (ctx.spread is not None and ctx.spread >= rules.confirm_spread)
    )
    return Severity.MINOR if supported else Severity.NONE


def reminder_interval(severity: Severity, rules: AlertRules, sent: int = 0) -> float:
    """The wait before the next reminder: the level's interval, growing with each one sent,
    so a depeg that lasts days is a handful of reminders, not one every 15 minutes."""
    base = rules.reminders[severity]
    return min(base * rules.reminder_backoff**sent, max(base, rules.reminder_max))


def cooldown(
    severity: Severity, state: CoinState, now: float, rules: AlertRules
) -> tuple[AlertKind, bool] | None:
    """Whether to notify and why: (kind, retry) or None. Pure in (severity, state, now)."""
    if severity == Severity.NONE:
        return (AlertKind.RESOLVED, False) if state.severity > Severity.NONE else None
    if state.severity == Severity.NONE:
        return AlertKind.FIRST, False
    if state.notified == Severity.NONE:
        # Every earlier notice was held (quiet hours, silence): try again, quietly if held.
        return AlertKind.FIRST, severity <= state.severity
    if severity > state.notified:
        return AlertKind.ESCALATED, False  # bypasses every cooldown
    last = state.last_notified if state.last_notified is not None else state.since
    if now - last >= reminder_interval(severity, rules, state.reminders):
        return AlertKind.REMINDER, False
    return None  # same or lower level inside its cooldown: say nothing


def silence(d: Decision, now: float, silences: Sequence[Silence]) -> Decision:
    if d.kind != AlertKind.RESOLVED and silenced_by(d.coin, now, silences) is not None:
        return dataclasses.replace(d, suppressed="silenced")
    return d


def route(d: Decision, state: CoinState, router: Router, now: float) -> Decision:
    """Channels for a decision; a resolved notice goes exactly to those that heard the firing."""
    if d.suppressed:
        return d
    if d.kind == AlertKind.RESOLVED:
        if not state.heard:
            return dataclasses.replace(d, suppressed="unheard")
        return dataclasses.replace(d, channels=state.heard)
    channels, why = router.channels(d.severity, now)
    return dataclasses.replace(d, channels=channels, suppressed=why)


def keep(d: Decision) -> bool:
    """Held reminders and held retries are not worth a history row every cycle."""
    return not (d.suppressed and (d.kind == AlertKind.REMINDER or d.retry))


def group(decisions: Iterable[Decision], now: float) -> list[Alert]:
    """Coins that fire in one cycle go out as one alert: firing, resolved, each held reason."""
    buckets: dict[tuple[str, str | None], list[Decision]] = {}
    for d in decisions:
        family = "resolved" if d.kind == AlertKind.RESOLVED else "firing"
        buckets.setdefault((family, d.suppressed), []).append(d)
    alerts = []
    for (_, suppressed), ds in buckets.items():
        ds.sort(key=lambda d: (-d.severity, d.coin))
        head = max(ds, key=lambda d: (d.severity, _KIND_RANK.get(d.kind, 0)))
        channels: list[str] = []
        for d in ds:
            channels.extend(c for c in d.channels if c not in channels)
        alerts.append(
            Alert(
                id=str(uuid.uuid4()),
                ts=now,
                severity=head.severity,
                kind=head.kind,
                items=tuple(AlertItem(d.coin, d.severity, d.kind, d.assessment) for d in ds),
                channels=tuple(channels),
                suppressed=suppressed,
            )
        )
    return alerts


def advance(state: CoinState, severity: Severity, d: Decision | None, now: float) -> CoinState:
    """The coin's state after this cycle."""
    if severity == Severity.NONE:
        return CLOSED if state.severity > Severity.NONE else state
    if state.severity == Severity.NONE:
        state = CoinState(severity, now, Severity.NONE, None, ())
    state = dataclasses.replace(state, severity=severity)
    if d is not None and d.channels and not d.suppressed:
        state = dataclasses.replace(
            state,
            notified=max(state.notified, severity),
            last_notified=now,
            heard=state.heard + tuple(c for c in d.channels if c not in state.heard),
            reminders=state.reminders + 1 if d.kind == AlertKind.REMINDER else 0,
        )
    return state


# --- the pipeline -------------------------------------------------------------------------


class AlertPolicy:
    """The stages above with one CoinState per coin; rules and routes compiled by the root."""

    def __init__(self, rules: AlertRules, router: Router) -> None:
        self._rules = rules
        self._router = router
        self._states: dict[str, CoinState] = {}

    def decide(
        self, assessments: Sequence[Assessment], now: float, silences: Sequence[Silence] = ()
    ) -> list[Alert]:
        decisions: list[Decision] = []
        for a in assessments:
            if a.deviation is None:
                continue  # no price this cycle: neither a firing nor a resolution
            state = self._states.get(a.coin, CLOSED)
            severity = confirm(a, state, self._rules)
            verdict = cooldown(severity, state, now, self._rules)
            d = None
            if verdict is not None:
                kind, retry = verdict
                shown = state.severity if kind == AlertKind.RESOLVED else severity
                d = Decision(a.coin, shown, kind, a, retry)
                d = route(silence(d, now, silences), state, self._router, now)
                if keep(d):
                    decisions.append(d)
            self._states[a.coin] = advance(state, severity, d, now)
        return group(decisions, now)

    def firing(self) -> dict[str, tuple[Severity, float]]:
        """Open episodes: coin → (level, since)."""
        return {c: (s.severity, s.since) for c, s in self._states.items() if s.severity}

    def export_state(self) -> dict[str, CoinState]:
        return {c: s for c, s in self._states.items() if s.severity}

    def restore(self, states: Mapping[str, CoinState]) -> None:
        self._states = {c: s for c, s in states.items() if s.severity}
