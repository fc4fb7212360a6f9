"""Collectors: one polling task per enabled venue, feeding quotes to a sink."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from depeg_monitor.clock import Clock
from depeg_monitor.collect.collector import PollResult, Sink, VenueCollector
from depeg_monitor.collect.rules import CollectorRules
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.venues import VENUES

__all__ = ["CollectorRules", "PollResult", "VenueCollector", "build_collectors"]


def build_collectors(
    rules: Sequence[CollectorRules],
    session: aiohttp.ClientSession,
    clock: Clock,
    health: HealthRegistry,
    metrics: Metrics,
    sink: Sink,
) -> list[VenueCollector]:
    """A collector per venue rule (enabled venues only: the root compiled just those)."""
    return [
        VenueCollector(
            VENUES[r.venue], r, session, clock, health.component(Kind.VENUE, r.venue), metrics, sink
        )
        for r in rules
    ]
