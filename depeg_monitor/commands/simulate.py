"""`depeg-monitor simulate SCENARIO`: serve a simulated market until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from depeg_monitor.clock import SystemClock
from depeg_monitor.commands import scenarios
from depeg_monitor.simulate import ScenarioError, SimulatedMarket

EXIT_SCENARIO = 2


async def serve(market: SimulatedMarket, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await market.start(host, port)
    try:
        print(f"simulated market '{market.scenario.scenario.name}' on port {market.port}")
        print("point the monitor at it with:")
        for name, value in market.env_overrides().items():
            print(f"  export {name}={value}")
        print(f"scenario lasts {market.scenario.duration:g}s; Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        await market.stop()


def run(args: argparse.Namespace) -> int:
    try:
        scenario = scenarios.load(args.scenario)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return EXIT_SCENARIO
    if args.time_scale is not None:
        if args.time_scale <= 0:
            print("--time-scale must be positive", file=sys.stderr)
            return EXIT_SCENARIO
        scenario = scenario.with_time_scale(args.time_scale)
    asyncio.run(serve(SimulatedMarket(scenario, SystemClock()), args.host, args.port))
    return 0
