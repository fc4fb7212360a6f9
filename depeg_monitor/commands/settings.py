"""A command's settings: loaded from --config and the environment, or the problems printed.

settings_or_exit checks the schema (every command); checked_or_exit adds what running needs
(config.validate) — check-config and run call it, so they refuse exactly the same things,
with the same words.
"""

from __future__ import annotations

import argparse
import sys

from depeg_monitor.config import ConfigError, Settings, load_settings
from depeg_monitor.config.problems import report
from depeg_monitor.config.validate import Verdict, check

EXIT_CONFIG = 2


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """Load settings; on a bad configuration print each problem and exit 2, no traceback."""
    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def checked_or_exit(args: argparse.Namespace) -> tuple[Settings, Verdict]:
    """Settings that run can use, and the verdict (warnings, the channels built); on any
    error print every problem (warnings too) and exit 2."""
    settings = settings_or_exit(args)
    verdict = check(settings)
    if verdict.errors:
        print(report(settings.origin.source(), verdict.problems), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return settings, verdict
