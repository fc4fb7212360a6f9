"""`depeg-monitor silence add|list|expire`: stored silences the alert pipeline honours."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import UTC, datetime

from depeg_monitor.commands import add_config_argument, settings_or_exit
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', '1d12h' → seconds; ArgumentTypeError otherwise."""
    t = text.strip().lower()
    parts = _DURATION.findall(t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 2h, 1d)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a silence must last longer than zero")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="silence one coin (or all) for a while")
    add.add_argument("--coin", help="coin symbol, e.g. USDT (default: every coin)")
    add.add_argument("--for", dest="duration", type=parse_duration, required=True, help="2h")
    add.add_argument("--reason", required=True, help="why, for whoever reads the list later")
    lst = sub.add_parser("list", help="silences in force or still to come")
    lst.add_argument("--all", action="store_true", help="include ended and expired ones")
    exp = sub.add_parser("expire", help="end a silence now")
    exp.add_argument("id", type=int)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _run(args: argparse.Namespace, url: str, now: float) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        if args.action == "add":
            coin = args.coin.upper() if args.coin else None
            sid = await alert_history.add_silence(
                engine, coin, now, now + args.duration, args.reason, now
            )
            print(f"silence {sid}: {coin or 'all coins'} until {_when(now + args.duration)}")
            return 0
        if args.action == "list":
            found = await alert_history.list_silences(engine, now, include_past=args.all)
            if not found:
                print("no silences")
            for s in found:
                state = "active" if s.active(now) else ("ended" if s.ends_at <= now else "later")
                print(
                    f"{s.id:>4}  {s.coin or 'ALL':<6} {_when(s.starts_at)} → {_when(s.ends_at)}"
                    f"  {state:<6}  {s.reason}"
                )
            return 0
        if await alert_history.expire_silence(engine, args.id, now):
            print(f"silence {args.id} expired")
            return 0
        print(f"no silence {args.id} in force", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    return asyncio.run(_run(args, settings.database.resolved_url(), time.time()))
