"""A command's settings: loaded from --config and the environment, or the problems printed."""

from __future__ import annotations

import argparse
import sys

from depeg_monitor.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """Load settings; on a bad configuration print each problem and exit 2, no traceback."""
    try:
        return load_settings(args.config)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
