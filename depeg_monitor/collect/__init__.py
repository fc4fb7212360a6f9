"""Collectors: one polling task per enabled venue, feeding quotes to a sink."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import aiohttp

from depeg_monitor.clock import Clock
from depeg_monitor.collect.collector import PollResult, Sink, VenueCollector
from depeg_monitor.collect.rules import CollectorRules, StreamRules
from depeg_monitor.collect.screen import Screen
from depeg_monitor.collect.stream import StreamCollector
from depeg_monitor.health.registry import HealthRegistry, Kind
from depeg_monitor.metrics import Metrics
from depeg_monitor.venues import VENUES
from depeg_monitor.venues.stream import StreamSpec

__all__ = [
    "CollectorRules",
    "PollResult",
    "StreamCollector",
    "StreamRules",
    "VenueCollector",
    "build_collectors",
]


def build_collectors(
    rules: Sequence[CollectorRules],
    session: aiohttp.ClientSession,
    clock: Clock,
    health: HealthRegistry,
    metrics: Metrics,
    sink: Sink,
    streams: Mapping[str, StreamSpec] | None = None,
) -> list[VenueCollector]:
    """A collector per venue rule (enabled venues only: the root compiled just those), each
    with its stream where the rule has one on and `streams` knows the venue's."""
    out = []
    for r in rules:
        c = VenueCollector(
            VENUES[r.venue], r, session, clock, health.component(Kind.VENUE, r.venue), metrics, sink
        )
        spec = (streams or {}).get(r.venue)
        if r.stream is not None and spec is not None:
            # Its own screen: the stream's regression watermark per market is its own, so a
            # REST answer stamped a moment earlier never counts as a streamed quote regressing.
            screen = Screen(r.venue, c.quality, metrics, c.log.bind(stream=True))
            c.stream = StreamCollector(
                spec,
                r.stream,
                _polled(c),
                session,
                clock,
                health.component(Kind.STREAM, r.venue),
                metrics,
                screen,
                sink,
                rest_base_url=r.base_url,
            )
        out.append(c)
    return out


def _polled(c: VenueCollector) -> Callable[[], Mapping[str, str]]:
    """The markets the collector polls now (what its listing confirmed)."""
    return lambda: c.markets.polled
