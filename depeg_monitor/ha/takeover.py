"""What the daemon does when this node's role changes: the Takeover the node is bound to."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.detect.detector import Detector
from depeg_monitor.model import Severity
from depeg_monitor.notify.outbox import Outbox
from depeg_monitor.store import alert_history

log = structlog.get_logger(__name__)


class DaemonTakeover:
    def __init__(
        self, engine: AsyncEngine, policy: AlertPolicy, detector: Detector, outbox: Outbox
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._detector = detector
        self._outbox = outbox

    async def restore(self) -> None:
        """The policy from the alert history, through the same fold as restart recovery, so
        the new leader neither repeats what the old one sent nor forgets to resolve it. The
        standby's detector is warm; a coin it does not see firing resumes at the recorded
        level and must clear normally (as after a restart)."""
        self._policy.restore(await alert_history.episode_rows(self._engine))
        for coin, (severity, since) in self._policy.firing().items():
            state = self._detector.state(coin)
            if state is None or state.severity is Severity.NONE:
                self._detector.restore(coin, severity, since)
        if self._policy.firing():
            log.info("ha_restored_open_alerts", coins=sorted(self._policy.firing()))

    async def resume(self) -> None:
        await self._outbox.flush()  # this node's own rows first, so its claims can find them
        await self._outbox.resume_pending()

    def step_down(self) -> None:
        self._outbox.step_down()
