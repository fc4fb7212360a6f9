"""Price charts as PNG files, with matplotlib's Agg renderer (no display, no pyplot state).

Imported only through depeg_monitor.chart.draw: nothing else may import this module, so
matplotlib stays out of the daemon. Each panel: the severity bands on both sides of the peg
(minor, major, critical), the peg, each venue thin, the aggregate bold, every alert a marker
coloured by its severity, and a replay's ground-truth windows shaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from depeg_monitor.chart import Line, Panel, Size
from depeg_monitor.model import Severity

DPI = 100
BAND_COLOURS = ("#f6e05e", "#f6ad55", "#fc8181")  # minor, major, critical
SEVERITY_COLOURS = {
    Severity.NONE: "#38a169",
    Severity.MINOR: "#d69e2e",
    Severity.MAJOR: "#dd6b20",
    Severity.CRITICAL: "#c53030",
}
KIND_MARKERS = {"first": "o", "escalated": "^", "reminder": ".", "resolved": "s"}
WINDOW_COLOURS = {"event": "#4299e1", "calm": "#68d391"}
VENUE_COLOURS = ("#3182ce", "#805ad5", "#319795", "#d53f8c", "#718096", "#2c7a7b", "#b7791f")
_EPOCH = float(mdates.date2num(datetime(1970, 1, 1, tzinfo=UTC)))  # type: ignore[no-untyped-call]


def _x(ts: Sequence[float]) -> list[float]:
    return [_EPOCH + t / 86400.0 for t in ts]


def _y(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _limits(panel: Panel) -> tuple[float, float]:
    """The price range shown: every line, and at least the minor band on both sides."""
    seen = [v for ln in (panel.aggregate, *panel.venues) for v in ln.values if v is not None]
    seen += [m.price for m in panel.markers if m.price is not None]
    margin = panel.peg * panel.levels[0] * 1.6
    lo = min([*seen, panel.peg - margin])
    hi = max([*seen, panel.peg + margin])
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def _bands(ax: Axes, panel: Panel, lo: float, hi: float) -> None:
    edges = [*panel.levels, math.inf]
    names = ("minor", "major", "critical")
    labelled: set[int] = set()
    for k, colour in enumerate(BAND_COLOURS):
        for side in (1, -1):
            a = panel.peg * (1 + side * edges[k])
            b = panel.peg * (1 + side * edges[k + 1]) if edges[k + 1] != math.inf else None
            far = hi if side > 0 else lo
            inner, outer = a, (b if b is not None else far)
            start, end = sorted((inner, outer))
            start, end = max(start, lo), min(end, hi)
            if start < end:
                label = None if k in labelled else f"{names[k]} ≥ {edges[k]:.1%}"
                labelled.add(k)
                ax.axhspan(start, end, color=colour, alpha=0.22, lw=0, label=label, zorder=0)


def _line(ax: Axes, ln: Line, **style: object) -> None:
    ax.plot(_x(ln.ts), _y(ln.values), label=ln.label, **style)  # type: ignore[arg-type]


def _panel(ax: Axes, panel: Panel) -> None:
    lo, hi = _limits(panel)
    ax.set_ylim(lo, hi)
    _bands(ax, panel, lo, hi)
    for w in panel.windows:  # a strip along the top, so the bands stay readable
        colour = WINDOW_COLOURS.get(w.kind, "#718096")
        x0, x1 = _x((w.start, w.end))
        ax.axvspan(x0, x1, ymin=0.955, ymax=1.0, color=colour, alpha=0.35, lw=0, zorder=1)
        ax.axvline(x0, color=colour, lw=0.6, alpha=0.6, zorder=1)
        ax.text(x0, hi, f" {w.label}", va="top", ha="left", fontsize=7, color="#1a202c")
    ax.axhline(panel.peg, color="#4a5568", lw=1, ls="--", label=f"peg {panel.peg:g}", zorder=1)
    for i, v in enumerate(panel.venues):
        colour = VENUE_COLOURS[i % len(VENUE_COLOURS)]
        _line(ax, v, lw=0.8, alpha=0.75, color=colour, zorder=2)
    _line(ax, panel.aggregate, lw=1.8, color="#1a202c", zorder=3)
    shown: set[tuple[str, Severity]] = set()
    for m in panel.markers:
        y = m.price if m.price is not None else panel.peg
        resolved = m.kind == "resolved"  # a resolution carries its episode's peak: shown green
        severity = Severity.NONE if resolved else m.severity
        key = (m.kind, severity)
        label: str | None = m.kind if resolved else f"{m.kind} {severity.label}"
        if key in shown:
            label = None
        shown.add(key)
        marker = KIND_MARKERS.get(m.kind, "x")
        ax.scatter(
            _x((m.ts,)),
            [y],
            s=60 if m.kind != "reminder" else 30,
            marker=marker,
            color=SEVERITY_COLOURS.get(severity, "#000000"),
            edgecolors=None if marker == "x" else "#1a202c",
            linewidths=0.6,
            label=label,
            zorder=4,
        )
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.set_ylabel("price (USD)")
    ax.grid(True, color="#e2e8f0", lw=0.5)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, framealpha=0.9)


def render(path: Path, panels: Sequence[Panel], size: Size) -> None:
    """panels one above the other in a PNG of exactly size.width × size.height pixels."""
    fig = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels, strict=True):
        _panel(ax, panel)
    axes[-1].set_xlabel("time (UTC)")
    fig.savefig(path, format="png", dpi=DPI)
