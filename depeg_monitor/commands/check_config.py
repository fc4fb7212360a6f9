"""`depeg-monitor check-config`: validate the configuration and say what will be watched.

It runs the very check `run` runs before starting (config.validate): exit 0 with a summary
and any warnings, or 2 with every problem — the same lines `run` would print.
"""

from __future__ import annotations

import argparse

from depeg_monitor.commands.settings import checked_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.config.problems import report
from depeg_monitor.config.validate import Verdict, database_parts


def _database(settings: Settings) -> str:
    """The database in words, never its password."""
    if settings.database.url is None:
        return f"sqlite file {settings.database.default_file()} (the default)"
    driver, place, _ = database_parts(settings.database.resolved_url())
    return f"{driver} {place}"


def _heard(settings: Settings) -> dict[str, list[str]]:
    """channel → the severities any route sends it."""
    from depeg_monitor.config.routes import routing

    heard: dict[str, list[str]] = {}
    for sev, rules in sorted(routing(settings).routes.items()):
        for r in rules:
            for c in r.channels:
                if sev.label not in heard.setdefault(c, []):
                    heard[c].append(sev.label)
    return heard


def summarise(settings: Settings, verdict: Verdict | None = None) -> list[str]:
    source = settings.origin.path or "no file (the environment only)"
    lines = [f"configuration: {source}", f"coins ({len(settings.coins)}):"]
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
    heard = _heard(settings)
    lines.append(f"channels ({len(settings.channels)}):")
    for name, ch in settings.channels.items():
        if verdict is None or name in verdict.channels:
            state = "ready"
        else:
            why = verdict.skipped.get(name, "cannot be built")
            state = "NOT CONFIGURED" + why.removeprefix("not configured")
        hears = ", ".join(heard.get(name, [])) or "no route"
        lines.append(f"  {name:<10} {ch.type:<8} {state}; hears {hears}")
    lines.append(f"database: {_database(settings)}")
    h = settings.health
    lines.append(f"health: http://{h.host}:{h.port}/health" if h.enabled else "health: off")
    return lines


def run(args: argparse.Namespace) -> int:
    settings, verdict = checked_or_exit(args)
    print("\n".join(summarise(settings, verdict)))
    if verdict.warnings:
        print(report(settings.origin.source(), verdict.warnings))
    return 0
