"""`depeg-monitor run`: the daemon. SIGTERM/SIGINT stop it cleanly (exit 0); SIGHUP
(`systemctl reload`) reads the configuration again (depeg_monitor/reload.py)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

from depeg_monitor.commands.settings import checked_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.daemon import Daemon, StartupError
from depeg_monitor.logsetup import configure_logging, settings_secrets

log = structlog.get_logger(__name__)


async def _serve(args: argparse.Namespace) -> int:
    # The check check-config runs: any error is printed as it prints it, and we exit 2.
    settings, verdict = checked_or_exit(args)
    secrets = set(settings_secrets(settings))
    configure_logging(settings.logging, secrets=secrets)

    def accepted(new: Settings) -> None:
        # A reloaded configuration's secrets are redacted from then on; the old ones stay on
        # the list ([logging] itself is read at start-up only).
        secrets.update(settings_secrets(new))
        configure_logging(settings.logging, secrets=secrets)

    for problem in verdict.warnings:
        log.warning("config_warning", where=problem.where, problem=problem.reason)
    # The channels the check built (with Twilio's credentials from the settings' own
    # environment, credentials included): run starts with what check-config approved.
    daemon = Daemon(settings, channels=dict(verdict.channels), on_reload=accepted)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, daemon.reload)
    try:
        await daemon.run(stop)
    except StartupError as e:  # a busy port, a database path that does not exist, …
        print(f"depeg-monitor run: {e}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))
