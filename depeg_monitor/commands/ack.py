"""`depeg-monitor ack COIN`: someone has seen the coin's open episode; its reminders stop until
it escalates past the level acknowledged or resolves. The running daemon reads it from the
database (live.StoredAcks); the next message it sends for the coin names who and why."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from depeg_monitor.alerts.policy import fold
from depeg_monitor.alerts.render import utc
from depeg_monitor.commands.database import DB_ERRORS, db_problem, opened
from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.store import alert_history
from depeg_monitor.store.db import upgrade
from depeg_monitor.terminal import printable

EXIT_RUNTIME = 1
EXIT_USAGE = 2


def user_name() -> str:
    """Who runs the command, as the system knows them (no passwd entry: the uid)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # 3.13 raises OSError, earlier versions KeyError
        return f"uid {os.getuid()}"


async def _ack(engine: AsyncEngine, coin: str, by: str, reason: str, now: float) -> int:
    # The episode as the daemon knows it: the recorded rows folded by the policy's own
    # transition, so `since` here is the daemon's (live or restarted) to the microsecond.
    await upgrade(engine)  # the acks table, in a database an older daemon made
    state = fold(await alert_history.episode_rows(engine)).get(coin)
    if state is None:
        print(
            f"ack: {coin} has no open episode to acknowledge (`depeg-monitor status` shows "
            "what is firing)",
            file=sys.stderr,
        )
        return EXIT_RUNTIME
    ack = await alert_history.add_ack(engine, coin, state.since, state.severity, by, reason, now)
    level = ack.severity.label
    said = f": {printable(ack.reason)}" if ack.reason else ""
    print(
        f"acknowledged {coin}'s {level} episode (since {utc(ack.since)}) by "
        f"{printable(ack.by)}{said}\n"
        f"no more reminders for it until it goes past {level} or resolves; "
        "the next message says who acknowledged it"
    )
    return 0


def _unknown_coin(coin: str, settings: Settings) -> str | None:
    if coin in settings.coins:
        return None
    known = ", ".join(settings.coins) or "none configured"
    return f"ack: no coin {printable(coin)!r} in the configuration (coins: {known})"


async def _run(settings: Settings, coin: str, by: str, reason: str, now: float) -> int:
    async with opened(settings) as engine:
        return await _ack(engine, coin, by, reason, now)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    coin = args.coin
    refused = _unknown_coin(coin, settings)
    if refused is not None:
        print(refused, file=sys.stderr)
        return EXIT_USAGE
    by = args.by if args.by is not None else user_name()
    try:
        return asyncio.run(_run(settings, coin, by, args.reason, time.time()))
    except DB_ERRORS as e:
        return db_problem("ack", e, settings)
