"""`depeg-monitor db upgrade`: bring the configured database to the current schema."""

from __future__ import annotations

import argparse
import asyncio

from depeg_monitor.commands.database import DB_ERRORS, db_problem, opened
from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.store.db import upgrade, where
from depeg_monitor.terminal import printable


async def _upgrade(settings: Settings) -> int:
    async with opened(settings) as engine:
        return await upgrade(engine)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings)
    try:
        version = asyncio.run(_upgrade(settings))
    except DB_ERRORS as e:
        return db_problem("db upgrade", e, settings)
    place = printable(where(settings.database.resolved_url()))
    print(f"database ({place}) is at schema version {version}")
    return 0
