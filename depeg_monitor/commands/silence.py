"""`depeg-monitor silence add|list|expire`: stored silences the alert pipeline honours."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import create_engine, upgrade


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
