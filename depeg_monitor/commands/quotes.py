"""`depeg-monitor quotes`: poll every enabled venue once and print a coin × venue table."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from depeg_monitor.clock import SystemClock
from depeg_monitor.collect import PollResult, VenueCollector, build_collectors
from depeg_monitor.collect.session import make_session
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.logsetup import configure_logging
from depeg_monitor.metrics import Metrics
from depeg_monitor.rules import collector_rules
from depeg_monitor.terminal import printable


async def poll_all(settings: Settings) -> list[PollResult]:
    """Listing check, then one poll, for every enabled venue at once."""
    async with make_session() as session:
        rules = collector_rules(settings)
        collectors = build_collectors(
            rules, session, SystemClock(), HealthRegistry(), Metrics(), lambda _: None
        )

        async def one(c: VenueCollector) -> PollResult:
            await c.start()
            return await c.poll_once()

        return list(await asyncio.gather(*(one(c) for c in collectors)))


def render(results: Sequence[PollResult]) -> list[str]:
    """Rows of coins, columns of venues: price and quote currency; then the failures.

    Every name and error is escaped for the terminal before widths are measured: a venue's
    error text may carry escape sequences or line breaks.
    """
    venues = [printable(r.venue) for r in results if r.quotes]
    cells: dict[str, dict[str, list[str]]] = {}
    for r in results:
        for q in r.quotes:
            cells.setdefault(printable(q.coin), {}).setdefault(printable(r.venue), []).append(
                f"{q.price:.4f} {printable(q.quote_ccy)}"
            )
    widths = {
        v: max([len(v), *(len(" ".join(c.get(v, []))) for c in cells.values())]) for v in venues
    }
    lines = []
    if venues:
        lines.append("  ".join([f"{'coin':<6}", *(f"{v:<{widths[v]}}" for v in venues)]).rstrip())
        for coin in sorted(cells):
            row = [f"{coin:<6}"]
            row += [f"{' '.join(cells[coin].get(v, ['-'])):<{widths[v]}}" for v in venues]
            lines.append("  ".join(row).rstrip())
    else:
        lines.append("no quotes from any venue")
    failed = [r for r in results if r.error]
    if failed:
        lines.append("")
        lines.append("problems:")
        lines += [f"  {printable(r.venue):<10} {printable(r.error or '')}" for r in failed]
    return lines


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    configure_logging(settings.logging, to_stderr=True)  # warnings beside, not in, the table
    results = asyncio.run(poll_all(settings))
    print("\n".join(render(results)))
    return 0 if any(r.quotes for r in results) else 1
