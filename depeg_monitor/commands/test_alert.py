"""`depeg-monitor test-alert [--channel NAME]`: a marked test message through each channel."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
import uuid

from depeg_monitor.alerts.render import render
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.model import Alert, AlertKind, Severity
from depeg_monitor.notify.build import build_channels_report
from depeg_monitor.notify.channel import Channel, DeliveryError

# A channel's own timeouts end its send within channel.timeout; this is for one that does not.
BACKSTOP_MARGIN = 5.0


async def _try(channel: Channel, alert: Alert) -> str | None:
    """None if delivered, else why not (free of secrets)."""
    limit = channel.timeout + BACKSTOP_MARGIN
    try:
        async with asyncio.timeout(limit):
            await channel.send(render(alert), alert.id)
    except DeliveryError as e:
        return e.reason
    except TimeoutError:
        return f"no answer within {limit:g}s"
    finally:
        await channel.close()
    return None


async def _run(channels: dict[str, Channel], alert: Alert) -> dict[str, str | None]:
    names = list(channels)
    results = await asyncio.gather(*(_try(channels[n], alert) for n in names))
    return dict(zip(names, results, strict=True))


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    channels, skipped = build_channels_report(settings)
    wanted = [args.channel.lower()] if args.channel else list(settings.channels)
    unknown = [n for n in wanted if n not in settings.channels]
    if unknown:
        known = ", ".join(settings.channels) or "none configured"
        print(f"no channel named {unknown[0]!r} (channels: {known})", file=sys.stderr)
        return 2
    if not wanted:
        print("no channels configured", file=sys.stderr)
        return 1
    alert = Alert(
        id=str(uuid.uuid4()),
        ts=time.time(),
        severity=Severity.NONE,
        kind=AlertKind.TEST,
        items=(),
        channels=tuple(wanted),
        note=f"Sent by test-alert on {socket.gethostname()}.",
    )
    outcome = asyncio.run(_run({n: channels[n] for n in wanted if n in channels}, alert))
    failed = 0
    for name in wanted:
        why = skipped.get(name) or outcome.get(name)
        print(f"{name:<12} {'delivered' if why is None else 'NOT delivered: ' + why}")
        failed += why is not None
    return 1 if failed else 0
