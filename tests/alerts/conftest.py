"""Builders for assessments, settings and policies used by the alert tests."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import pytest

from depeg_monitor.alerts.policy import AlertPolicy
from depeg_monitor.alerts.routing import Router
from depeg_monitor.config import Settings
from depeg_monitor.model import (
    Assessment,
    DroppedQuote,
    Severity,
    Snapshot,
    SnapshotContext,
    VenuePrice,
)
from depeg_monitor.rules import alert_rules, routing

# Monday 13 March 2023, 10:00 UTC: inside business hours.
MONDAY_10 = datetime(2023, 3, 13, 10, tzinfo=UTC).timestamp()
# Saturday 11 March 2023, 03:00 UTC: outside every daytime window.
SATURDAY_03 = datetime(2023, 3, 11, 3, tzinfo=UTC).timestamp()


def assessment(
    coin: str,
    severity: Severity,
    ts: float,
    price: float = 0.97,
    held_for: float = 0.0,
    context: SnapshotContext | None = None,
    dropped: tuple[DroppedQuote, ...] = (),
) -> Assessment:
    snap = Snapshot(
        coin=coin,
        ts=ts,
        peg=1.0,
        price=price,
        deviation=price - 1.0,
        used=(
            VenuePrice("kraken", "USD", price - 0.001, 1.0),
            VenuePrice("binance", "USDT", price + 0.001, 2.0),
        ),
        dropped=dropped,
        context=context or SnapshotContext(),
    )
    return Assessment(coin, ts, severity, severity, price - 1.0, held_for, (), snap)


def settings(**alerts: Any) -> Settings:
    return Settings(
        channels={
            "discord": {"type": "console"},
            "email": {"type": "console"},
            "sms": {"type": "console"},
        },
        alerts=alerts,
    )


def router(s: Settings, available: Collection[str] | None = None) -> Router:
    """The router the daemon builds: the compiled routes over the channels that exist."""
    r = routing(s)
    known = set(s.channels) if available is None else set(s.channels) & set(available)
    return Router(r.routes, r.timezone, known)


def policy(s: Settings, available: Collection[str] | None = None) -> AlertPolicy:
    """A policy as the daemon builds it from settings (rules and routes compiled once)."""
    return AlertPolicy(alert_rules(s), router(s, available))


@pytest.fixture
def mk() -> Any:
    """The assessment builder."""
    return assessment


@pytest.fixture
def cfg() -> Any:
    """The settings builder (three console channels named discord, email and sms)."""
    return settings


@pytest.fixture
def mkpolicy() -> Any:
    """The policy builder: settings (and optionally the channels that could be built) → policy."""
    return policy
