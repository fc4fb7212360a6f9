"""`depeg-monitor silence add|list|expire`: stored silences the alert pipeline honours."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.commands.database import DB_ERRORS, db_problem, opened
from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import upgrade
from depeg_monitor.terminal import printable

EXIT_USAGE = 2


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _add(engine: AsyncEngine, args: argparse.Namespace, now: float) -> int:
    coin = args.coin.upper() if args.coin else None
    sid = await alert_history.add_silence(engine, coin, now, now + args.duration, args.reason, now)
    who = printable(coin or "all coins")
    print(f"silence {sid}: {who} until {_when(now + args.duration)}")
    return 0


async def _list(engine: AsyncEngine, args: argparse.Namespace, now: float) -> int:
    found = await alert_history.list_silences(engine, now, include_past=args.all)
    if not found:
        print("no silences")
    for s in found:
        state = "active" if s.active(now) else ("ended" if s.ends_at <= now else "later")
        coin, reason = printable(s.coin or "ALL"), printable(s.reason)
        print(
            f"{s.id:>4}  {coin:<6} {_when(s.starts_at)} → {_when(s.ends_at)}  {state:<6}  {reason}"
        )
    return 0


async def _expire(engine: AsyncEngine, args: argparse.Namespace, now: float) -> int:
    if await alert_history.expire_silence(engine, args.id, now):
        print(f"silence {args.id} expired")
        return 0
    print(f"no silence {args.id} in force", file=sys.stderr)
    return 1


_ACTIONS = {"add": _add, "list": _list, "expire": _expire}


async def _run(args: argparse.Namespace, settings: Settings, now: float) -> int:
    async with opened(settings) as engine:
        # A silence may be added before the daemon first runs: the schema is made if need be.
        await upgrade(engine)
        return await _ACTIONS[args.action](engine, args, now)


def _unknown_coin(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why `--coin` cannot be silenced, or None: a coin the configuration does not watch would
    be a silence that silences nothing (USTD for USDT), kept quietly until it ends."""
    if args.action != "add" or args.coin is None or args.coin.upper() in settings.coins:
        return None
    known = ", ".join(settings.coins) or "none configured"
    return f"silence add: no coin {printable(args.coin)!r} in the configuration (coins: {known})"


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    refused = _unknown_coin(args, settings)
    if refused is not None:
        print(refused, file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_run(args, settings, time.time()))
    except DB_ERRORS as e:
        return db_problem(f"silence {args.action}", e, settings)
