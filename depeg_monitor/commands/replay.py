"""`depeg-monitor replay MANIFEST.toml [--json] [--strict] [--plot FILE.png]`: backtest
detection on historical files and score it against the manifest's ground truth (exit 1 when a
check fails); --plot draws one panel per coin."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from depeg_monitor import chart
from depeg_monitor.commands.settings import settings_or_exit
from depeg_monitor.replay.manifest import ManifestError, load_manifest
from depeg_monitor.replay.report import Report, build_report, to_json, to_text
from depeg_monitor.replay.runner import ReplayRun, run_replay
from depeg_monitor.terminal import printable

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_PLOT = 3  # --plot without matplotlib (the plot extra)


def _plot(path: Path, replayed: ReplayRun, report: Report) -> bool:
    from depeg_monitor.replay.panels import panels  # the rules it compiles: only for a chart

    drawn = panels(replayed, report)
    if not drawn:
        print("replay: nothing to draw (no coin has a series)", file=sys.stderr)
        return False
    size = chart.Size(chart.PANEL_WIDTH, chart.PANEL_HEIGHT * len(drawn))
    try:
        chart.draw(path, drawn, size)
    except OSError as e:
        print(f"replay: cannot write {printable(str(path))}: {e.strerror or e}", file=sys.stderr)
        return False
    print(f"chart: {printable(str(path))} ({size.width}×{size.height})", file=sys.stderr)
    return True


def run(args: argparse.Namespace) -> int:
    plot = getattr(args, "plot", None)
    if plot:
        try:
            chart.plotter()  # before a long replay: say at once that it cannot draw
        except chart.PlotUnavailable as e:
            print(f"replay: {e}", file=sys.stderr)
            return EXIT_NO_PLOT
    try:
        routing = settings_or_exit(args) if args.config else None
        replayed = run_replay(load_manifest(args.manifest, routing), trace=bool(plot))
        report = build_report(replayed)
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
    if plot and not _plot(Path(plot), replayed, report):
        return EXIT_FAILED
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
