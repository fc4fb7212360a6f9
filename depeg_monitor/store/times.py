"""Epoch seconds ↔ timezone-aware UTC datetimes, at the database edge only."""

from __future__ import annotations

from datetime import UTC, datetime


def to_dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def from_dt(dt: datetime) -> float:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
