"""The `depeg-monitor` command: parses arguments and hands over to one command module.

Each command lives in depeg_monitor/commands/<name>.py with add_arguments(parser) and
run(args) -> exit code; modules are imported only when their command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from depeg_monitor import __version__

# command name → (module under depeg_monitor.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the monitor daemon"),
    "check-config": ("check_config", "validate the configuration and summarise it"),
    "quotes": ("quotes", "poll every enabled venue once and print a price table"),
    "replay": ("replay", "backtest the detection pipeline on historical files"),
    "status": ("status", "print prices, firing alerts and health from the database"),
    "db": ("db", "database schema management (db upgrade)"),
    "silence": ("silence", "add, list or expire alert silences"),
    "test-alert": ("test_alert", "send a marked test message through each channel"),
    "simulate": ("simulate", "serve a simulated market on 127.0.0.1 from a scenario file"),
    "demo": ("demo", "run the daemon against a simulated market, no accounts needed"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="depeg-monitor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        try:
            mod = importlib.import_module(f"depeg_monitor.commands.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"depeg_monitor.commands.{module}":
                raise
            p.set_defaults(_missing=True)
            continue
        mod.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "_missing", False):
        print(f"depeg-monitor {args.command}: not available in this build", file=sys.stderr)
        return 2
    mod = importlib.import_module(f"depeg_monitor.commands.{args._module}")
    try:
        return int(mod.run(args))
    except KeyboardInterrupt:
        return 130
