"""`depeg-monitor db upgrade`: bring the configured database to the current schema."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.store.db import SchemaTooNew, create_engine, describe_db_error, upgrade


async def _upgrade(url: str) -> int:
    engine = create_engine(url)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    url = settings.database.resolved_url()
    backend = url.split("://", 1)[0]
    try:
        version = asyncio.run(_upgrade(url))
    except SchemaTooNew as e:
        print(f"db upgrade: {e}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as e:
        print(f"db upgrade: {describe_db_error(e)} ({backend})", file=sys.stderr)
        return 1
    print(f"database ({backend}) is at schema version {version}")
    return 0
