"""`depeg-monitor db upgrade`: bring the configured database to the current schema."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError

from depeg_monitor.commands import add_config_argument, settings_or_exit
from depeg_monitor.store.db import SchemaTooNew, create_engine, upgrade
from depeg_monitor.store.db import describe_db_error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = sub.add_parser("upgrade", help="create or upgrade the schema (safe to run repeatedly)")
    add_config_argument(up)


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
