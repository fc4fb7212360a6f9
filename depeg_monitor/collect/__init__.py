"""Collectors: one polling task per enabled venue, feeding quotes to a sink."""

from __future__ import annotations

import aiohttp

from depeg_monitor.clock import Clock
from depeg_monitor.collect.collector import PollResult, Sink, VenueCollector
from depeg_monitor.config import ConfigError, Settings
from depeg_monitor.health.registry import HealthRegistry
from depeg_monitor.metrics import Metrics
from depeg_monitor.venues import VENUES
from depeg_monitor.venues.contract import split_market

__all__ = ["PollResult", "VenueCollector", "build_collectors"]


def build_collectors(
    settings: Settings,
    session: aiohttp.ClientSession,
    clock: Clock,
    health: HealthRegistry,
    metrics: Metrics,
    sink: Sink,
) -> list[VenueCollector]:
    """A collector per enabled venue; an unknown venue name is a configuration error."""
    unknown = [n for n in settings.venues if n not in VENUES]
    if unknown:
        known = ", ".join(VENUES)
        raise ConfigError(
            "venues", [(f"venues.{n}", f"unknown venue; known: {known}") for n in unknown]
        )
    pegs = {coin: c.peg for coin, c in settings.coins.items()}
    out = []
    for name, vs in settings.venues.items():
        if not vs.enabled:
            continue
        overrides: dict[str, str] = {}
        if name == "coingecko":
            for m in vs.markets:
                coin = settings.coins.get(split_market(m)[0])
                if coin is not None and coin.coingecko_id:
                    overrides[m] = coin.coingecko_id
        out.append(
            VenueCollector(VENUES[name], vs, pegs, session, clock, health, metrics, sink, overrides)
        )
    return out
