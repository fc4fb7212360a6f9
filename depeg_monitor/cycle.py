"""One cycle of the monitor, as a value: quotes in → detect → decide → outbox.

The daemon drives it on a timer (and, later, on coalesced stream updates); replay drives it
from the file clock with a recording outbox. Both run exactly this pipeline; what only the
live daemon does (history rows, health, the self-watch, the heartbeat) is a Watcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from depeg_monitor.frozen import fast_init
from depeg_monitor.model import Ack, Alert, Assessment, Quote, Silence


class Detector(Protocol):
    def step(self, quotes: Sequence[Quote], now: float) -> list[Assessment]: ...


class Policy(Protocol):
    def decide(
        self,
        assessments: Sequence[Assessment],
        now: float,
        silences: Sequence[Silence] = (),
        acks: Sequence[Ack] = (),
    ) -> list[Alert]: ...


class AlertSink(Protocol):
    async def submit(self, alert: Alert) -> None:
        """Record the alert and start delivering it; never waits for a delivery."""


class SilenceSource(Protocol):
    async def current(self, now: float) -> Sequence[Silence]:
        """The silences in force at now (cached; a down database keeps the last known)."""


class AckSource(Protocol):
    async def current(self, now: float) -> Sequence[Ack]:
        """Each coin's newest acknowledgement (cached; a down database keeps the last known)."""


class Watcher(Protocol):
    def observe(
        self, assessments: Sequence[Assessment], alerts: Sequence[Alert], now: float
    ) -> Sequence[Alert]:
        """See one cycle's outcome; return any alert of its own (the monitor's self-alerts)."""


class NoSilences:
    async def current(self, now: float) -> Sequence[Silence]:
        return ()


class NoAcks:
    async def current(self, now: float) -> Sequence[Ack]:
        return ()


@fast_init
@dataclass(frozen=True, slots=True)
class Step:
    """What one cycle saw and decided."""

    now: float
    assessments: tuple[Assessment, ...]
    alerts: tuple[Alert, ...]


class Cycle:
    def __init__(
        self,
        detector: Detector,
        policy: Policy,
        outbox: AlertSink,
        *,
        silences: SilenceSource | None = None,
        acks: AckSource | None = None,
        watchers: Sequence[Watcher] = (),
    ) -> None:
        self._detector = detector
        self._policy = policy
        self._outbox = outbox
        self._silences = silences or NoSilences()
        self._acks = acks or NoAcks()
        self._watchers = tuple(watchers)

    async def step(self, quotes: Sequence[Quote], now: float) -> Step:
        """One aggregate → classify → alert pass over the latest quotes at `now`."""
        assessments = self._detector.step(quotes, now)
        silences, acks = await self._silences.current(now), await self._acks.current(now)
        alerts = self._policy.decide(assessments, now, silences, acks)
        for watcher in self._watchers:
            alerts = [*alerts, *watcher.observe(assessments, alerts, now)]
        for alert in alerts:
            await self._outbox.submit(alert)
        return Step(now, tuple(assessments), tuple(alerts))


class RecordingOutbox:
    """Replay's outbox: keeps every alert, sends nothing."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def submit(self, alert: Alert) -> None:
        self.alerts.append(alert)
