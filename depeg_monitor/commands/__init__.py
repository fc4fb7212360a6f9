"""One module per CLI command: add_arguments(parser) and run(args) -> exit code."""

from __future__ import annotations

import argparse
import sys

from depeg_monitor.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="TOML configuration file (default: $DEPEG_CONFIG)",
    )


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """Load settings; on a bad configuration print each problem and exit 2, no traceback."""
    try:
        return load_settings(args.config)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
