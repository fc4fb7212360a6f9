"""`depeg-monitor demo`: the real daemon against a simulated market, no accounts needed.

It serves a scenario (by default the USDC/SVB weekend, played 8× faster) on 127.0.0.1, points
every venue at it, keeps history in a temporary SQLite file, and prints — as they happen — the
prices per coin and each message exactly as Discord, email and SMS would have received it.
Configured chains are pointed at the simulated node (never at a real RPC endpoint); for an
on-chain scenario (usde-dislocation, onchain-all-fall) with no pools configured, the node's
pools and the scenario's coins' Chainlink feeds are watched, and their prices printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depeg_monitor.alerts.render import discord, plain, sms
from depeg_monitor.clock import SystemClock
from depeg_monitor.commands import scenarios
from depeg_monitor.commands.settings import EXIT_CONFIG, settings_or_exit
from depeg_monitor.config import Settings
from depeg_monitor.daemon import Daemon
from depeg_monitor.logsetup import configure_logging, settings_secrets
from depeg_monitor.model import Message, Severity
from depeg_monitor.simulate import Scenario, ScenarioError, SimulatedMarket
from depeg_monitor.simulate.chain.config import chain_sections
from depeg_monitor.terminal import printable

# Without --config: the repository's example (its coins and venues); not part of the package.
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config.example.toml"
# After the scenario ends, wait this long (scenario seconds) for open alerts to resolve.
RESOLVE_GRACE = 400.0
PRICE_EVERY = 5.0  # seconds between price lines

SEVERITY_MARK = {
    Severity.NONE: "",
    Severity.MINOR: " ▲minor",
    Severity.MAJOR: " ▲▲MAJOR",
    Severity.CRITICAL: " ▲▲▲CRITICAL",
}


def email(msg: Message) -> str:
    return f"Subject: {msg.title}\n\n{msg.body}"


@dataclass
class TerminalChannel:
    """Prints what a channel would have received, in that channel's own format."""

    name: str
    fmt: Callable[[Message], str]
    received: list[str] = field(default_factory=list)
    timeout: float = 1.0  # printing never takes longer

    async def send(self, msg: Message, key: str) -> None:
        self.received.append(msg.title)
        text = self.fmt(msg)
        lines = [f"┌─ {self.name} " + "─" * max(0, 60 - len(self.name))]
        lines += [f"│ {line}" for line in text.splitlines()]
        lines.append("└" + "─" * 63)
        print("\n".join(lines), flush=True)

    async def close(self) -> None:
        return None


def demo_settings(
    base: Settings,
    base_urls: dict[str, str],
    speed: float,
    state: Path,
    stream_urls: dict[str, str] | None = None,
    rpc_urls: dict[str, str] | None = None,
    onchain: dict[str, Any] | None = None,
) -> Settings:
    """The user's coins and venues, aimed at the simulator (its streams too, where given),
    with every duration scaled. Configured chains poll the simulated node (`rpc_urls`); one it
    does not serve is left out with its pools and feeds, so a demo never reaches a real RPC
    endpoint. `onchain`: chains, pools and oracles tables to watch (chain_sections)."""
    data = base.model_dump(mode="python")
    for name, venue in data["venues"].items():
        venue["base_url"] = base_urls.get(name, venue["base_url"])
        venue["stream_url"] = (stream_urls or {}).get(name, venue["stream_url"])
        venue["poll_interval"] = 1.0
    served = rpc_urls or {}
    data["chains"] = {
        name: chain | {"rpc_url": served[name], "poll_interval": chain["poll_interval"] / speed}
        for name, chain in data["chains"].items()
        if name in served
    }
    for key in ("pools", "oracles"):
        data[key] = {n: x for n, x in data[key].items() if x["chain"] in data["chains"]}
    for key, tables in (onchain or {}).items():
        data[key] = data[key] | tables
    cls = data["classification"]
    for key in ("hold_minor", "hold_major", "hold_critical", "clear_hold"):
        cls[key] = cls[key] / speed
    alerts = data["alerts"]
    for key in ("reminder_critical", "reminder_major", "reminder_minor", "confirm_minor_hold"):
        alerts[key] = alerts[key] / speed
    # Every hour is business hours in a demo.
    alerts["routes"] = {
        "minor": [{"channels": ["discord"]}],
        "major": [{"channels": ["discord", "email"]}],
        "critical": [{"channels": ["discord", "email", "sms"]}],
    }
    data["channels"] = {n: {"type": "console"} for n in ("discord", "email", "sms")}
    data["database"]["url"] = f"sqlite+aiosqlite:///{state / 'demo.db'}"
    data["health"].update(port=0, heartbeat_url=None)
    data["logging"] = {"level": "error", "format": "console"}
    return Settings.model_validate(data)


def onchain_for(
    scenario: Scenario, base: Settings, rpc_urls: dict[str, str], speed: float
) -> dict[str, Any] | None:
    """What a demo watches on chain when the configuration has no pools: for an on-chain
    scenario, the simulated node's pools of the configured coins and the Chainlink feeds of
    the coins the scenario moves (of every configured coin if it moves none)."""
    url = rpc_urls.get("ethereum")
    if base.pools or url is None or not scenario.plays_onchain:
        return None
    moved = [c for c in scenario.coins if c in base.coins] or list(base.coins)
    return chain_sections(url, list(base.coins), moved, poll_interval=12.0 / speed)


def _onchain_line(daemon: Any) -> str | None:
    """Each chain's last block, its pools' prices and its feeds' answers; None without one."""
    parts = []
    quotes = daemon.book.current()
    for chain in daemon.chains:
        block = "no block yet" if chain.block is None else f"block {chain.block.number}"
        pools = []
        for name in chain.pools:
            got = " ".join(
                f"{q.coin} {q.price:.4f} {q.quote_ccy}" for q in quotes if q.venue == name
            )
            pools.append(f"{name} {got or 'n/a'}")
        feeds = [f"Chainlink {r.coin}/{r.quote_ccy} {r.value:.4f}" for r in chain.readings.values()]
        parts.append(f"{printable(chain.name)} {block}: " + " · ".join(pools + feeds))
    return "         " + "; ".join(parts) if parts else None


def _price_line(elapsed: float, daemon: Any) -> str:
    parts = [f"t+{elapsed:5.0f}s"]
    for coin, price in daemon.state.last_price.items():
        sev = daemon.state.last_severity.get(coin, Severity.NONE)
        shown = "  n/a " if price is None else f"{price:.4f}"
        parts.append(f"{coin} {shown}{SEVERITY_MARK[sev]}")
    return "  ".join(parts)


async def _demo(args: argparse.Namespace) -> int:
    try:
        scenario = scenarios.load(args.scenario).with_time_scale(args.speed)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return EXIT_CONFIG
    except UnicodeDecodeError:  # load_scenario reads the file as text and does not say so
        print(f"invalid scenario {printable(args.scenario)}: not UTF-8 text", file=sys.stderr)
        return EXIT_CONFIG
    if args.config is None:
        if not DEFAULT_CONFIG.is_file():
            print(
                f"demo: no --config given and no {DEFAULT_CONFIG} (the example ships with the "
                "repository, not the package); pass --config PATH",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        args.config = str(DEFAULT_CONFIG)
    base = settings_or_exit(args)
    configure_logging(
        base.logging.model_copy(update={"level": "error", "format": "console"}),
        secrets=settings_secrets(base),
    )
    clock = SystemClock()
    channels = {
        "discord": TerminalChannel("discord", discord),
        "email": TerminalChannel("email", email),
        "sms": TerminalChannel("sms", sms),
    }
    with tempfile.TemporaryDirectory(prefix="depeg-demo-") as tmp:
        market = SimulatedMarket(scenario, clock)
        await market.start()
        try:
            rpc_urls = market.rpc_urls()
            settings = demo_settings(
                base,
                market.base_urls(),
                args.speed,
                Path(tmp),
                market.stream_urls(),
                rpc_urls,
                onchain_for(scenario, base, rpc_urls, args.speed),
            )
            daemon = Daemon(settings, clock, dict(channels))
            print(
                f"demo: scenario {scenario.scenario.name} at {args.speed:g}× on 127.0.0.1:"
                f"{market.port}; {len(settings.coins)} coins on {len(settings.venues)} venues"
                + (f" and {len(settings.pools)} on-chain pools" if settings.pools else "")
            )
            stop, ready = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(daemon.run(stop, ready))
            await ready.wait()
            started = clock.monotonic()
            limit = (scenario.duration + RESOLVE_GRACE) / args.speed
            while not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), timeout=PRICE_EVERY)
                elapsed = clock.monotonic() - started
                print(_price_line(elapsed, daemon), flush=True)
                if (line := _onchain_line(daemon)) is not None:
                    print(line, flush=True)
                calm = all(s == Severity.NONE for s in daemon.state.last_severity.values())
                if (market.finished and calm) or elapsed > limit:
                    break
            report = daemon.report()
            stop.set()
            await task
        finally:
            await market.stop()
    print("\nsummary:")
    for ch in channels.values():
        print(f"  {ch.name:<8} {len(ch.received)} message(s)")
        for title in ch.received:
            print(f"    {plain(Message(title, '')).strip()}")
    print(f"  health at the end: {report.status}")
    for name, check in sorted(report.checks.items()):
        if check.status != "pass":
            print(f"    {name}: {check.status} {check.output or ''}".rstrip())
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args))
