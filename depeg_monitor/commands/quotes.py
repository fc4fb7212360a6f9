"""`depeg-monitor quotes`: poll every enabled venue once and print a coin × venue table; with
--stream, show each streaming venue's live updates for a few seconds."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence

from depeg_monitor.clock import SystemClock
from depeg_monitor.collect import PollResult, VenueCollector, build_collectors
from depeg_monitor.collect.session import make_session
from depeg_monitor.commands.logs import quiet_logging
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.health.registry import HealthRegistry, Kind, StreamDetail
from depeg_monitor.metrics import Metrics
from depeg_monitor.model import Quote
from depeg_monitor.rules import chain_rules, collector_rules
from depeg_monitor.terminal import printable
from depeg_monitor.venues.streams import STREAMS

# A venue that has not answered within this is reported as such: a one-shot command waits
# for neither a slow venue's retries nor its breaker, only for one listing and one poll.
DEADLINE = 15.0


async def poll_all(settings: Settings, deadline: float = DEADLINE) -> list[PollResult]:
    """Listing check, then one poll, for every enabled venue at once, each within `deadline`.

    A host that cannot be resolved or refuses the connection is not asked again: the daemon
    retries within a poll because it has minutes to wait, a person at a prompt does not.
    """
    rules = [dataclasses.replace(r, retry_network=False) for r in collector_rules(settings)]
    async with make_session() as session:
        collectors = build_collectors(
            rules, session, SystemClock(), HealthRegistry(), Metrics(), lambda _: None
        )

        async def one(c: VenueCollector) -> PollResult:
            try:
                async with asyncio.timeout(deadline):
                    await c.start()
                    return await c.poll_once()
            except TimeoutError:
                return PollResult(c.name, (), f"no answer within {deadline:g}s")

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


async def stream_all(
    settings: Settings, seconds: float, show: Callable[[str], None], deadline: float = DEADLINE
) -> list[str]:
    """Each streaming venue's listing check, then its stream for `seconds`: every update shown
    as it arrives; returns one line per streaming venue on how its stream did."""
    rules = [dataclasses.replace(r, retry_network=False) for r in collector_rules(settings)]
    registry, clock = HealthRegistry(), SystemClock()

    def sink(quotes: Sequence[Quote]) -> None:
        for q in quotes:
            when = time.strftime("%H:%M:%S", time.localtime(q.ts_received))
            ms = int(q.ts_received % 1 * 1000)
            book = "" if q.bid is None or q.ask is None else f"  bid {q.bid:.4f} ask {q.ask:.4f}"
            show(
                f"{when}.{ms:03d}  {printable(q.venue):<9} "
                f"{printable(q.coin + '/' + q.quote_ccy):<11} {q.price:.4f}{book}"
            )

    async with make_session() as session:
        collectors = [
            c
            for c in build_collectors(rules, session, clock, registry, Metrics(), sink, STREAMS)
            if c.stream is not None
        ]
        stop = asyncio.Event()

        async def one(c: VenueCollector) -> None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline):
                    await c.start()
            if c.stream is not None:
                await c.stream.run(stop)

        tasks = [asyncio.create_task(one(c)) for c in collectors]
        await asyncio.sleep(seconds)
        lines = _stream_states(collectors, registry)  # before stopping undoes them
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return lines


def _stream_states(collectors: Sequence[VenueCollector], registry: HealthRegistry) -> list[str]:
    lines = []
    for c in collectors:
        st = registry.get(Kind.STREAM, c.name)
        d = st.detail if st is not None and isinstance(st.detail, StreamDetail) else None
        state = (
            "never connected"
            if d is None
            else (
                f"{d.confirmed}/{d.subscribed} subscriptions confirmed, "
                f"{d.reconnects_hour} reconnects"
            )
        )
        why = st.error or st.note if st is not None else None
        lines.append(f"  {printable(c.name):<10} {state}" + (f"; {printable(why)}" if why else ""))
    return lines


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    quiet_logging(settings, floor="error")  # each venue's trouble is in the summary below
    if args.stream is not None:
        summary = asyncio.run(
            stream_all(settings, args.stream, lambda line: print(line, flush=True))
        )
        print("\n".join(["", "streams:", *summary] if summary else ["no venue streams"]))
        return 0 if summary else 1
    results, blocks = asyncio.run(_poll_everything(settings))
    print("\n".join(render(results) + blocks))
    return 0 if any(r.quotes for r in results) else 1


async def _poll_everything(settings: Settings) -> tuple[list[PollResult], list[str]]:
    (rest, (pools, blocks)) = await asyncio.gather(poll_all(settings), poll_chains(settings))
    return rest + pools, blocks


async def poll_chains(
    settings: Settings, deadline: float = DEADLINE
) -> tuple[list[PollResult], list[str]]:
    """Start-up verification, then one poll, for every configured chain: a result per pool
    (a venue like any other) and a line per chain with its block number and age."""
    rules = [dataclasses.replace(r, retry_network=False) for r in chain_rules(settings)]
    if not rules:
        return [], []
    from depeg_monitor.collect.chain import ChainCollector, build_chain_collectors

    clock = SystemClock()
    async with make_session() as session:
        chains = build_chain_collectors(
            rules, session, clock, HealthRegistry(), Metrics(), lambda _: None
        )

        async def one(c: ChainCollector) -> tuple[list[PollResult], str]:
            try:
                async with asyncio.timeout(deadline):
                    await c.start()
                    poll = await c.poll_once()
            except TimeoutError:
                why = f"no answer within {deadline:g}s"
                return [PollResult(p, (), why) for p in c.pools], f"  {c.name}: {why}"
            out = [
                PollResult(p, tuple(q for q in poll.quotes if q.venue == p), poll.errors.get(p))
                for p in c.pools
            ]
            b = poll.block
            age = "" if b is None else f"block {b.number}, {b.age(clock.now()):.0f}s old"
            return out, f"  {printable(c.name)}: {age or 'no block read'}"

        done = await asyncio.gather(*(one(c) for c in chains))
    return [r for rs, _ in done for r in rs], ["", "on-chain:", *(line for _, line in done)]
