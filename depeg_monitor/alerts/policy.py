"""Alert policy: assessments in, alerts out, through small pure stages with injected time.

confirm → cooldown/escalation → silences → acks → quiet hours & routing → grouping (Alertmanager
style: each stage is one decision; a stage filters by returning fewer items). Silences and
acks are what people said (rows of their own, which the daemon re-reads), not policy state:
an ack names the episode it is for by when that episode began (alerts/acks.py).

One state machine. The only state is one CoinState per coin, and it changes only in advance(),
one recorded notice (EpisodeRow) at a time: decide() folds the rows of the alerts it returns,
exactly the rows the outbox records, and a restart folds the rows the history kept (fold()).
Live and restarted policies therefore cannot drift apart (Alertmanager: the notification log
stores facts and DedupStage alone interprets them). A decision that leaves no row (a held
reminder or retry, a cycle inside its cooldown) leaves the state as it was.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from depeg_monitor.alerts.acks import ack_for
from depeg_monitor.alerts.routing import Router
from depeg_monitor.alerts.rules import AlertRules
from depeg_monitor.alerts.silences import silenced_by
from depeg_monitor.frozen import fast_init
from depeg_monitor.model import (
    Ack,
    Alert,
    AlertItem,
    AlertKind,
    Assessment,
    EpisodeRow,
    Severity,
    Silence,
)

# Among items of one group, the headline kind: an escalation matters more than a reminder.
_KIND_RANK = {AlertKind.ESCALATED: 3, AlertKind.FIRST: 2, AlertKind.REMINDER: 1}


@fast_init
@dataclass(frozen=True, slots=True)
class CoinState:
    """What the policy remembers about one coin's open episode: what its recorded notices say.

    severity is the episode's peak, not the level firing now. A downgrade is silent (no row is
    written), so "the level now" could not be rebuilt from the history after a restart; the
    peak can, and the stages need no more: confirm and cooldown only ask whether an episode is
    open and whether a level was recorded already, the resolved notice names the peak.
    latest is the level of the newest recorded notice, the best a restart knows of the level
    now: the detector resumes there (see firing).
    """

    severity: Severity  # the highest level this episode reached (NONE: closed)
    since: float  # when the episode began
    notified: Severity  # highest level someone has heard; NONE while every send was held
    last_notified: float | None
    heard: tuple[str, ...]  # channels that heard this episode (they get the 'resolved')
    reminders: int = 0  # reminders sent at the current level (each waits longer: backoff)
    latest: Severity = Severity.NONE  # the level the newest recorded notice named
    peak_deviation: float | None = None  # the worst deviation a recorded notice named


CLOSED = CoinState(Severity.NONE, 0.0, Severity.NONE, None, ())


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """One coin's way through the stages."""

    coin: str
    severity: Severity
    kind: AlertKind
    assessment: Assessment
    retry: bool = False  # a level this episode recorded already: if held again, record nothing
    channels: tuple[str, ...] = ()
    suppressed: str | None = None
    peak_deviation: float | None = None  # a resolution: the episode's worst deviation …
    since: float | None = None  # … and when it began
    acknowledged: Ack | None = None  # the episode's ack, for the message to say


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


def current(a: Assessment, severity: Severity, kind: AlertKind) -> bool:
    """A new level is told only while the market is still there: a first or escalated notice
    for a level the deviation has already left (a held minor whose price is back) is not."""
    if kind in (AlertKind.FIRST, AlertKind.ESCALATED):
        return a.raw_severity >= severity
    return True


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
    if severity > state.notified:
        # A level nobody has heard: no cooldown applies. FIRST while every earlier notice was
        # held (quiet hours, silence). A retry is a level this episode recorded already (at
        # most its peak): held again, it would only repeat that row, so it is dropped.
        kind = AlertKind.FIRST if state.notified == Severity.NONE else AlertKind.ESCALATED
        return kind, severity <= state.severity
    last = state.last_notified if state.last_notified is not None else state.since
    if now - last >= reminder_interval(severity, rules, state.reminders):
        return AlertKind.REMINDER, False
    return None  # same or lower level inside its cooldown: say nothing


def silence(d: Decision, now: float, silences: Sequence[Silence]) -> Decision:
    if d.kind != AlertKind.RESOLVED and silenced_by(d.coin, now, silences) is not None:
        return dataclasses.replace(d, suppressed="silenced")
    return d


def acknowledge(d: Decision, state: CoinState, ack: Ack | None) -> Decision:
    """An acknowledged episode sends nothing more at or below the level acknowledged (a
    reminder, a held level sent late) while it has not gone past that level. The first message
    heard beyond the ack — the escalation past it, or the resolution — carries it, to be said."""
    if ack is None or d.suppressed:
        return d
    if (
        d.kind != AlertKind.RESOLVED
        and d.severity <= ack.severity
        and state.severity <= ack.severity  # not escalated past it, even held
    ):
        return dataclasses.replace(d, suppressed="acknowledged", acknowledged=ack)
    if state.notified <= ack.severity:  # nobody has heard of this episode since the ack
        return dataclasses.replace(d, acknowledged=ack)
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
    """Held reminders and held retries are not worth a history row every cycle.

    Leaving no row, they change no state either: a held reminder is at or below the level
    notified, a held retry at or below the peak, so advance() would have nothing to record.
    """
    return not (d.suppressed and (d.kind == AlertKind.REMINDER or d.retry))


def group(decisions: Iterable[Decision], now: float) -> list[Alert]:
    """Coins that fire in one cycle go out as one alert: firing, resolved, each held reason."""
    buckets: dict[tuple[str, str | None], list[Decision]] = {}
    for d in decisions:
        family = {AlertKind.RESOLVED: "resolved", AlertKind.DISLOCATION: "dislocation"}.get(
            d.kind, "firing"
        )
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
                items=tuple(
                    AlertItem(
                        d.coin,
                        d.severity,
                        d.kind,
                        d.assessment,
                        d.peak_deviation,
                        d.since,
                        d.acknowledged,
                    )
                    for d in ds
                ),
                channels=tuple(channels),
                suppressed=suppressed,
            )
        )
    return alerts


def recorded(alert: Alert) -> list[EpisodeRow]:
    """The rows the history keeps of an alert: one per coin, with the channels that heard it
    (the alert's, all of them: a coin grouped with others was named to every channel the group
    went to, so each of those hears its resolution; none while the alert was held)."""
    heard = () if alert.suppressed else alert.channels
    return [
        EpisodeRow(
            i.coin,
            alert.ts,
            i.kind,
            i.severity,
            alert.suppressed,
            heard,
            i.assessment.deviation if i.assessment else None,
        )
        for i in alert.items
    ]


def advance(state: CoinState, row: EpisodeRow) -> CoinState:
    """The coin's state after one recorded notice: the policy's only transition."""
    if row.kind == AlertKind.RESOLVED:
        return CLOSED
    if row.kind not in _EPISODE_KINDS or row.severity == Severity.NONE:
        return state  # monitor and test alerts are no coin's episode
    if state.severity == Severity.NONE:
        state = CoinState(row.severity, row.ts, Severity.NONE, None, ())
    peak = state.peak_deviation
    if row.deviation is not None and (peak is None or abs(row.deviation) > abs(peak)):
        peak = row.deviation
    state = dataclasses.replace(
        state,
        severity=max(state.severity, row.severity),
        latest=row.severity,
        peak_deviation=peak,
    )
    if row.channels and not row.suppressed:
        state = dataclasses.replace(
            state,
            notified=max(state.notified, row.severity),
            last_notified=row.ts,
            heard=state.heard + tuple(c for c in row.channels if c not in state.heard),
            reminders=state.reminders + 1 if row.kind == AlertKind.REMINDER else 0,
        )
    return state


_EPISODE_KINDS = frozenset({AlertKind.FIRST, AlertKind.ESCALATED, AlertKind.REMINDER})


def fold(
    rows: Iterable[EpisodeRow], states: Mapping[str, CoinState] | None = None
) -> dict[str, CoinState]:
    """The open episodes after the rows, in their order (oldest first), from states (or none)."""
    out = dict(states) if states else {}
    for r in rows:
        out[r.coin] = advance(out.get(r.coin, CLOSED), r)
    return {c: s for c, s in out.items() if s.severity}


# --- the pipeline -------------------------------------------------------------------------


class AlertPolicy:
    """The stages above with one CoinState per coin; rules and routes compiled by the root."""

    def __init__(self, rules: AlertRules, router: Router) -> None:
        self._rules = rules
        self._router = router
        self._states: dict[str, CoinState] = {}
        # Venue splits per coin: (first seen, last told). Not an episode (no depeg), so kept
        # here, not in the history's fold; after a restart a lasting split is told once more.
        self._splits: dict[str, tuple[float, float | None]] = {}

    def decide(
        self,
        assessments: Sequence[Assessment],
        now: float,
        silences: Sequence[Silence] = (),
        acks: Sequence[Ack] = (),
    ) -> list[Alert]:
        """This cycle's alerts; the state then follows from what they record (see fold)."""
        # One assessment per coin (the detector's contract): a later duplicate replaces one.
        latest = {a.coin: a for a in assessments if a.deviation is not None}
        decisions: list[Decision] = []
        for a in latest.values():  # without a price: neither a firing nor a resolution
            state = self._states.get(a.coin, CLOSED)
            split = self._dislocation(a, now)
            if split is not None:
                split = route(silence(split, now, silences), state, self._router, now)
                if split.suppressed != "silenced":
                    decisions.append(split)
            severity = confirm(a, state, self._rules)
            verdict = cooldown(severity, state, now, self._rules)
            if verdict is None:
                continue
            kind, retry = verdict
            if not current(a, severity, kind):
                continue
            if kind == AlertKind.RESOLVED:
                d = Decision(
                    a.coin,
                    state.severity,
                    kind,
                    a,
                    retry,
                    peak_deviation=state.peak_deviation,
                    since=state.since,
                )
            else:
                d = Decision(a.coin, severity, kind, a, retry)
            ack = ack_for(a.coin, state.since, acks) if state.severity else None
            d = acknowledge(silence(d, now, silences), state, ack)
            d = route(d, state, self._router, now)
            if keep(d):
                decisions.append(d)
        if not decisions:
            return []  # most cycles: nothing to say, and nothing recorded to fold
        alerts = group(decisions, now)
        # The state is not advanced per decision but from the alerts as recorded (a coin in a
        # group was heard by every channel of its alert), through the fold a restart uses:
        # there is no second path to keep in step with it.
        self._states = fold((r for alert in alerts for r in recorded(alert)), self._states)
        return alerts

    def _dislocation(self, a: Assessment, now: float) -> Decision | None:
        """A notice when one venue has stood apart from the rest for dislocation_hold, routed
        like minor (never paged as critical); again each reminder_minor while it lasts."""
        if a.snapshot.dislocation is None:
            self._splits.pop(a.coin, None)
            return None
        first, told = self._splits.get(a.coin, (now, None))
        self._splits[a.coin] = (first, told)
        if now - first < self._rules.dislocation_hold:
            return None
        if told is not None and now - told < self._rules.reminders[Severity.MINOR]:
            return None
        self._splits[a.coin] = (first, now)
        return Decision(a.coin, Severity.MINOR, AlertKind.DISLOCATION, a)

    def retune(self, rules: AlertRules, router: Router) -> None:
        """Reloaded rules and routes (config reload); every coin's episode state is kept."""
        self._rules = rules
        self._router = router

    def firing(self) -> dict[str, tuple[Severity, float]]:
        """Open episodes: coin → (the latest recorded level, since), where a restarted detector
        resumes. Not the peak: after critical and a silent fall to major, resuming at critical
        would hold critical until it clears and could send a critical reminder meanwhile."""
        return {c: (s.latest, s.since) for c, s in self._states.items() if s.severity}

    def export_state(self) -> dict[str, CoinState]:
        return {c: s for c, s in self._states.items() if s.severity}

    def restore(self, rows: Iterable[EpisodeRow]) -> None:
        """After a restart: the state the recorded rows (alert_history.episode_rows) lead to."""
        self._states = fold(rows)

    def restore_states(self, states: Mapping[str, CoinState]) -> None:
        """Take over exported state as it is (another policy's export_state())."""
        self._states = {c: s for c, s in states.items() if s.severity}
