"""What a price chart shows, as plain values, and the one door to the plotting code.

`history --plot` and `replay --plot` build Panels here without matplotlib; `draw` imports
depeg_monitor.plot (and with it matplotlib, some 30 MiB) only when a chart is drawn, so the
daemon and every other command never load it. matplotlib is the optional `plot` extra:
`plotter()` says so in one line when it is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from depeg_monitor.model import Severity

INSTALL_HINT = "pip install 'depeg-monitor[plot]'"
MAX_LINE_POINTS = 4000  # per line: more than the pixels across, and quick to draw


class PlotUnavailable(Exception):
    """matplotlib is not installed (the `plot` extra)."""


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    ts: tuple[float, ...]  # epoch seconds
    values: tuple[float | None, ...]  # None: a gap (no quorum)


@dataclass(frozen=True, slots=True)
class Marker:
    """An alert where it happened: at the price it named (else on the peg)."""

    ts: float
    price: float | None
    severity: Severity
    kind: str  # first | escalated | reminder | resolved | dislocation


@dataclass(frozen=True, slots=True)
class Window:
    """A shaded stretch of time: a replay's ground-truth event or calm stretch."""

    start: float
    end: float
    label: str
    kind: str = "event"  # event (a depeg expected) | calm (a ceiling)


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    peg: float
    levels: tuple[float, float, float]  # minor, major, critical, fractions of the peg
    aggregate: Line
    venues: tuple[Line, ...] = ()
    markers: tuple[Marker, ...] = ()
    windows: tuple[Window, ...] = ()


@dataclass(frozen=True, slots=True)
class Size:
    width: int  # pixels
    height: int


HISTORY_SIZE = Size(1200, 600)
PANEL_WIDTH, PANEL_HEIGHT = 1200, 380  # replay: one panel of this height per coin


def plotter() -> ModuleType:
    """depeg_monitor.plot, or PlotUnavailable naming the extra to install."""
    try:
        return importlib.import_module("depeg_monitor.plot")
    except ImportError as e:
        if e.name is not None and not e.name.startswith("matplotlib"):
            raise
        raise PlotUnavailable(f"drawing a chart needs matplotlib: {INSTALL_HINT}") from None


def draw(path: Path, panels: Sequence[Panel], size: Size) -> None:
    """Write the panels, one above the other, to a PNG of exactly size pixels."""
    plotter().render(path, panels, size)


def line(label: str, ts: Sequence[float], values: Sequence[float | None]) -> Line:
    """A line of at most about MAX_LINE_POINTS: each time bucket kept as its lowest and
    highest value (so a one-print spike stays on the chart), and a gap kept as a gap."""
    n = len(ts)
    if n <= MAX_LINE_POINTS:
        return Line(label, tuple(ts), tuple(values))
    buckets = MAX_LINE_POINTS // 3  # up to three points a bucket: low, high, a gap
    t0, span = ts[0], (ts[-1] - ts[0]) or 1.0
    keep: list[int] = []
    i = 0
    while i < n:
        key = int((ts[i] - t0) / span * buckets)
        lo: tuple[float, int] | None = None
        hi: tuple[float, int] | None = None
        gap: int | None = None
        j = i
        while j < n and int((ts[j] - t0) / span * buckets) == key:
            v = values[j]
            if v is None:
                gap = j if gap is None else gap
            else:
                lo = (v, j) if lo is None or v < lo[0] else lo
                hi = (v, j) if hi is None or v > hi[0] else hi
            j += 1
        found = {x[1] for x in (lo, hi) if x is not None} | ({gap} if gap is not None else set())
        keep.extend(sorted(found))
        i = j
    return Line(label, tuple(ts[k] for k in keep), tuple(values[k] for k in keep))
