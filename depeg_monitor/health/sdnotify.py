"""systemd's sd_notify protocol over $NOTIFY_SOCKET, without extra packages.

Datagrams of KEY=VALUE lines to a unix socket; '@' means the abstract namespace. Every call
is a no-op when the service was not started by systemd (no NOTIFY_SOCKET). `follow` keeps
`systemctl status` saying what /health says: STATUS= is sent when the status or the set of
checks behind it changes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import structlog

from depeg_monitor.health.evaluate import HealthReport
from depeg_monitor.health.selfwatch import problems

log = structlog.get_logger(__name__)

# systemctl status shows STATUS= on one line; longer is cut.
STATUS_LIMIT = 200


def status_line(report: HealthReport, watching: str) -> str:
    """/health as one line: 'pass: monitoring 8 coins on 9 venues', 'warn: monitoring …;
    binance: …', 'FAIL: every venue is failing; DAI: no price for 120s'.

    watching: what the monitor does when nothing is wrong (the READY=1 status).
    """
    if report.status == "fail":
        text = "FAIL: " + "; ".join(problems(report, "fail"))
    elif report.status == "warn":
        text = f"warn: {watching}; " + "; ".join(problems(report, "warn"))
    else:
        text = f"pass: {watching}"
    return text if len(text) <= STATUS_LIMIT else text[: STATUS_LIMIT - 1].rstrip() + "…"


def _situation(report: HealthReport) -> tuple[str, frozenset[str]]:
    """The status and the checks behind it; an age that grows each cycle is no change."""
    if report.status == "pass":
        return "pass", frozenset()
    return report.status, frozenset(
        n for n, c in report.checks.items() if c.status == report.status
    )


class SdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET") or None
        if addr is not None and addr.startswith("@"):
            addr = "\0" + addr[1:]
        self._addr = addr
        self._watchdog_usec = env.get("WATCHDOG_USEC")
        self._watchdog_pid = env.get("WATCHDOG_PID")
        self._situation: tuple[str, frozenset[str]] | None = None

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def notify(self, *lines: str) -> bool:
        """Send one message; False if there is no socket or it could not be sent."""
        if self._addr is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto("\n".join(lines).encode(), self._addr)
            return True
        except OSError as e:  # never let supervision plumbing stop the monitor
            log.warning("sd_notify_failed", error=type(e).__name__)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        """RELOADING=1 with the CLOCK_MONOTONIC time systemd matches it by; READY=1 ends it."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def follow(self, report: HealthReport, watching: str) -> bool:
        """STATUS=<status_line> if the status or its failing (or warning) checks changed since
        the last call; True if a line was sent. Call it with each cycle's report."""
        now = _situation(report)
        if now == self._situation:
            return False
        self._situation = now
        return self.status(status_line(report, watching))

    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None if not watched."""
        if not self._watchdog_usec:
            return None
        if self._watchdog_pid and self._watchdog_pid != str(os.getpid()):
            return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            return None
        return usec / 2_000_000 if usec > 0 else None
