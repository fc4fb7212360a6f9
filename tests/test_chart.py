"""The chart model: lines thinned without losing a spike or a gap, and matplotlib kept out of
every process that does not draw."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from depeg_monitor.chart import MAX_LINE_POINTS, line


def test_a_long_line_is_thinned_but_keeps_its_spike_and_its_gap() -> None:
    """A day of one-second prices becomes a few thousand points; the one-second print at 0.90
    and the minute without a quorum are still there."""
    ts = [float(t) for t in range(86_400)]
    values: list[float | None] = [1.0 + (t % 7) * 1e-5 for t in range(86_400)]
    values[40_000] = 0.90
    for t in range(50_000, 50_060):
        values[t] = None
    thinned = line("aggregate", ts, values)
    assert len(thinned.ts) <= MAX_LINE_POINTS
    assert min(v for v in thinned.values if v is not None) == 0.90
    assert None in thinned.values
    assert list(thinned.ts) == sorted(thinned.ts)


def test_a_short_line_is_kept_as_is() -> None:
    """Up to MAX_LINE_POINTS, every point is drawn."""
    thinned = line("kraken", [1.0, 2.0, 3.0], [1.0, None, 0.99])
    assert (thinned.ts, thinned.values) == ((1.0, 2.0, 3.0), (1.0, None, 0.99))


def test_the_daemon_and_the_commands_that_do_not_draw_never_import_matplotlib() -> None:
    """A fresh interpreter that imports the daemon, `run`, and every command module (history
    and replay included) has not loaded matplotlib: the daemon's memory does not grow by it."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import depeg_monitor.commands as commands
        import depeg_monitor.daemon, depeg_monitor.commands.run, depeg_monitor.cli
        for m in pkgutil.iter_modules(commands.__path__):
            importlib.import_module(f"depeg_monitor.commands.{m.name}")
        import depeg_monitor.chart, depeg_monitor.replay.panels
        print(sorted(n for n in sys.modules if n.split(".")[0] == "matplotlib"))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
