"""`depeg-monitor status`: current prices, firing alerts and component health, from the DB."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.model import Severity
from depeg_monitor.store.db import create_engine, describe_db_error, sqlite_file
from depeg_monitor.store.status import StatusView, read_status
from depeg_monitor.terminal import printable


def _when(ts: float, now: float) -> str:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({max(0.0, now - ts):.0f}s ago)"


def render(view: StatusView, now: float) -> list[str]:
    """The status report; every text read from the database is escaped for the terminal
    (health errors carry venues' own messages)."""
    lines = ["prices:"]
    for p in view.prices:
        price = "no quorum" if p.price is None else f"{p.price:.5f}"
        dev = "" if p.deviation is None else f"{p.deviation * 100:+.3f}%"
        lines.append(
            f"  {printable(p.coin):<6} {price:>10} {dev:>9}  {Severity(p.severity).label:<8} "
            f"{p.venues_used} venues  {_when(p.ts, now)}"
        )
    if not view.prices:
        lines.append("  (no prices recorded yet)")
    lines.append("firing alerts:")
    for f in view.firing:
        label = Severity(f.severity).label
        coin, kind = printable(f.coin), printable(f.kind)
        lines.append(f"  {coin:<6} {label:<8} {kind:<10} since {_when(f.since, now)}")
    if not view.firing:
        lines.append("  (none)")
    lines.append("health:" if not view.health else f"health ({_when(view.health[0].ts, now)}):")
    for h in view.health:
        component, status, error = (printable(t or "") for t in (h.component, h.status, h.error))
        lines.append(f"  {component:<20} {status:<5} {error}".rstrip())
    if not view.health:
        lines.append("  (no health rows yet)")
    return lines


async def _read(url: str) -> StatusView:
    engine = create_engine(url)
    try:
        return await read_status(engine)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    url = settings.database.resolved_url()
    db_file = sqlite_file(url)
    if db_file is not None and not db_file.exists():
        # Opening it would create an empty file; say what is missing instead.
        where = printable(str(db_file))
        print(f"status: no database at {where} — has the daemon run here?", file=sys.stderr)
        return 1
    try:
        view = asyncio.run(_read(url))
    except (SQLAlchemyError, OSError) as e:
        why = printable(describe_db_error(e))
        print(f"status: {why} — run `depeg-monitor db upgrade`?", file=sys.stderr)
        return 1
    print("\n".join(render(view, time.time())))
    return 0
