"""`depeg-monitor check-config`: validate the configuration and say what will be watched."""

from __future__ import annotations

import argparse

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings


def summarise(settings: Settings) -> list[str]:
    lines = [f"coins ({len(settings.coins)}):"]
    for coin, c in settings.coins.items():
        t = settings.thresholds_for(coin)
        lines.append(
            f"  {coin:<6} peg {c.peg:g}  minor {t.minor:.2%}  major {t.major:.2%}  "
            f"critical {t.critical:.2%}"
        )
    enabled = {n: v for n, v in settings.venues.items() if v.enabled}
    lines.append(f"venues ({len(enabled)} enabled):")
    for name, v in enabled.items():
        where = v.base_url or "default URL"
        lines.append(
            f"  {name:<10} every {v.poll_interval:g}s  {where}  {', '.join(v.markets) or '-'}"
        )
    lines.append(f"channels ({len(settings.channels)}):")
    for name, ch in settings.channels.items():
        ready = "ready"
        if ch.type == "apprise" and ch.url is None:
            ready = f"NOT CONFIGURED: set DEPEG_CHANNELS__{name.upper()}__URL"
        lines.append(f"  {name:<10} {ch.type:<8} {ready}")
    db = settings.database.resolved_url()
    lines.append(f"database: {db.split('://', 1)[0]}")
    h = settings.health
    lines.append(f"health: http://{h.host}:{h.port}/health" if h.enabled else "health: off")
    return lines


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    print("\n".join(summarise(settings)))
    return 0
