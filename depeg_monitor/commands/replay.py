"""`depeg-monitor replay MANIFEST.toml [--json] [--strict]`: backtest detection on historical
files and score it against the manifest's ground truth (exit 1 when a check fails)."""

from __future__ import annotations

import argparse
import json
import sys

from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.replay.manifest import ManifestError, load_manifest
from depeg_monitor.replay.report import build_report, to_json, to_text
from depeg_monitor.replay.runner import run_replay
from depeg_monitor.terminal import printable

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def run(args: argparse.Namespace) -> int:
    try:
        routing = settings_or_exit(args) if args.config else None
        report = build_report(run_replay(load_manifest(args.manifest, routing)))
    except ManifestError as e:
        print(f"replay: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # a directory, a file that cannot be read (the loader names the rest)
        where = e.filename if e.filename is not None else args.manifest
        print(f"replay: {printable(str(where))}: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnicodeDecodeError:
        print("replay: the manifest or a file it names is not UTF-8 text", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(to_json(report), indent=2))
    else:
        print(to_text(report, args.timeline_limit, args.strict))
    failed = report.failures(args.strict)
    if failed:
        mode = "strict " if args.strict else ""
        print(
            f"replay: {len(failed)} {mode}check{'s' if len(failed) != 1 else ''} failed "
            f"(first: {failed[0].describe()})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0
