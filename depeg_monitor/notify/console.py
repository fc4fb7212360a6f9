"""A console channel: a structlog line per alert (the demo's channel, and a trace in journald)."""

from __future__ import annotations

import structlog

from depeg_monitor.alerts.render import plain
from depeg_monitor.model import Message
from depeg_monitor.notify.channel import DEFAULT_TIMEOUT

log = structlog.get_logger(__name__)


class ConsoleChannel:
    """A structlog line per alert: the demo's channel, and a trace in journald."""

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.name = name
        self.timeout = timeout  # a log line takes no time; kept so every channel has one

    async def send(self, msg: Message, key: str) -> None:
        log.warning("alert", channel=self.name, alert_id=key, text=plain(msg))

    async def close(self) -> None:
        return None
