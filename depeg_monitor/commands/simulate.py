"""`depeg-monitor simulate SCENARIO`: serve a simulated market until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands import scenarios
from depeg_monitor.simulate import ScenarioError, SimulatedMarket
from depeg_monitor.terminal import printable

EXIT_SCENARIO = 2
EXIT_RUNTIME = 1

Wanted = tuple[str, ...] | None  # venue (or chain) names to announce; None: every one served


class CannotListen(Exception):
    """The address is taken or does not exist; str() is the one line to print."""


async def serve(
    market: SimulatedMarket, host: str, port: int, wanted: Wanted = None, chains: Wanted = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await market.start(host, port)
    except OSError as e:  # a busy port, an address that is not this machine's, a bad name
        why = e.strerror or type(e).__name__
        raise CannotListen(f"simulate: cannot listen on {host}:{port}: {why}") from None
    try:
        print("\n".join(announce(market, wanted, chains)), flush=True)
        await stop.wait()
    finally:
        await market.stop()


def announce(market: SimulatedMarket, wanted: Wanted = None, chains: Wanted = None) -> list[str]:
    """What to tell the user once the market listens: the variables that point the monitor at
    it — for the venues `wanted` names (a configuration's enabled ones), else every one served,
    and the node's RPC URL for the chains `chains` names (a configuration's), else every one —
    and any wanted venue the scenario does not serve, which the monitor would poll for real."""
    overrides = market.env_overrides()
    served = market.base_urls()
    chosen = list(served) if wanted is None else [v for v in wanted if v in served]
    lines = [f"simulated market '{market.scenario.scenario.name}' on port {market.port}"]
    lines.append("point the monitor at it with:")
    for venue in chosen:
        for field in ("BASE_URL", "STREAM_URL"):  # its REST, and its stream where it has one
            name = f"DEPEG_VENUES__{venue.upper()}__{field}"
            if name in overrides:
                lines.append(f"  export {name}={overrides[name]}")
    for chain in market.rpc_urls():  # the simulated node, for the pools and oracles on it
        name = f"DEPEG_CHAINS__{chain.upper()}__RPC_URL"
        if (chains is None or chain in chains) and name in overrides:
            lines.append(f"  export {name}={overrides[name]}")
    missing = [v for v in wanted or () if v not in served]
    if missing:
        lines.append(
            f"not simulated: {', '.join(missing)} — the monitor would poll the real exchange "
            "(disable it in the configuration to stay offline)"
        )
    lines.append(f"scenario lasts {market.scenario.duration:g}s; Ctrl-C to stop")
    return lines


def _configured(args: argparse.Namespace) -> tuple[Wanted, Wanted]:
    """The venues --config enables and the chains it configures, or None and None without
    --config (pydantic is loaded only then)."""
    if args.config is None:
        return None, None
    from depeg_monitor.commands.settings import settings_or_exit

    settings = settings_or_exit(args)
    return tuple(name for name, v in settings.venues.items() if v.enabled), tuple(settings.chains)


def run(args: argparse.Namespace) -> int:
    wanted, chains = _configured(args)
    try:
        scenario = scenarios.load(args.scenario)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return EXIT_SCENARIO
    except UnicodeDecodeError:  # load_scenario reads the file as text and does not say so
        print(f"invalid scenario {printable(args.scenario)}: not UTF-8 text", file=sys.stderr)
        return EXIT_SCENARIO
    if args.time_scale is not None:
        scenario = scenario.with_time_scale(args.time_scale)
    market = SimulatedMarket(scenario, SystemClock())
    try:
        asyncio.run(serve(market, args.host, args.port, wanted, chains))
    except CannotListen as e:
        print(printable(str(e)), file=sys.stderr)
        return EXIT_RUNTIME
    return 0
