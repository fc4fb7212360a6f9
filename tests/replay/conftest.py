"""Small generated price files and manifests for the replay tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_prices(
    path: Path,
    prices: Sequence[float | None],
    *,
    step: float = 60.0,
    t0: float = T0,
    volume: float | None = None,
) -> None:
    """One `timestamp,close[,volume]` row per step from t0; None leaves the row out."""
    head = "timestamp,close" + (",volume" if volume is not None else "")
    rows = [head]
    for i, p in enumerate(prices):
        if p is None:
            continue
        extra = f",{volume}" if volume is not None else ""
        rows.append(f"{iso(t0 + i * step)},{p}{extra}")
    path.write_text("\n".join(rows) + "\n")


Write = Callable[[str], Path]


@pytest.fixture
def write_manifest(tmp_path: Path) -> Write:
    """Write a manifest's text to tmp_path/m.toml (beside the price files) and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "m.toml"
        path.write_text(text)
        return path

    return write
